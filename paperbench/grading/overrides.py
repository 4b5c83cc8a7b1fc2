"""Human review of a graded tree: a reviewer's score for an item, beside the judge's, never in
place of it.

A reviewer who reads a run (``paperbench view``) may set the score of any graded item — a leaf
(0 or 1) or a depth-limited subtree (0 to 1) — with a reason. Overrides live in their own file,
``grading/overrides.json`` of the run directory::

    {"schema_version": 1,
     "overrides": {"0/2/1": {"score": 1, "reason": "...", "reviewer": "alice",
                             "at": "2026-...Z", "judge_score": 0.0, "judge_valid": true}},
     "history": [{"action": "set", "path": "0/2/1", "score": 1, ...}, ...]}

Guarantees:

* ``graded_tree.json`` is never written here: the judge's grade stays as the judge gave it, so
  judge-only and reviewed scores can be shown side by side and the judge can be evaluated
  against the reviewers (``paperbench judge-eval`` reads :func:`reviewed_tree`).
* The reviewed score is computed by the judge's own aggregation (``summarise`` and
  ``graded_tree`` of :mod:`paperbench.grading.aggregate`, over a plan rebuilt from the graded
  tree), so a tree without overrides scores exactly what the judge's summary says. An
  override on an invalid item makes it valid: a person graded it.
* Every change is appended to ``history`` with who and when; removing an override keeps its
  trace there. Writes are atomic (temporary file + rename) and serialised by a lock file, so two
  viewers on one run never lose each other's overrides.

Items are addressed by their path in the original rubric (the graded tree's ``path`` field, or
the position in the tree for PaperBench's trees that lack it). Per-category reviewed scores are
not computed: a depth-limited item's graded entry does not say which categories its leaves had.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.errors import PaperbenchError
from paperbench.grading.aggregate import ItemResult, ScoreSummary, graded_tree, summarise
from paperbench.grading.plan import GradingItem, PlanNode
from paperbench.rubric import RubricNode

OVERRIDES_FILE = "overrides.json"
GRADED_TREE_FILE = "graded_tree.json"
LOCK_FILE = ".overrides.lock"
MAX_REASON_CHARS = 4000
MAX_REVIEWER_CHARS = 100
#: A graded tree larger than this is refused (the 1,963-leaf pinn tree is a few megabytes).
MAX_TREE_BYTES = 64 * 1024 * 1024


class OverrideError(PaperbenchError):
    """An override that cannot be made (unknown path, score out of range, no reason), or an
    overrides file or graded tree that cannot be read."""


class Override(BaseModel):
    """A reviewer's score for one item, and what the judge had said when it was made."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    score: float = Field(ge=0, le=1)
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    reviewer: str = Field(min_length=1, max_length=MAX_REVIEWER_CHARS)
    at: datetime
    judge_score: float | None = Field(description="the judge's score then; None: invalid")
    judge_valid: bool = True


class OverrideEvent(BaseModel):
    """One change to the overrides, for the audit trail."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Literal["set", "removed"]
    path: str
    score: float | None = None
    reason: str = ""
    reviewer: str
    at: datetime


class Overrides(BaseModel):
    """The content of ``grading/overrides.json``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = 1
    overrides: dict[str, Override] = Field(default_factory=dict)
    history: list[OverrideEvent] = Field(default_factory=list)


class ReviewedScore(BaseModel):
    """A run's score with its overrides applied, beside the judge's."""

    model_config = ConfigDict(frozen=True)

    score: float = Field(ge=0, le=1)
    score_if_invalid_passed: float = Field(ge=0, le=1)
    overrides: int = Field(description="items whose score a reviewer set")
    invalid_leaves: int = Field(description="items still invalid after review")
    reviewers: list[str] = Field(default_factory=list)


class Review(BaseModel):
    """Everything the viewer shows of a review: the marked tree and both scores."""

    tree: dict[str, Any]
    judge: ScoreSummary
    reviewed: ScoreSummary
    overrides: Overrides


