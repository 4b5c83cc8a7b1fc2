"""A rubric as a document for reviewers: Markdown for a pull request, HTML for a browser.

Both show what a reviewer weighs a rubric by: every requirement in tree order with its path
(to point at it in review comments), its weight, its effective share of the total score and,
on leaves, its categories; a summary of leaves and score share per category up front; and,
when asked, the lint advice next to the node it concerns.

Markdown uses headings for inner nodes of the first three levels and nested lists for
leaves and everything deeper, so a
nine-level rubric still renders; requirement text is kept as written (PaperBench rubrics
carry LaTeX that Markdown viewers with math support render). HTML is one self-contained file
(no scripts, no external assets) whose inner nodes are ``<details>`` that a reader folds.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence

from paperbench.rubric.lint import Advice
from paperbench.rubric.model import TASK_CATEGORIES, RubricNode, display_path, join_path
from paperbench.rubric.stats import effective_shares, rubric_stats

HEADING_LEVELS = 3
_SHORT_CATEGORY = {"Code Development": "CD", "Code Execution": "CE", "Result Analysis": "RA"}


def _advice_by_path(advice: Sequence[Advice]) -> dict[str, list[Advice]]:
    found: dict[str, list[Advice]] = defaultdict(list)
    for item in advice:
        for path in (item.path, *item.similar):
            found[path].append(item)
    return found


def _flat(text: str) -> str:
    return " ".join(text.split())


def _facts(node: RubricNode, path: str, share: float) -> str:
    parts = [f"`{display_path(path)}`", f"weight {node.weight:g}", f"{share:.2%} of the score"]
    if node.task_category:
        parts.append(node.task_category)
    if node.finegrained_task_category:
        parts.append(node.finegrained_task_category)
    return " · ".join(parts)


def render_markdown(
    tree: RubricNode, *, title: str | None = None, advice: Sequence[Advice] = ()
) -> str:
    """The rubric as Markdown (see the module docstring)."""
    shares = effective_shares(tree)
    stats = rubric_stats(tree)
    notes = _advice_by_path(advice)
    lines = [f"# {title or 'Rubric'}", "", _flat(tree.requirements), ""]
    lines.append(
        f"{stats.leaves} leaves in {stats.nodes} nodes, {stats.depth} levels deep."
        + (f" Lint: {len(advice)} pieces of advice, marked ⚠ below." if advice else "")
    )
    lines += ["", "| category | leaves | share of the score |", "| --- | ---: | ---: |"]
    for category in TASK_CATEGORIES:
        count = stats.leaves_per_category.get(category, 0)
        lines.append(f"| {category} | {count} | {stats.share_per_category[category]:.1%} |")
    lines.append("")
    for line in _note_lines(notes.get("", []), indent=""):
        lines.append(line)

    def visit(node: RubricNode, path: str, level: int, indent: str) -> None:
        share = shares[path]
        if level <= HEADING_LEVELS and node.sub_tasks:
            lines.append("")
            lines.append(f"{'#' * (level + 1)} {display_path(path)} · {_flat(node.requirements)}")
            lines.append("")
            lines.append(_facts(node, path, share))
            lines.extend(_note_lines(notes.get(path, []), indent=""))
            child_indent = ""
        else:
            category = _SHORT_CATEGORY.get(node.task_category or "", "")
            tag = f" **{category}**" if category else ""
            lines.append(
                f"{indent}- `{path}`{tag} {_flat(node.requirements)} "
                f"*(w {node.weight:g}, {share:.2%})*"
            )
            lines.extend(_note_lines(notes.get(path, []), indent=indent + "  "))
            child_indent = indent + "  "
        if level <= HEADING_LEVELS and node.sub_tasks:
            lines.append("")
        for index, child in enumerate(node.sub_tasks):
            visit(child, join_path(path, index), level + 1, child_indent)

    for index, child in enumerate(tree.sub_tasks):
        visit(child, str(index), 1, "")
    return "\n".join(lines).rstrip() + "\n"


def _note_lines(items: list[Advice], indent: str) -> list[str]:
    return [f"{indent}- ⚠ *{item.rule}*: {item.message}" for item in items]


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1d232b}
h1{font-size:1.5rem}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccd;padding:.25rem .6rem;text-align:left}
details,.leaf{margin:.2rem 0 .2rem 1.1rem;border-left:2px solid #e3e6ee;padding-left:.6rem}
summary{cursor:pointer}.path{font:12px ui-monospace,monospace;color:#667;margin-right:.4rem}
.meta{font-size:12px;color:#556;margin-left:.4rem;white-space:nowrap}
.bar{display:inline-block;height:.5rem;background:#4c7bd9;vertical-align:middle;
margin-left:.3rem;min-width:1px}
.cat{font-size:11px;border-radius:3px;padding:0 .3rem;margin-left:.3rem;color:#fff}
.CD{background:#3b7d4f}.CE{background:#9a6a1c}.RA{background:#7a3fa0}
.advice{color:#9a3412;font-size:13px;margin:.1rem 0 .1rem 1rem}
"""


def render_html(
    tree: RubricNode, *, title: str | None = None, advice: Sequence[Advice] = ()
) -> str:
    """The rubric as one self-contained HTML page (see the module docstring)."""
    shares = effective_shares(tree)
    stats = rubric_stats(tree)
    notes = _advice_by_path(advice)
    heading = html.escape(title or "Rubric")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{heading}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{heading}</h1>",
        f"<p>{html.escape(_flat(tree.requirements))}</p>",
        f"<p>{stats.leaves} leaves in {stats.nodes} nodes, {stats.depth} levels deep."
        + (f" Lint: {len(advice)} pieces of advice, marked ⚠." if advice else "")
        + "</p>",
        "<table><tr><th>category</th><th>leaves</th><th>share of the score</th></tr>",
    ]
    for category in TASK_CATEGORIES:
        count = stats.leaves_per_category.get(category, 0)
        share = stats.share_per_category[category]
        out.append(f"<tr><td>{category}</td><td>{count}</td><td>{share:.1%}</td></tr>")
    out.append("</table>")
    out.extend(_html_notes(notes.get("", [])))

    def line(node: RubricNode, path: str) -> str:
        share = shares[path]
        category = _SHORT_CATEGORY.get(node.task_category or "", "")
        badge = (
            f'<span class="cat {category}" title="{html.escape(node.task_category or "")}">'
            f"{category}</span>"
            if category
            else ""
        )
        fine = node.finegrained_task_category
        meta = f"w {node.weight:g} · {share:.2%}" + (f" · {html.escape(fine)}" if fine else "")
        width = max(share * 300, 0.5)
        return (
            f'<span class="path">{display_path(path)}</span>{html.escape(_flat(node.requirements))}'
            f'{badge}<span class="meta">{meta}</span>'
            f'<span class="bar" style="width:{width:.1f}px"></span>'
        )

    def visit(node: RubricNode, path: str) -> None:
        if node.sub_tasks:
            out.append(f'<details open id="n{path}"><summary>{line(node, path)}</summary>')
            out.extend(_html_notes(notes.get(path, [])))
            for index, child in enumerate(node.sub_tasks):
                visit(child, join_path(path, index))
            out.append("</details>")
        else:
            out.append(f'<div class="leaf" id="n{path}">{line(node, path)}')
            out.extend(_html_notes(notes.get(path, [])))
            out.append("</div>")

    for index, child in enumerate(tree.sub_tasks):
        visit(child, str(index))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_notes(items: list[Advice]) -> list[str]:
    return [
        f'<div class="advice">⚠ <b>{html.escape(item.rule)}</b>: {html.escape(item.message)}</div>'
        for item in items
    ]
