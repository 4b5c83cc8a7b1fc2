"""`paperbench demo`: the README's first command, the main job on a bundled paper.

The ``reference`` agent submits the paper's reference solution, the reproduction runs it in a
fresh container, the judge grades it (the embedded local model when no API key is set), and
the leaderboard and report are computed from the run directory. Re-running continues where it
stopped, like ``paperbench run``; it takes the same judge options as ``run`` and ``grade``.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console

from paperbench.agents.options import AgentOptions
from paperbench.cli.config import used_options
from paperbench.cli.options import from_models
from paperbench.cli.results import leaderboard, report
from paperbench.cli.run import execute, summarise, warn_if_local
from paperbench.grading.options import JudgeOptions
from paperbench.options import opt
from paperbench.papers import PaperRegistry
from paperbench.runs.settings import RunOptions, RunSettings
from paperbench.secrets_options import SecretsOptions

console = Console(highlight=False)
DEMO_PAPER = "label-smoothing-calibration"


class DemoOptions(BaseModel):
    """The demo's own options: which bundled paper, where the run goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paper: str = opt(DEMO_PAPER, "Bundled paper to run.")
    runs_dir: Path = opt(Path("runs/demo"), "Where the run goes.")
    live: bool = opt(False, "Show the live table instead of one line per stage change.")


@from_models(DemoOptions, JudgeOptions, SecretsOptions)
def demo(
    ctx: typer.Context, options: DemoOptions, judge: JudgeOptions, secrets: SecretsOptions
) -> None:
    """Run the reference agent on a bundled paper end to end, then the leaderboard."""
    secrets.apply()
    started = time.monotonic()
    bundle = PaperRegistry(include_imported=False).get(options.paper)
    settings = RunSettings(
        run=RunOptions(papers=[str(bundle.root)], runs_dir=options.runs_dir, live=options.live),
        agent=AgentOptions(agent="reference"),
        judge=judge.resolved(),
    )
    warn_if_local(settings.judge)
    console.rule(f"paperbench demo: reference agent on {bundle.id}, judge {settings.judge.judge}")
    values, sources = used_options(ctx)
    values["judge"] = settings.judge.model_name
    records = execute(settings, values, sources)
    try:
        summarise(records, options.runs_dir)
    finally:
        console.rule("leaderboard")
        leaderboard(
            [options.runs_dir],
            out=options.runs_dir / "leaderboard.json",
            papers=None,
            write_schema=None,
        )
        report([options.runs_dir], out=options.runs_dir / "report")
        console.print(f"demo finished in {time.monotonic() - started:.0f} s")
