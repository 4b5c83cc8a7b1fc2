"""Render: a reviewer's document with paths, weights, shares and categories, in md or html."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from paperbench.rubric import load_rubric
from paperbench.rubric.lint import lint_tree
from paperbench.rubric.render import render_html, render_markdown
from tests.support.cli import paperbench
from tests.support.trees import chain, leaf, node, tree

RUBRIC = tree(
    node(
        "The method has been reproduced.",
        [leaf("Adam is implemented as in Eq. 2.", 3), leaf("SGD is implemented as in Eq. 1.")],
    ),
    leaf("The loss is below 0.1 as in Table 1.", 1, "Result Analysis"),
)


def test_markdown_opens_with_the_leaf_count_and_each_categorys_share() -> None:
    text = render_markdown(RUBRIC, title="Toy")
    assert text.startswith("# Toy\n\nThe paper has been reproduced.\n")
    assert "3 leaves in 5 nodes, 2 levels deep." in text
    assert "| Code Development | 2 | 50.0% |" in text
    assert "| Result Analysis | 1 | 50.0% |" in text


def test_markdown_gives_each_node_its_path_weight_and_share() -> None:
    text = render_markdown(RUBRIC)
    assert "## 0 · The method has been reproduced." in text
    assert "`0` · weight 1 · 50.00% of the score" in text
    assert "- `0/0` **CD** Adam is implemented as in Eq. 2. *(w 3, 37.50%)*" in text
    assert "- `1` **RA** The loss is below 0.1 as in Table 1. *(w 1, 50.00%)*" in text


def test_markdown_switches_from_headings_to_lists_below_three_levels() -> None:
    text = render_markdown(tree(chain(6)))
    assert "#### 0/0/0 · Level 3 has been reproduced." in text
    assert "\n- `0/0/0/0` Level 4 has been reproduced." in text
    assert "\n  - `0/0/0/0/0` Level 5" in text
    assert "#####" not in text


def test_lint_advice_appears_under_the_node_it_concerns() -> None:
    rubric = tree(leaf("TODO: the optimizer"))
    text = render_markdown(rubric, advice=lint_tree(rubric, "r"))
    assert "- `0` **CD** TODO: the optimizer *(w 1, 100.00%)*\n  - ⚠ *placeholder*:" in text


class _Balance(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_one_balanced_page_with_foldable_inner_nodes() -> None:
    page = render_html(RUBRIC, title="Toy")
    parser = _Balance()
    parser.feed(page)
    assert parser.open == []
    assert page.count("<details open") == 1
    assert "<script" not in page and "http" not in page.split("<body>")[1]


def test_html_escapes_requirement_text() -> None:
    page = render_html(tree(leaf("Uses <script>alert(1)</script> & x < y, Eq. 1.")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; x &lt; y" in page
    assert "<script>" not in page


def test_html_shows_shares_and_categories() -> None:
    page = render_html(RUBRIC)
    assert 'class="cat CD" title="Code Development">CD</span>' in page
    assert "w 3 · 37.50%" in page


def test_the_cli_writes_html_titled_from_the_paper_config(tmp_path: Path) -> None:
    out = tmp_path / "rubric.html"
    result = paperbench(
        "rubric",
        "render",
        "spiral-optimizers",
        "--format",
        "html",
        "--out",
        str(out),
        "--lint",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "<title>Same Destination, Different Speeds" in out.read_text()


def test_the_cli_prints_markdown_by_default(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(RUBRIC.to_json()))
    result = paperbench("rubric", "render", str(path), home=tmp_path)
    assert result.stdout.startswith(f"# Rubric {path}\n")


def test_the_largest_real_rubric_renders_every_node(shared_data: Path) -> None:
    rubric = load_rubric(shared_data / "paperbench-rubrics/pinn/rubric.json")
    text = render_markdown(rubric)
    assert all(f"`{path}`" in text for path, _ in rubric.walk() if path)
    parser = _Balance()
    parser.feed(render_html(rubric))
    assert parser.open == []
