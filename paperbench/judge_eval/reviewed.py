"""Reviewed runs as gold sets: the leaves a person graded in ``paperbench view``.

A reviewer who reads a run may set the score of any graded item, with a reason
(:mod:`paperbench.grading.overrides`). Such a run directory can be given to ``paperbench
judge-eval --gold`` like a gold set, under these rules:

* **Only reviewed leaves are gold.** A leaf is gold when a reviewer set its score (0 or 1) —
  whether that changed the judge's grade or confirmed it. Every other leaf has no human grade:
  it is never compared (neither as agreement nor as disagreement) and is counted apart as
  *ungraded* in the report. The judge's own grade of an unreviewed leaf is never treated as
  gold: that would measure the judge against itself.
* **Subtree overrides are not used.** A reviewer's score for a depth-limited item
  (``--max-depth``) says how much of the subtree holds, not which of its leaves; those overrides
  are counted in the set's description and otherwise left out.
* **The structure is the paper's rubric as it is now**, so the judge under test grades exactly
  what ``paperbench grade`` would. An override whose item's requirement or category differs from
  the rubric's leaf at that path (the rubric changed after the run was graded) is refused with
  one line: the review is of another rubric.
* **What is graded is what the run's judge graded**: the run's ``submission/`` and its
  ``reproduction/`` (record, log and executed copy), as the run's grading stage passed them.
* A run with no reviewed leaf is refused: it has nothing to measure against.

Reviewers tend to override where they disagree with the judge, so a run's reviewed leaves are
not a random sample of its leaves: the figures on them say how a judge does on the leaves
people found worth a look, and the run's own judge will look worse there than it is. The
description of each set says how many overrides changed the judge's grade and how many
confirmed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paperbench.contracts import ResultFileError
from paperbench.errors import PaperError
from paperbench.grading.overrides import (
    OverrideError,
    item_kind,
    load_overrides,
    reviewed_tree,
)
from paperbench.judge_eval.gold import (
    GoldMeta,
    GoldNode,
    GoldSet,
    GoldSetError,
    is_gold_set,
    load_gold_set,
)
from paperbench.papers import PaperRegistry
from paperbench.reproduction.result import ReproductionResult
from paperbench.rubric import RubricNode, display_path
from paperbench.rubric.model import join_path
from paperbench.runs.layout import slug
from paperbench.runs.record import RunRecord

KIND = "reviewed-run"


def _items(tree: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The graded items of a (reviewed) graded tree, by rubric path."""
    found: dict[str, Mapping[str, Any]] = {}

    def visit(node: Mapping[str, Any], position: str) -> None:
        path = node.get("path") if isinstance(node.get("path"), str) else position
        children = node.get("sub_tasks") or []
        if not children:
            found[str(path)] = node
            return
        for index, child in enumerate(children):
            visit(child, join_path(position, index))

    visit(tree, "")
    return found


def _gold_tree(
    rubric: RubricNode, reviewed: Mapping[str, Mapping[str, Any]], source: str
) -> dict[str, Any]:
    """The rubric as a graded tree with the reviewers' grades on the reviewed leaves and no
    grade (``score`` null) on the others."""

    def visit(node: RubricNode, path: str) -> dict[str, Any]:
        data = node.model_dump(mode="json", exclude={"sub_tasks"})
        if not node.is_leaf:
            children = [
                visit(child, join_path(path, index)) for index, child in enumerate(node.sub_tasks)
            ]
            return {**data, "sub_tasks": children, "score": None, "explanation": ""}
        item = reviewed.get(path)
        if item is None:
            return {**data, "sub_tasks": [], "score": None, "explanation": "not reviewed"}
        where = f"{source}: item {display_path(path)}"
        if str(item.get("requirements", "")).strip() != node.requirements.strip():
            raise GoldSetError(
                f"{where}: its requirement differs from the paper's rubric: the run was graded "
                "on another version of the rubric; review a run graded on this one"
            )
        review = item["review"]
        if review.get("score") not in (0, 1):
            raise GoldSetError(
                f"{where}: the reviewer's score {review.get('score')!r} for a leaf is not 0 or 1 "
                "(was grading/overrides.json edited by hand?)"
            )
        return {
            **data,
            "sub_tasks": [],
            "score": float(review["score"]),
            "valid_score": True,
            "explanation": str(review.get("reason", "")),
            "reviewer": str(review.get("reviewer", "")),
            "judge_score": review.get("judge_score"),
        }

    return visit(rubric, "")


