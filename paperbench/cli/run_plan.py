"""What ``paperbench run`` prints before anything starts: the run's conditions, and with
``--dry-run`` every (paper, seed) it would run and the judge's estimated cost."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from paperbench.runs.conditions import RunConditions
from paperbench.runs.dry_run import PlannedRun, total_cost


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def _money(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "unknown (no price)"
    return f"${low:.2f} - ${high:.2f}"


def print_conditions(console: Console, conditions: RunConditions) -> None:
    for line in conditions.lines():
        console.print(escape(line))


def print_plan(console: Console, planned: list[PlannedRun]) -> None:
    """One row per (paper, seed), then the whole run's estimated judge cost. What every run
    shares (the images, the judge) is said once above the table, so the rows stay narrow
    enough that no paper's name is cut."""
    images = {(run.agent_image, run.reproducer_image) for run in planned}
    judges = {_judge_name(run) for run in planned}
    shared_images = len(images) == 1
    shared_judge = len(judges) == 1
    if planned and shared_images:
        agent_image, reproducer_image = next(iter(images))
        console.print(
            escape(f"images: agent {agent_image}, reproduction {reproducer_image or '(none)'}")
        )
    if planned and shared_judge:
        console.print(escape(f"judge: {next(iter(judges))}"))
    columns: list[str | Column] = [Column("paper", no_wrap=True), "seed"]
    if not shared_images:
        columns.append("images")
    columns += ["limits", "GPUs", "network", "agent env"]
    columns.append("judge calls" if shared_judge else "judge")
    columns.append("est. judge cost")
    table = Table(*columns, title="Dry run: nothing was started")
    for run in planned:
        estimate = run.judge
        limits = (
            f"agent {_duration(run.agent_time_limit_seconds)}\n"
            + (
                f"repro {_duration(run.reproduction_time_limit_seconds)}"
                + (" +salvage" if run.salvage else "")
                if run.reproducer_image
                else "no reproduction (Code-Dev)"
            )
            + f"\n{run.cpus:g} CPUs, {run.memory_mb} MB"
        )
        gpus = run.gpus + (f" -> {', '.join(run.gpu_devices)}" if run.gpu_devices else "")
        network = f"agent {run.agent_network}" + (
            f"\nrepro {run.reproduction_network}" if run.reproduction_network else ""
        )
        calls = f"{estimate.items} items, {estimate.calls} calls" + (
            f" x {estimate.grades} grades" if estimate.grades > 1 else ""
        )
        cells = [escape(run.paper_id), str(run.seed)]
        if not shared_images:
            images_cell = run.agent_image + (
                f"\n{run.reproducer_image}" if run.reproducer_image else ""
            )
            cells.append(escape(images_cell))
        cells += [
            escape(limits),
            escape(gpus),
            escape(network),
            escape(", ".join(run.env_names) or "-"),
            escape(calls if shared_judge else f"{_judge_name(run)}\n{calls}"),
            _money(estimate.cost_low_usd, estimate.cost_high_usd),
        ]
        table.add_row(*cells)
    console.print(table)
    low, high = total_cost(planned)
    console.print(
        f"estimated judge cost of the whole run: {_money(low, high)} for {len(planned)} runs "
        "(low: a small submission and cached prefixes; high: every call fills the context "
        "window and its output limit)"
    )


def _judge_name(run: PlannedRun) -> str:
    effort = run.judge.reasoning_effort
    return run.judge.judge + (f" (reasoning {effort})" if effort else "")
