"""Check a rubric against the rules PaperBench's grader relies on.

Two layers run on every file, so one pass reports everything wrong with it: the model's own
checks (types, allowed categories, finite non-negative weights) and the tree rules below, which
read the parsed JSON directly and so still run when the model rejects some node.

Errors make a rubric unusable for grading; warnings are worth a look but PaperBench's own
rubrics have them (repeated ids), so they never fail validation on their own.

A rubric over a size limit (:mod:`paperbench.rubric.io`) is not a list of problems but one
:class:`~paperbench.rubric.io.RubricLimitError`, raised before anything walks the tree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from paperbench.errors import RubricError
from paperbench.rubric.io import RubricLimitError, parse_rubric, read_json
from paperbench.rubric.model import TASK_CATEGORIES, RubricNode, join_path
from paperbench.rubric.problems import Problem, brief

SHOWN_REPEATS = 5


def _walk_raw(data: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(data, dict):
        return
    yield path, data
    children = data.get("sub_tasks")
    if isinstance(children, list):
        for index, child in enumerate(children):
            yield from _walk_raw(child, join_path(path, index))


def check_rules(data: Any, source: Path | str) -> list[Problem]:
    """The tree rules: categories on leaves only, non-empty requirements, a non-zero child
    weight under every inner node, and (as warnings) repeated ids."""
    problems: list[Problem] = []
    seen: dict[str, list[str]] = defaultdict(list)
    for path, node in _walk_raw(data):
        node_id = node.get("id") if isinstance(node.get("id"), str) else None
        raw_children = node.get("sub_tasks")
        children: list[Any] = raw_children if isinstance(raw_children, list) else []
        category = node.get("task_category")

        def report(
            field: str,
            message: str,
            allowed: str,
            *,
            path: str = path,
            node_id: str | None = node_id,
        ) -> None:
            problems.append(Problem(str(source), path, field, message, allowed, "error", node_id))

        if node_id is not None:
            seen[node_id].append(path)
        if not children and category is None:
            report("task_category", "a leaf needs a task category", ", ".join(TASK_CATEGORIES))
        if children and category is not None:
            report(
                "task_category",
                f"an inner node ({len(children)} children) must not have a task category, "
                f"found {brief(category)}",
                "null on inner nodes",
            )
        requirements = node.get("requirements")
        if isinstance(requirements, str) and not requirements.strip():
            report("requirements", "is empty", "a non-empty description of the requirement")
        weights = [child.get("weight") for child in children if isinstance(child, dict)]
        if weights and all(weight == 0 for weight in weights):
            report(
                "sub_tasks",
                f"all {len(weights)} children weigh 0, so this node's score is undefined",
                "at least one child with weight > 0",
            )
    for node_id, paths in seen.items():
        if len(paths) > 1:
            shown = ", ".join(path or "root" for path in paths[:SHOWN_REPEATS])
            if len(paths) > SHOWN_REPEATS:
                shown += ", ..."
            problems.append(
                Problem(
                    str(source),
                    paths[1],
                    "id",
                    f"id repeats at {len(paths)} nodes ({shown}); nodes are addressed by path, "
                    "so this is allowed",
                    severity="warning",
                    node_id=node_id,
                )
            )
    return problems


def check_tree(tree: RubricNode, source: Path | str) -> list[Problem]:
    """The tree rules on an already-built tree (for editors and generators)."""
    return check_rules(tree.to_json(), source)


def validate_data(data: object, source: Path | str) -> tuple[RubricNode | None, list[Problem]]:
    """Every problem of parsed JSON; the tree is None when the model rejects it.

    Raises:
        RubricLimitError: the tree is over a size limit.
    """
    tree, structural = parse_rubric(data, source)
    found = _merge_same_field(structural)
    reported = {(problem.path, problem.field) for problem in found}
    found += [
        problem
        for problem in check_rules(data, source)
        if (problem.path, problem.field) not in reported
    ]
    found.sort(key=lambda problem: (problem.severity != "error", _path_key(problem.path)))
    return tree, found


def validate_file(path: Path) -> tuple[RubricNode | None, list[Problem]]:
    """Validate the rubric at ``path``; unreadable or non-JSON files become one problem.

    Raises:
        RubricLimitError: the file or its tree is over a size limit.
    """
    try:
        data = read_json(path)
    except RubricLimitError:
        raise
    except RubricError as error:
        message = str(error).removeprefix(str(path)).lstrip(": ")
        return None, [Problem(str(path), "", "(file)", message)]
    return validate_data(data, path)


def _path_key(path: str) -> list[int]:
    return [int(step) for step in path.split("/") if step.isdigit()]


def _merge_same_field(problems: list[Problem]) -> list[Problem]:
    """A bad value in a union field (weight: int or float) yields one pydantic error per member;
    report it once."""
    merged: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        merged.setdefault((problem.path, problem.field), problem)
    return list(merged.values())
