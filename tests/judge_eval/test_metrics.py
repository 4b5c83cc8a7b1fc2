"""The figures, on leaves whose counts are worked out by hand."""

from __future__ import annotations

import pytest

from paperbench.judge_eval.metrics import (
    LeafJudgement,
    category_metrics,
    confusion,
    metrics_from,
    metrics_of,
    pairwise_agreement,
)


def judged(
    gold: list[int], values: list[float], category: str = "Code Development"
) -> list[LeafJudgement]:
    return [
        LeafJudgement("s", str(i), category, g, v, "judged")
        for i, (g, v) in enumerate(zip(gold, values, strict=True))
    ]


def test_mixed_answers_give_the_hand_computed_figures() -> None:
    # gold 1 1 0 0 1, judge 1 0 0 1 1: tp 2, fn 1, fp 1, tn 1.
    m = metrics_of(judged([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]))
    assert (m.tp, m.fn, m.fp, m.tn) == (2, 1, 1, 1)
    assert m.accuracy == pytest.approx(3 / 5)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    # "failed": precision 1/2, recall 1/2, F1 1/2; macro-F1 = (2/3 + 1/2) / 2 = 7/12.
    assert m.macro_f1 == pytest.approx(7 / 12)
    assert m.macro_precision == pytest.approx(7 / 12) and m.macro_recall == pytest.approx(7 / 12)
    assert (m.leaves, m.gold_passed) == (5, 3)


def test_a_judge_that_passes_everything_scores_half_its_f1_as_macro_f1() -> None:
    # gold 3 passed, 2 failed; all passed: precision 3/5, recall 1, F1 3/4; "failed" F1 0.
    m = metrics_of(judged([1, 1, 1, 0, 0], [1, 1, 1, 1, 1]))
    assert m.precision == pytest.approx(3 / 5) and m.recall == 1.0
    assert m.f1 == pytest.approx(3 / 4)
    assert m.macro_f1 == pytest.approx(3 / 8)
    assert m.accuracy == pytest.approx(3 / 5)


def test_a_class_absent_from_gold_and_answers_is_not_averaged() -> None:
    # scikit-learn's macro average runs over the labels seen: only "passed" here.
    m = metrics_of(judged([1, 1], [1, 1]))
    assert m.macro_f1 == 1.0 and m.f1 == 1.0 and m.accuracy == 1.0


def test_the_inverse_of_the_gold_scores_zero_everywhere() -> None:
    m = metrics_of(judged([1, 0, 1, 0], [0, 1, 0, 1]))
    assert (m.accuracy, m.precision, m.recall, m.f1, m.macro_f1) == (0, 0, 0, 0, 0)


def test_a_subtree_score_counts_each_leaf_as_passed_with_that_weight() -> None:
    # two leaves (gold 1 and 0) under an item scored 0.25: tp 0.25, fn 0.75, fp 0.25, tn 0.75.
    counts = confusion([(1, 0.25), (0, 0.25)])
    assert (counts.tp, counts.fn, counts.fp, counts.tn) == (0.25, 0.75, 0.25, 0.75)
    m = metrics_from(counts)
    assert m.accuracy == pytest.approx(0.5)
    assert m.precision == pytest.approx(0.5) and m.recall == pytest.approx(0.25)
    # F1 passed = 0.5 / (0.5 + 0.25 + 0.75) = 1/3; failed = 1.5 / (1.5 + 0.75 + 0.25) = 3/5.
    assert m.f1 == pytest.approx(1 / 3)
    assert m.macro_f1 == pytest.approx((1 / 3 + 3 / 5) / 2)


def test_invalid_and_unjudged_leaves_are_counted_apart_not_as_zeros() -> None:
    items = [
        *judged([1, 0], [1, 0]),
        LeafJudgement("s", "x", "Code Development", 1, None, "invalid", "timed out"),
        LeafJudgement("s", "y", "Result Analysis", 1, None, "not_judged", "no reproduction"),
    ]
    m = metrics_of(items)
    assert m.leaves == 2 and m.accuracy == 1.0 and m.macro_f1 == 1.0
    assert (m.invalid, m.not_judged) == (1, 1)


def test_no_judged_leaf_gives_no_figures() -> None:
    m = metrics_of([LeafJudgement("s", "x", "Code Development", 1, None, "invalid")])
    assert m.leaves == 0 and m.accuracy is None and m.macro_f1 is None and m.invalid == 1


def test_per_category_figures_cover_only_categories_present() -> None:
    items = judged([1, 0], [1, 1]) + judged([1], [1], "Result Analysis")
    result = category_metrics(items, ["Code Development", "Code Execution", "Result Analysis"])
    assert list(result.per_category) == ["Code Development", "Result Analysis"]
    assert result.per_category["Code Development"].accuracy == 0.5
    assert result.overall.leaves == 3


def test_values_outside_the_scale_are_refused() -> None:
    with pytest.raises(ValueError, match="not 0 or 1"):
        confusion([(2, 1.0)])
    with pytest.raises(ValueError, match="outside"):
        confusion([(1, 1.5)])


def test_pairwise_agreement_is_the_mean_over_pairs_of_repeats() -> None:
    assert pairwise_agreement([1, 1, 1]) == 1.0
    # pairs (1,1), (1,0), (1,0): 1, 0, 0.
    assert pairwise_agreement([1, 1, 0]) == pytest.approx(1 / 3)
    assert pairwise_agreement([0.5, 1.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        pairwise_agreement([1])
