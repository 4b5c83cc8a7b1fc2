"""The one place judge evaluation calls the grading stage.

:func:`grade_gold_set` grades a gold set's submission and its recorded reproduction (when it has
one) with one judge's :class:`~paperbench.grading.options.JudgeOptions`, through the stage's own
``GradeInputs.resolve`` and ``grade`` — what ``paperbench grade`` and a run's grading stage do —
and returns the graded tree and what the grade cost. Nothing else in :mod:`paperbench.judge_eval`
calls the grading stage, so a change of its entry point is a change here alone.

The rubric graded is the one the gold tree was graded against. When the tree has the paper's
rubric's structure that is the paper bundle as it is; when it does not (PaperBench's judge-eval
examples were graded on earlier drafts of their rubrics) a copy of the bundle whose
``rubric.json`` is the gold tree without its grades is written under ``work_dir`` — which is
what PaperBench's own judge evaluation does.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from paperbench.grading import GradeInputs, JudgeOptions, grade
from paperbench.judge_eval.gold import (
    GoldSet,
    rubric_of,
    structure_differences,
    submission_for_grading,
)
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle, load_bundle

_BUNDLE_FILES = ("config.yaml", "paper.md", "paper.pdf", "addendum.md", "judge.addendum.md")


class GradeCost(BaseModel):
    """Calls, tokens, dollars and seconds of one grade (dollars ``None`` when unpriced)."""

    calls: int = 0
    replies: int = 0
    cache_hits: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0


class GradedSet(BaseModel):
    """A gold set as the judge graded it."""

    graded_tree: dict[str, Any]
    cost: GradeCost
    out_dir: str
    rubric_matches_paper: bool


def rubric_matches(gold: GoldSet, bundle: PaperBundle) -> bool:
    return not structure_differences(gold.expected, bundle.rubric, limit=1)


def _bundle_for(gold: GoldSet, bundle: PaperBundle, work_dir: Path) -> PaperBundle:
    if rubric_matches(gold, bundle):
        return bundle
    root = work_dir / "paper"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name in _BUNDLE_FILES:
        if (bundle.root / name).is_file():
            shutil.copyfile(bundle.root / name, root / name)
    (root / "rubric.json").write_text(json.dumps(rubric_of(gold.expected)), encoding="utf-8")
    return load_bundle(root)


async def grade_gold_set(
    gold: GoldSet,
    bundle: PaperBundle,
    options: JudgeOptions,
    *,
    out_dir: Path,
    work_dir: Path,
    retry: RetryPolicy | None = None,
) -> GradedSet:
    """Grade ``gold``'s submission with the judge ``options`` (exactly as ``paperbench grade``
    would with them), writing ``paperbench grade``'s files into ``out_dir``; ``work_dir`` holds
    an extracted submission.tar and a re-written bundle when needed (reused across
    configurations).

    Raises:
        PaperbenchError: a malformed submission, reproduction, paper or judge name, or a missing
            key (from the grading stage).
        ArchiveError: an unreadable or unsafe submission.tar.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    graded_bundle = _bundle_for(gold, bundle, work_dir)
    submission = submission_for_grading(gold, work_dir)
    started = time.monotonic()
    inputs = GradeInputs.resolve(
        graded_bundle, options, submission=submission, reproduction=gold.reproduction_dir
    )
    result = await grade(inputs, out_dir, retry=retry)
    seconds = time.monotonic() - started
    tree = json.loads((out_dir / "graded_tree.json").read_text(encoding="utf-8"))
    ledger = result.ledger
    return GradedSet(
        graded_tree=tree,
        cost=GradeCost(
            calls=ledger.requests_sent,
            replies=ledger.replies,
            cache_hits=ledger.cache_hits,
            failed_calls=ledger.failed_calls,
            input_tokens=ledger.input_tokens,
            cached_input_tokens=ledger.cached_input_tokens,
            cache_write_tokens=ledger.cache_write_tokens,
            output_tokens=ledger.output_tokens,
            cost_usd=ledger.cost_usd,
            seconds=round(seconds, 3),
        ),
        out_dir=str(out_dir),
        rubric_matches_paper=graded_bundle is bundle,
    )
