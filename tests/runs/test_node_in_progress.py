"""With runs on a cluster, the live view and the progress lines say which node runs what; on
one machine they stay as they were."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from paperbench.cli.run import live_table, progress_line
from paperbench.runs.layout import RunPaths
from paperbench.runs.orchestrator import RunStatus


def rendered(statuses: list[RunStatus]) -> str:
    console = Console(width=200, record=True)
    console.print(live_table(statuses))
    return console.export_text()


def test_the_table_gets_a_node_column_when_runs_are_on_nodes(tmp_path: Path) -> None:
    first = RunStatus("paper-a", 0, RunPaths(tmp_path / "a"), stage="agent", node="node-1")
    second = RunStatus("paper-b", 0, RunPaths(tmp_path / "b"), stage="grading", node="node-2")
    text = rendered([first, second])
    header = next(line for line in text.splitlines() if "stage" in line)
    assert "node" in header
    assert any("paper-a seed 0" in line and "node-1" in line for line in text.splitlines())
    assert any("paper-b seed 0" in line and "node-2" in line for line in text.splitlines())


def test_the_table_has_no_node_column_on_one_machine(tmp_path: Path) -> None:
    text = rendered([RunStatus("paper-a", 0, RunPaths(tmp_path / "a"), stage="agent")])
    header = next(line for line in text.splitlines() if "stage" in line)
    assert "node" not in header


def test_a_progress_line_ends_with_the_node(tmp_path: Path) -> None:
    status = RunStatus("paper-a", 1, RunPaths(tmp_path / "a"), stage="reproduction")
    assert " on " not in progress_line(status)
    status.node = "gpu-7"
    assert progress_line(status).endswith(" on gpu-7")
