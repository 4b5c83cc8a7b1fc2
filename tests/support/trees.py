"""Small rubric trees for the authoring tests, written as PaperBench JSON."""

from __future__ import annotations

from typing import Any

from paperbench.rubric import RubricNode


def leaf(
    text: str, weight: float = 1, category: str = "Code Development", node_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": node_id or text[:20],
        "requirements": text,
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
        "finegrained_task_category": None,
    }


def node(text: str, children: list[dict[str, Any]], weight: float = 1) -> dict[str, Any]:
    return {
        "id": text[:20],
        "requirements": text,
        "weight": weight,
        "sub_tasks": children,
        "task_category": None,
        "finegrained_task_category": None,
    }


def tree(*children: dict[str, Any]) -> RubricNode:
    return RubricNode.model_validate(node("The paper has been reproduced.", list(children)))


def chain(depth: int) -> dict[str, Any]:
    """A branch ``depth`` levels deep ending in one leaf."""
    current = leaf(f"Leaf at depth {depth} has been implemented as in Section 2.")
    for level in range(depth - 1, 0, -1):
        current = node(f"Level {level} has been reproduced.", [current])
    return current
