"""The leaderboard as a reader sees it: Markdown, and one self-contained HTML page with a
per-paper score chart (inline SVG; no scripts, styles or fonts fetched from anywhere)."""

from __future__ import annotations

from html import escape

from paperbench.runs.leaderboard import AgentEntry, Estimate, Leaderboard


def _fmt(value: Estimate) -> str:
    if value.mean is None:
        return "-"
    spread = f" ± {value.stderr:.3f}" if value.stderr is not None else ""
    return f"{value.mean:.3f}{spread}"


def name(entry: AgentEntry) -> str:
    """An entry's configuration with its variant when it is not a full run."""
    return entry.agent if entry.variant == "full" else f"{entry.agent} [{entry.variant}]"


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.2f}"


def _notes(entry: AgentEntry) -> list[str]:
    notes = []
    if entry.incomplete_seeds:
        missing = "; ".join(
            f"seed {s.seed} lacks {', '.join(s.missing_papers)}" for s in entry.incomplete_seeds
        )
        notes.append(f"not counted: {missing}")
    if entry.invalid_leaves:
        notes.append(
            f"{entry.invalid_leaves} invalid leaves in {entry.runs_with_invalid_leaves} runs "
            f"(score had they passed: {_fmt(entry.score_if_invalid_passed)})"
        )
    for failure in entry.failures:
        notes.append(f"{failure.runs} runs with {failure.kind.replace('_', ' ')}")
    return notes


