"""Every real PaperBench rubric loads, validates, matches the schema and saves without loss."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from paperbench.rubric import dump_rubric, load_rubric, save_rubric, validate_file
from paperbench.rubric.schema import committed_schema_path
from tests.support.paths import paperbench_rubrics

RUBRICS = paperbench_rubrics()


def test_the_vendored_rubrics_are_there() -> None:
    names = {path.parent.name for path in RUBRICS}
    assert {"semantic-self-consistency", "stochastic-interpolants"} <= names


def test_the_full_reference_data_is_there(shared_data: Path) -> None:
    assert len(RUBRICS) == 16


@pytest.mark.parametrize("path", RUBRICS, ids=lambda path: path.parent.name)
def test_real_rubric_round_trips_losslessly(path: Path, tmp_path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    tree, problems = validate_file(path)
    assert tree is not None
    assert [problem for problem in problems if problem.severity == "error"] == []
    saved = tmp_path / "rubric.json"
    save_rubric(tree, saved)
    assert json.loads(saved.read_text(encoding="utf-8")) == original


@pytest.mark.parametrize("path", RUBRICS, ids=lambda path: path.parent.name)
def test_real_rubric_matches_the_committed_schema(path: Path) -> None:
    schema = json.loads(committed_schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(path.read_text(encoding="utf-8")))


def test_saved_text_keeps_paperbench_key_order_and_indent() -> None:
    path = next(p for p in RUBRICS if p.parent.name == "semantic-self-consistency")
    text = dump_rubric(load_rubric(path))
    assert text.startswith('{\n    "id": ')
    first_child = json.loads(text)["sub_tasks"][0]
    assert list(first_child) == [
        "id",
        "requirements",
        "weight",
        "sub_tasks",
        "task_category",
        "finegrained_task_category",
    ]
