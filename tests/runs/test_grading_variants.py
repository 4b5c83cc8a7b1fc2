"""PaperBench's grading variants through whole runs (in-process, local sandboxes): Code-Dev as
PaperBench runs it, the judge's reasoning effort from ``run``, and score against time."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paperbench.agents.protocol import Snapshot
from paperbench.errors import PaperbenchError
from paperbench.grading.snapshots import grade_times, parse_time, snapshot_at
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import load_bundle
from paperbench.runs.leaderboard import build_leaderboard, find_records
from paperbench.runs.orchestrator import Orchestrator
from paperbench.runs.report import markdown
from tests.support.conditions import finished_agent_stage
from tests.support.grading import NoSleep
from tests.support.inprocess import WritingAgent, local, orchestrate
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, fill_schema
from tests.support.runs import run_settings, write_paper


def test_code_dev_tells_the_agent_its_code_is_not_run_and_grades_only_code(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    settings = run_settings(tmp_path / "runs", judge_server.openai_url, code_dev=True)
    _, [record] = orchestrate(settings, [paper])
    run_dir = next((tmp_path / "runs").rglob("seed-0"))
    instructions = (run_dir / "agent" / "instructions.md").read_text()
    assert "It is **not run** after you finish" in instructions
    assert "reproduce.sh` is run with `bash`" not in instructions
    assert not (run_dir / "reproduction").exists()
    assert record.code_dev and record.score == pytest.approx(1.0)
    assert list(record.per_category) == ["Code Development"]
    assert len(judge_server.requests) == 1


def test_the_leaderboard_keeps_code_dev_and_full_runs_apart(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    orchestrate(run_settings(tmp_path / "full", judge_server.openai_url), [paper])
    orchestrate(run_settings(tmp_path / "dev", judge_server.openai_url, code_dev=True), [paper])
    records, superseded = find_records([tmp_path / "full", tmp_path / "dev"])
    assert len(records) == 2 and superseded == []
    board = build_leaderboard(records)
    variants = {entry.variant: entry.score.mean for entry in board.entries}
    assert variants == {"code-dev": pytest.approx(1.0), "full": pytest.approx(1 / 3)}
    assert "| replay [code-dev] |" in markdown(board)


def test_the_reasoning_effort_given_to_run_reaches_every_judge_call(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    settings = run_settings(tmp_path / "runs", judge_server.openai_url, reasoning_effort="high")
    _, [record] = orchestrate(settings, [paper])
    assert record.graded and len(judge_server.requests) == 3
    assert {request.body["reasoning_effort"] for request in judge_server.requests} == {"high"}


# -- score against time ---------------------------------------------------------------------


def snapshot(index: int, seconds: float, kind: str = "periodic", ok: bool = True) -> Snapshot:
    return Snapshot(
        index=index,
        kind=kind,  # type: ignore[arg-type]
        taken_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds),
        wall_seconds=seconds + 100,
        working_seconds=seconds,
        archive=f"snapshots/{index:03d}/submission.tar" if ok else None,
    )


def test_times_are_read_in_seconds_minutes_or_hours_each_once_in_order() -> None:
    assert parse_time("90s") == 90 and parse_time("1.5h") == 5400 and parse_time("600") == 600
    assert grade_times(["3h,1h", "60m", "12h"]) == [("1h", 3600), ("3h", 10800), ("12h", 43200)]
    with pytest.raises(PaperbenchError, match=r"--grade-at 'soon': not a time"):
        parse_time("soon")


def test_the_submission_at_a_time_is_the_last_snapshot_taken_by_then() -> None:
    taken = [
        snapshot(1, 1000),
        snapshot(2, 2000, ok=False),
        snapshot(3, 3000),
        snapshot(4, 5000, kind="final"),
    ]
    assert snapshot_at(taken, 500) is None
    assert snapshot_at(taken, 2500) == taken[0]  # the failed one is passed over
    assert snapshot_at(taken, 3000) == taken[2]
    assert snapshot_at(taken, 9000) == taken[3]


def versioned(request: RecordedRequest) -> Reply:
    """Code Development passes; execution and results pass only for VERSION-2."""
    categories = re.findall(r"Requirement `[^`]*` \(([^)]*)\)", request.text)
    passed = categories[-1] == "Code Development" or "VERSION-2" in request.text
    return Reply(json=fill_schema(request.schema or {}, {"score": int(passed)}))


def test_each_grade_at_time_grades_the_snapshot_of_then_and_the_board_plots_it(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    judge_server.default = versioned
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    settings = run_settings(tmp_path / "runs", judge_server.openai_url, grade_at=["2h,30m,1h"])
    orchestrator = Orchestrator(
        settings,
        [paper],
        local,
        agent_factory=lambda spec, bundle: WritingAgent(),
        judge_retry=RetryPolicy(sleep=NoSleep()),
    )
    script = "mkdir -p results\necho {0} | tee results/version.txt\n"
    paths = finished_agent_stage(
        orchestrator,
        0,
        [
            (3000.0, {"reproduce.sh": script.format("VERSION-1"), "model.py": "VERSION-1"}),
            (5000.0, {"reproduce.sh": script.format("VERSION-2"), "model.py": "VERSION-2"}),
        ],
    )
    [record] = asyncio.run(orchestrator.run_all())
    assert record.score == pytest.approx(1.0)
    points = {point.label: point for point in record.timeline}
    assert list(points) == ["30m", "1h", "2h"]
    assert points["30m"].snapshot is None and points["30m"].score == 0
    assert "no snapshot" in points["30m"].failures[0].reason
    assert (points["1h"].snapshot, points["1h"].score) == (1, pytest.approx(1 / 3))
    assert (points["2h"].snapshot, points["2h"].score) == (2, pytest.approx(1.0))
    assert (paths.root / "at" / "1h" / "grading" / "graded_tree.json").is_file()
    assert (paths.root / "at" / "1h" / "reproduction" / "reproduction.json").is_file()
    assert not (paths.root / "at" / "2h").exists()  # the final submission's grade is reused
    assert len(judge_server.requests) == 6

    board = build_leaderboard([record])
    assert {label: e.mean for label, e in board.entries[0].score_at.items()} == {
        "30m": 0.0,
        "1h": pytest.approx(1 / 3),
        "2h": pytest.approx(1.0),
    }
    assert "## Score against time" in markdown(board)

    again = Orchestrator(
        settings, [paper], local, agent_factory=lambda spec, bundle: WritingAgent()
    )
    [second] = asyncio.run(again.run_all())
    assert second.timeline == record.timeline and len(judge_server.requests) == 6