def markdown(board: Leaderboard) -> str:
    lines = [
        "# paperbench leaderboard",
        "",
        f"Papers: {', '.join(board.papers)}. Scores are means over seeds ± standard error; "
        "a seed counts only when it covers every paper.",
        "",
    ]
    reviewed = any(entry.reviewed is not None for entry in board.entries)
    if reviewed:
        lines += [
            "| agent | score (judge) | reviewed | seeds | runs | disqualified | agent cost "
            "| judge cost | time/run |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    else:
        lines += [
            "| agent | score | seeds | runs | disqualified | agent cost | judge cost | time/run |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for entry in board.entries:
        review = ""
        if reviewed:
            review = (
                f" {_fmt(entry.reviewed)} ({entry.reviewed_runs} of {entry.runs} runs reviewed) |"
                if entry.reviewed is not None
                else " - |"
            )
        lines.append(
            f"| {name(entry)} | {_fmt(entry.score)} |{review} {len(entry.seeds_counted)} "
            f"| {entry.runs} | {entry.disqualified_runs} | {_money(entry.cost.agent_usd)} "
            f"| {_money(entry.cost.judge_usd)} | {entry.time.total:.0f} s |"
        )
    lines += [
        "",
        "## Per paper",
        "",
        "| agent | " + " | ".join(board.papers) + " |",
        "|---|" + "---|" * len(board.papers),
    ]
    for entry in board.entries:
        cells = " | ".join(_fmt(entry.per_paper[paper]) for paper in board.papers)
        lines.append(f"| {name(entry)} | {cells} |")
    categories = sorted({c for entry in board.entries for c in entry.per_category})
    if categories:
        lines += [
            "",
            "## Per rubric category",
            "",
            "| agent | " + " | ".join(categories) + " |",
            "|---|" + "---|" * len(categories),
        ]
        for entry in board.entries:
            cells = " | ".join(
                _fmt(entry.per_category[c]) if c in entry.per_category else "-" for c in categories
            )
            lines.append(f"| {name(entry)} | {cells} |")
    times = list(dict.fromkeys(label for entry in board.entries for label in entry.score_at))
    if times:
        lines += [
            "",
            "## Score against time",
            "",
            "The submission as it was at each time of the agent's working time (--grade-at), "
            "reproduced and graded like the final one.",
            "",
            "| agent | " + " | ".join(times) + " | end |",
            "|---|" + "---|" * (len(times) + 1),
        ]
        for entry in board.entries:
            cells = " | ".join(
                _fmt(entry.score_at[t]) if t in entry.score_at else "-" for t in times
            )
            lines.append(f"| {name(entry)} | {cells} | {_fmt(entry.score)} |")
    notes = [(name(entry), note) for entry in board.entries for note in _notes(entry)]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {agent}: {note}" for agent, note in notes]
    lines += [
        "",
        f"Generated {board.generated_at:%Y-%m-%d %H:%M} UTC by paperbench "
        f"{board.paperbench_version}.",
        "",
    ]
    return "\n".join(lines)


_PALETTE = ("#3b6ea5", "#d9822b", "#3f9c5a", "#b5443b", "#7a5aa6", "#8c6d46")


def score_chart(board: Leaderboard) -> str:
    """Grouped horizontal bars: one group per paper, one bar per agent, with error whiskers."""
    bar, gap, left, width = 16, 14, 190, 420
    rows = len(board.papers) * (len(board.entries) * bar + gap)
    height = rows + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" '
        f'height="{height}" role="img" aria-label="score per paper">'
    ]
    y = 10
    for paper in board.papers:
        parts.append(
            f'<text x="{left - 8}" y="{y + bar}" text-anchor="end" font-size="12">'
            f"{escape(paper)}</text>"
        )
        for index, entry in enumerate(board.entries):
            value = entry.per_paper[paper]
            score = value.mean or 0.0
            colour = _PALETTE[index % len(_PALETTE)]
            parts.append(
                f'<rect x="{left}" y="{y}" width="{score * width:.1f}" height="{bar - 3}" '
                f'fill="{colour}"><title>{escape(name(entry))}: {_fmt(value)}</title></rect>'
            )
            if value.stderr is not None and value.mean is not None:
                low = max(0.0, value.mean - value.stderr) * width + left
                high = min(1.0, value.mean + value.stderr) * width + left
                middle = y + (bar - 3) / 2
                parts.append(
                    f'<line x1="{low:.1f}" x2="{high:.1f}" y1="{middle}" y2="{middle}" '
                    'stroke="#222" stroke-width="1.5"/>'
                )
            parts.append(
                f'<text x="{left + score * width + 6:.1f}" y="{y + bar - 5}" font-size="11">'
                f"{_fmt(value)}</text>"
            )
            y += bar
        y += gap
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * width
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="5" y2="{rows + 10}" stroke="#ccc" '
            'stroke-dasharray="2,3"/>'
            f'<text x="{x}" y="{rows + 26}" text-anchor="middle" font-size="11">{tick:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def html(board: Leaderboard) -> str:
    legend = "".join(
        f'<li><span style="background:{_PALETTE[i % len(_PALETTE)]}"></span>'
        f"{escape(name(entry))}</li>"
        for i, entry in enumerate(board.entries)
    )
    body = _markdown_tables_as_html(board)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>paperbench leaderboard</title>
<style>
body{{font:14px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;
color:#222}}
table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #ddd;padding:4px 8px;
text-align:left}}th{{background:#f4f4f4}}
ul.legend{{list-style:none;padding:0;display:flex;gap:1.2em}}
ul.legend span{{display:inline-block;width:12px;height:12px;margin-right:4px}}
</style></head><body>
<h1>paperbench leaderboard</h1>
<p>Papers: {escape(", ".join(board.papers))}. Scores are means over seeds ± standard error; a
seed counts only when it covers every paper.</p>
<h2>Score per paper</h2><ul class="legend">{legend}</ul>
{score_chart(board)}
{body}
<p><small>Generated {board.generated_at:%Y-%m-%d %H:%M} UTC by paperbench
{escape(board.paperbench_version)}.</small></p>
</body></html>
"""


def _markdown_tables_as_html(board: Leaderboard) -> str:
    """The Markdown report's tables and notes, as HTML (a tiny converter for our own output)."""
    out: list[str] = []
    in_table = False
    for line in markdown(board).splitlines()[3:]:
        if line.startswith("|---"):
            continue
        if line.startswith("|"):
            cells = [escape(cell.strip()) for cell in line.strip("|").split("|")]
            tag = "td" if in_table else "th"
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("## "):
            out.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("- "):
            out.append(f"<p>• {escape(line[2:])}</p>")
        elif line.startswith("Generated"):
            continue
        elif line:
            out.append(f"<p>{escape(line)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out)