# -- reading ---------------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_TREE_BYTES:
            raise OverrideError(f"{path}: {what} is {size} bytes, over {MAX_TREE_BYTES}")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OverrideError(f"{path}: no {what} (has the run been graded?)") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise OverrideError(f"{path}: cannot read {what}: {error}") from None


def load_overrides(grading_dir: Path) -> Overrides:
    """The overrides of a run's ``grading/`` folder (none when the file does not exist).

    Raises:
        OverrideError: the file exists but is not an overrides file.
    """
    path = grading_dir / OVERRIDES_FILE
    if not path.exists():
        return Overrides()
    data = _read_json(path, "overrides file")
    try:
        return Overrides.model_validate(data)
    except ValidationError as error:
        first = str(error).splitlines()[:3]
        raise OverrideError(f"{path}: not an overrides file: {' '.join(first)}") from None


def load_graded_tree(grading_dir: Path) -> dict[str, Any]:
    """The judge's graded tree of a run's ``grading/`` folder.

    Raises:
        OverrideError: missing, unreadable, or not a tree.
    """
    tree = _read_json(grading_dir / GRADED_TREE_FILE, "graded tree")
    if not isinstance(tree, dict):
        raise OverrideError(f"{grading_dir / GRADED_TREE_FILE}: not a graded tree")
    return tree


# -- the tree as the judge's plan ----------------------------------------------------------


def _children(entry: dict[str, Any]) -> list[dict[str, Any]]:
    children = entry.get("sub_tasks") or []
    if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
        raise OverrideError(f"node {entry.get('path', '?')}: sub_tasks is not a list of nodes")
    return children


def item_kind(entry: dict[str, Any]) -> Literal["leaf", "subtree"] | None:
    """``leaf`` or ``subtree`` for a graded item, ``None`` for an inner node."""
    if _children(entry):
        return None
    metadata = entry.get("judge_metadata")
    if isinstance(metadata, dict) and metadata.get("item") == "subtree":
        return "subtree"
    return "leaf"


def _plan(tree: dict[str, Any]) -> tuple[PlanNode, dict[str, dict[str, Any]]]:
    """The grading plan a graded tree was made from, and its items by path."""
    items: dict[str, dict[str, Any]] = {}
    counter = iter(range(1 << 30))

    def visit(entry: dict[str, Any], position: str) -> PlanNode:
        path = entry.get("path") if isinstance(entry.get("path"), str) else position
        fields = {
            key: entry.get(key)
            for key in ("id", "requirements", "weight", "task_category")
            if entry.get(key) is not None
        }
        try:
            node = RubricNode.model_validate({"id": "", "requirements": "", **fields})
        except ValidationError as error:
            first = str(error).splitlines()[:3]
            raise OverrideError(f"node {path}: not a graded node: {' '.join(first)}") from None
        kind = item_kind(entry)
        if kind is not None:
            items[str(path)] = entry
            categories = (node.task_category,) if node.task_category else ()
            item = GradingItem(str(path), node, kind, categories, (), next(counter))
            return PlanNode(str(path), node, item=item)
        children = [
            visit(child, f"{position}/{index}" if position else str(index))
            for index, child in enumerate(_children(entry))
        ]
        return PlanNode(str(path), node, children)

    return visit(tree, ""), items


def _judge_result(entry: dict[str, Any]) -> ItemResult:
    valid = entry.get("valid_score", True) is not False
    explanation = str(entry.get("explanation") or "")
    raw = entry.get("score")
    score = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    metadata = entry.get("judge_metadata")
    judged_by = metadata.get("judged_by") if isinstance(metadata, dict) else None
    return ItemResult(
        score=score if valid else None,
        explanation=explanation,
        judged_by=judged_by if judged_by in ("judge", "cache", "rule") else "judge",
        reason="" if valid else explanation or "invalid",
    )


def _results(
    items: dict[str, dict[str, Any]], overrides: Overrides | None
) -> dict[str, ItemResult]:
    results = {path: _judge_result(entry) for path, entry in items.items()}
    for path, override in (overrides.overrides if overrides else {}).items():
        if path in results:
            results[path] = ItemResult(score=override.score, explanation=override.reason)
    return results


