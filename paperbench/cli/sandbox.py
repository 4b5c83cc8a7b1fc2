"""`paperbench sandbox`: find and remove sandboxes a run left behind.

Sandboxes clean up after themselves on success, errors and signals; what a SIGKILL or a crash of
the engine connection leaves is labelled, and these commands find it by those labels.
"""

from __future__ import annotations

import typer
from rich.console import Console

from paperbench.errors import PaperbenchError
from paperbench.sandbox.cleanup import find_leftovers, remove_leftovers
from paperbench.sandbox.engine import docker_client

app = typer.Typer(help="List and remove leftover sandboxes.", no_args_is_help=True)
console = Console()


@app.command("ls")
def list_sandboxes(
    run: str | None = typer.Option(None, "--run", help="Only this run's sandboxes."),
) -> None:
    """List paperbench's containers and volumes (running or not)."""
    leftovers = find_leftovers(docker_client(), run)
    if not leftovers:
        console.print("no paperbench sandboxes" + (f" for run {run}" if run else ""))
        return
    # Plain aligned columns, never cut: names are meant to be copied and grepped.
    rows = [("KIND", "NAME", "RUN", "STAGE", "CREATED", "STATE")]
    rows += [(i.kind, i.name, i.run_id, i.stage, i.created_at, i.status) for i in leftovers]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@app.command()
def cleanup(
    run: str | None = typer.Option(None, "--run", help="Remove this run's sandboxes."),
    remove_all: bool = typer.Option(False, "--all", help="Remove every paperbench sandbox."),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        envvar="PAPERBENCH_RAY_ADDRESS",
        help="On every node of this Ray cluster (HOST:PORT or auto), not just this machine.",
    ),
) -> None:
    """Kill and remove sandbox containers and their volumes, by run or all of them."""
    if (run is None) == (not remove_all):
        raise PaperbenchError(
            "sandbox cleanup: say which sandboxes to remove, with --run ID or --all (not both); "
            "`paperbench sandbox ls` lists them"
        )
    if ray_address is not None:
        from paperbench.runs.ray_executor import in_cluster_cleanup

        found = in_cluster_cleanup(ray_address, run)
        for node in found:
            if node.problem:
                console.print(f"node {node.node}: failed: {node.problem}", markup=False)
                continue
            console.print(f"node {node.node}: removed {len(node.removed)}", markup=False)
            for item in node.removed:
                console.print(f"  {item}", markup=False)
        if any(node.problem for node in found):
            raise typer.Exit(1)
        return
    removed = remove_leftovers(docker_client(), run)
    containers = sum(item.kind == "container" for item in removed)
    volumes = len(removed) - containers
    scope = f"run {run}" if run else "all runs"
    console.print(f"removed {containers} containers and {volumes} volumes ({scope})")
