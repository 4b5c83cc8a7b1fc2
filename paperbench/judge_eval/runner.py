"""Measure judge configurations against gold sets: grade every set under every configuration
(``repeats`` times), compare with the gold, and gather the figures into a
:class:`~paperbench.judge_eval.result.JudgeEvalReport`.

Sets are graded one after another within a configuration (the judge's own concurrency applies
inside a grade), so each grade's wall time is its own. Output folders::

    OUT/grades/<NN>-<configuration>/<paper>/<set>/repeat-<r>/   what `paperbench grade` writes
    OUT/work/<paper>/<set>/                                    an extracted submission.tar and,
                                                               when needed, the gold's rubric
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from paperbench import __version__
from paperbench.errors import PaperError
from paperbench.judge_eval.agreement import categories_in, compare
from paperbench.judge_eval.config import JudgeConfig, for_repeats
from paperbench.judge_eval.gold import GoldSet, gold_score
from paperbench.judge_eval.grading import GradeCost, grade_gold_set, rubric_matches
from paperbench.judge_eval.metrics import (
    LeafJudgement,
    category_metrics,
    metrics_of,
    pairwise_agreement,
)
from paperbench.judge_eval.reference import PUBLISHED
from paperbench.judge_eval.result import (
    CategoryCount,
    ConfigResult,
    Consistency,
    CostSummary,
    GoldSetSummary,
    InvalidLeaf,
    JudgeEvalReport,
    RootScore,
    SetRun,
)
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle, PaperRegistry
from paperbench.revision import git_revision
from paperbench.rubric import TASK_CATEGORIES

MAX_LISTED_INVALID = 200
Progress = Callable[[str], None]


def bundles_for(golds: Sequence[GoldSet], registry: PaperRegistry) -> dict[str, PaperBundle]:
    """The paper bundle of every set's paper.

    Raises:
        PaperError: a paper the registry does not know (the message says how to add it).
    """
    bundles: dict[str, PaperBundle] = {}
    for gold in golds:
        if gold.paper_id in bundles:
            continue
        try:
            bundles[gold.paper_id] = registry.get(gold.paper_id)
        except PaperError as error:
            raise PaperError(
                f"gold set {gold.id} ({gold.root}): {error} (a PaperBench paper comes in with "
                "`paperbench papers import`)"
            ) from None
    return bundles


def summarise_set(gold: GoldSet, bundle: PaperBundle) -> GoldSetSummary:
    every = list(gold.expected.leaves())
    leaves = [(path, leaf) for path, leaf in every if leaf.graded]
    counts: dict[str, CategoryCount] = {}
    for category in TASK_CATEGORIES:
        chosen = [leaf for _, leaf in leaves if leaf.task_category == category]
        if chosen:
            counts[category] = CategoryCount(
                leaves=len(chosen), gold_passed=sum(leaf.gold for leaf in chosen)
            )
    return GoldSetSummary(
        id=gold.id,
        paper_id=gold.paper_id,
        name=gold.meta.name,
        kind=gold.meta.kind,
        path=str(gold.root),
        source=gold.source,
        leaves=len(leaves),
        ungraded_leaves=len(every) - len(leaves),
        gold_passed=sum(leaf.gold for _, leaf in leaves),
        gold_score=gold_score(gold.expected) or 0.0,
        per_category=counts,
        has_reproduction=gold.reproduction_dir is not None,
        rubric_matches_paper=rubric_matches(gold, bundle),
        graded_by=gold.meta.graded_by,
        graded_at=gold.meta.graded_at,
    )


def slug(text: str, limit: int = 48) -> str:
    cleaned = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return cleaned[:limit].rstrip("-.") or "judge"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _cost_summary(costs: Sequence[GradeCost]) -> CostSummary:
    count = len(costs)
    dollars = [cost.cost_usd for cost in costs]
    total_usd = None if any(d is None for d in dollars) else sum(d or 0.0 for d in dollars)
    seconds = sum(cost.seconds for cost in costs)
    calls = sum(cost.calls for cost in costs)
    return CostSummary(
        calls=calls,
        replies=sum(cost.replies for cost in costs),
        cache_hits=sum(cost.cache_hits for cost in costs),
        failed_calls=sum(cost.failed_calls for cost in costs),
        input_tokens=sum(cost.input_tokens for cost in costs),
        cached_input_tokens=sum(cost.cached_input_tokens for cost in costs),
        cache_write_tokens=sum(cost.cache_write_tokens for cost in costs),
        output_tokens=sum(cost.output_tokens for cost in costs),
        cost_usd=total_usd,
        seconds=round(seconds, 3),
        submissions_graded=count,
        cost_usd_per_submission=None if total_usd is None or not count else total_usd / count,
        seconds_per_submission=round(seconds / count, 3) if count else 0.0,
        calls_per_submission=calls / count if count else 0.0,
    )


def consistency(
    by_repeat: Sequence[Sequence[LeafJudgement]], roots: Mapping[str, Sequence[float | None]]
) -> Consistency | None:
    """How the judge agrees with itself over repeats; ``None`` for a single repeat."""
    if len(by_repeat) < 2:
        return None
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for judgements in by_repeat:
        for item in judgements:
            if item.status == "judged" and item.judged is not None:
                values[(item.set_id, item.path)].append(item.judged)
    compared = [series for series in values.values() if len(series) >= 2]
    stdevs = [
        statistics.stdev(known)
        for series in roots.values()
        if len(known := [value for value in series if value is not None]) >= 2
    ]
    return Consistency(
        repeats=len(by_repeat),
        leaves_compared=len(compared),
        leaf_agreement=_mean([pairwise_agreement(series) for series in compared]),
        unanimous_share=_mean([float(len(set(series)) == 1) for series in compared]),
        root_score_stdev=_mean(stdevs),
        macro_f1_per_repeat=[metrics_of(judgements).macro_f1 for judgements in by_repeat],
    )


async def evaluate_config(
    index: int,
    config: JudgeConfig,
    golds: Sequence[GoldSet],
    bundles: Mapping[str, PaperBundle],
    *,
    repeats: int = 1,
    out_dir: Path,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
) -> ConfigResult:
    """Grade every set ``repeats`` times under ``config`` and measure the grades.

    Raises:
        PaperbenchError: from the grading stage (see :func:`grade_gold_set`).
    """
    folder = out_dir / "grades" / f"{index + 1:02d}-{slug(config.name)}"
    options = for_repeats(config.options, repeats)
    by_repeat: list[list[LeafJudgement]] = []
    runs: list[SetRun] = []
    roots: dict[str, list[float | None]] = defaultdict(list)
    gold_roots: dict[str, float | None] = {}
    for repeat in range(1, repeats + 1):
        judgements: list[LeafJudgement] = []
        for gold in golds:
            if progress is not None:
                progress(f"{config.name}: grading {gold.id} (repeat {repeat})")
            graded = await grade_gold_set(
                gold,
                bundles[gold.paper_id],
                options,
                out_dir=folder / gold.paper_id / gold.meta.name / f"repeat-{repeat}",
                work_dir=out_dir / "work" / gold.paper_id / gold.meta.name,
                retry=retry,
            )
            comparison = compare(
                graded.graded_tree,
                gold.expected,
                set_id=gold.id,
                code_dev=options.code_dev,
                source=f"{graded.out_dir}/graded_tree.json",
            )
            judgements += comparison.judgements
            roots[gold.id].append(comparison.judged_root)
            gold_roots[gold.id] = comparison.gold_root
            runs.append(
                SetRun(
                    set=gold.id,
                    repeat=repeat,
                    out_dir=graded.out_dir,
                    metrics=metrics_of(comparison.judgements),
                    judged_root=comparison.judged_root,
                    gold_root=comparison.gold_root,
                    root_error=comparison.root_error,
                    cost=graded.cost,
                )
            )
        by_repeat.append(judgements)
    pooled = [item for judgements in by_repeat for item in judgements]
    root_scores = []
    for gold in golds:
        judged = _mean([value for value in roots[gold.id] if value is not None])
        gold_value = gold_roots.get(gold.id)
        error = None if judged is None or gold_value is None else judged - gold_value
        root_scores.append(
            RootScore(
                set=gold.id,
                gold=gold_value,
                judged=judged,
                error=error,
                per_repeat=roots[gold.id],
            )
        )
    errors = [score.error for score in root_scores if score.error is not None]
    invalid = [
        InvalidLeaf(
            set=item.set_id,
            repeat=repeat,
            path=item.path,
            category=item.category,
            status=item.status,
            reason=item.reason,
        )
        for repeat, judgements in enumerate(by_repeat, start=1)
        for item in judgements
        if item.status != "judged"
    ]
    return ConfigResult(
        label=config.name,
        options=options,
        repeats=repeats,
        cache_used=options.cache,
        metrics=category_metrics(pooled, categories_in(pooled)),
        root_scores=root_scores,
        root_mean_abs_error=_mean([abs(error) for error in errors]),
        root_mean_error=_mean(errors),
        consistency=consistency(by_repeat, roots),
        invalid_leaves=invalid[:MAX_LISTED_INVALID],
        cost=_cost_summary([run.cost for run in runs]),
        runs=runs,
    )


async def evaluate(
    golds: Sequence[GoldSet],
    configs: Sequence[JudgeConfig],
    *,
    repeats: int = 1,
    bundles: Mapping[str, PaperBundle],
    out_dir: Path,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
) -> JudgeEvalReport:
    """Every configuration against every gold set (see the module docstring).

    Raises:
        PaperbenchError: from the grading stage (see :func:`grade_gold_set`).
    """
    summaries = [summarise_set(gold, bundles[gold.paper_id]) for gold in golds]
    results = [
        await evaluate_config(
            index,
            config,
            golds,
            bundles,
            repeats=repeats,
            out_dir=out_dir,
            progress=progress,
            retry=retry,
        )
        for index, config in enumerate(configs)
    ]
    return JudgeEvalReport(
        generated_at=datetime.now(UTC),
        paperbench_version=__version__,
        git_revision=git_revision()[0],
        gold_sets=summaries,
        configurations=results,
        reference=list(PUBLISHED),
    )
