"""`paperbench judge-eval import` on a small tree in PaperBench's data/judge_eval layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperbench.errors import PaperbenchError
from paperbench.judge_eval.gold import load_gold_set
from paperbench.judge_eval.paperbench_import import import_judge_eval
from tests.support.cli import paperbench
from tests.support.judge_eval import make_paperbench_example

GRADES = (1, 0, 1, 1, 0, 0, 1, 0)


@pytest.fixture
def paperbench_data(tmp_path: Path) -> Path:
    root = tmp_path / "frontier-evals" / "project" / "paperbench"
    make_paperbench_example(root, "pinn", "0", GRADES)
    make_paperbench_example(root, "rice", "0", GRADES, tar="none")
    make_paperbench_example(root, "all-in-one", "0", GRADES, tar="lfs")
    return root


def test_usable_examples_become_gold_sets_and_the_rest_are_named_with_why(
    paperbench_data: Path, tmp_path: Path
) -> None:
    report = import_judge_eval(paperbench_data, tmp_path / "dest")
    assert report.imported == ["pinn/0"]
    assert set(report.skipped) == {"rice/0", "all-in-one/0"}
    assert "Git LFS pointer" in report.skipped["all-in-one/0"]
    assert "does not redistribute" in report.skipped["rice/0"]
    gold = load_gold_set(tmp_path / "dest" / "pinn" / "0")
    assert gold.id == "pinn/0" and gold.meta.kind == "imported"
    assert gold.meta.graded_by == "PaperBench's authors"
    assert gold.submission_dir is not None and (gold.submission_dir / "main.py").is_file()
    assert [leaf.gold for _, leaf in gold.expected.leaves()] == list(GRADES)
    assert not (tmp_path / "dest" / "rice").exists()


def test_the_data_folder_and_judge_eval_folder_are_accepted_as_well(
    paperbench_data: Path, tmp_path: Path
) -> None:
    for index, source in enumerate(
        (paperbench_data / "data", paperbench_data / "data" / "judge_eval")
    ):
        assert import_judge_eval(source, tmp_path / f"dest{index}").imported == ["pinn/0"]


def test_an_earlier_import_is_kept_unless_overwrite(paperbench_data: Path, tmp_path: Path) -> None:
    import_judge_eval(paperbench_data, tmp_path / "dest")
    again = import_judge_eval(paperbench_data, tmp_path / "dest")
    assert again.imported == [] and "already imported" in again.skipped["pinn/0"]
    assert import_judge_eval(paperbench_data, tmp_path / "dest", overwrite=True).imported == [
        "pinn/0"
    ]


def test_a_malformed_expected_result_is_skipped_with_the_leaf(
    paperbench_data: Path, tmp_path: Path
) -> None:
    path = (
        paperbench_data / "data" / "judge_eval" / "pinn" / "0" / "grading" / "expected_result.json"
    )
    tree = json.loads(path.read_text())
    tree["sub_tasks"][0]["sub_tasks"][1]["score"] = 0.3
    path.write_text(json.dumps(tree))
    report = import_judge_eval(paperbench_data, tmp_path / "dest")
    assert "leaf 0/1" in report.skipped["pinn/0"] and report.imported == []


def test_a_folder_without_examples_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PaperbenchError, match="no PaperBench judge-eval examples"):
        import_judge_eval(tmp_path, tmp_path / "dest")


def test_the_command_lists_what_it_imported_and_what_it_could_not(
    paperbench_data: Path, tmp_path: Path
) -> None:
    done = paperbench(
        "judge-eval",
        "import",
        str(paperbench_data),
        "--dest",
        str(tmp_path / "d"),
        home=tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr
    assert "imported pinn/0" in done.stdout
    assert "not imported all-in-one/0: submission.tar is a Git LFS pointer" in done.stdout
    assert "1 imported" in done.stdout and "2 not" in done.stdout
