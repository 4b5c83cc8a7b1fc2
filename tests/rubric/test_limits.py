"""Hostile rubrics (issue #12, item 7): too deep, too many nodes, values too big to print.

Each is refused in one short line that names the file, the node path and the limit, before
anything walks the tree; every command that reads a rubric answers it with exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperbench.rubric import validate_data
from paperbench.rubric.io import (
    MAX_DEPTH,
    MAX_JSON_DEPTH,
    MAX_NODES,
    RubricLimitError,
    load_rubric,
    read_json,
)
from paperbench.rubric.validate import validate_file
from tests.support.cli import paperbench
from tests.support.hostile import deep_rubric_text, nested_value, wide_rubric
from tests.support.nodes import inner, leaf


def write(tmp_path: Path, text: str, name: str = "rubric.json") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_rubric_one_level_too_deep_names_the_node_and_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, deep_rubric_text(MAX_DEPTH + 1))
    with pytest.raises(RubricLimitError) as raised:
        read_json(path)
    message = str(raised.value)
    deepest = "/".join(["0"] * (MAX_DEPTH + 1))
    assert message.startswith(f"{path}: node {deepest} is {MAX_DEPTH + 1} levels below the root")
    assert f"at most {MAX_DEPTH} levels deep" in message


def test_a_rubric_at_the_depth_limit_loads_and_validates(tmp_path: Path) -> None:
    tree = load_rubric(write(tmp_path, deep_rubric_text(MAX_DEPTH)))
    [(path, _)] = list(tree.leaves())
    assert path.count("/") == MAX_DEPTH - 1
    assert [p.severity for p in validate_file(tmp_path / "rubric.json")[1]] == ["warning"]


def test_json_nested_past_what_the_parser_can_read_is_one_short_error(tmp_path: Path) -> None:
    path = write(tmp_path, deep_rubric_text(1000))
    with pytest.raises(RubricLimitError, match="JSON nested too deeply to read") as raised:
        validate_file(path)
    assert len(str(raised.value)) < 200


def test_a_rubric_with_too_many_nodes_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(wide_rubric(MAX_NODES)))
    with pytest.raises(RubricLimitError, match=f"more than {MAX_NODES:,} nodes"):
        read_json(path)


def test_a_value_nested_deep_inside_an_unknown_key_is_refused() -> None:
    data = inner("r", [{**leaf("a"), "notes": nested_value(MAX_JSON_DEPTH)}])
    with pytest.raises(
        RubricLimitError, match=f"node 0: a value nested more than {MAX_JSON_DEPTH}"
    ):
        validate_data(data, "r.json")


def test_a_rubric_built_in_memory_is_checked_too() -> None:
    data = json.loads(deep_rubric_text(MAX_DEPTH + 5))
    with pytest.raises(RubricLimitError, match="levels below the root"):
        validate_data(data, "the editor")


def test_huge_values_are_quoted_briefly_in_problems() -> None:
    huge = "x" * 1_000_000
    data = inner("r", [{**leaf("a" * 100_000), "weight": huge, "task_category": {"k": [1] * 9}}])
    data["sub_tasks"].append({**inner("b", [leaf("c")]), "task_category": huge})
    problems = validate_data(data, "r.json")[1]
    assert {p.field for p in problems} >= {"weight", "task_category"}
    assert all(len(p.describe()) < 400 for p in problems)


def test_an_id_repeated_everywhere_lists_only_a_few_of_its_paths() -> None:
    data = inner("r", [leaf("same") for _ in range(500)])
    [warning] = [p for p in validate_data(data, "r.json")[1] if p.field == "id"]
    assert "id repeats at 500 nodes (0, 1, 2, 3, 4, ...)" in warning.message


RUBRIC_COMMANDS = [
    ["rubric", "validate", "{rubric}"],
    ["rubric", "show", "{rubric}"],
    ["rubric", "stats", "{rubric}"],
    ["rubric", "lint", "{rubric}"],
    ["rubric", "render", "{rubric}"],
    ["rubric", "diff", "{rubric}", "{rubric}"],
    ["rubric", "edit", "{rubric}", "--no-browser"],
    ["grade", "--paper", "deep-paper", "--submission", "{paper}", "--judge", "local/smollm2"],
]


@pytest.mark.parametrize("command", RUBRIC_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_answers_a_1000_deep_rubric_in_one_line_with_status_2(
    tmp_path: Path, command: list[str]
) -> None:
    paper = tmp_path / "deep-paper"
    paper.mkdir()
    (paper / "config.yaml").write_text("id: deep-paper\ntitle: Deep\n")
    (paper / "paper.md").write_text("# Deep\n")
    rubric = write(paper, deep_rubric_text(1000))
    args = [part.format(rubric=rubric, paper=paper) for part in command]
    result = paperbench(*args, "--papers-dir", str(tmp_path), home=tmp_path / "home")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "nested too deeply" in line and len(line) < 200
