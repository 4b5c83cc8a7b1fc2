"""The rubric model: lossless extras, path addressing, shares, schema in sync."""

from __future__ import annotations

import json

import jsonschema
import pytest

from paperbench.rubric import RubricNode, effective_shares, rubric_stats
from paperbench.rubric.schema import committed_schema_path, schema_text
from tests.support.nodes import inner, leaf


def test_unknown_keys_survive_a_round_trip() -> None:
    data = inner("root", [{**leaf("a"), "author_note": {"why": "kept"}, "rank": 3}])
    data["rubric_version"] = "2"
    assert RubricNode.model_validate(data).to_json() == data


def test_fields_absent_on_load_stay_absent_on_save() -> None:
    data = {"id": "a", "requirements": "r", "weight": 2, "task_category": "Code Execution"}
    assert RubricNode.model_validate(data).to_json() == data


def test_integer_weights_stay_integers_and_floats_stay_floats() -> None:
    tree = RubricNode.model_validate(inner("r", [leaf("a", 3), leaf("b", 0.5)]))
    dumped = json.dumps(tree.to_json())
    assert '"weight": 3,' in dumped and '"weight": 0.5,' in dumped


def test_nodes_are_addressed_by_path_even_with_repeated_ids() -> None:
    tree = RubricNode.model_validate(inner("x", [inner("x", [leaf("x"), leaf("y")]), leaf("x")]))
    assert tree.node_at("0/1").id == "y"
    assert tree.node_at("/0/1/").id == "y"
    assert tree.node_at("") is tree
    assert [path for path, _ in tree.walk()] == ["", "0", "0/0", "0/1", "1"]


def test_a_missing_path_names_the_step_that_does_not_exist() -> None:
    tree = RubricNode.model_validate(inner("r", [inner("a", [leaf("b")])]))
    with pytest.raises(KeyError, match=r"0 has 1 children \(0 to 0\), not '4'"):
        tree.node_at("0/4")


def test_effective_share_is_weight_over_siblings_times_parent_share() -> None:
    tree = RubricNode.model_validate(
        inner("r", [inner("a", [leaf("a1", 1), leaf("a2", 3)], weight=1), leaf("b", 3)])
    )
    shares = effective_shares(tree)
    assert shares == pytest.approx({"": 1.0, "0": 0.25, "0/0": 0.0625, "0/1": 0.1875, "1": 0.75})


def test_stats_count_leaves_and_weigh_categories() -> None:
    tree = RubricNode.model_validate(
        inner(
            "r",
            [
                leaf("a", 1, "Code Development"),
                inner(
                    "b",
                    [leaf("b1", 1, "Code Execution"), leaf("b2", 1, "Result Analysis")],
                    weight=1,
                ),
            ],
        )
    )
    stats = rubric_stats(tree)
    assert (stats.nodes, stats.leaves, stats.depth) == (5, 3, 2)
    assert stats.share_per_category == pytest.approx(
        {"Code Development": 0.5, "Code Execution": 0.25, "Result Analysis": 0.25}
    )


def test_committed_schema_equals_the_schema_generated_from_the_model() -> None:
    committed = committed_schema_path().read_text(encoding="utf-8")
    assert committed == schema_text(), "run `paperbench rubric schema --write` and commit it"


def test_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads(schema_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(inner("r", [leaf("a")]))
    assert not validator.is_valid(inner("r", [leaf("a", -1)]))
    assert not validator.is_valid(inner("r", [leaf("a", category="Coding")]))
    assert not validator.is_valid({"id": "r", "weight": 1})
