"""Read and write ``rubric.json`` files, turning every failure into a message that names the
file, the node path and the field."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from paperbench.errors import RubricError
from paperbench.rubric.model import RubricNode, display_path
from paperbench.rubric.problems import Problem


def read_json(path: Path) -> Any:
    """Parse ``path`` as JSON.

    Raises:
        RubricError: the file is missing, unreadable or not JSON (with line and column).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{path}: no such rubric file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RubricError(f"{path}: cannot read rubric: {error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RubricError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def parse_rubric(data: Any, source: Path | str) -> tuple[RubricNode | None, list[Problem]]:
    """Build the tree from parsed JSON; on failure return every structural problem found."""
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
    message = str(item["msg"])
    if field == "weight" and item["type"] != "missing":
        message = f"not a finite number >= 0 (got {item.get('input')!r})"
    elif item["type"] == "missing":
        message = "required field is missing"
    elif "input" in item and item["type"] != "model_type":
        message = f"{message} (got {item['input']!r})"
    return Problem(
        source=str(source),
        path="/".join(steps),
        field=field or "(node)",
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


__all__ = ["display_path", "dump_rubric", "load_rubric", "parse_rubric", "read_json", "save_rubric"]
