"""Leaderboard figures checked against values computed by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from paperbench.runs.leaderboard import build_leaderboard, find_records, leaderboard_schema
from paperbench.runs.record import CategoryResult, Failure, RunRecord

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "grader" / "leaderboard.schema.json"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(agent: str, paper: str, seed: int, score: float, **extra: Any) -> RunRecord:
    fields: dict[str, Any] = {
        "run_id": f"{agent}-{paper}-{seed}",
        "agent": agent,
        "judge": "openai/o3-mini",
        "paper_id": paper,
        "seed": seed,
        "finished_at": T0,
        "score": score,
        "score_if_invalid_passed": score,
        "graded": True,
        "agent_cost_usd": 1.0,
        "judge_cost_usd": 0.25,
        "agent_seconds": 100.0,
        "reproduction_seconds": 20.0,
        "grading_seconds": 10.0,
        "total_seconds": 140.0,
        "per_category": {"Code Development": CategoryResult(score=score, items=3, invalid=0)},
    }
    fields.update(extra)
    return RunRecord(**fields)


@pytest.fixture
def records() -> list[RunRecord]:
    return [
        record("A", "p1", 0, 0.5),
        record("A", "p2", 0, 0.3),
        record("A", "p1", 1, 0.7),
        record(
            "A",
            "p2",
            1,
            0.5,
            invalid_leaves=3,
            score_if_invalid_passed=0.6,
            failures=[Failure(kind="judge_invalid", stage="grading", reason="3 leaves")],
        ),
        record("A", "p1", 2, 0.9),  # seed 2 lacks p2: reported, not counted
        record(
            "B",
            "p1",
            0,
            0.0,
            judge_cost_usd=None,
            failures=[Failure(kind="disqualified", stage="monitor", reason="git clone")],
        ),
        record("B", "p2", 0, 0.8),
    ]


def test_mean_and_standard_error_over_complete_seeds(records: list[RunRecord]) -> None:
    board = build_leaderboard(records)
    a = board.entries[0]
    assert a.agent == "A"
    assert a.seeds_counted == [0, 1]
    # seed 0: (0.5 + 0.3) / 2 = 0.4; seed 1: (0.7 + 0.5) / 2 = 0.6
    assert a.score.mean == pytest.approx(0.5)
    # sample std of (0.4, 0.6) = 0.141421..., / sqrt(2) = 0.1
    assert a.score.stderr == pytest.approx(0.1)
    assert a.score.n == 2


def test_incomplete_seeds_are_reported_not_mixed(records: list[RunRecord]) -> None:
    a = build_leaderboard(records).entries[0]
    assert [(s.seed, s.missing_papers) for s in a.incomplete_seeds] == [(2, ["p2"])]
    assert a.runs == 4
    assert a.per_paper["p1"].mean == pytest.approx(0.6)  # 0.9 of seed 2 is not in it
    assert a.per_paper["p1"].stderr == pytest.approx(0.1)


def test_invalid_leaves_count_zero_and_the_upper_bound_is_given(
    records: list[RunRecord],
) -> None:
    a = build_leaderboard(records).entries[0]
    assert (a.invalid_leaves, a.runs_with_invalid_leaves) == (3, 1)
    # seed 1 had all invalid leaves passed: (0.7 + 0.6) / 2 = 0.65; mean with 0.4 = 0.525
    assert a.score_if_invalid_passed.mean == pytest.approx(0.525)
    assert [(f.kind, f.runs) for f in a.failures] == [("judge_invalid", 1)]


def test_disqualified_runs_stay_in_the_denominator_with_score_zero(
    records: list[RunRecord],
) -> None:
    b = build_leaderboard(records).entries[1]
    assert b.agent == "B"
    assert b.score.mean == pytest.approx(0.4)  # (0.0 + 0.8) / 2
    assert b.score.stderr is None  # one seed
    assert b.disqualified_runs == 1


def test_costs_add_up_and_an_unpriced_run_makes_the_total_unknown(
    records: list[RunRecord],
) -> None:
    a, b = build_leaderboard(records).entries
    assert (a.cost.agent_usd, a.cost.judge_usd) == (pytest.approx(4.0), pytest.approx(1.0))
    assert a.cost.judge_usd_per_run == pytest.approx(0.25)
    assert b.cost.judge_usd is None
    assert a.time.total == pytest.approx(140.0)


def test_per_category_means_follow_the_seed_rule(records: list[RunRecord]) -> None:
    a = build_leaderboard(records).entries[0]
    assert a.per_category["Code Development"].mean == pytest.approx(0.5)


def test_the_latest_record_of_a_rerun_wins(tmp_path: Path) -> None:
    old = record("A", "p1", 0, 0.1)
    new = record("A", "p1", 0, 0.9, finished_at=T0 + timedelta(hours=1))
    for folder, rec in (("old", old), ("new", new)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "run.json").write_text(rec.model_dump_json())
    found, superseded = find_records([tmp_path])
    assert [r.score for r in found] == [0.9]
    assert superseded == [str(tmp_path / "old" / "run.json")]


def test_output_validates_against_the_committed_schema(records: list[RunRecord]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    board = json.loads(build_leaderboard(records).model_dump_json())
    jsonschema.Draft202012Validator(schema).validate(board)


def test_committed_schema_equals_the_generated_one() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == leaderboard_schema(), "run `paperbench leaderboard --write-schema`"
