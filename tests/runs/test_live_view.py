"""The live view shows each run's stage, elapsed time and cost so far."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from paperbench.cli.run import live_table
from paperbench.runs.layout import RunPaths
from paperbench.runs.orchestrator import RunStatus


def test_cost_so_far_is_read_from_the_growing_transcript_plus_the_judge(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path / "run")
    transcript = paths.stage_dir("agent") / "transcript.jsonl"
    transcript.parent.mkdir(parents=True)
    events = [
        {"seq": 1, "type": "model_reply", "cost_usd": 0.25},
        {"seq": 2, "type": "tool_call", "tool": "bash"},
        {"seq": 3, "type": "model_reply", "cost_usd": 0.75},
        {"seq": 4, "type": "tool_result", "output": "ok"},
    ]
    transcript.write_text("".join(json.dumps(event) + "\n" for event in events))
    status = RunStatus("toy", 0, paths, stage="agent")
    assert status.cost_so_far() == 0.75
    status.judge_cost = 0.5
    assert status.cost_so_far() == 1.25


def test_the_table_has_a_row_per_run_with_its_stage_and_cost(tmp_path: Path) -> None:
    running = RunStatus("paper-a", 0, RunPaths(tmp_path / "a"), stage="reproduction")
    running.agent_cost = 0.1234
    done = RunStatus("paper-b", 1, RunPaths(tmp_path / "b"), stage="finished", score=0.5)
    console = Console(width=200, record=True)
    console.print(live_table([running, done]))
    text = console.export_text()
    assert "paper-a seed 0" in text and "reproduction" in text and "$0.1234" in text
    assert "paper-b seed 1" in text and "0.500" in text
