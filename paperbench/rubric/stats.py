"""How much each node counts: effective shares of the total score, and per-category totals.

A node's score is the weighted mean of its children's scores, so a node's *share* of the root
score is its weight over the sum of its siblings' weights, times its parent's share.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from paperbench.rubric.model import TASK_CATEGORIES, RubricNode, join_path


def effective_shares(tree: RubricNode) -> dict[str, float]:
    """Map each node path to its share of the root's score (the root has 1.0).

    Children of a node whose children all weigh 0 get share 0: they cannot move the score.
    """
    shares: dict[str, float] = {"": 1.0}

    def visit(node: RubricNode, path: str) -> None:
        total = sum(child.weight for child in node.sub_tasks)
        for index, child in enumerate(node.sub_tasks):
            child_path = join_path(path, index)
            shares[child_path] = shares[path] * child.weight / total if total > 0 else 0.0
            visit(child, child_path)

    visit(tree, "")
    return shares


class RubricStats(BaseModel):
    """Counts and weights that tell a rubric's author or user what the score is made of."""

    nodes: int
    leaves: int
    depth: int
    leaves_per_category: dict[str, int]
    leaves_per_finegrained_category: dict[str, int]
    share_per_category: dict[str, float]
    max_children: int


def rubric_stats(tree: RubricNode) -> RubricStats:
    shares = effective_shares(tree)
    categories: Counter[str] = Counter()
    finegrained: Counter[str] = Counter()
    share_per_category: dict[str, float] = dict.fromkeys(TASK_CATEGORIES, 0.0)
    depth = 0
    nodes = 0
    max_children = 0
    for path, node in tree.walk():
        nodes += 1
        max_children = max(max_children, len(node.sub_tasks))
        if not node.is_leaf:
            continue
        depth = max(depth, len(path.split("/")) if path else 0)
        category = node.task_category or "(none)"
        categories[category] += 1
        finegrained[node.finegrained_task_category or "(none)"] += 1
        share_per_category[category] = share_per_category.get(category, 0.0) + shares[path]
    return RubricStats(
        nodes=nodes,
        leaves=sum(categories.values()),
        depth=depth,
        leaves_per_category=dict(categories.most_common()),
        leaves_per_finegrained_category=dict(finegrained.most_common()),
        share_per_category=share_per_category,
        max_children=max_children,
    )
