"""``judge_eval.json``: the result of measuring judge configurations against gold sets.

The file follows ``grader/judge_eval.schema.json``, generated from :class:`JudgeEvalReport` by
:func:`judge_eval_schema` (a test keeps the committed file equal to it;
``paperbench judge-eval schema --out grader/judge_eval.schema.json`` rewrites it).

Per configuration: agreement figures pooled over every gold leaf of every set and repeat (as
PaperBench pools its examples), per task category too; the root-score error per set; how
consistent the judge is across repeats; leaves it left invalid or did not judge, counted apart;
and calls, tokens, dollars and seconds, in total and per graded submission.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from paperbench.grading.options import JudgeOptions
from paperbench.judge_eval.grading import GradeCost
from paperbench.judge_eval.metrics import CategoryMetrics, Metrics

SCHEMA_ID = "https://paperbench.dev/schemas/judge_eval.schema.json"


class CategoryCount(BaseModel):
    leaves: int
    gold_passed: int


class GoldSetSummary(BaseModel):
    """A gold set as the evaluation saw it."""

    id: str = Field(description="paper-id/set-name")
    paper_id: str
    name: str
    kind: str
    path: str
    source: str = Field(
        description="gold-set: graded by hand, every leaf; reviewed-run: a run directory whose "
        "reviewed leaves are the gold (paperbench view's overrides)"
    )
    leaves: int = Field(description="Leaves with a human grade: the ones compared.")
    ungraded_leaves: int = Field(
        description="Leaves without a human grade (a reviewed run's unreviewed leaves): never "
        "compared, counted here."
    )
    gold_passed: int
    gold_score: float = Field(description="The human root score (weighted mean of leaves).")
    per_category: dict[str, CategoryCount]
    has_reproduction: bool
    rubric_matches_paper: bool = Field(
        description="False when the gold tree has another structure than the paper's rubric; "
        "the judge then grades the gold tree's rubric."
    )
    graded_by: str
    graded_at: str


class SetRun(BaseModel):
    """One gold set graded once under one configuration."""

    set: str
    repeat: int
    out_dir: str
    metrics: Metrics
    judged_root: float | None
    gold_root: float | None
    root_error: float | None
    cost: GradeCost


class RootScore(BaseModel):
    """The judge's root score against the gold one, for one set (mean over repeats)."""

    set: str
    gold: float | None
    judged: float | None
    error: float | None = Field(description="judged - gold")
    per_repeat: list[float | None]


class Consistency(BaseModel):
    """Agreement of the judge with itself across repeats (``None`` for a single repeat)."""

    repeats: int
    leaves_compared: int = Field(description="Gold leaves judged in at least two repeats.")
    leaf_agreement: float | None = Field(
        description="Mean over leaves of the mean over pairs of repeats of 1 - |a - b|."
    )
    unanimous_share: float | None = Field(description="Leaves given one value by every repeat.")
    root_score_stdev: float | None = Field(
        description="Mean over sets of the standard deviation of the root score across repeats."
    )
    macro_f1_per_repeat: list[float | None]


class InvalidLeaf(BaseModel):
    set: str
    repeat: int
    path: str
    category: str
    status: str = Field(description="invalid (judge failed) or not_judged (scored by rule)")
    reason: str


class CostSummary(GradeCost):
    """Totals over every grade of a configuration, and the mean per graded submission."""

    submissions_graded: int = 0
    cost_usd_per_submission: float | None = None
    seconds_per_submission: float = 0.0
    calls_per_submission: float = 0.0


class ConfigResult(BaseModel):
    """One judge configuration measured against every gold set."""

    label: str
    options: JudgeOptions = Field(
        description="The judge's options as it graded: paperbench grade's, by the same names."
    )
    repeats: int
    cache_used: bool = Field(description="Replies could come from the judge cache (1 repeat).")
    metrics: CategoryMetrics
    root_scores: list[RootScore]
    root_mean_abs_error: float | None
    root_mean_error: float | None = Field(description="Mean of judged - gold: the judge's bias.")
    consistency: Consistency | None
    invalid_leaves: list[InvalidLeaf] = Field(
        description="Leaves left invalid or not judged (at most 200 listed; counts in metrics)."
    )
    cost: CostSummary
    runs: list[SetRun]


class PublishedJudge(BaseModel):
    """A judge's figures as PaperBench published them, shown beside ours for reference."""

    judge: str
    macro_f1: float
    per_category: dict[str, float]
    usd_per_paper: float | None
    source: str


class JudgeEvalReport(BaseModel):
    """The whole evaluation: gold sets, configurations, and PaperBench's figures."""

    schema_version: int = 1
    generated_at: datetime
    paperbench_version: str
    git_revision: str | None
    gold_sets: list[GoldSetSummary]
    configurations: list[ConfigResult]
    reference: list[PublishedJudge]


def judge_eval_schema() -> dict[str, object]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **JudgeEvalReport.model_json_schema(mode="serialization"),
    }