def _reproduction_dir(run_dir: Path) -> Path | None:
    folder = run_dir / "reproduction"
    return folder if ReproductionResult.path_in(folder).is_file() else None


def load_reviewed_run(run_dir: Path, papers: PaperRegistry) -> GoldSet:
    """The gold set a reviewed run directory makes (see the module docstring).

    Raises:
        GoldSetError: no ``run.json``, an unknown paper, a malformed graded tree or overrides
            file, no reviewed leaf, a review of another version of the rubric, or nothing to
            grade.
    """
    try:
        record = RunRecord.load(run_dir)
        tree = reviewed_tree(run_dir)
        overrides = load_overrides(run_dir / "grading")
    except (ResultFileError, OverrideError) as error:
        raise GoldSetError(f"{run_dir}: not a reviewed run: {error}") from None
    try:
        bundle = papers.get(record.paper_id)
    except PaperError as error:
        raise PaperError(f"reviewed run {run_dir}: {error}") from None
    items = _items(tree)
    reviewed = {
        path: item
        for path, item in items.items()
        if isinstance(item.get("review"), Mapping) and item_kind(dict(item)) == "leaf"
    }
    subtrees = sum(
        1
        for path, item in items.items()
        if isinstance(item.get("review"), Mapping) and item_kind(dict(item)) == "subtree"
    )
    rubric_leaves = {path for path, _ in bundle.rubric.leaves()}
    for path in reviewed:
        if path not in rubric_leaves:
            raise GoldSetError(
                f"{run_dir}: item {display_path(path)} is not a leaf of {record.paper_id}'s "
                "rubric: the run was graded on another version of the rubric"
            )
    if not reviewed:
        raise GoldSetError(
            f"{run_dir}: no leaf was reviewed ({subtrees} subtree overrides, which do not say "
            "which leaves hold); review leaves in `paperbench view` to use the run as a gold set"
        )
    expected = GoldNode.model_validate(_gold_tree(bundle.rubric, reviewed, str(run_dir)))
    changed = sum(1 for item in reviewed.values() if not _confirms(item["review"]))
    reviewers = sorted({str(item["review"].get("reviewer", "")) for item in reviewed.values()})
    dates = sorted(
        override.at.date().isoformat()
        for path, override in overrides.overrides.items()
        if path in reviewed
    )
    meta = GoldMeta(
        paper_id=record.paper_id,
        name=f"reviewed-{slug(record.agent)}-seed-{record.seed}",
        kind=KIND,
        description=(
            f"run {run_dir}: {len(reviewed)} of {len(rubric_leaves)} leaves reviewed "
            f"({changed} changed the judge's grade, {len(reviewed) - changed} confirmed it)"
            + (f"; {subtrees} subtree overrides not used" if subtrees else "")
        ),
        graded_by=", ".join(reviewers),
        graded_at=dates[-1] if dates else "",
        source=str(run_dir),
    )
    submission = run_dir / "submission"
    reproduction = _reproduction_dir(run_dir)
    submission_dir = submission if submission.is_dir() else None
    if submission_dir is None and reproduction is None:
        raise GoldSetError(f"{run_dir}: nothing to grade: no submission/ or reproduction/")
    return GoldSet(
        root=run_dir,
        meta=meta,
        expected=expected,
        submission_dir=submission_dir,
        submission_tar=None,
        reproduction_dir=reproduction,
        source=KIND,
    )


def _confirms(review: Mapping[str, Any]) -> bool:
    """The override gave the score the judge had given when the reviewer saw it."""
    judge_score = review.get("judge_score")
    return (
        review.get("judge_valid", True) is not False
        and isinstance(judge_score, int | float)
        and float(judge_score) == float(review["score"])
    )


def load_gold(folder: Path, papers: PaperRegistry) -> GoldSet:
    """A gold set folder (:func:`~paperbench.judge_eval.gold.load_gold_set`) or a reviewed run
    directory (:func:`load_reviewed_run`).

    Raises:
        GoldSetError: see those two functions.
        PaperError: a reviewed run of a paper ``papers`` does not know.
    """
    if is_gold_set(folder):
        return load_gold_set(folder)
    return load_reviewed_run(folder, papers)
