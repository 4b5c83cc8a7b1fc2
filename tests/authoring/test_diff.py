"""Diff: nodes matched by path and by wording, each change named, category shares compared."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from paperbench.rubric import RubricNode, load_rubric
from paperbench.rubric.diff import RubricDiff, diff_rubrics
from tests.support.cli import paperbench
from tests.support.trees import leaf, node, tree

A = "The data loader has been implemented as in Section 2."
B = "The optimizer has been implemented as in Equation 3."
C = "Training has been run for 4000 steps."
D = "The final loss is below 0.1, as in Table 1."


def base() -> RubricNode:
    return tree(
        node("The method has been reproduced.", [leaf(A), leaf(B)]),
        node(
            "The experiments have been reproduced.",
            [leaf(C, 2, "Code Execution"), leaf(D, 1, "Result Analysis")],
        ),
    )


def edited(change: Any) -> RubricNode:
    data = base().to_json()
    change(data)
    return RubricNode.model_validate(data)


def kinds(result: RubricDiff) -> list[tuple[tuple[str, ...], str | None, str | None]]:
    return [(c.kinds, c.old_path, c.new_path) for c in result.changes]


def test_identical_rubrics_have_no_changes() -> None:
    result = diff_rubrics(base(), base())
    assert result.changes == [] and result.is_empty


def test_a_new_leaf_is_added_and_its_later_siblings_are_not_moved() -> None:
    new = edited(lambda d: d["sub_tasks"][0]["sub_tasks"].insert(0, leaf("A new check, Eq. 9.")))
    assert kinds(diff_rubrics(base(), new)) == [(("added",), None, "0/0")]


def test_a_removed_subtree_is_reported_once_with_the_nodes_below_it() -> None:
    new = edited(lambda d: d["sub_tasks"].pop(0))
    [change] = diff_rubrics(base(), new).changes
    assert (change.kinds, change.old_path, change.descendants) == (("removed",), "0", 2)


def test_a_node_moved_to_another_parent_is_moved() -> None:
    def move(d: dict[str, Any]) -> None:
        d["sub_tasks"][1]["sub_tasks"].append(d["sub_tasks"][0]["sub_tasks"].pop(1))

    assert kinds(diff_rubrics(base(), edited(move))) == [(("moved",), "0/1", "1/2")]


def test_siblings_swapped_count_as_one_move() -> None:
    def swap(d: dict[str, Any]) -> None:
        d["sub_tasks"].reverse()

    assert len(diff_rubrics(base(), edited(swap)).changes) == 1


def test_a_requirement_edited_in_place_is_reworded_and_matched_by_path() -> None:
    new = edited(
        lambda d: d["sub_tasks"][0]["sub_tasks"][1].update(
            requirements="The optimizer (Adam) is implemented as in Equation 3 of the paper."
        )
    )
    [change] = diff_rubrics(base(), new).changes
    assert (change.kinds, change.old_path, change.new_path) == (("reworded",), "0/1", "0/1")
    assert change.old_requirements == B


def test_a_node_replaced_by_unrelated_text_is_removed_and_added() -> None:
    new = edited(
        lambda d: d["sub_tasks"][0]["sub_tasks"][1].update(
            requirements="Seeds zero to four are used for every configuration."
        )
    )
    assert [c.kinds for c in diff_rubrics(base(), new).changes] == [("removed",), ("added",)]


def test_a_node_moved_and_reworded_is_found_by_its_wording() -> None:
    def move(d: dict[str, Any]) -> None:
        moved = d["sub_tasks"][0]["sub_tasks"].pop(0)
        moved["requirements"] = "The data loader has been implemented as in Section 2.1."
        d["sub_tasks"][1]["sub_tasks"].append(moved)

    assert kinds(diff_rubrics(base(), edited(move))) == [(("moved", "reworded"), "0/0", "1/2")]


def test_a_reweighted_node_reports_its_weight_and_share_before_and_after() -> None:
    new = edited(lambda d: d["sub_tasks"][1]["sub_tasks"][0].update(weight=1))
    [change] = diff_rubrics(base(), new).changes
    assert change.kinds == ("reweighted",)
    assert (change.old_weight, change.new_weight) == (2, 1)
    assert change.old_share == pytest.approx(1 / 3) and change.new_share == pytest.approx(1 / 4)


def test_a_changed_category_is_recategorized() -> None:
    new = edited(
        lambda d: d["sub_tasks"][1]["sub_tasks"][0].update(task_category="Code Development")
    )
    [change] = diff_rubrics(base(), new).changes
    assert change.kinds == ("recategorized",)
    assert (change.old_category, change.new_category) == ("Code Execution", "Code Development")


def test_category_shares_before_and_after_are_compared() -> None:
    new = edited(lambda d: d["sub_tasks"][1].update(weight=3))
    shares = diff_rubrics(base(), new).category_shares
    assert shares["Code Development"] == pytest.approx((0.5, 0.25))
    assert shares["Code Execution"] == pytest.approx((1 / 3, 0.5))
    assert shares["Result Analysis"] == pytest.approx((1 / 6, 0.25))


def test_a_moved_subtree_with_a_renamed_root_is_matched_by_its_children() -> None:
    def move(d: dict[str, Any]) -> None:
        method = d["sub_tasks"].pop(0)
        method["requirements"] = "Everything in Section 2 works."
        d["sub_tasks"][0]["sub_tasks"].append(method)

    result = diff_rubrics(base(), edited(move))
    assert kinds(result) == [(("moved", "reworded"), "0", "0/2")]


def test_the_cli_prints_each_change_and_the_category_shares(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(base().to_json()))
    new.write_text(json.dumps(edited(lambda d: d["sub_tasks"][1].update(weight=3)).to_json()))
    result = paperbench("rubric", "diff", str(old), str(new), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{old} → {new}: 1 reweighted" in result.stdout
    assert "reweighted   1 (w 1 → 3, share 50.00% → 75.00%)" in result.stdout
    assert "Code Execution      33.33% →  50.00%  (+16.67 points)" in result.stdout


def test_the_cli_exit_code_option_tells_whether_rubrics_differ(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(base().to_json()))
    same = paperbench("rubric", "diff", str(old), str(old), "--exit-code", home=tmp_path)
    assert same.returncode == 0 and "no node changed" in same.stdout
    new = tmp_path / "new.json"
    new.write_text(json.dumps(edited(lambda d: d["sub_tasks"].pop()).to_json()))
    assert (
        paperbench("rubric", "diff", str(old), str(new), "--exit-code", home=tmp_path).returncode
        == 1
    )


def test_the_cli_json_lists_changes_and_shares(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(base().to_json()))
    new.write_text(json.dumps(edited(lambda d: d["sub_tasks"].pop()).to_json()))
    data = json.loads(
        paperbench("rubric", "diff", str(old), str(new), "--json", home=tmp_path).stdout
    )
    assert data["counts"] == {"removed": 1}
    assert data["category_shares"]["Code Development"] == {"old": 0.5, "new": 1.0, "change": 0.5}


def test_a_real_rubric_after_several_edits(shared_data: Path) -> None:
    old = load_rubric(shared_data / "paperbench-rubrics/pinn/rubric.json")
    data = copy.deepcopy(old.to_json())
    sub = data["sub_tasks"]
    sub[1]["weight"] = 7
    sub[3]["sub_tasks"].append(sub[2]["sub_tasks"].pop(0))
    sub[0]["sub_tasks"][0]["sub_tasks"][0]["requirements"] += " (with more detail)"
    result = diff_rubrics(old, RubricNode.model_validate(data))
    assert kinds(result) == [
        (("reworded",), "0/0/0", "0/0/0"),
        (("reweighted",), "1", "1"),
        (("moved",), "2/0", f"3/{len(sub[3]['sub_tasks']) - 1}"),
    ]
