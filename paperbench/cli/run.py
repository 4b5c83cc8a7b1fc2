"""`paperbench run`: the eval pipeline over papers and seeds, resumable, with a live view.

Re-running the same command continues where it stopped: finished stages are never redone.
Ctrl-C stops the runs, removes their containers, and leaves a state that resumes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from paperbench.cli.config import ConfigOption, option, used_options
from paperbench.cli.options import registry
from paperbench.papers import PaperBundle
from paperbench.runs import provenance
from paperbench.runs.orchestrator import Orchestrator, RunSettings, RunStatus
from paperbench.runs.record import RunRecord
from paperbench.sandbox.cleanup import remove_leftovers
from paperbench.sandbox.docker_backend import DockerSandbox, shared_client
from paperbench.sandbox.images import AGENT_IMAGE, image_provenance

console = Console(highlight=False)
LOCAL_JUDGE = "local/smollm2"


def default_judge() -> str:
    """A real judge when a provider key is set, else the embedded local model."""
    if os.environ.get("OPENAI_API_KEY"):
        return "openai/o3-mini"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic/claude-sonnet-4-5"
    return LOCAL_JUDGE


def live_table(statuses: list[RunStatus]) -> Table:
    table = Table("run", "stage", "elapsed", "cost so far", "score", "notes", expand=False)
    for status in statuses:
        cost = status.cost_so_far()
        score = "" if status.score is None else f"{status.score:.3f}"
        table.add_row(
            f"{status.paper_id} seed {status.seed}",
            status.stage,
            f"{status.elapsed():.0f} s",
            "-" if cost is None else f"${cost:.4f}",
            score,
            status.note,
        )
    return table


async def _run_with_view(orchestrator: Orchestrator, live: bool) -> list[RunRecord]:
    if not live:
        return await orchestrator.run_all()
    with Live(live_table(orchestrator.statuses), console=console, refresh_per_second=2) as view:
        task = asyncio.ensure_future(orchestrator.run_all())
        while not task.done():
            view.update(Group(live_table(orchestrator.statuses)))
            await asyncio.wait({task}, timeout=0.5)
        view.update(live_table(orchestrator.statuses))
        return task.result()


def run(
    ctx: typer.Context,
    papers: Annotated[list[str], option("papers", "Paper ids or folders (repeat, or a,b).")],
    agent: Annotated[str, option("agent", "Agent spec: reference, replay, basic, ... or a .toml.")],
    judge: Annotated[
        str | None,
        option(
            "judge",
            "Judge model (default: openai/o3-mini with OPENAI_API_KEY, else local/smollm2).",
            show_default=False,
        ),
    ] = None,
    agent_model: Annotated[str | None, option("agent-model", "Model for basic/iterative.")] = None,
    replay_script: Annotated[
        Path | None, option("replay-script", "YAML for the replay agent.")
    ] = None,
    seeds: Annotated[int, option("seeds", "Runs per paper.", min=1)] = 1,
    concurrency: Annotated[int, option("concurrency", "Runs at once.", min=1)] = 1,
    code_dev: Annotated[
        bool, option("code-dev", "Grade Code Development only; no reproduction.")
    ] = False,
    runs_dir: Annotated[Path, option("runs-dir", "Where run directories go.")] = Path("runs"),
    batch: Annotated[int, option("batch", "Sibling leaves per judge call.", min=1)] = 1,
    max_depth: Annotated[
        int | None, option("max-depth", "Grade subtrees below as one item.")
    ] = None,
    judge_context_window: Annotated[
        int | None, option("judge-context-window", "Context window of an unknown judge model.")
    ] = None,
    reproduction_timeout: Annotated[
        float | None, option("reproduction-timeout", "Seconds [default: the paper's].")
    ] = None,
    reproduction_retries: Annotated[
        int, option("reproduction-retries", "Extra attempts after a failed reproduction.", min=0)
    ] = 0,
    agent_time_limit: Annotated[
        float | None, option("agent-time-limit", "Agent working seconds [default: the paper's].")
    ] = None,
    snapshot_interval: Annotated[
        float | None, option("snapshot-interval", "Seconds between submission snapshots.")
    ] = None,
    papers_dir: Annotated[
        list[Path] | None, option("papers-dir", "Extra folders of paper bundles.")
    ] = None,
    live: Annotated[
        bool, option("live", "Show the live table.", negative=True)
    ] = sys.stdout.isatty(),
    config: ConfigOption = None,
) -> None:
    """Run agent → capture → reproduction → grading for every paper and seed."""
    del config
    chosen_judge = judge or default_judge()
    warn_if_local(chosen_judge)
    found = registry(papers_dir)
    bundles: list[PaperBundle] = []
    for item in papers:
        bundles += [found.get(name) for name in item.split(",") if name]
    settings = RunSettings(
        agent=agent,
        agent_model=agent_model,
        replay_script=replay_script,
        judge=chosen_judge,
        seeds=seeds,
        concurrency=concurrency,
        code_dev=code_dev,
        runs_dir=runs_dir,
        batch=batch,
        max_depth=max_depth,
        judge_context_window=judge_context_window,
        reproduction_timeout=reproduction_timeout,
        reproduction_retries=reproduction_retries,
        agent_time_limit=agent_time_limit,
        snapshot_interval=snapshot_interval,
    )
    values, sources = used_options(ctx)
    values["judge"] = chosen_judge
    records = execute(settings, bundles, values, sources, live=live)
    summarise(records, runs_dir)


def execute(
    settings: RunSettings,
    bundles: list[PaperBundle],
    values: dict[str, object],
    sources: dict[str, str],
    *,
    live: bool,
) -> list[RunRecord]:
    """Run the orchestrator on Docker with provenance and leftover cleanup; Ctrl-C exits 130
    after the sandboxes are removed, leaving a state the same command resumes."""
    client = shared_client()
    images = image_provenance(client, [AGENT_IMAGE, settings.reproducer_image])

    def record_provenance(paper: PaperBundle) -> dict[str, object]:
        return provenance.collect(
            rubric=paper.rubric_path,
            images=images,
            agent={
                "spec": settings.agent,
                "model": settings.agent_model,
                "label": settings.agent_label(),
            },
            judge={
                "model": settings.judge,
                "batch": settings.batch,
                "code_dev": settings.code_dev,
                "max_depth": settings.max_depth,
            },
            options=values,
            option_sources=sources,
        ).model_dump(mode="json")

    def cleanup(run_id: str) -> None:
        for leftover in remove_leftovers(client, run_id):
            console.print(f"removed a leftover {leftover.kind} {leftover.name} of {run_id}")

    orchestrator = Orchestrator(settings, bundles, DockerSandbox, record_provenance, cleanup)
    try:
        return asyncio.run(_run_with_view(orchestrator, live))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: re-run the same command to continue[/]")
        raise typer.Exit(130) from None


def warn_if_local(judge: str) -> None:
    if judge == LOCAL_JUDGE:
        console.print(
            "[yellow]judge: local/smollm2, a 135M-parameter model running offline. Its grades "
            "prove that the pipeline works, not how good the submission is; set OPENAI_API_KEY "
            "or ANTHROPIC_API_KEY, or pass --judge, for real grades.[/]"
        )


def summarise(records: list[RunRecord], runs_dir: Path) -> None:
    table = Table("paper", "seed", "score", "invalid", "failures", title="Runs")
    for record in records:
        failures = "; ".join(f"{f.kind} ({f.stage}): {f.reason}"[:90] for f in record.failures)
        table.add_row(
            record.paper_id,
            str(record.seed),
            f"{record.score:.3f}",
            str(record.invalid_leaves),
            failures or "-",
        )
    console.print(table)
    console.print(f"run directories under {runs_dir}; `paperbench leaderboard {runs_dir}` next")
