"""Reviewers' overrides: kept beside the judge's tree, recomputed by the judge's aggregation,
every change recorded with who and when."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from paperbench.grading.overrides import (
    OverrideError,
    apply_overrides,
    load_overrides,
    remove_override,
    review,
    reviewed_score,
    reviewed_tree,
    score_tree,
    set_override,
)
from tests.support.paths import SHARED_DATA, VENDORED_DATA

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def graded_leaf(
    path: str, score: float, weight: int = 1, valid: bool = True, **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"leaf-{path}",
        "requirements": f"requirement {path}",
        "weight": weight,
        "score": score,
        "valid_score": valid,
        "task_category": "Code Development",
        "explanation": "judge says so" if valid else "the judge's reply never validated",
        "judge_metadata": {"judged_by": "judge", "item": "leaf"},
        "sub_tasks": [],
        "path": path,
        **extra,
    }


def write_tree(run_dir: Path, tree: dict[str, Any]) -> Path:
    (run_dir / "grading").mkdir(parents=True, exist_ok=True)
    path = run_dir / "grading" / "graded_tree.json"
    path.write_text(json.dumps(tree))
    return path


def root(*children: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "root",
        "requirements": "reproduced",
        "weight": 1,
        "score": 0.0,
        "valid_score": True,
        "explanation": "Aggregated score from sub-tasks.",
        "judge_metadata": None,
        "sub_tasks": list(children),
        "path": "",
    }


def test_without_overrides_the_score_is_the_judges(run_dir: Path) -> None:
    summary = json.loads((run_dir / "grading" / "summary.json").read_text())["summary"]
    found = review(run_dir)
    assert found.judge.score == found.reviewed.score == pytest.approx(summary["score"])
    assert found.judge.score == pytest.approx(1 / 3)
    assert reviewed_score(run_dir) is None


def test_real_paperbench_human_grades_score_as_their_root_says() -> None:
    trees = sorted(SHARED_DATA.glob("paperbench-graded/*.json")) + sorted(
        VENDORED_DATA.glob("graded/*.json")
    )
    if not trees:
        pytest.skip("no PaperBench graded trees at hand")
    for path in trees:
        tree = json.loads(path.read_text())
        assert score_tree(tree).score == pytest.approx(tree["score"]), path.name


def test_an_override_changes_the_reviewed_score_and_not_the_judges_tree(run_dir: Path) -> None:
    tree_file = run_dir / "grading" / "graded_tree.json"
    before = tree_file.read_bytes()
    set_override(run_dir, "1/0", 1, "The log prints accuracy 0.91.", "alice", now=T0)
    assert tree_file.read_bytes() == before
    found = review(run_dir)
    assert found.judge.score == pytest.approx(1 / 3)
    assert found.reviewed.score == pytest.approx(2 / 3)
    score = reviewed_score(run_dir)
    assert score is not None
    assert (score.score, score.overrides, score.reviewers) == (pytest.approx(2 / 3), 1, ["alice"])


def test_the_reviewed_tree_marks_the_override_and_recomputes_its_ancestors(run_dir: Path) -> None:
    set_override(run_dir, "1/0", 1, "The log prints accuracy 0.91.", "alice", now=T0)
    tree = reviewed_tree(run_dir)
    run_node = tree["sub_tasks"][1]
    leaf = run_node["sub_tasks"][0]
    assert (leaf["score"], leaf["valid_score"]) == (1, True)
    assert leaf["explanation"] == "The log prints accuracy 0.91."
    assert leaf["review"]["reviewer"] == "alice"
    assert leaf["review"]["at"] == "2026-03-01T12:00:00Z"
    assert leaf["review"]["judge_score"] == 0.0
    assert leaf["review"]["judge_explanation"].startswith("Judged from the code.")
    assert (run_node["score"], run_node["reviewed_items"]) == (1.0, 1)
    assert tree["score"] == pytest.approx(2 / 3)
    assert "review" not in tree["sub_tasks"][0]["sub_tasks"][0]


def test_an_override_makes_an_invalid_leaf_valid(tmp_path: Path) -> None:
    write_tree(tmp_path, root(graded_leaf("0", 1.0, weight=2), graded_leaf("1", 0.0, valid=False)))
    judge = score_tree(json.loads((tmp_path / "grading" / "graded_tree.json").read_text()))
    assert (judge.score, judge.score_if_invalid_passed, len(judge.invalid)) == (
        pytest.approx(2 / 3),
        pytest.approx(1.0),
        1,
    )
    set_override(tmp_path, "1", 0, "Nothing in the submission does this.", "bob")
    tree = json.loads((tmp_path / "grading" / "graded_tree.json").read_text())
    unchanged = json.loads(json.dumps(tree))
    apply_overrides(tree, load_overrides(tmp_path / "grading"))
    assert tree == unchanged
    found = review(tmp_path)
    assert found.reviewed.score == found.reviewed.score_if_invalid_passed == pytest.approx(2 / 3)
    assert found.reviewed.invalid == []
    assert found.tree["sub_tasks"][1]["review"]["judge_valid_score"] is False


def test_a_leaf_takes_zero_or_one_and_a_subtree_any_score_in_between(tmp_path: Path) -> None:
    subtree = graded_leaf("1", 0.4, judge_metadata={"judged_by": "judge", "item": "subtree"})
    write_tree(tmp_path, root(graded_leaf("0", 1.0), subtree))
    with pytest.raises(OverrideError, match=r"a leaf scores 0 or 1, not 0\.5"):
        set_override(tmp_path, "0", 0.5, "half done", "alice")
    set_override(tmp_path, "1", 0.8, "most of it is there", "alice")
    assert review(tmp_path).reviewed.score == pytest.approx(0.9)
    with pytest.raises(OverrideError, match="between 0 and 1"):
        set_override(tmp_path, "1", 1.5, "more than done", "alice")


@pytest.mark.parametrize(
    ("path", "reason", "reviewer", "message"),
    [
        ("9/9", "why", "alice", "no graded item at path '9/9'"),
        ("1", "why", "alice", "no graded item at path '1'"),
        ("1/0", "   ", "alice", "needs a reason"),
        ("1/0", "why", "", "needs a reviewer name"),
        ("1/0", "why", "alice\nbob", "control characters"),
        ("1/0", "x" * 5000, "alice", "over 4000"),
    ],
)
def test_an_override_that_cannot_be_made_is_refused_and_writes_nothing(
    run_dir: Path, path: str, reason: str, reviewer: str, message: str
) -> None:
    with pytest.raises(OverrideError, match=message):
        set_override(run_dir, path, 1, reason, reviewer)
    assert not (run_dir / "grading" / "overrides.json").exists()


def test_removing_an_override_restores_the_judges_score_and_keeps_the_trail(run_dir: Path) -> None:
    set_override(run_dir, "1/0", 1, "The log prints it.", "alice", now=T0)
    remove_override(run_dir, "1/0", "bob", "alice misread the log", now=T0)
    overrides = load_overrides(run_dir / "grading")
    assert overrides.overrides == {}
    assert [(e.action, e.path, e.reviewer, e.reason) for e in overrides.history] == [
        ("set", "1/0", "alice", "The log prints it."),
        ("removed", "1/0", "bob", "alice misread the log"),
    ]
    assert review(run_dir).reviewed.score == pytest.approx(1 / 3)
    with pytest.raises(OverrideError, match="no override at path '1/0'"):
        remove_override(run_dir, "1/0", "bob")


def test_concurrent_reviewers_lose_none_of_each_others_overrides(tmp_path: Path) -> None:
    write_tree(tmp_path, root(*(graded_leaf(str(i), 0.0) for i in range(24))))
    errors: list[BaseException] = []

    def review_one(index: int) -> None:
        try:
            set_override(tmp_path, str(index), 1, f"leaf {index} is met", f"reviewer-{index}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=review_one, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    overrides = load_overrides(tmp_path / "grading")
    assert sorted(overrides.overrides, key=int) == [str(i) for i in range(24)]
    assert len(overrides.history) == 24
    assert review(tmp_path).reviewed.score == pytest.approx(1.0)


def test_a_malformed_overrides_file_is_a_clear_error(run_dir: Path) -> None:
    (run_dir / "grading" / "overrides.json").write_text('{"overrides": {"1/0": {"score": 7}}}')
    with pytest.raises(OverrideError, match=r"overrides.json: not an overrides file"):
        reviewed_score(run_dir)


def test_a_run_without_a_graded_tree_says_so(tmp_path: Path) -> None:
    with pytest.raises(OverrideError, match="no graded tree"):
        set_override(tmp_path, "0", 1, "why", "alice")