def score_tree(tree: dict[str, Any], overrides: Overrides | None = None) -> ScoreSummary:
    """The score of a graded tree (with ``overrides`` applied), by the judge's aggregation.

    Raises:
        OverrideError: the tree is malformed.
    """
    plan, items = _plan(tree)
    return summarise(plan, _results(items, overrides))


def apply_overrides(
    tree: dict[str, Any], overrides: Overrides
) -> tuple[dict[str, Any], ScoreSummary]:
    """``tree`` with overrides applied and marked, and its reviewed summary.

    An overridden item gets the reviewer's score, ``valid_score: true``, the reviewer's reason
    as ``explanation``, and ``review`` holding the override with the judge's score, validity and
    explanation. Inner nodes get recomputed scores and, when some item below them was
    overridden, ``reviewed_items`` (how many). Overrides naming no item of the tree are ignored.
    ``tree`` itself is not changed: the nodes on the way to an override are new, the others are
    shared with it.

    Raises:
        OverrideError: the tree is malformed.
    """
    plan, items = _plan(tree)
    return _apply(tree, plan, items, overrides)


def _apply(
    tree: dict[str, Any],
    plan: PlanNode,
    items: dict[str, dict[str, Any]],
    overrides: Overrides,
) -> tuple[dict[str, Any], ScoreSummary]:
    results = _results(items, overrides)
    if not any(path in items for path in overrides.overrides):
        return tree, summarise(plan, results)
    rolled = graded_tree(plan, results, {})

    def visit(
        entry: dict[str, Any], recomputed: dict[str, Any], position: str
    ) -> tuple[dict[str, Any], int]:
        path = entry.get("path") if isinstance(entry.get("path"), str) else position
        if item_kind(entry) is not None:
            override = overrides.overrides.get(str(path))
            if override is None:
                return entry, 0
            review = {
                **override.model_dump(mode="json"),
                "judge_explanation": entry.get("explanation"),
                "judge_valid_score": entry.get("valid_score", True) is not False,
            }
            marked = {
                **entry,
                "score": override.score,
                "valid_score": True,
                "explanation": override.reason,
                "review": review,
            }
            return marked, 1
        pairs = zip(_children(entry), recomputed["sub_tasks"], strict=True)
        visited = [
            visit(child, again, f"{position}/{index}" if position else str(index))
            for index, (child, again) in enumerate(pairs)
        ]
        count = sum(found for _, found in visited)
        if not count:
            return entry, 0
        marked = {
            **entry,
            "sub_tasks": [child for child, _ in visited],
            "score": recomputed["score"],
            "valid_score": recomputed["valid_score"],
            "reviewed_items": count,
        }
        return marked, count

    return visit(tree, rolled, "")[0], summarise(plan, results)


# -- the run directory ----------------------------------------------------------------------


def review(run_dir: Path) -> Review:
    """The run's graded tree with its overrides, and its judge-only and reviewed summaries.

    Raises:
        OverrideError: no graded tree, or a malformed tree or overrides file.
    """
    grading = run_dir / "grading"
    tree = load_graded_tree(grading)
    overrides = load_overrides(grading)
    plan, items = _plan(tree)
    judge = summarise(plan, _results(items, None))
    if not overrides.overrides:
        return Review(tree=tree, judge=judge, reviewed=judge, overrides=overrides)
    marked, reviewed = _apply(tree, plan, items, overrides)
    return Review(tree=marked, judge=judge, reviewed=reviewed, overrides=overrides)


def reviewed_tree(run_dir: Path) -> dict[str, Any]:
    """The run's graded tree with overrides applied and marked (see :func:`apply_overrides`);
    the judge's tree unchanged when there are none. For ``paperbench judge-eval``'s gold sets.

    Raises:
        OverrideError: no graded tree, or a malformed tree or overrides file.
    """
    return review(run_dir).tree


