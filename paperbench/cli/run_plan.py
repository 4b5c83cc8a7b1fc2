"""What ``paperbench run`` prints before anything starts: the run's conditions, and with
``--dry-run`` every (paper, seed) it would run and the judge's estimated cost."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

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
    """One row per (paper, seed), then the whole run's estimated judge cost."""
    table = Table(
        "paper",
        "seed",
        "images",
        "limits",
        "GPUs",
        "network",
        "agent env",
        "judge",
        "est. judge cost",
        title="Dry run: nothing was started",
    )
    for run in planned:
        estimate = run.judge
        images = run.agent_image + (f"\n{run.reproducer_image}" if run.reproducer_image else "")
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
        effort = f" (reasoning {estimate.reasoning_effort})" if estimate.reasoning_effort else ""
        judge = f"{estimate.judge}{effort}\n{estimate.items} items, {estimate.calls} calls" + (
            f" x {estimate.grades} grades" if estimate.grades > 1 else ""
        )
        table.add_row(
            escape(run.paper_id),
            str(run.seed),
            escape(images),
            escape(limits),
            escape(gpus),
            escape(network),
            escape(", ".join(run.env_names) or "-"),
            escape(judge),
            _money(estimate.cost_low_usd, estimate.cost_high_usd),
        )
    console.print(table)
    low, high = total_cost(planned)
    console.print(
        f"estimated judge cost of the whole run: {_money(low, high)} for {len(planned)} runs "
        "(low: a small submission and cached prefixes; high: every call fills the context "
        "window and its output limit)"
    )
