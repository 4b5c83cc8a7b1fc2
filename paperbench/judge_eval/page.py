"""The judge evaluation as a reader sees it: Markdown, and one self-contained HTML page (inline
SVG chart; no scripts, styles or fonts fetched from anywhere), in the style of the run report.

Every string that came from a file — labels, set names, model names, reasons — is escaped: in
Markdown a ``|`` cannot break a table, in HTML nothing becomes markup.
"""

from __future__ import annotations

import re
from html import escape, unescape

from paperbench.judge_eval.result import ConfigResult, JudgeEvalReport
from paperbench.rubric import TASK_CATEGORIES

TITLE = "paperbench judge evaluation"
_PALETTE = ("#3b6ea5", "#d9822b", "#3f9c5a", "#b5443b", "#7a5aa6", "#8c6d46")
_REFERENCE_COLOUR = "#9a9a9a"


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell: on one line, HTML escaped (Markdown renders
    inline HTML), backslashes and pipes escaped."""
    flat = escape(" ".join(str(text).split()), quote=False)
    return flat.replace("\\", "\\\\").replace("|", "\\|")


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _money(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def _row(*cells: object) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    return [_row(*header), "|" + "---|" * len(header), *(_row(*row) for row in rows)]


def _intro(report: JudgeEvalReport) -> str:
    papers = sorted({summary.paper_id for summary in report.gold_sets})
    leaves = sum(summary.leaves for summary in report.gold_sets)
    ungraded = sum(summary.ungraded_leaves for summary in report.gold_sets)
    reviewed = sum(summary.source == "reviewed-run" for summary in report.gold_sets)
    review_note = (
        f" ({reviewed} of the sets are reviewed runs: only their reviewed leaves are gold, "
        f"{ungraded} unreviewed leaves are not compared; reviewers tend to look where the "
        "judge erred, so those leaves are not a random sample)"
        if reviewed
        else ""
    )
    return (
        f"{len(report.gold_sets)} gold sets of {len(papers)} paper{'s' * (len(papers) != 1)} "
        f"({', '.join(papers)}), "
        f"{leaves} leaves graded by hand{review_note}. Figures pool every leaf of every set and "
        "repeat; "
        'precision, recall and F1 are those of the class "passed", macro-F1 is PaperBench\'s '
        '(the mean of the F1 of "passed" and of "failed"). Leaves a judge left invalid or '
        "did not judge are counted apart, never as failures."
    )


def _categories(report: JudgeEvalReport) -> list[str]:
    present = {c for config in report.configurations for c in config.metrics.per_category}
    return [category for category in TASK_CATEGORIES if category in present] or list(
        TASK_CATEGORIES
    )


def _agreement(configs: list[ConfigResult]) -> list[str]:
    rows: list[list[object]] = []
    for config in configs:
        m = config.metrics.overall
        rows.append(
            [
                config.label,
                m.leaves,
                _num(m.accuracy),
                _num(m.precision),
                _num(m.recall),
                _num(m.f1),
                _num(m.macro_f1),
                m.invalid,
                m.not_judged,
            ]
        )
    header = [
        "configuration",
        "leaves judged",
        "accuracy",
        "precision",
        "recall",
        "F1 (passed)",
        "macro-F1",
        "invalid",
        "not judged",
    ]
    return _table(header, rows)


def _per_category(report: JudgeEvalReport) -> list[str]:
    categories = _categories(report)
    rows: list[list[object]] = []
    for config in report.configurations:
        cells: list[object] = [config.label, _num(config.metrics.overall.macro_f1)]
        for category in categories:
            found = config.metrics.per_category.get(category)
            cells.append(_num(found.macro_f1) if found else "-")
        rows.append(cells)
    for published in report.reference:
        cells = [f"PaperBench: {published.judge}", f"{published.macro_f1:.2f}"]
        for category in categories:
            value = published.per_category.get(category)
            cells.append("-" if value is None else f"{value:.2f}")
        rows.append(cells)
    return _table(["judge", "overall", *categories], rows)


def _roots(report: JudgeEvalReport) -> list[str]:
    header = ["set", "gold", *(config.label for config in report.configurations)]
    rows: list[list[object]] = []
    for summary in report.gold_sets:
        cells: list[object] = [summary.id, _num(summary.gold_score)]
        for config in report.configurations:
            found = next((r for r in config.root_scores if r.set == summary.id), None)
            if found is None or found.judged is None:
                cells.append("-")
            elif found.gold is not None and abs(found.gold - summary.gold_score) >= 0.0005:
                # Compared over fewer leaves (Code-Dev, invalid leaves left out): show that gold.
                cells.append(f"{found.judged:.3f} vs {found.gold:.3f} ({_signed(found.error)})")
            else:
                cells.append(f"{found.judged:.3f} ({_signed(found.error)})")
        rows.append(cells)
    rows.append(
        [
            "mean |error| (bias)",
            "",
            *(
                f"{_num(config.root_mean_abs_error)} ({_signed(config.root_mean_error)})"
                for config in report.configurations
            ),
        ]
    )
    return _table(header, rows)


def _consistency(configs: list[ConfigResult]) -> list[str]:
    rows: list[list[object]] = []
    for config in configs:
        c = config.consistency
        if c is None:
            continue
        rows.append(
            [
                config.label,
                c.repeats,
                c.leaves_compared,
                _num(c.leaf_agreement),
                _num(c.unanimous_share),
                _num(c.root_score_stdev),
                ", ".join(_num(value) for value in c.macro_f1_per_repeat),
            ]
        )
    if not rows:
        return ["Every configuration ran once (`--repeats K` measures self-consistency)."]
    header = [
        "configuration",
        "repeats",
        "leaves compared",
        "leaf agreement",
        "unanimous",
        "root score stdev",
        "macro-F1 per repeat",
    ]
    return _table(header, rows)


def _cost(configs: list[ConfigResult]) -> list[str]:
    rows: list[list[object]] = []
    for config in configs:
        cost = config.cost
        n = max(cost.submissions_graded, 1)
        rows.append(
            [
                config.label,
                f"{cost.calls_per_submission:.1f}",
                f"{cost.input_tokens / n:,.0f}",
                f"{cost.cached_input_tokens / n:,.0f}",
                f"{cost.output_tokens / n:,.0f}",
                _money(cost.cost_usd_per_submission),
                f"{cost.seconds_per_submission:.1f} s",
                _money(cost.cost_usd),
                "yes" if config.cache_used else "no",
            ]
        )
    header = [
        "configuration",
        "calls/paper",
        "input tokens/paper",
        "cached/paper",
        "output tokens/paper",
        "$/paper",
        "time/paper",
        "total $",
        "judge cache",
    ]
    return _table(header, rows)


def _sets(report: JudgeEvalReport) -> list[str]:
    rows: list[list[object]] = [
        [
            summary.id,
            summary.kind,
            summary.leaves,
            summary.ungraded_leaves or "-",
            summary.gold_passed,
            _num(summary.gold_score),
            "yes" if summary.has_reproduction else "no",
            "yes" if summary.rubric_matches_paper else "no (graded on the gold's rubric)",
            summary.graded_by or "-",
        ]
        for summary in report.gold_sets
    ]
    header = [
        "set",
        "kind",
        "leaves",
        "without gold",
        "passed",
        "gold score",
        "reproduction",
        "paper's rubric",
        "graded by",
    ]
    return _table(header, rows)


def _notes(report: JudgeEvalReport) -> list[str]:
    notes: list[str] = []
    for config in report.configurations:
        m = config.metrics.overall
        if m.invalid:
            notes.append(f"{config.label}: {m.invalid} leaves invalid (the judge failed on them)")
        if m.not_judged:
            notes.append(
                f"{config.label}: {m.not_judged} leaves not judged (scored by rule: the set has "
                "no recorded reproduction)"
            )
        if config.cost.cost_usd is None:
            notes.append(f"{config.label}: no price for {config.options.model_name}; cost unknown")
    return [f"- {_cell(note)}" for note in notes]


def markdown(report: JudgeEvalReport) -> str:
    lines = [f"# {TITLE}", "", _intro(report), ""]
    sections = [
        ("Agreement with the human grades", _agreement(report.configurations)),
        (
            "Macro-F1 per task category, with PaperBench's published figures",
            [
                *_per_category(report),
                "",
                "PaperBench's figures measure its own judge on five submissions of its own "
                "papers; they show what a good judge's figures look like, not a result on "
                "these gold sets.",
            ],
        ),
        (
            "Root score: judge (error) against the gold",
            [
                "The error is over the leaves the judge graded: with `--code-dev` the Code "
                "Development leaves, and never the leaves it left invalid. Where that gold root "
                "differs from the whole tree's (the gold column), the cell shows it after vs.",
                "",
                *_roots(report),
            ],
        ),
        ("Self-consistency across repeats", _consistency(report.configurations)),
        ("Cost per graded submission", _cost(report.configurations)),
        ("Gold sets", _sets(report)),
    ]
    for title, body in sections:
        lines += [f"## {title}", "", *body, ""]
    notes = _notes(report)
    if notes:
        lines += ["## Notes", "", *notes, ""]
    lines += [
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by paperbench "
        f"{_cell(report.paperbench_version)}.",
        "",
    ]
    return "\n".join(lines)


def f1_chart(report: JudgeEvalReport) -> str:
    """Horizontal bars of overall macro-F1: our configurations, then PaperBench's (grey)."""
    bars: list[tuple[str, float | None, str, int]] = [
        (config.label, config.metrics.overall.macro_f1, _PALETTE[i % len(_PALETTE)], 3)
        for i, config in enumerate(report.configurations)
    ]
    bars += [
        (f"PaperBench: {published.judge}", published.macro_f1, _REFERENCE_COLOUR, 2)
        for published in report.reference
    ]
    bar, left, width = 18, 260, 400
    height = len(bars) * bar + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 70}" '
        f'height="{height}" role="img" aria-label="macro-F1 per judge">'
    ]
    for index, (label, value, colour, digits) in enumerate(bars):
        y = 10 + index * bar
        shown = _num(value, digits)
        parts.append(
            f'<text x="{left - 8}" y="{y + bar - 6}" text-anchor="end" font-size="12">'
            f"{escape(label[:48])}</text>"
            f'<rect x="{left}" y="{y}" width="{(value or 0.0) * width:.1f}" height="{bar - 4}" '
            f'fill="{colour}"><title>{escape(label)}: {shown}</title></rect>'
            f'<text x="{left + (value or 0.0) * width + 6:.1f}" y="{y + bar - 6}" '
            f'font-size="11">{shown}</text>'
        )
    rows = len(bars) * bar
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * width
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="5" y2="{rows + 12}" stroke="#ccc" '
            'stroke-dasharray="2,3"/>'
            f'<text x="{x}" y="{rows + 28}" text-anchor="middle" font-size="11">{tick:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_PIPE = re.compile(r"(?<!\\)\|")


