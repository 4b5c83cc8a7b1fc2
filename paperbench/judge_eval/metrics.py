"""Agreement between a judge and human grades, as numbers: pure functions, no I/O.

The unit is a gold *leaf*: the human said it passed (1) or failed (0), and the judge gave it a
value ``q`` in [0, 1]. For a leaf graded on its own ``q`` is the judge's 0 or 1. For a leaf under
a depth-limited item (``--max-depth``) ``q`` is that item's score: the judge graded the subtree
as a whole, so each of its leaves is counted as passed with weight ``q`` — the expected confusion
counts had the leaves been passed at random with that probability. With 0/1 values these are the
ordinary counts, so a depth-limited judge is measured on the same leaves and denominators.

Reported, over a set of leaves:

* ``accuracy``, and ``precision``, ``recall`` and ``f1`` of the class "passed";
* ``macro_precision``, ``macro_recall`` and ``macro_f1``: the mean over the classes present (in
  the gold or in the judge's answers) of each class's figure, a class without predictions
  counting 0 — scikit-learn's ``average="macro", zero_division=0``, which is how PaperBench
  reports its judges (``paperbench/judge/judge_eval/evaluate.py``; its published F1 figures are
  these macro-F1s over every leaf of every example, pooled);
* how many leaves the judge left *invalid* and how many it did *not judge* (scored by rule for
  want of a reproduction). These are counted apart and never enter the figures as zeros.

Every figure is ``None`` when no leaf was judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

LeafStatus = Literal["judged", "invalid", "not_judged"]


@dataclass(frozen=True)
class LeafJudgement:
    """One gold leaf and what the judge made of it.

    ``judged`` is the value ``q`` in [0, 1] when ``status == "judged"``, else ``None``.
    """

    set_id: str
    path: str
    category: str
    gold: int
    judged: float | None
    status: LeafStatus
    reason: str = ""


@dataclass(frozen=True)
class Confusion:
    """Confusion counts for the class "passed" (possibly fractional, see the module docstring)."""

    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    tn: float = 0.0

    @property
    def total(self) -> float:
        return self.tp + self.fp + self.fn + self.tn


def confusion(pairs: Iterable[tuple[int, float]]) -> Confusion:
    """Counts over ``(gold, judged)`` pairs, ``gold`` in {0, 1} and ``judged`` in [0, 1].

    Raises:
        ValueError: a gold value other than 0 or 1, or a judged value outside [0, 1].
    """
    tp = fp = fn = tn = 0.0
    for gold, judged in pairs:
        if gold not in (0, 1):
            raise ValueError(f"gold value {gold!r} is not 0 or 1")
        if not 0.0 <= judged <= 1.0:
            raise ValueError(f"judged value {judged!r} is outside [0, 1]")
        if gold:
            tp += judged
            fn += 1.0 - judged
        else:
            fp += judged
            tn += 1.0 - judged
    return Confusion(tp=tp, fp=fp, fn=fn, tn=tn)


class Metrics(BaseModel):
    """Agreement figures over a set of gold leaves (see the module docstring)."""

    leaves: int
    gold_passed: int
    tp: float
    fp: float
    fn: float
    tn: float
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    invalid: int = 0
    not_judged: int = 0


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


def _class_figures(hit: float, false_pos: float, false_neg: float) -> tuple[float, float, float]:
    """Precision, recall and F1 of one class, 0 where undefined (zero_division=0)."""
    return (
        _ratio(hit, hit + false_pos),
        _ratio(hit, hit + false_neg),
        _ratio(2 * hit, 2 * hit + false_pos + false_neg),
    )


def metrics_from(counts: Confusion, *, invalid: int = 0, not_judged: int = 0) -> Metrics:
    """The figures of :class:`Metrics` from confusion counts."""
    total = counts.total
    leaves = round(total)
    gold_passed = round(counts.tp + counts.fn)
    if total <= 0:
        return Metrics(
            leaves=0,
            gold_passed=0,
            tp=0.0,
            fp=0.0,
            fn=0.0,
            tn=0.0,
            accuracy=None,
            precision=None,
            recall=None,
            f1=None,
            macro_precision=None,
            macro_recall=None,
            macro_f1=None,
            invalid=invalid,
            not_judged=not_judged,
        )
    passed = _class_figures(counts.tp, counts.fp, counts.fn)
    failed = _class_figures(counts.tn, counts.fn, counts.fp)
    present: list[tuple[float, float, float]] = []
    if counts.tp + counts.fn + counts.fp > 0:
        present.append(passed)
    if counts.tn + counts.fp + counts.fn > 0:
        present.append(failed)
    return Metrics(
        leaves=leaves,
        gold_passed=gold_passed,
        tp=counts.tp,
        fp=counts.fp,
        fn=counts.fn,
        tn=counts.tn,
        accuracy=(counts.tp + counts.tn) / total,
        precision=passed[0],
        recall=passed[1],
        f1=passed[2],
        macro_precision=sum(figures[0] for figures in present) / len(present),
        macro_recall=sum(figures[1] for figures in present) / len(present),
        macro_f1=sum(figures[2] for figures in present) / len(present),
        invalid=invalid,
        not_judged=not_judged,
    )


def metrics_of(judgements: Iterable[LeafJudgement]) -> Metrics:
    """Figures over ``judgements``: judged leaves counted, the others tallied apart."""
    items = list(judgements)
    counts = confusion(
        (item.gold, item.judged)
        for item in items
        if item.status == "judged" and item.judged is not None
    )
    return metrics_from(
        counts,
        invalid=sum(item.status == "invalid" for item in items),
        not_judged=sum(item.status == "not_judged" for item in items),
    )


class CategoryMetrics(BaseModel):
    """Figures over every leaf, and per task category (only categories with gold leaves)."""

    overall: Metrics
    per_category: dict[str, Metrics]


def category_metrics(
    judgements: Sequence[LeafJudgement], categories: Sequence[str]
) -> CategoryMetrics:
    """Overall and per-category :class:`Metrics`, categories in the order given."""
    return CategoryMetrics(
        overall=metrics_of(judgements),
        per_category={
            category: metrics_of(item for item in judgements if item.category == category)
            for category in categories
            if any(item.category == category for item in judgements)
        },
    )


def pairwise_agreement(values: Sequence[float]) -> float:
    """Mean over pairs of repeats of ``1 - |a - b|``: 1 when every repeat gave the same value.

    Raises:
        ValueError: fewer than two values.
    """
    if len(values) < 2:
        raise ValueError("agreement needs at least two repeats")
    pairs = [
        1.0 - abs(values[i] - values[j])
        for i in range(len(values))
        for j in range(i + 1, len(values))
    ]
    return sum(pairs) / len(pairs)
