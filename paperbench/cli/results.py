"""`paperbench leaderboard` and `paperbench report`: aggregate run directories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.config import ConfigOption, option
from paperbench.papers import PaperRegistry
from paperbench.runs.leaderboard import build_leaderboard, find_records, leaderboard_schema
from paperbench.runs.report import html, markdown, name
from paperbench.splits import SplitName, paper_selection

console = Console(highlight=False)


RunsArgument = Annotated[
    list[Path], typer.Argument(help="Run directories or folders holding them.")
]


def leaderboard(
    runs: RunsArgument,
    out: Annotated[Path | None, option("out", "Write the leaderboard JSON here.")] = None,
    papers: Annotated[
        list[str] | None, option("papers", "Only these papers [default: every paper seen].")
    ] = None,
    split: Annotated[
        SplitName | None,
        option("split", "Only the papers of this PaperBench split (a seed must cover them all)."),
    ] = None,
    write_schema: Annotated[
        Path | None, option("write-schema", "Also write the leaderboard's JSON Schema here.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Mean score ± standard error over seeds per agent configuration, with costs and times."""
    del config
    records, superseded = find_records(runs)
    chosen = [p for item in papers or [] for p in item.split(",") if p] or None
    if split is not None:
        chosen, _ = paper_selection(chosen or [], split, PaperRegistry.from_environment())
    board = build_leaderboard(records, papers=chosen, superseded=superseded)
    reviewed = any(entry.reviewed is not None for entry in board.entries)
    table = Table(
        "agent",
        "score (judge)" if reviewed else "score",
        *(["reviewed"] if reviewed else []),
        "seeds",
        "runs",
        "invalid leaves",
        "disqualified",
        "agent $",
        "judge $",
        title=f"Leaderboard ({len(board.papers)} papers)",
    )
    for entry in board.entries:
        score = "-" if entry.score.mean is None else f"{entry.score.mean:.3f}"
        if entry.score.stderr is not None:
            score += f" ± {entry.score.stderr:.3f}"
        review = []
        if reviewed:
            value = entry.reviewed
            review = ["-" if value is None or value.mean is None else f"{value.mean:.3f}"]
        table.add_row(
            escape(name(entry)),
            score,
            *review,
            str(len(entry.seeds_counted)),
            str(entry.runs),
            str(entry.invalid_leaves),
            str(entry.disqualified_runs),
            "?" if entry.cost.agent_usd is None else f"{entry.cost.agent_usd:.2f}",
            "?" if entry.cost.judge_usd is None else f"{entry.cost.judge_usd:.4f}",
        )
        for seed in entry.incomplete_seeds:
            console.print(
                f"[yellow]{escape(name(entry))}: seed {seed.seed} not counted, lacks "
                f"{', '.join(seed.missing_papers)}[/]"
            )
    console.print(table)
    for entry in board.entries:
        if entry.score_at:
            points = ", ".join(
                f"{label} {value.mean:.3f}"
                for label, value in entry.score_at.items()
                if value.mean is not None
            )
            console.print(f"{escape(name(entry))}: score against time: {points}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(board.model_dump_json(indent=2), encoding="utf-8")
        console.print(f"wrote {out}")
    if write_schema is not None:
        write_schema.write_text(json.dumps(leaderboard_schema(), indent=2) + "\n")


def report(
    runs: RunsArgument,
    out: Annotated[Path, typer.Option(help="Folder for report.md and report.html.")] = Path(
        "report"
    ),
) -> None:
    """The leaderboard as Markdown and a self-contained HTML page with a per-paper chart."""
    records, superseded = find_records(runs)
    board = build_leaderboard(records, superseded=superseded)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(markdown(board), encoding="utf-8")
    (out / "report.html").write_text(html(board), encoding="utf-8")
    console.print(f"wrote {out / 'report.md'} and {out / 'report.html'}")