def _unescape(text: str) -> str:
    return unescape(text.replace("\\|", "|").replace("\\\\", "\\"))


def _cells(line: str) -> list[str]:
    return [_unescape(cell.strip()) for cell in _PIPE.split(line.strip()[1:-1])]


def _body_html(text: str) -> str:
    """Our own Markdown's tables, headings, notes and paragraphs as HTML (everything escaped)."""
    out: list[str] = []
    in_table = False
    for line in text.splitlines()[3:]:
        if line.startswith("|---"):
            continue
        if line.startswith("|"):
            tag = "td" if in_table else "th"
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append(
                "<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in _cells(line)) + "</tr>"
            )
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("## "):
            out.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("- "):
            out.append(f"<p>• {escape(_unescape(line[2:]))}</p>")
        elif line.startswith("Generated"):
            continue
        elif line:
            out.append(f"<p>{escape(line)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out)


def html(report: JudgeEvalReport) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}}
table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #ddd;padding:4px 8px;
text-align:left}}th{{background:#f4f4f4}}
</style></head><body>
<h1>{TITLE}</h1>
<p>{escape(_intro(report))}</p>
<h2>Macro-F1 (ours in colour, PaperBench's published figures in grey)</h2>
{f1_chart(report)}
{_body_html(markdown(report))}
<p><small>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by paperbench
{escape(report.paperbench_version)}.</small></p>
</body></html>
"""
