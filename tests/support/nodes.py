"""Rubric nodes named by id, as PaperBench JSON: the smallest trees a test can write."""

from __future__ import annotations

from typing import Any


def leaf(node_id: str, weight: float = 1, category: str = "Code Development") -> dict[str, Any]:
    return {
        "id": node_id,
        "requirements": f"{node_id} holds",
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
        "finegrained_task_category": None,
    }


def inner(node_id: str, children: list[dict[str, Any]], weight: float = 1) -> dict[str, Any]:
    return {
        "id": node_id,
        "requirements": f"{node_id} holds",
        "weight": weight,
        "sub_tasks": children,
        "task_category": None,
        "finegrained_task_category": None,
    }
