"""Runs are found under the folders given and summarised from their records, finished or not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paperbench.view.catalog import RunFiles, discover, overview, row


def test_runs_are_found_by_their_records_and_named_by_position(runs: Path, run_dir: Path) -> None:
    (run_dir / "submission" / "deep" / "state.json").parent.mkdir()
    (run_dir / "submission" / "deep" / "state.json").write_text("{}")  # inside a run: not a run
    found = discover([runs])
    assert found == {"0/replay/toy-a/seed-0": run_dir}
    assert discover([run_dir]) == {"0": run_dir}


def test_a_finished_run_row_has_its_score_costs_and_stages(run_dir: Path) -> None:
    shown = row("0/x", RunFiles.read(run_dir))
    assert (shown["agent"], shown["paper"], shown["seed"]) == ("replay", "toy-a", 0)
    assert shown["stages"] == {"agent": "done", "reproduction": "done", "grading": "done"}
    assert shown["score"] == pytest.approx(1 / 3)
    assert (shown["invalid_leaves"], shown["failures"], shown["reviewed"]) == (0, [], None)
    assert shown["finished"] and not shown["in_progress"]


def test_a_run_in_progress_shows_its_running_stage_and_what_it_spent(run_dir: Path) -> None:
    (run_dir / "run.json").unlink()
    shutil.rmtree(run_dir / "grading")
    state = json.loads((run_dir / "state.json").read_text())
    state["stages"]["grading"] = {"status": "running", "started_at": "2026-01-01T00:00:00Z"}
    (run_dir / "state.json").write_text(json.dumps(state))
    shown = row("0/x", RunFiles.read(run_dir))
    assert shown["in_progress"] and not shown["finished"]
    assert shown["stages"]["grading"] == "running"
    assert (shown["agent"], shown["paper"], shown["seed"]) == ("replay", "toy-a", 0)
    assert shown["score"] is None
    assert shown["agent_cost_usd"] == 0.0


def test_a_malformed_record_is_reported_not_fatal(run_dir: Path) -> None:
    (run_dir / "run.json").write_text("{half")
    shown = row("0/x", RunFiles.read(run_dir))
    assert shown["problems"]["run.json"].startswith("not JSON")


def test_graded_snapshots_are_scored_by_time(run_dir: Path) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    record["timeline"] = [
        {"label": "10m", "seconds": 600, "snapshot": 1, "score": 0.5},
        {"label": "1m", "seconds": 60, "snapshot": 0, "score": 0.0},
        {"label": "15m", "seconds": 900, "snapshot": None, "score": "high"},
    ]
    (run_dir / "run.json").write_text(json.dumps(record))
    points = overview("0/x", run_dir)["graded_snapshots"]
    assert [(p["seconds"], p.get("score"), bool(p.get("problem"))) for p in points] == [
        (60.0, 0.0, False),
        (600.0, 0.5, False),
        (900.0, None, True),
    ]


def test_the_overview_carries_the_monitor_reproduction_and_snapshots(run_dir: Path) -> None:
    shown = overview("0/x", run_dir)
    assert shown["monitor"]["violations"] == []
    assert shown["reproduction"]["status"] == "succeeded"
    assert shown["reproduction"]["files_created_total"] == 1
    assert [s["kind"] for s in shown["snapshots"]] == ["final"]
    assert shown["sizes"]["transcript"] > 0
