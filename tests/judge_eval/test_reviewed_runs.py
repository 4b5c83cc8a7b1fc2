"""A run reviewed in `paperbench view` is a gold set of its reviewed leaves, and only those.

The run: the toy paper (CD CD CD | CE CE | RA RA RA; weights: implementation 2 with adam 2,
run 1, results 1) graded by a judge that passes every leaf. The reviewer then sets 0/2 (adam)
to 0 and 2/1 (momentum-fast) to 0, changing the judge's grade, and confirms 1/0 (trains) at 1.
Gold: those three leaves; the other five have no human grade.

The judge under test passes everything too: on the reviewed leaves tp 1 (1/0), fp 2, so
accuracy 1/3, F1 of "passed" 2/4, of "failed" 0, macro-F1 1/4. The gold root over the reviewed
leaves is (2*0 + 1*1 + 1*0) / 4 = 1/4; the judge's over the same leaves 1, an error of 3/4.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from paperbench.grading.overrides import remove_override, set_override
from paperbench.judge_eval.gold import GoldSetError, find_gold_sets
from paperbench.judge_eval.result import judge_eval_schema
from paperbench.judge_eval.reviewed import load_gold, load_reviewed_run
from paperbench.papers import PaperBundle, PaperRegistry
from tests.support.cli import paperbench
from tests.support.judge_eval import make_reviewed_run
from tests.support.llm_server import ScriptedLLMServer, schema_responder

REVIEWS = {"0/2": 0, "1/0": 1, "2/1": 0}


@pytest.fixture
def run_dir(tmp_path: Path, paper: PaperBundle, server: ScriptedLLMServer) -> Path:
    server.default = schema_responder(score=1)
    return make_reviewed_run(tmp_path / "made", paper, server.openai_url, REVIEWS)


def papers(paper: PaperBundle) -> PaperRegistry:
    return PaperRegistry(user_dirs=[paper.root.parent], include_imported=False)


def test_only_the_reviewed_leaves_carry_a_human_grade(run_dir: Path, paper: PaperBundle) -> None:
    gold = load_reviewed_run(run_dir, papers(paper))
    grades = {path: leaf.score for path, leaf in gold.expected.leaves()}
    assert grades == {
        "0/0": None,
        "0/1": None,
        "0/2": 0.0,
        "1/0": 1.0,
        "1/1": None,
        "2/0": None,
        "2/1": 0.0,
        "2/2": None,
    }
    assert dict(gold.expected.leaves())["0/2"].explanation == "read optim.py for 0/2"
    assert gold.meta.kind == gold.source == "reviewed-run" and gold.meta.graded_by == "alice"
    assert gold.meta.description.endswith(
        "3 of 8 leaves reviewed (2 changed the judge's grade, 1 confirmed it)"
    )
    assert gold.submission_dir == run_dir / "submission"
    assert gold.reproduction_dir == run_dir / "reproduction"


def test_judge_eval_measures_a_judge_on_the_reviewed_leaves_and_counts_the_rest_apart(
    run_dir: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = schema_responder(score=1)
    calls_before = len(server.requests)
    out = tmp_path / "out"
    done = paperbench(
        "judge-eval",
        "--gold",
        str(tmp_path / "made" / "runs"),
        "--papers-dir",
        str(paper.root.parent),
        "--judge",
        f"openai-compatible/j@{server.openai_url}",
        "--judge-context-window",
        "32000",
        "--no-cache",
        "--out",
        str(out),
        home=tmp_path / "home",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "judge_eval.json").read_text())
    jsonschema.Draft202012Validator(judge_eval_schema()).validate(report)
    [summary] = report["gold_sets"]
    assert (summary["source"], summary["leaves"], summary["ungraded_leaves"]) == (
        "reviewed-run",
        3,
        5,
    )
    assert summary["gold_passed"] == 1 and summary["gold_score"] == pytest.approx(1 / 4)
    [config] = report["configurations"]
    m = config["metrics"]["overall"]
    assert (m["leaves"], m["tp"], m["fp"], m["fn"], m["tn"]) == (3, 1, 2, 0, 0)
    assert m["accuracy"] == pytest.approx(1 / 3) and m["macro_f1"] == pytest.approx(1 / 4)
    [root] = config["root_scores"]
    assert (root["gold"], root["judged"], root["error"]) == pytest.approx((0.25, 1.0, 0.75))
    # The judge under test graded the whole rubric, as `paperbench grade` would.
    assert len(server.requests) - calls_before == 8
    page = (out / "judge_eval.md").read_text()
    assert "3 leaves graded by hand (1 of the sets are reviewed runs" in page
    assert "5 unreviewed leaves are not compared" in page


def test_a_run_whose_overrides_were_all_removed_is_refused_in_one_line(
    run_dir: Path, paper: PaperBundle, tmp_path: Path
) -> None:
    for path in REVIEWS:
        remove_override(run_dir, path, "alice")
    with pytest.raises(GoldSetError, match="no leaf was reviewed"):
        load_reviewed_run(run_dir, papers(paper))
    done = paperbench(
        "judge-eval",
        "check",
        str(run_dir),
        "--papers-dir",
        str(paper.root.parent),
        home=tmp_path / "home",
    )
    assert done.returncode == 2 and "no leaf was reviewed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_review_of_another_version_of_the_rubric_is_refused(
    run_dir: Path, paper: PaperBundle
) -> None:
    rubric = json.loads(paper.rubric_path.read_text())
    rubric["sub_tasks"][2]["sub_tasks"][1]["requirements"] = "Momentum converges at all."
    paper.rubric_path.write_text(json.dumps(rubric))
    with pytest.raises(GoldSetError, match="item 2/1: its requirement differs"):
        load_reviewed_run(run_dir, papers(paper))


def test_runs_nobody_reviewed_are_not_gold_sets(
    tmp_path: Path, paper: PaperBundle, server: ScriptedLLMServer
) -> None:
    server.default = schema_responder(score=1)
    unreviewed = make_reviewed_run(tmp_path / "made", paper, server.openai_url, {})
    with pytest.raises(GoldSetError, match="no gold set here"):
        find_gold_sets([tmp_path / "made" / "runs"])
    set_override(unreviewed, "0/0", 1, "checked", "bob")
    assert find_gold_sets([tmp_path / "made" / "runs"]) == [unreviewed]
    assert load_gold(unreviewed, papers(paper)).meta.graded_by == "bob"


def test_a_leaf_override_edited_to_a_fraction_is_refused(run_dir: Path, paper: PaperBundle) -> None:
    path = run_dir / "grading" / "overrides.json"
    data = json.loads(path.read_text())
    data["overrides"]["1/0"]["score"] = 0.5
    path.write_text(json.dumps(data))
    with pytest.raises(GoldSetError, match=r"item 1/0: the reviewer's score 0.5 for a leaf"):
        load_reviewed_run(run_dir, papers(paper))
