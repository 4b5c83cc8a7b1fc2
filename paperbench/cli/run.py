"""`paperbench run`: the eval pipeline over papers and seeds, resumable, with a live view.

Re-running the same command continues where it stopped: finished stages are never redone
unless what they depend on changed. Ctrl-C stops the runs, removes their containers, and leaves
a state that resumes. Exit status: 0 when every run was graded without a failure; 1 when some
run ended in a failure class or with invalid leaves (the summary says which); 2 for a user
error; 130 on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from paperbench.agents.options import AgentOptions
from paperbench.cli.config import used_options
from paperbench.cli.options import from_models
from paperbench.cli.run_plan import print_conditions, print_plan
from paperbench.grading.options import LOCAL_JUDGE, JudgeOptions
from paperbench.reproduction.options import ReproductionOptions
from paperbench.runs.dry_run import plan_runs
from paperbench.runs.orchestrator import Orchestrator, RunStatus
from paperbench.runs.pipeline import docker_orchestrator, failed_runs, plan_run, resolve_papers
from paperbench.runs.record import RunRecord
from paperbench.runs.remote_root import is_url
from paperbench.runs.settings import RunOptions, RunSettings
from paperbench.secrets_options import SecretsOptions

console = Console(highlight=False)


def live_table(statuses: list[RunStatus]) -> Table:
    """One row per run; a node column when runs go to a cluster (``--executor ray``)."""
    nodes = any(status.node for status in statuses)
    columns = ["run", "stage", *(["node"] if nodes else []), "elapsed", "cost so far"]
    table = Table(*columns, "score", "notes", expand=False)
    for status in statuses:
        cost = status.cost_so_far()
        score = "" if status.score is None else f"{status.score:.3f}"
        table.add_row(
            f"{status.paper_id} seed {status.seed}",
            status.stage,
            *([escape(status.node)] if nodes else []),
            f"{status.elapsed():.0f} s",
            "-" if cost is None else f"${cost:.4f}",
            score,
            status.note,
        )
    return table


def progress_line(status: RunStatus) -> str:
    """One line per stage change, for logs (stdout not a terminal)."""
    cost = status.cost_so_far()
    spent = "-" if cost is None else f"${cost:.4f}"
    line = (
        f"[run] {status.paper_id} seed {status.seed}: {status.stage} "
        f"({status.elapsed():.0f} s, cost so far {spent})"
    )
    if status.node:
        line += f" on {status.node}"
    if status.finished and status.score is not None:
        line += f" score {status.score:.3f}"
        if status.note:
            line += f" ({status.note})"
    return line


async def _run_with_view(orchestrator: Orchestrator, live: bool) -> list[RunRecord]:
    if not live:
        return await orchestrator.run_all()
    with Live(live_table(orchestrator.statuses), console=console, refresh_per_second=2) as view:
        task = asyncio.ensure_future(orchestrator.run_all())
        while not task.done():
            view.update(live_table(orchestrator.statuses))
            await asyncio.wait({task}, timeout=0.5)
        view.update(live_table(orchestrator.statuses))
        return task.result()


def execute(
    settings: RunSettings, options: dict[str, object], sources: dict[str, str]
) -> list[RunRecord]:
    """Run the pipeline on Docker, with the live table or one line per stage change; Ctrl-C
    exits 130 once the sandboxes are removed, leaving a state the same command resumes."""
    live = settings.run.live if settings.run.live is not None else sys.stdout.isatty()
    settings, papers, conditions = plan_run(settings, resolve_papers(settings))
    print_conditions(console, conditions)
    orchestrator = docker_orchestrator(
        settings,
        papers,
        options=options,
        option_sources=sources,
        conditions=conditions,
        say=lambda text: console.print(escape(text)),
        on_change=(lambda status: None)
        if live
        else (lambda status: print(progress_line(status), flush=True)),
    )
    try:
        return asyncio.run(_run_with_view(orchestrator, live))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: re-run the same command to continue[/]")
        raise typer.Exit(130) from None


def dry_run(settings: RunSettings) -> None:
    """Print what every (paper, seed) would run with and the judge's estimated cost, after
    the checks a real run makes before its first container (no Docker engine needed)."""
    settings, papers, conditions = plan_run(settings, resolve_papers(settings))
    print_conditions(console, conditions)

    def no_sandbox(spec: object) -> NoReturn:
        raise AssertionError("a dry run starts no sandbox")

    Orchestrator(settings, papers, no_sandbox, gpus=conditions.devices()).preflight()
    print_plan(console, plan_runs(settings, papers, conditions))


def warn_if_local(judge: JudgeOptions) -> None:
    if judge.model_name == LOCAL_JUDGE:
        console.print(
            "[yellow]judge: local/smollm2, a 135M-parameter model running offline. Its grades "
            "prove that the pipeline works, not how good the submission is; set OPENAI_API_KEY "
            "or ANTHROPIC_API_KEY, or pass --judge, for real grades.[/]"
        )


def summarise(records: list[RunRecord], runs_dir: Path | str) -> None:
    """The runs' table, then what went wrong; exits 1 when any run failed or has invalid
    leaves."""
    table = Table("paper", "seed", "score", "invalid", "failures", title="Runs")
    for record in records:
        failures = "; ".join(f"{f.kind} ({f.stage}): {f.reason}"[:90] for f in record.failures)
        table.add_row(
            record.paper_id,
            str(record.seed),
            f"{record.score:.3f}",
            str(record.invalid_leaves),
            escape(failures) or "-",
        )
    console.print(table)
    if is_url(str(runs_dir)):
        console.print(
            f"run directories under {runs_dir}; copy them to a folder (e.g. `aws s3 sync`) for "
            "`paperbench leaderboard FOLDER`"
        )
    else:
        console.print(f"run directories under {runs_dir}; `paperbench leaderboard {runs_dir}` next")
    failed = failed_runs(records)
    if failed:
        kinds = sorted({failure.kind for record in failed for failure in record.failures})
        invalid = sum(record.invalid_leaves > 0 for record in failed)
        parts = [", ".join(kinds)] if kinds else []
        if invalid:
            parts.append(f"{invalid} with invalid leaves (re-run to retry them)")
        console.print(
            f"[red]{len(failed)} of {len(records)} runs did not end cleanly: "
            f"{escape('; '.join(parts))}[/]"
        )
        raise typer.Exit(1)


@from_models(RunOptions, AgentOptions, ReproductionOptions, JudgeOptions, SecretsOptions)
def run(
    ctx: typer.Context,
    run_options: RunOptions,
    agent: AgentOptions,
    reproduction: ReproductionOptions,
    judge: JudgeOptions,
    secrets: SecretsOptions,
) -> None:
    """Run agent (ending with the capture) → reproduction → grading for every paper and seed."""
    secrets.apply()
    settings = RunSettings(
        run=run_options, agent=agent, reproduction=reproduction, judge=judge.resolved()
    )
    warn_if_local(settings.judge)
    values, sources = used_options(ctx)
    values["judge"] = settings.judge.model_name
    if run_options.dry_run:
        dry_run(settings)
        return
    records = execute(settings, values, sources)
    summarise(records, run_options.runs_dir)
