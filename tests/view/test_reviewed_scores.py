"""Reviewed scores reach the leaderboard and the report beside the judge-only ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from paperbench.errors import PaperbenchError
from paperbench.grading.overrides import set_override
from paperbench.runs.leaderboard import build_leaderboard, find_records
from paperbench.runs.report import markdown
from tests.support.cli import paperbench
from tests.support.paths import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "grader" / "leaderboard.schema.json").read_text())


def second_seed(runs: Path, run_dir: Path) -> Path:
    """The same run copied as seed 1 (same judge grades, so the same score)."""
    other = run_dir.parent / "seed-1"
    shutil.copytree(run_dir, other)
    record = json.loads((other / "run.json").read_text())
    record["seed"] = 1
    (other / "run.json").write_text(json.dumps(record))
    return other


def test_a_record_carries_its_reviewed_score_only_when_overrides_exist(
    runs: Path, run_dir: Path
) -> None:
    [record], _ = find_records([runs])
    assert record.reviewed is None
    set_override(run_dir, "1/0", 1, "The log shows it ran.", "alice")
    [record], _ = find_records([runs])
    assert record.score == pytest.approx(1 / 3)
    assert record.reviewed is not None
    assert (record.reviewed.score, record.reviewed.overrides) == (pytest.approx(2 / 3), 1)
    assert json.loads((run_dir / "run.json").read_text()).get("reviewed") is None


def test_a_disqualified_run_stays_at_zero_whatever_the_review(runs: Path, run_dir: Path) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    record["failures"] = [{"kind": "disqualified", "stage": "agent", "reason": "blacklisted"}]
    record.update(score=0.0, graded=False)
    (run_dir / "run.json").write_text(json.dumps(record))
    set_override(run_dir, "1/0", 1, "The log shows it ran.", "alice")
    [found], _ = find_records([runs])
    assert found.reviewed is None


def test_the_leaderboard_gives_a_reviewed_estimate_beside_the_judges(
    runs: Path, run_dir: Path
) -> None:
    second_seed(runs, run_dir)
    set_override(run_dir, "1/0", 1, "The log shows it ran.", "alice")
    records, superseded = find_records([runs])
    board = build_leaderboard(records, superseded=superseded)
    [entry] = board.entries
    assert entry.score.mean == pytest.approx(1 / 3)
    assert entry.reviewed is not None
    assert entry.reviewed.mean == pytest.approx((2 / 3 + 1 / 3) / 2)  # seed 1 is not reviewed
    assert entry.reviewed_runs == 1
    jsonschema.validate(json.loads(board.model_dump_json()), SCHEMA)


def test_without_reviews_the_leaderboard_has_no_reviewed_estimate(runs: Path) -> None:
    records, _ = find_records([runs])
    [entry] = build_leaderboard(records).entries
    assert (entry.reviewed, entry.reviewed_runs) == (None, 0)
    assert "| agent | score | seeds |" in markdown(build_leaderboard(records))


def test_the_report_shows_judge_and_reviewed_scores_side_by_side(runs: Path, run_dir: Path) -> None:
    set_override(run_dir, "1/0", 1, "The log shows it ran.", "alice")
    records, _ = find_records([runs])
    text = markdown(build_leaderboard(records))
    assert "| agent | score (judge) | reviewed | seeds |" in text
    assert "| replay | 0.333 | 0.667 (1 of 1 runs reviewed) | 1 |" in text


def test_a_malformed_overrides_file_stops_the_leaderboard_with_its_name(
    runs: Path, run_dir: Path
) -> None:
    (run_dir / "grading" / "overrides.json").write_text("[]")
    with pytest.raises(PaperbenchError, match=r"seed-0: cannot compute the reviewed score"):
        find_records([runs])


def test_the_leaderboard_command_prints_the_reviewed_column(
    runs: Path, run_dir: Path, tmp_path: Path
) -> None:
    set_override(run_dir, "1/0", 1, "The log shows it ran.", "alice")
    out = tmp_path / "board.json"
    result = paperbench("leaderboard", str(runs), "--out", str(out), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "score (judge)" in result.stdout and "reviewed" in result.stdout
    assert "0.667" in result.stdout
    assert json.loads(out.read_text())["entries"][0]["reviewed"]["mean"] == pytest.approx(2 / 3)
