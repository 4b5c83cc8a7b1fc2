"""Gold sets: loading, finding, PaperBench's tar, and the author's check."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from paperbench.judge_eval.gold import (
    GoldSetError,
    check_gold_set,
    find_gold_sets,
    gold_score,
    load_expected,
    load_gold_set,
    submission_for_grading,
)
from paperbench.papers import PaperBundle
from paperbench.sandbox.errors import ArchiveError
from tests.support.judge_eval import RUBRIC, expected_tree, make_gold_set
from tests.support.paths import SHARED_DATA, VENDORED_DATA


def test_a_gold_set_loads_with_its_submission_reproduction_and_grades(gold_root: Path) -> None:
    gold = load_gold_set(gold_root / "toy-optimizers" / "partial")
    assert gold.id == "toy-optimizers/partial" and gold.meta.kind == "partial"
    assert gold.reproduction_dir == gold.root / "reproduction"
    assert [leaf.gold for _, leaf in gold.expected.leaves()] == [1, 1, 0, 1, 0, 1, 0, 0]


def test_the_gold_root_score_is_the_weighted_mean_of_the_leaves(gold_root: Path) -> None:
    gold = load_gold_set(gold_root / "toy-optimizers" / "partial")
    # parts: (1 + 1 + 2*0)/4 = 0.5 (weight 2), (1 + 0)/2 = 0.5, 1/3 -> (1 + 0.5 + 1/3) / 4.
    assert gold_score(gold.expected) == pytest.approx((1 + 0.5 + 1 / 3) / 4)
    assert gold_score(gold.expected, code_dev=True) == pytest.approx(0.5)


def test_sets_are_found_under_a_root_each_once(gold_root: Path) -> None:
    found = find_gold_sets([gold_root, gold_root / "toy-optimizers" / "mostly"])
    assert [folder.name for folder in found] == ["mostly", "partial"]


def test_a_folder_without_gold_sets_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(GoldSetError, match="empty: no gold set here"):
        find_gold_sets([tmp_path / "empty"])


def test_a_leaf_graded_other_than_0_or_1_is_refused_with_its_path(tmp_path: Path) -> None:
    tree = expected_tree([1] * 8)
    tree["sub_tasks"][2]["sub_tasks"][1]["score"] = 0.5
    path = tmp_path / "expected_result.json"
    path.write_text(json.dumps(tree))
    with pytest.raises(GoldSetError, match=r"leaf 2/1 \(momentum-fast\): score 0.5 is not 0 or 1"):
        load_expected(path)


def test_a_gold_leaf_left_invalid_is_refused(tmp_path: Path) -> None:
    tree = expected_tree([1] * 8)
    tree["sub_tasks"][0]["sub_tasks"][0]["valid_score"] = False
    path = tmp_path / "expected_result.json"
    path.write_text(json.dumps(tree))
    with pytest.raises(GoldSetError, match=r"leaf 0/0 .*valid_score is false"):
        load_expected(path)


def test_a_set_with_nothing_to_grade_is_refused(tmp_path: Path) -> None:
    folder = make_gold_set(tmp_path, "bare", [1] * 8, reproduction=False)
    for item in sorted((folder / "submission").iterdir()):
        item.unlink()
    (folder / "submission").rmdir()
    with pytest.raises(GoldSetError, match="nothing to grade"):
        load_gold_set(folder)


def test_a_git_lfs_pointer_in_place_of_the_tar_is_named(tmp_path: Path) -> None:
    folder = make_gold_set(tmp_path, "lfs", [1] * 8, reproduction=False)
    for item in sorted((folder / "submission").iterdir()):
        item.unlink()
    (folder / "submission").rmdir()
    (folder / "submission.tar").write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(GoldSetError, match=r"submission\.tar: a Git LFS pointer"):
        load_gold_set(folder)


def test_paperbenchs_submission_tar_is_extracted_for_grading(tmp_path: Path) -> None:
    folder = make_gold_set(tmp_path, "tarred", [1] * 8, reproduction=False)
    with tarfile.open(folder / "submission.tar", "w") as archive:
        archive.add(folder / "submission", arcname="submission")
    for item in sorted((folder / "submission").iterdir()):
        item.unlink()
    (folder / "submission").rmdir()
    gold = load_gold_set(folder)
    target = submission_for_grading(gold, tmp_path / "work")
    assert target is not None and (target / "optim.py").is_file()


def test_a_hostile_tar_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = make_gold_set(tmp_path, "hostile", [1] * 8, reproduction=False)
    (tmp_path / "payload").write_text("x")
    with tarfile.open(folder / "submission.tar", "w") as archive:
        archive.add(tmp_path / "payload", arcname="../../escaped")
    for item in sorted((folder / "submission").iterdir()):
        item.unlink()
    (folder / "submission").rmdir()
    gold = load_gold_set(folder)
    with pytest.raises(ArchiveError, match="escaped"):
        submission_for_grading(gold, tmp_path / "work")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "work" / "submission").exists()


def test_without_gold_json_the_folders_name_the_paper_and_set(tmp_path: Path) -> None:
    folder = make_gold_set(tmp_path, "0", [1] * 8, paper_id="pinn")
    (folder / "gold.json").unlink()
    gold = load_gold_set(folder)
    assert gold.id == "pinn/0" and gold.meta.kind == "unknown"


@pytest.mark.parametrize("kind", ["over-claims", "overclaims", "a kind of our own"])
def test_any_kind_is_a_description_not_a_vocabulary(tmp_path: Path, kind: str) -> None:
    folder = make_gold_set(tmp_path, "odd", (1, 1, 0, 1, 0, 1, 0, 0), kind=kind)
    assert load_gold_set(folder).meta.kind == kind


def test_an_unknown_key_in_gold_json_is_an_error_naming_it(tmp_path: Path) -> None:
    folder = make_gold_set(tmp_path, "typo", [1] * 8)
    meta = json.loads((folder / "gold.json").read_text())
    (folder / "gold.json").write_text(json.dumps({**meta, "graded_on": "x"}))
    with pytest.raises(GoldSetError, match=r"gold\.json: graded_on: Extra inputs"):
        load_gold_set(folder)


def test_a_clean_set_passes_the_authors_check(gold_root: Path, paper: PaperBundle) -> None:
    gold = load_gold_set(gold_root / "toy-optimizers" / "partial")
    assert check_gold_set(gold, paper.rubric, paper.rubric_path) == []


def test_the_check_names_a_structural_difference_and_a_stale_rubric_hash(
    tmp_path: Path, paper: PaperBundle
) -> None:
    tree = expected_tree([1] * 8)
    tree["sub_tasks"][1]["sub_tasks"][0]["requirements"] = "reproduce.sh trains two optimizers."
    folder = make_gold_set(tmp_path, "drifted", [1] * 8, bundle=paper, tree=tree)
    rubric = json.loads(json.dumps(RUBRIC))
    rubric["sub_tasks"][0]["weight"] = 3
    (paper.root / "rubric.json").write_text(json.dumps(rubric))
    problems = check_gold_set(load_gold_set(folder), paper.rubric, paper.rubric_path)
    assert any(p.startswith("structure: 0: weight is 2 in the gold tree") for p in problems)
    assert any("structure: 1/0: requirements" in p for p in problems)
    assert any("rubric_sha256" in p and "re-check" in p for p in problems)


def test_the_check_names_evidence_that_points_at_no_file(
    tmp_path: Path, paper: PaperBundle
) -> None:
    tree = expected_tree([1] * 8)
    tree["sub_tasks"][2]["sub_tasks"][0]["evidence"] = [
        "reproduce.log:1-2",
        "submission/results/table.md",
        "results/missing.csv",
    ]
    tree["sub_tasks"][0]["sub_tasks"][0]["explanation"] = " "
    folder = make_gold_set(tmp_path, "evidence", [1] * 8, bundle=paper, tree=tree)
    problems = check_gold_set(load_gold_set(folder), paper.rubric, paper.rubric_path)
    assert problems == [
        "leaf 0/0: no explanation",
        "leaf 2/0: evidence 'results/missing.csv' names no file in the set",
    ]


def test_paperbenchs_own_graded_trees_load_as_gold() -> None:
    found = sorted((VENDORED_DATA / "graded").glob("*.json"))
    found += sorted((SHARED_DATA / "paperbench-graded").glob("*.json"))
    assert found, "no PaperBench graded tree at hand"
    for path in found:
        tree = load_expected(path)
        assert sum(1 for _ in tree.leaves()) > 10
        assert 0.0 <= (gold_score(tree) or 0.0) <= 1.0
