"""Check a rubric tree against the rules PaperBench's grader relies on.

Errors make a rubric unusable for grading; warnings are worth a look but PaperBench's own
rubrics have them (repeated ids), so they never fail validation on their own.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from paperbench.errors import RubricError
from paperbench.rubric.io import parse_rubric, read_json
from paperbench.rubric.model import TASK_CATEGORIES, RubricNode
from paperbench.rubric.problems import Problem


def check_tree(tree: RubricNode, source: Path | str) -> list[Problem]:
    """Semantic checks on a tree that already has the right shape."""
    problems: list[Problem] = []
    seen: dict[str, list[str]] = defaultdict(list)
    for path, node in tree.walk():
        seen[node.id].append(path)

        def report(field: str, message: str, allowed: str = "", *, node: RubricNode = node,
                   path: str = path) -> None:
            problems.append(
                Problem(str(source), path, field, message, allowed, "error", node.id)
            )

        if node.is_leaf and node.task_category is None:
            report("task_category", "a leaf needs a task category", ", ".join(TASK_CATEGORIES))
        if not node.is_leaf and node.task_category is not None:
            report(
                "task_category",
                f"an inner node ({len(node.sub_tasks)} children) must not have a task "
                f"category, found {node.task_category!r}",
                "null on inner nodes",
            )
        if not node.requirements.strip():
            report("requirements", "is empty", "a non-empty description of the requirement")
        if node.sub_tasks and all(child.weight == 0 for child in node.sub_tasks):
            report(
                "sub_tasks",
                f"all {len(node.sub_tasks)} children weigh 0, so this node's score is undefined",
                "at least one child with weight > 0",
            )
    for node_id, paths in seen.items():
        if len(paths) > 1:
            problems.append(
                Problem(
                    str(source),
                    paths[1],
                    "id",
                    f"id repeats at {len(paths)} nodes ({', '.join(p or 'root' for p in paths)}); "
                    "nodes are addressed by path, so this is allowed",
                    severity="warning",
                    node_id=node_id,
                )
            )
    return problems


def validate_data(data: object, source: Path | str) -> tuple[RubricNode | None, list[Problem]]:
    """Structural then semantic checks on parsed JSON; the tree is None when it has no shape."""
    tree, problems = parse_rubric(data, source)
    if tree is None:
        return None, _merge_same_field(problems)
    return tree, check_tree(tree, source)


def validate_file(path: Path) -> tuple[RubricNode | None, list[Problem]]:
    """Validate the rubric at ``path``; unreadable or non-JSON files become one problem."""
    try:
        data = read_json(path)
    except RubricError as error:
        return None, [Problem(str(path), "", "(file)", str(error).removeprefix(f"{path}: "))]
    return validate_data(data, path)


def _merge_same_field(problems: list[Problem]) -> list[Problem]:
    """A bad value in a union field (weight: int or float) yields one pydantic error per member;
    report it once."""
    merged: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        key = (problem.path, problem.field)
        if key not in merged:
            merged[key] = problem
    return list(merged.values())
