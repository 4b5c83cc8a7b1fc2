"""Read and write ``rubric.json`` files, turning every failure into a message that names the
file, the node path and the field.

A rubric is bounded before anything walks it: at most :data:`MAX_RUBRIC_BYTES` of file,
:data:`MAX_DEPTH` levels below the root, :data:`MAX_NODES` nodes and :data:`MAX_JSON_DEPTH`
levels of JSON nesting anywhere (unknown keys included). PaperBench's largest rubric (``pinn``)
has 2,551 nodes and 2.3 MB, its deepest 9 levels, so the limits leave ample room, and a tree
within them can be walked recursively, validated and printed without running out of stack.
A rubric past a limit raises :class:`RubricLimitError`, one short line naming the file, the node
path and the limit. Messages quote values briefly (:func:`~paperbench.rubric.problems.brief`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from paperbench.errors import RubricError
from paperbench.rubric.model import RubricNode, display_path, join_path
from paperbench.rubric.problems import Problem, brief, clip

MAX_RUBRIC_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 50_000
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 24


class RubricLimitError(RubricError):
    """A rubric too large or too deeply nested to be read safely."""


def read_json(path: Path) -> Any:
    """Parse ``path`` as JSON and check the rubric limits (:func:`check_limits`).

    Raises:
        RubricLimitError: the file, the tree or its nesting is over a limit.
        RubricError: the file is missing, unreadable or not JSON (with line and column).
    """
    try:
        size = path.stat().st_size
        if size > MAX_RUBRIC_BYTES:
            raise RubricLimitError(
                f"{path}: {size:,} bytes; a rubric file may have at most {MAX_RUBRIC_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{path}: no such rubric file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RubricError(f"{path}: cannot read rubric: {clip(str(error))}") from None
    return parse_json_text(text, path)


def parse_json_text(text: str | bytes, source: Path | str) -> Any:
    """Parse rubric JSON text from ``source`` and check the rubric limits.

    Raises:
        RubricLimitError: the text is nested too deeply to parse, or the tree is over a limit.
        RubricError: the text is not JSON (with line and column).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RubricError(
            f"{source}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise RubricLimitError(
            f"{source}: JSON nested too deeply to read; a rubric may be at most {MAX_DEPTH} "
            f"levels deep and nest values at most {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError as error:  # bytes that are not UTF-8
        raise RubricError(f"{source}: not valid JSON: {clip(str(error))}") from None
    check_limits(data, source)
    return data


def check_limits(data: Any, source: Path | str) -> None:
    """Check parsed rubric JSON against the size limits, without recursion.

    Raises:
        RubricLimitError: more than :data:`MAX_NODES` nodes, a node more than :data:`MAX_DEPTH`
            levels below the root, or a value nested more than :data:`MAX_JSON_DEPTH` levels.
    """
    nodes = 0
    # (value, JSON nesting depth, path of the node it belongs to, rubric depth, is a node)
    stack: list[tuple[Any, int, str, int, bool]] = [(data, 1, "", 0, True)]
    while stack:
        value, nesting, path, depth, is_node = stack.pop()
        if nesting > MAX_JSON_DEPTH:
            raise RubricLimitError(
                f"{source}: node {display_path(path)}: a value nested more than "
                f"{MAX_JSON_DEPTH} levels; a rubric may nest values at most {MAX_JSON_DEPTH}"
            )
        if isinstance(value, dict):
            if is_node:
                nodes += 1
                if nodes > MAX_NODES:
                    raise RubricLimitError(
                        f"{source}: more than {MAX_NODES:,} nodes; a rubric may have at most "
                        f"{MAX_NODES:,} (PaperBench's largest has 2,551)"
                    )
                if depth > MAX_DEPTH:
                    raise RubricLimitError(
                        f"{source}: node {clip(display_path(path), 120)} is {depth} levels "
                        f"below the root; a rubric may be at most {MAX_DEPTH} levels deep "
                        "(PaperBench's deepest has 9)"
                    )
            for key, item in value.items():
                children = is_node and key == "sub_tasks" and isinstance(item, list)
                if children:
                    for index, child in enumerate(item):
                        child_path = join_path(path, index)
                        stack.append((child, nesting + 2, child_path, depth + 1, True))
                else:
                    stack.append((item, nesting + 1, path, depth, False))
        elif isinstance(value, list):
            stack.extend((item, nesting + 1, path, depth, False) for item in value)


def parse_rubric(data: Any, source: Path | str) -> tuple[RubricNode | None, list[Problem]]:
    """Build the tree from parsed JSON; on failure return every structural problem found.

    Raises:
        RubricLimitError: the tree is over a size limit (:func:`check_limits`).
    """
    check_limits(data, source)
    try:
        return RubricNode.model_validate(data), []
    except ValidationError as error:
        return None, [_problem_from_pydantic(source, item) for item in error.errors()]


def load_rubric(path: Path) -> RubricNode:
    """Load a rubric tree from ``path``.

    Raises:
        RubricError: unreadable, not JSON, or not shaped like a rubric; the message lists each
            problem with its node path.
    """
    tree, problems = parse_rubric(read_json(path), path)
    if tree is None:
        listed = "; ".join(problem.describe(with_source=False) for problem in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise RubricError(f"{path}: not a valid rubric: {listed}{more}")
    return tree


def dump_rubric(tree: RubricNode) -> str:
    """The tree as PaperBench JSON text (4-space indent, as PaperBench writes it)."""
    return json.dumps(tree.to_json(), indent=4, ensure_ascii=False) + "\n"


def save_rubric(tree: RubricNode, path: Path) -> None:
    """Write the tree to ``path`` atomically: readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(dump_rubric(tree))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _problem_from_pydantic(source: Path | str, item: Any) -> Problem:
    """Translate one pydantic error location (``sub_tasks.0.sub_tasks.2.weight``) into a node
    path (``0/2``) and a field name."""
    location = [str(part) for part in item["loc"]]
    steps: list[str] = []
    field = ""
    index = 0
    while index < len(location):
        part = location[index]
        if part == "sub_tasks" and index + 1 < len(location) and location[index + 1].isdigit():
            steps.append(location[index + 1])
            index += 2
            continue
        field = part
        break
    message = clip(str(item["msg"]))
    if field == "weight" and item["type"] != "missing":
        message = f"not a finite number >= 0 (got {brief(item.get('input'))})"
    elif item["type"] == "missing":
        message = "required field is missing"
    elif "input" in item and item["type"] != "model_type":
        message = f"{message} (got {brief(item['input'])})"
    return Problem(
        source=str(source),
        path="/".join(steps),
        field=clip(field, 60) if field else "(node)",
        message=message,
        allowed=_allowed_for(field),
    )


def _allowed_for(field: str) -> str:
    from paperbench.rubric.model import FINEGRAINED_TASK_CATEGORIES, TASK_CATEGORIES

    allowed = {
        "task_category": ", ".join(TASK_CATEGORIES) + " (leaves only)",
        "finegrained_task_category": ", ".join(FINEGRAINED_TASK_CATEGORIES) + ", or null",
        "weight": "a finite number >= 0",
        "id": "a string",
        "requirements": "a string",
        "sub_tasks": "a list of rubric nodes",
    }
    return allowed.get(field, "")


__all__ = [
    "MAX_DEPTH",
    "MAX_JSON_DEPTH",
    "MAX_NODES",
    "MAX_RUBRIC_BYTES",
    "RubricLimitError",
    "check_limits",
    "display_path",
    "dump_rubric",
    "load_rubric",
    "parse_json_text",
    "parse_rubric",
    "read_json",
    "save_rubric",
]
