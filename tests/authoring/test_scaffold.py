"""`rubric new`: a valid starting rubric from the paper's headings, one subtree per
contribution, every placeholder marked for the author."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paperbench.errors import PaperError, RubricError
from paperbench.rubric import validate_file
from paperbench.rubric.lint import lint_tree
from paperbench.rubric.scaffold import outline_paper, read_paper, scaffold_rubric
from tests.support.cli import paperbench

PAPER = """# Fast Things

## Abstract
We make things fast.

## 1 Introduction
Speed matters. We contribute (i) a faster sorter; (ii) the finding that it is 2x faster;
and (iii) a proof.

## 2 Related work
Others were slow.

## 3 Method
**Sorter.** It sorts.

**Cache.** It caches.

```
## not a heading inside code
```

## 4 Experimental setup
- **Hardware.** One CPU.

## 5 Results
### 5.1 Speed
### 5.2 Memory
### Table 1

## 6 Conclusion
Done.
"""


def test_the_outline_keeps_main_sections_and_their_parts() -> None:
    outline = outline_paper(PAPER)
    assert outline.title == "Fast Things"
    assert [(s.heading, s.parts) for s in outline.sections] == [
        ("3 Method", ["Sorter", "Cache"]),
        ("4 Experimental setup", ["Hardware"]),
        ("5 Results", ["Speed", "Memory", "Table 1"]),
    ]


def test_contributions_stated_inline_are_read_from_the_introduction() -> None:
    assert outline_paper(PAPER).contributions == [
        "a faster sorter",
        "the finding that it is 2x faster",
        "a proof",
    ]


def test_contributions_stated_as_a_bulleted_list_are_read() -> None:
    text = (
        "# T\n\n## Introduction\nOur contributions are:\n\n- **A** sorter.\n- A cache;\n\nMore.\n"
    )
    assert outline_paper(text).contributions == ["A sorter", "A cache"]


def test_one_subtree_per_stated_contribution_with_placeholders_for_each_category() -> None:
    rubric, origin = scaffold_rubric(outline_paper(PAPER))
    assert origin == "3 contributions stated in the paper"
    assert (
        rubric.requirements
        == 'The core contributions of the paper "Fast Things" have been reproduced.'
    )
    assert [child.requirements for child in rubric.sub_tasks] == [
        "A faster sorter has been reproduced.",
        "The finding that it is 2x faster has been reproduced.",
        "A proof has been reproduced.",
    ]
    first = rubric.sub_tasks[0].sub_tasks
    assert [leaf.task_category for leaf in first] == [
        "Code Development",
        "Code Execution",
        "Result Analysis",
    ]
    assert 'Section 3 "Method"' in first[0].requirements


def test_without_stated_contributions_each_main_section_is_a_subtree() -> None:
    rubric, origin = scaffold_rubric(outline_paper(PAPER), source="sections")
    assert origin == "3 main sections of the paper"
    method, setup, results = rubric.sub_tasks
    assert method.requirements == 'The work described in Section 3 "Method" has been reproduced.'
    assert [leaf.task_category for leaf in method.sub_tasks] == ["Code Development"] * 2
    assert [leaf.task_category for leaf in setup.sub_tasks] == ["Code Execution"]
    assert [leaf.task_category for leaf in results.sub_tasks] == ["Result Analysis"] * 2
    assert '"Speed"' in results.sub_tasks[0].requirements


def test_the_scaffold_is_valid_and_lint_lists_exactly_its_placeholders(tmp_path: Path) -> None:
    rubric, _ = scaffold_rubric(outline_paper(PAPER))
    advice = lint_tree(rubric, "r")
    assert {item.rule for item in advice} == {"placeholder"}
    assert [item.path for item in advice] == [path for path, _ in rubric.leaves()]
    assert len({node.id for _, node in rubric.walk()}) == sum(1 for _ in rubric.walk())


def test_asking_for_contributions_the_paper_does_not_state_is_a_clear_error() -> None:
    with pytest.raises(RubricError, match=r"states no list of contributions.*use --from sections"):
        scaffold_rubric(outline_paper("# T\n\n## Method\nText.\n"), source="contributions")


def test_a_paper_with_no_usable_sections_is_a_clear_error() -> None:
    with pytest.raises(RubricError, match="no main sections"):
        scaffold_rubric(outline_paper("# T\n\n## Introduction\nHi.\n## Conclusion\nBye.\n"))


def test_a_custom_template_shapes_the_nodes(tmp_path: Path) -> None:
    template = json.loads(
        (Path(__file__).parents[2] / "rubrics/templates/scaffold.json").read_text()
    )
    template["implementation"]["requirements"] = "TODO write the check for {Subject} ({section})."
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    rubric, _ = scaffold_rubric(outline_paper(PAPER), source="sections", template=path)
    assert rubric.sub_tasks[0].sub_tasks[0].requirements == (
        'TODO write the check for Sorter (Section 3 "Method").'
    )


def test_a_template_missing_a_node_kind_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"contribution": {}}))
    with pytest.raises(RubricError, match="template lacks section, implementation"):
        scaffold_rubric(outline_paper(PAPER), template=path)


def test_a_folder_without_paper_md_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PaperError, match=r"paper\.md: missing"):
        read_paper(tmp_path)


def test_the_title_comes_from_the_bundle_config(tmp_path: Path) -> None:
    (tmp_path / "paper.md").write_text(PAPER)
    (tmp_path / "config.yaml").write_text("id: fast\ntitle: Fast Things, Revisited\n")
    assert read_paper(tmp_path).title == "Fast Things, Revisited"


def test_the_cli_writes_a_valid_rubric_into_the_paper_folder(tmp_path: Path) -> None:
    paper = tmp_path / "spiral"
    shutil.copytree(Path(__file__).parents[2] / "papers/spiral-optimizers", paper)
    (paper / "rubric.json").unlink()
    result = paperbench("rubric", "new", str(paper), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 subtrees from the 3 contributions stated in the paper" in result.stdout
    tree, problems = validate_file(paper / "rubric.json")
    assert tree is not None and problems == []


def test_the_cli_refuses_to_overwrite_a_rubric(tmp_path: Path) -> None:
    (tmp_path / "paper.md").write_text(PAPER)
    (tmp_path / "rubric.json").write_text("{}")
    result = paperbench("rubric", "new", str(tmp_path), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'rubric.json'}: already exists; pass --force to replace it or "
        "--out PATH"
    )
    assert (tmp_path / "rubric.json").read_text() == "{}"


def test_the_cli_strict_lint_fails_until_the_placeholders_are_written(tmp_path: Path) -> None:
    (tmp_path / "paper.md").write_text(PAPER)
    paperbench("rubric", "new", str(tmp_path), "--from", "sections", home=tmp_path)
    result = paperbench("rubric", "lint", "--strict", str(tmp_path), home=tmp_path)
    assert result.returncode == 1
    assert "valid; advice on 5 nodes (placeholder 5)" in result.stdout
    assert paperbench("rubric", "lint", str(tmp_path), home=tmp_path).returncode == 0
