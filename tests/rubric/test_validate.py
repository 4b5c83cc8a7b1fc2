"""Validation messages name the file, node path, field, what is wrong and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperbench.rubric import validate_data, validate_file
from tests.support.nodes import inner, leaf


def lines(data: Any) -> list[str]:
    return [problem.describe() for problem in validate_data(data, "r.json")[1]]


def test_a_valid_tree_has_no_problems() -> None:
    assert lines(inner("r", [leaf("a"), inner("b", [leaf("c")])])) == []


def test_a_leaf_without_category_is_an_error_naming_the_allowed_ones() -> None:
    data = inner("r", [inner("b", [{**leaf("c"), "task_category": None}])])
    assert lines(data) == [
        "r.json: error: node 0/0 (id 'c'): task_category: a leaf needs a task category; "
        "allowed: Code Development, Code Execution, Result Analysis"
    ]


def test_an_inner_node_with_a_category_is_an_error() -> None:
    data = inner("r", [{**inner("b", [leaf("c")]), "task_category": "Code Execution"}])
    [line] = lines(data)
    assert "node 0 (id 'b'): task_category: an inner node" in line
    assert "allowed: null on inner nodes" in line


def test_an_unknown_category_is_named_with_the_allowed_set() -> None:
    [line] = lines(inner("r", [leaf("a", category="Coding")]))
    assert line.startswith("r.json: error: node 0: task_category:")
    assert "(got 'Coding')" in line and "allowed: Code Development, Code Execution" in line


def test_an_unknown_finegrained_category_is_an_error() -> None:
    [line] = lines(inner("r", [{**leaf("a"), "finegrained_task_category": "Vibes"}]))
    assert "node 0: finegrained_task_category:" in line and "or null" in line


def test_negative_and_non_finite_weights_are_errors() -> None:
    data = inner("r", [leaf("a", -1), leaf("b", float("inf")), leaf("c", float("nan"))])
    found = lines(data)
    assert len(found) == 3
    assert all("weight: not a finite number >= 0" in line for line in found)
    assert [line.split(":")[2].strip() for line in found] == ["node 0", "node 1", "node 2"]


def test_a_string_weight_is_one_error_not_one_per_number_type() -> None:
    [line] = lines(inner("r", [leaf("a", "3")]))  # type: ignore[arg-type]
    assert "node 0: weight: not a finite number >= 0 (got '3')" in line


def test_children_that_all_weigh_zero_are_flagged_on_the_parent() -> None:
    [line] = lines(inner("r", [inner("b", [leaf("c", 0), leaf("d", 0)])]))
    assert "node 0 (id 'b'): sub_tasks: all 2 children weigh 0" in line


def test_a_missing_required_field_names_the_node() -> None:
    child = leaf("a")
    del child["requirements"]
    [line] = lines(inner("r", [child]))
    assert (
        line == "r.json: error: node 0: requirements: required field is missing; allowed: a string"
    )


def test_repeated_ids_are_a_warning_not_an_error() -> None:
    _, problems = validate_data(inner("r", [leaf("same"), leaf("same")]), "r.json")
    assert [problem.severity for problem in problems] == ["warning"]
    assert "id repeats at 2 nodes (0, 1)" in problems[0].message


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(inner("r", [leaf("a", -1), leaf("b", category="x")])))
    _, problems = validate_file(path)
    assert {(problem.path, problem.field) for problem in problems} == {
        ("0", "weight"),
        ("1", "task_category"),
    }
    assert all(problem.source == str(path) for problem in problems)


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text('{"id": "r",\n "weight": }')
    _, [problem] = validate_file(path)
    assert problem.describe().startswith(f"{path}: error: node root: (file): ")
    assert problem.message == "not valid JSON at line 2, column 12: Expecting value"
