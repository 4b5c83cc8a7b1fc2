"""Scripted judges through the real OpenAI client and the whole grading stage, measured against
the two toy gold sets; every expected figure is worked out by hand in the comments.

Gold (CD CD CD | CE CE | RA RA RA): partial 1 1 0 | 1 0 | 1 0 0, mostly 1 1 1 | 1 1 | 0 1 0:
10 leaves passed and 6 failed. Gold roots: partial (2*(1+1+0)/4 + (1+0)/2 + 1/3) / 4 = 11/24,
mostly (2*1 + 1 + 1/3) / 4 = 5/6.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from paperbench.judge_eval.gold import GoldNode
from paperbench.papers import PaperBundle
from tests.support.judge_eval import (
    LEAF_PATHS,
    REQUIREMENT_OF,
    GoldJudge,
    coin,
    coin_answer,
    constant_answer,
    evaluate_sets,
    expected_tree,
    golds_of,
    inverse_answer,
    make_gold_set,
    o3_mini,
)
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer

PARTIAL_ROOT, MOSTLY_ROOT = 11 / 24, 5 / 6


def sets(gold_root: Path) -> list[Path]:
    return [gold_root / "toy-optimizers" / "partial", gold_root / "toy-optimizers" / "mostly"]


def test_a_judge_that_answers_the_gold_scores_f1_1(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)))
    report = evaluate_sets(sets(gold_root), paper, server.openai_url, tmp_path / "out")
    [config] = report.configurations
    m = config.metrics.overall
    assert (m.leaves, m.gold_passed, m.invalid, m.not_judged) == (16, 10, 0, 0)
    assert (m.accuracy, m.precision, m.recall, m.f1, m.macro_f1) == (1, 1, 1, 1, 1)
    assert {c: x.macro_f1 for c, x in config.metrics.per_category.items()} == {
        "Code Development": 1.0,
        "Code Execution": 1.0,
        "Result Analysis": 1.0,
    }
    assert [(r.set, r.error) for r in config.root_scores] == [
        ("toy-optimizers/partial", pytest.approx(0.0)),
        ("toy-optimizers/mostly", pytest.approx(0.0)),
    ]
    assert config.root_scores[0].gold == pytest.approx(PARTIAL_ROOT)
    assert config.cost.calls == len(server.requests) == 16


def test_a_judge_that_answers_the_inverse_scores_0(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)), inverse_answer)
    report = evaluate_sets(sets(gold_root), paper, server.openai_url, tmp_path / "out")
    m = report.configurations[0].metrics.overall
    assert (m.accuracy, m.precision, m.recall, m.f1, m.macro_f1) == (0, 0, 0, 0, 0)
    # Inverted leaves give root 1 - gold: errors 1 - 2*11/24 = 1/12 and 1 - 2*5/6 = -2/3.
    config = report.configurations[0]
    assert [r.error for r in config.root_scores] == [
        pytest.approx(1 / 12),
        pytest.approx(-2 / 3),
    ]
    assert config.root_mean_abs_error == pytest.approx((1 / 12 + 2 / 3) / 2)


def test_a_judge_that_always_says_passed_gets_the_hand_computed_figures(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)), constant_answer(1))
    config = evaluate_sets(
        sets(gold_root), paper, server.openai_url, tmp_path / "out"
    ).configurations[0]
    m = config.metrics.overall
    # tp 10, fp 6: precision 10/16, recall 1, F1 20/26; "failed" F1 0; macro 10/26.
    assert (m.tp, m.fp, m.fn, m.tn) == (10, 6, 0, 0)
    assert m.precision == pytest.approx(10 / 16) and m.recall == 1.0
    assert m.f1 == pytest.approx(20 / 26) and m.macro_f1 == pytest.approx(10 / 26)
    # Code Development: gold 1 1 0 1 1 1 -> tp 5, fp 1: F1 10/11, macro 5/11.
    dev = config.metrics.per_category["Code Development"]
    assert dev.f1 == pytest.approx(10 / 11) and dev.macro_f1 == pytest.approx(5 / 11)
    assert [r.judged for r in config.root_scores] == [1.0, 1.0]


def test_a_seeded_coin_gets_the_hand_computed_figures(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    # The coin's flips for seed 7, checked here so the arithmetic below rests on them.
    flips = {
        name: [coin(7, name, REQUIREMENT_OF[path]) for path in LEAF_PATHS]
        for name in ("partial", "mostly")
    }
    assert flips == {"partial": [0, 0, 1, 0, 0, 1, 1, 1], "mostly": [1, 1, 0, 0, 0, 0, 1, 0]}
    server.default = GoldJudge(golds_of(*sets(gold_root)), coin_answer(7))
    m = (
        evaluate_sets(sets(gold_root), paper, server.openai_url, tmp_path / "out")
        .configurations[0]
        .metrics.overall
    )
    # partial: tp 1, fn 3, fp 3, tn 1; mostly: tp 3, fn 3, fp 0, tn 2. Pooled: 4, 6, 3, 3.
    assert (m.tp, m.fn, m.fp, m.tn) == (4, 6, 3, 3)
    assert m.accuracy == pytest.approx(7 / 16)
    assert m.precision == pytest.approx(4 / 7) and m.recall == pytest.approx(4 / 10)
    # F1 passed 8/17; failed: 2*3 / (2*3 + 6 + 3) = 6/15.
    assert m.f1 == pytest.approx(8 / 17)
    assert m.macro_f1 == pytest.approx((8 / 17 + 6 / 15) / 2)
    assert m.macro_recall == pytest.approx((4 / 10 + 3 / 6) / 2)


def test_leaves_the_judge_left_invalid_are_excluded_and_reported(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    failing = frozenset({REQUIREMENT_OF["0/2"], REQUIREMENT_OF["1/1"]})
    server.default = GoldJudge(golds_of(*sets(gold_root)), fail=failing)
    config = evaluate_sets(
        sets(gold_root), paper, server.openai_url, tmp_path / "out"
    ).configurations[0]
    m = config.metrics.overall
    assert (m.leaves, m.invalid) == (12, 4) and m.macro_f1 == 1.0 and m.accuracy == 1.0
    assert config.metrics.per_category["Code Execution"].invalid == 2
    assert sorted((leaf.set, leaf.path) for leaf in config.invalid_leaves) == [
        ("toy-optimizers/mostly", "0/2"),
        ("toy-optimizers/mostly", "1/1"),
        ("toy-optimizers/partial", "0/2"),
        ("toy-optimizers/partial", "1/1"),
    ]
    assert all("did not validate" in leaf.reason for leaf in config.invalid_leaves)
    # The root error leaves the invalid items out of both roots: still 0.
    assert all(r.error == pytest.approx(0.0) for r in config.root_scores)


def test_a_set_without_reproduction_counts_unrun_leaves_as_not_judged(
    tmp_path: Path, paper: PaperBundle, server: ScriptedLLMServer
) -> None:
    folder = make_gold_set(tmp_path / "gold", "unrun", (1, 1, 0, 0, 0, 0, 0, 0), reproduction=False)
    server.default = GoldJudge(golds_of(folder))
    config = evaluate_sets([folder], paper, server.openai_url, tmp_path / "out").configurations[0]
    m = config.metrics.overall
    assert (m.leaves, m.not_judged, m.invalid) == (3, 5, 0) and m.macro_f1 == 1.0
    assert len(server.requests) == 3
    assert {leaf.status for leaf in config.invalid_leaves} == {"not_judged"}


def test_configurations_are_compared_side_by_side_and_batching_saves_calls(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)))
    configs = [
        o3_mini(server.openai_url, tmp_path / "out"),
        o3_mini(server.openai_url, tmp_path / "out", batch=4),
    ]
    report = evaluate_sets(
        sets(gold_root), paper, server.openai_url, tmp_path / "out", configs=configs
    )
    one, four = report.configurations
    assert (one.label, four.label) == ("openai/o3-mini, batch 1", "openai/o3-mini, batch 4")
    assert one.metrics.overall.macro_f1 == four.metrics.overall.macro_f1 == 1.0
    assert one.cost.calls == 16 and four.cost.calls < one.cost.calls
    assert one.cost.calls + four.cost.calls == len(server.requests)
    assert four.cost.calls_per_submission == four.cost.calls / 2


def test_a_depth_limited_judge_is_measured_on_the_same_leaves(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)))
    config = evaluate_sets(
        sets(gold_root), paper, server.openai_url, tmp_path / "out", max_depth=1
    ).configurations[0]
    assert len(server.requests) == 6
    m = config.metrics.overall
    # Each part's score (the gold part score) spreads over its leaves. partial: parts 1/2,
    # 1/2, 1/3; mostly: 1, 1, 1/3. tp = 43/6, fn = 17/6, fp = 14/6, tn = 22/6.
    assert m.tp == pytest.approx(43 / 6) and m.fn == pytest.approx(17 / 6)
    assert m.fp == pytest.approx(14 / 6) and m.tn == pytest.approx(22 / 6)
    assert m.accuracy == pytest.approx(65 / 96) and m.leaves == 16
    assert all(r.error == pytest.approx(0.0) for r in config.root_scores)


class FlakyJudge:
    """Answers the gold the first time a leaf is asked, its inverse the second."""

    def __init__(self, golds: dict[str, GoldNode]) -> None:
        self.gold = GoldJudge(golds)
        self.inverse = GoldJudge(golds, inverse_answer)
        self.asked: Counter[str] = Counter()

    def __call__(self, request: RecordedRequest) -> Reply:
        suffix = request.segments[-1].text
        key = f"{request.text.split('GOLD-SET-MARKER ', 1)[1].split()[0]}:{suffix}"
        self.asked[key] += 1
        return (self.gold if self.asked[key] == 1 else self.inverse)(request)


def test_repeats_measure_how_far_the_judge_agrees_with_itself(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = FlakyJudge(golds_of(*sets(gold_root)))
    config = evaluate_sets(
        sets(gold_root), paper, server.openai_url, tmp_path / "out", repeats=2
    ).configurations[0]
    consistency = config.consistency
    assert consistency is not None and not config.cache_used
    assert consistency.leaves_compared == 16
    assert consistency.leaf_agreement == 0.0 and consistency.unanimous_share == 0.0
    assert consistency.macro_f1_per_repeat == [1.0, 0.0]
    # root stdev of two values is |a - b| / sqrt 2: partial |11/24 - 13/24|, mostly |5/6 - 1/6|.
    expected = (1 / 12 / 2**0.5 + 2 / 3 / 2**0.5) / 2
    assert consistency.root_score_stdev == pytest.approx(expected)
    assert config.metrics.overall.leaves == 32 and config.metrics.overall.accuracy == 0.5
    assert len(config.runs) == 4 and config.cost.submissions_graded == 4


def test_a_steady_judge_agrees_with_itself_fully(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)), coin_answer(3))
    consistency = (
        evaluate_sets(sets(gold_root), paper, server.openai_url, tmp_path / "out", repeats=2)
        .configurations[0]
        .consistency
    )
    assert consistency is not None
    assert consistency.leaf_agreement == 1.0 and consistency.unanimous_share == 1.0
    assert len(server.requests) == 32, "repeats must not be served from the judge cache"


def test_calls_tokens_and_dollars_are_those_the_server_billed(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(golds_of(*sets(gold_root)))
    cost = (
        evaluate_sets(sets(gold_root), paper, server.openai_url, tmp_path / "out")
        .configurations[0]
        .cost
    )
    usage = [request.usage for request in server.requests]
    assert cost.input_tokens == sum(u["input"] for u in usage)
    assert cost.cached_input_tokens == sum(u["cached"] for u in usage) > 0
    assert cost.output_tokens == sum(u["output"] for u in usage)
    # o3-mini: $1.10 per million input tokens, $0.55 cached, $4.40 output.
    dollars = (
        sum(
            (u["input"] - u["cached"]) * 1.10 + u["cached"] * 0.55 + u["output"] * 4.40
            for u in usage
        )
        / 1e6
    )
    assert cost.cost_usd == pytest.approx(dollars)
    assert cost.cost_usd_per_submission == pytest.approx(dollars / 2)
    assert cost.submissions_graded == 2 and cost.seconds > 0


def test_a_gold_tree_of_another_rubric_version_is_graded_on_its_own_rubric(
    tmp_path: Path, paper: PaperBundle, server: ScriptedLLMServer
) -> None:
    tree = expected_tree((1, 1, 0, 1, 0, 1, 0, 0))
    tree["sub_tasks"][1]["sub_tasks"][0]["requirements"] = "reproduce.sh trains SGD only."
    folder = make_gold_set(tmp_path / "gold", "older", (), tree=tree)
    judge = GoldJudge(golds_of(folder))
    server.default = judge
    report = evaluate_sets([folder], paper, server.openai_url, tmp_path / "out")
    assert report.gold_sets[0].rubric_matches_paper is False
    assert "reproduce.sh trains SGD only." in judge.seen
    assert report.configurations[0].metrics.overall.macro_f1 == 1.0
