"""`paperbench demo`: the README's first command, the main job on a bundled paper.

The ``reference`` agent submits the paper's reference solution, the reproduction runs it in a
fresh container, the judge grades it (the embedded local model when no API key is set), and
the leaderboard and report are computed from the run directory. Re-running continues where it
stopped, like ``paperbench run``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from paperbench.cli.results import leaderboard, report
from paperbench.cli.run import default_judge, execute, summarise, warn_if_local
from paperbench.papers import PaperRegistry
from paperbench.runs.orchestrator import RunSettings

console = Console(highlight=False)
DEMO_PAPER = "label-smoothing-calibration"


def demo(
    paper: Annotated[str, typer.Option(help="Bundled paper to run.")] = DEMO_PAPER,
    judge: Annotated[
        str | None, typer.Option(help="Judge model (default: from your API keys, else local).")
    ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where the run goes.")] = Path("runs/demo"),
    batch: Annotated[int, typer.Option(min=1, help="Leaves per judge call.")] = 1,
    judge_context_window: Annotated[
        int | None, typer.Option(help="Context window of a judge model not in the table.")
    ] = None,
    live: Annotated[bool, typer.Option(help="Show the live table.")] = False,
) -> None:
    """Run the reference agent on a bundled paper end to end, then the leaderboard."""
    started = time.monotonic()
    bundle = PaperRegistry(include_imported=False).get(paper)
    chosen = judge or default_judge()
    warn_if_local(chosen)
    settings = RunSettings(
        agent="reference",
        judge=chosen,
        runs_dir=runs_dir,
        batch=batch,
        seeds=1,
        judge_context_window=judge_context_window,
    )
    console.rule(f"paperbench demo: reference agent on {bundle.id}, judge {chosen}")
    records = execute(
        settings,
        [bundle],
        {"paper": paper, "judge": chosen, "runs_dir": str(runs_dir), "batch": batch},
        {},
        live=live,
    )
    summarise(records, runs_dir)
    console.rule("leaderboard")
    leaderboard([runs_dir], out=runs_dir / "leaderboard.json", papers=None, write_schema=None)
    report([runs_dir], out=runs_dir / "report")
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")