def reviewed_score(run_dir: Path) -> ReviewedScore | None:
    """The run's reviewed score, or ``None`` when nobody overrode anything.

    Raises:
        OverrideError: a malformed tree or overrides file.
    """
    grading = run_dir / "grading"
    overrides = load_overrides(grading)
    if not overrides.overrides:
        return None
    tree = load_graded_tree(grading)
    plan, items = _plan(tree)
    summary = summarise(plan, _results(items, overrides))
    applied = [override for path, override in overrides.overrides.items() if path in items]
    return ReviewedScore(
        score=summary.score,
        score_if_invalid_passed=summary.score_if_invalid_passed,
        overrides=len(applied),
        invalid_leaves=len(summary.invalid),
        reviewers=sorted({override.reviewer for override in applied}),
    )


# -- writing ---------------------------------------------------------------------------------


def _clean_text(value: str, what: str, limit: int, *, single_line: bool) -> str:
    text = value.strip()
    if not text:
        raise OverrideError(f"an override needs a {what}")
    if len(text) > limit:
        raise OverrideError(f"the {what} is {len(text)} characters, over {limit}")
    allowed = "" if single_line else "\n\t"
    if any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in text):
        raise OverrideError(f"the {what} holds control characters")
    return text


@contextmanager
def _locked(grading_dir: Path) -> Iterator[None]:
    with open(grading_dir / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _save(grading_dir: Path, overrides: Overrides) -> None:
    path = grading_dir / OVERRIDES_FILE
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=grading_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(overrides.model_dump_json(indent=2) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def set_override(
    run_dir: Path,
    path: str,
    score: float,
    reason: str,
    reviewer: str,
    *,
    now: datetime | None = None,
) -> Overrides:
    """Record ``reviewer``'s ``score`` for the item at ``path``, replacing an earlier override.

    A leaf takes 0 or 1, a depth-limited subtree any score from 0 to 1.

    Raises:
        OverrideError: no graded tree, no item at ``path``, a score the item cannot take, an
            empty or oversized reason or reviewer, or a malformed overrides file.
    """
    grading = run_dir / "grading"
    reason = _clean_text(reason, "reason", MAX_REASON_CHARS, single_line=False)
    reviewer = _clean_text(reviewer, "reviewer name", MAX_REVIEWER_CHARS, single_line=True)
    tree = load_graded_tree(grading)
    _, items = _plan(tree)
    entry = items.get(path)
    if entry is None:
        raise OverrideError(f"{run_dir}: no graded item at path {path!r}")
    if not math.isfinite(score) or not 0 <= score <= 1:
        raise OverrideError(f"node {path}: a score must be between 0 and 1, not {score}")
    if item_kind(entry) == "leaf" and score not in (0, 1):
        raise OverrideError(f"node {path}: a leaf scores 0 or 1, not {score}")
    judged = _judge_result(entry)
    at = now or datetime.now(UTC)
    override = Override(
        score=score,
        reason=reason,
        reviewer=reviewer,
        at=at,
        judge_score=judged.score,
        judge_valid=judged.valid,
    )
    event = OverrideEvent(
        action="set", path=path, score=score, reason=reason, reviewer=reviewer, at=at
    )
    with _locked(grading):
        current = load_overrides(grading)
        updated = Overrides(
            overrides={**current.overrides, path: override},
            history=[*current.history, event],
        )
        _save(grading, updated)
    return updated


def remove_override(
    run_dir: Path, path: str, reviewer: str, reason: str = "", *, now: datetime | None = None
) -> Overrides:
    """Remove the override at ``path`` (the judge's score applies again); kept in history.

    Raises:
        OverrideError: no override at ``path``, an empty reviewer name, or a malformed file.
    """
    grading = run_dir / "grading"
    reviewer = _clean_text(reviewer, "reviewer name", MAX_REVIEWER_CHARS, single_line=True)
    note = reason.strip()[:MAX_REASON_CHARS]
    with _locked(grading):
        current = load_overrides(grading)
        if path not in current.overrides:
            raise OverrideError(f"{run_dir}: no override at path {path!r} to remove")
        event = OverrideEvent(
            action="removed", path=path, reason=note, reviewer=reviewer, at=now or datetime.now(UTC)
        )
        kept = {key: value for key, value in current.overrides.items() if key != path}
        updated = Overrides(overrides=kept, history=[*current.history, event])
        _save(grading, updated)
    return updated
