"""Rolling scores up the tree, and the graded tree as JSON.

A node's score is the weighted mean of its children's (PaperBench's rule; a node whose
children all weigh 0 scores 0). An *invalid* item — one the judge failed to grade after its
retries — has no score. We never hide that behind a silent zero: the result gives

* ``score``: invalid items counted as 0 (PaperBench's convention, a lower bound);
* ``score_if_invalid_passed``: invalid items counted as 1 (the upper bound), so the width of the
  interval shows how much the failures could matter;
* ``invalid``: how many items, and which, with each reason.

Per-category scores are the share-weighted mean over the leaves of that category, where a
leaf's share is its effective weight in the whole tree; a depth-limited subtree item spreads
its share over the categories of its leaves.

The graded tree carries PaperBench's grade-tree fields (``id, requirements, weight, score,
valid_score, task_category, explanation, judge_metadata, sub_tasks``) and ours: ``path`` (in the
original rubric), ``evidence`` (files the judge cited) and ``usage`` (tokens of the call, split
evenly over the items of a batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from paperbench.grading.plan import PlanNode
from paperbench.llm.types import Usage
from paperbench.rubric import TASK_CATEGORIES, effective_shares

JudgedBy = Literal["judge", "cache", "rule"]


@dataclass
class ItemResult:
    score: float | None
    explanation: str
    evidence: list[str] = field(default_factory=list)
    judged_by: JudgedBy = "judge"
    reason: str = ""
    call: int | None = None
    usage: Usage = field(default_factory=Usage)
    model_version: str = ""

    @property
    def valid(self) -> bool:
        return self.score is not None


class CategoryScore(BaseModel):
    items: int
    invalid: int
    score: float | None
    share_of_total: float


class InvalidItem(BaseModel):
    path: str
    requirements: str
    reason: str


class ScoreSummary(BaseModel):
    score: float
    score_if_invalid_passed: float
    items: int
    invalid: list[InvalidItem]
    scored_by_rule: int
    per_category: dict[str, CategoryScore]

    @property
    def complete(self) -> bool:
        return not self.invalid


def _roll(node: PlanNode, results: dict[str, ItemResult], missing: float) -> float:
    if node.item is not None:
        result = results[node.item.path]
        return result.score if result.score is not None else missing
    total = sum(child.node.weight for child in node.children)
    if total <= 0:
        return 0.0
    return sum(child.node.weight * _roll(child, results, missing) for child in node.children) / (
        total
    )


def _shares(plan: PlanNode) -> dict[str, float]:
    shares = {"": 1.0}

    def visit(node: PlanNode) -> None:
        total = sum(child.node.weight for child in node.children)
        for child in node.children:
            shares[child.path] = shares[node.path] * child.node.weight / total if total else 0.0
            visit(child)

    visit(plan)
    return shares


def summarise(plan: PlanNode, results: dict[str, ItemResult]) -> ScoreSummary:
    shares = _shares(plan)
    weighted: dict[str, float] = dict.fromkeys(TASK_CATEGORIES, 0.0)
    share_sum: dict[str, float] = dict.fromkeys(TASK_CATEGORIES, 0.0)
    counts: dict[str, int] = dict.fromkeys(TASK_CATEGORIES, 0)
    bad: dict[str, int] = dict.fromkeys(TASK_CATEGORIES, 0)
    invalid: list[InvalidItem] = []
    items = 0

    def visit(node: PlanNode) -> None:
        nonlocal items
        for child in node.children:
            visit(child)
        if node.item is None:
            return
        items += 1
        result = results[node.item.path]
        if result.score is None:
            invalid.append(
                InvalidItem(
                    path=node.path, requirements=node.node.requirements, reason=result.reason
                )
            )
        inner = effective_shares(node.item.node)
        for leaf_path, leaf in node.item.node.leaves():
            category = leaf.task_category or TASK_CATEGORIES[0]
            share = shares[node.path] * inner[leaf_path]
            share_sum[category] += share
            weighted[category] += share * (result.score or 0.0)
        for category in node.item.categories:
            counts[category] += 1
            bad[category] += result.score is None

    visit(plan)
    per_category = {
        category: CategoryScore(
            items=counts[category],
            invalid=bad[category],
            score=weighted[category] / share_sum[category] if share_sum[category] else None,
            share_of_total=share_sum[category],
        )
        for category in TASK_CATEGORIES
        if counts[category]
    }
    return ScoreSummary(
        score=_roll(plan, results, 0.0),
        score_if_invalid_passed=_roll(plan, results, 1.0),
        items=items,
        invalid=invalid,
        scored_by_rule=sum(result.judged_by == "rule" for result in results.values()),
        per_category=per_category,
    )


def graded_tree(
    plan: PlanNode, results: dict[str, ItemResult], settings: dict[str, Any]
) -> dict[str, Any]:
    """The graded tree as JSON-ready dicts (see the module docstring for the fields)."""

    def visit(node: PlanNode) -> tuple[dict[str, Any], bool, Usage]:
        base: dict[str, Any] = {
            "id": node.node.id,
            "requirements": node.node.requirements,
            "weight": node.node.weight,
        }
        if node.item is not None:
            result = results[node.item.path]
            category = node.node.task_category if node.item.kind == "leaf" else None
            entry = {
                **base,
                "score": result.score if result.score is not None else 0.0,
                "valid_score": result.valid,
                "task_category": category,
                "explanation": result.explanation if result.valid else result.reason,
                "judge_metadata": {
                    "judged_by": result.judged_by,
                    "item": node.item.kind,
                    "call": result.call,
                    "model_version": result.model_version,
                    **settings,
                },
                "sub_tasks": [],
                "path": node.path,
                "evidence": result.evidence,
                "usage": result.usage.model_dump(),
            }
            if node.node.finegrained_task_category:
                entry["finegrained_task_category"] = node.node.finegrained_task_category
            return entry, result.valid, result.usage
        children = [visit(child) for child in node.children]
        usage = sum((usage for _, _, usage in children), Usage())
        valid = all(ok for _, ok, _ in children)
        total = sum(child.node.weight for child in node.children)
        score = (
            sum(
                c.node.weight * d["score"]
                for c, (d, _, _) in zip(node.children, children, strict=True)
            )
            / total
            if total
            else 0.0
        )
        entry = {
            **base,
            "score": score,
            "valid_score": valid,
            "task_category": None,
            "explanation": "Aggregated score from sub-tasks.",
            "judge_metadata": None,
            "sub_tasks": [child for child, _, _ in children],
            "path": node.path,
            "evidence": [],
            "usage": usage.model_dump(),
        }
        return entry, valid, usage

    return visit(plan)[0]
