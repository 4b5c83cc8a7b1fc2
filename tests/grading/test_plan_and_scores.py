"""Modes (Code-Dev, depth limit), rolling scores up, and the inputs the judge reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperbench.grading.aggregate import ItemResult, summarise
from paperbench.grading.inputs import InputError, load_reproduction, read_submission
from paperbench.grading.logs import compress_log, cut_to_budget, prepare_log
from paperbench.grading.plan import build_plan, items_of
from paperbench.grading.retrieval import LexicalIndex, terms
from paperbench.papers import PaperBundle
from paperbench.rubric import RubricNode
from tests.support.grading import TINY_RUBRIC, reproduction_record, run_grade
from tests.support.llm_server import ScriptedLLMServer

RUBRIC = RubricNode.model_validate(TINY_RUBRIC)


def scored(**scores: float | None) -> dict[str, ItemResult]:
    return {
        path.replace("_", "/"): ItemResult(score=value, explanation="")
        for path, value in scores.items()
    }


def test_code_dev_keeps_only_code_development_leaves_with_their_original_paths() -> None:
    plan = build_plan(RUBRIC, code_dev=True)
    assert plan is not None
    assert [item.path for item in items_of(plan)] == ["0/0", "0/1"]


def test_a_depth_limit_grades_each_subtree_as_one_continuous_item() -> None:
    plan = build_plan(RUBRIC, max_depth=1)
    assert plan is not None
    items = items_of(plan)
    assert [(item.path, item.kind) for item in items] == [("0", "subtree"), ("1", "subtree")]
    assert items[1].categories == ("Code Execution", "Result Analysis")


def test_scores_roll_up_as_weighted_means() -> None:
    plan = build_plan(RUBRIC)
    assert plan is not None
    summary = summarise(plan, scored(**{"0_0": 1, "0_1": 0, "1_0": 1, "1_1": 1, "1_2": 0}))
    impl = (1 * 1 + 3 * 0) / 4
    run = 2 / 3
    assert summary.score == pytest.approx((2 * impl + 1 * run) / 3)


def test_per_category_scores_weigh_leaves_by_their_share_of_the_total() -> None:
    plan = build_plan(RUBRIC)
    assert plan is not None
    summary = summarise(plan, scored(**{"0_0": 1, "0_1": 0, "1_0": 1, "1_1": 1, "1_2": 0}))
    assert summary.per_category["Code Development"].score == pytest.approx(0.25)
    assert summary.per_category["Result Analysis"].score == pytest.approx(0.5)
    assert summary.per_category["Code Execution"].share_of_total == pytest.approx(1 / 9)


def test_invalid_items_bound_the_score_instead_of_silently_zeroing_it() -> None:
    plan = build_plan(RUBRIC)
    assert plan is not None
    summary = summarise(plan, scored(**{"0_0": 1, "0_1": None, "1_0": 1, "1_1": 1, "1_2": 1}))
    assert [item.path for item in summary.invalid] == ["0/1"]
    assert summary.score == pytest.approx(0.5)
    assert summary.score_if_invalid_passed == pytest.approx(1.0)
    assert summary.per_category["Code Development"].invalid == 1


def test_a_depth_limited_grade_uses_continuous_scores(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    from tests.support.llm_server import schema_responder

    server.default = schema_responder(score=0.5)
    result = run_grade(
        tiny_bundle, server, tmp_path / "out", reproduction=reproduction, max_depth=1
    )
    assert len(server.requests) == 2 and result.summary.score == pytest.approx(0.5)
    for request in server.requests:  # the two calls run concurrently, in either order
        assert request.schema is not None
        assert request.schema["properties"]["score"]["type"] == "number"
    texts = [request.text for request in server.requests]
    assert any("[weight 3, Code Development] Adam with bias correction" in t for t in texts)


def test_reading_a_submission_classifies_files_and_skips_caches(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("hi\n")
    (tmp_path / "reproduce.sh").write_text("python src/train.py\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / "out.csv").write_text("a,b\n")
    kinds = {f.path: f.kind for f in read_submission(tmp_path, created={"out.csv"}).files}
    assert kinds == {
        "README.md": "doc",
        "out.csv": "output",
        "reproduce.sh": "script",
        "src/train.py": "source",
    }


def test_a_huge_text_file_is_cut_with_a_marker(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 1000)
    (only,) = read_submission(tmp_path, max_file_bytes=100).files
    assert only.text is not None and only.text.endswith(
        "[... file cut here: 900 more bytes not shown ...]"
    )


def test_a_reproduction_that_ran_without_its_log_names_the_missing_file(tmp_path: Path) -> None:
    (tmp_path / "submission").mkdir()
    reproduction_record("succeeded", exit_code=0).save(tmp_path)
    with pytest.raises(InputError, match=r"reproduce\.log: missing"):
        load_reproduction(tmp_path)


def test_a_malformed_reproduction_record_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "submission").mkdir()
    (tmp_path / "reproduce.log").write_text("")
    record = reproduction_record("succeeded", exit_code=0).model_dump(mode="json")
    (tmp_path / "reproduction.json").write_text(json.dumps({**record, "exit_code": "zero"}))
    with pytest.raises(InputError, match=r"reproduction\.json: exit_code"):
        load_reproduction(tmp_path)


def test_repeated_log_lines_collapse_into_one_with_a_count() -> None:
    log = "start\n" + "warning: x\n" * 50 + "epoch 1\r epoch 2\r epoch 3\nend"
    assert compress_log(log) == (
        "start\nwarning: x\n[... previous line repeated 49 more times ...]\n epoch 3\nend"
    )


def test_numeric_runs_are_thinned_only_when_the_log_does_not_fit() -> None:
    log = "\n".join(f"step {i} loss {i * 0.5}" for i in range(100))
    assert prepare_log(log, 10_000) == log
    thinned = prepare_log(log, 300)
    assert "step 0 loss 0.0" in thinned and "step 99 loss 49.5" in thinned
    assert "similar lines differing only in numbers" in thinned


def test_a_log_over_budget_keeps_head_and_tail_around_a_cut_marker() -> None:
    log = "\n".join(f"line {i} " + "word " * 20 for i in range(2000))
    cut = cut_to_budget(log, 500)
    assert cut.startswith("line 0 ") and cut.rstrip().endswith("word")
    assert "line 1999 " in cut and "lines cut here to fit the judge's context" in cut


def test_lexical_ranking_splits_identifiers_and_prefers_matching_files() -> None:
    assert terms("buildOptimizer adam_step") == ["build", "optimizer", "adam", "step"]
    index = LexicalIndex.build(
        [
            ("plot.py", "def draw_figure(): pass"),
            ("optim/adam.py", "def adam_step(m, v, bias_correction): pass"),
            ("data.py", "def load_spirals(): pass"),
        ]
    )
    assert index.rank("Adam with bias correction is implemented")[0] == 1
