"""A graded tree against its gold tree: matching by path, subtree items, failures apart, roots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from paperbench.judge_eval.agreement import AgreementError, agreement, compare
from paperbench.judge_eval.console import print_agreement
from paperbench.judge_eval.gold import parse_expected
from tests.support.judge_eval import expected_tree

GOLD = (1, 1, 0, 1, 0, 1, 0, 0)


def graded(values: list[float | None], *, rule: tuple[str, ...] = ()) -> dict[str, Any]:
    """A graded tree like ours: the gold's structure, ``values`` on the leaves (None: invalid)."""
    tree = expected_tree([0] * 8)
    placed = [
        (leaf, f"{i}/{j}")
        for i, part in enumerate(tree["sub_tasks"])
        for j, leaf in enumerate(part["sub_tasks"])
    ]
    for (leaf, path), value in zip(placed, values, strict=True):
        leaf["path"] = path
        leaf["valid_score"] = value is not None
        leaf["score"] = 0.0 if value is None else value
        leaf["explanation"] = "judge failed" if value is None else f"judge says {value}"
        leaf["judge_metadata"] = {"judged_by": "rule" if path in rule else "judge"}
    return tree


def gold() -> Any:
    return parse_expected(expected_tree(GOLD), "gold")


def test_a_tree_that_equals_the_gold_agrees_everywhere() -> None:
    result = compare(graded(list(map(float, GOLD))), gold())
    assert [(j.path, j.gold, j.judged) for j in result.judgements][:3] == [
        ("0/0", 1, 1.0),
        ("0/1", 1, 1.0),
        ("0/2", 0, 0.0),
    ]
    assert result.root_error == 0.0


def test_invalid_and_rule_scored_items_are_kept_out_of_the_figures_and_the_root() -> None:
    values: list[float | None] = [1.0, 1.0, None, 1.0, 0.0, 0.0, 0.0, 0.0]
    result = agreement(graded(values, rule=("2/0", "2/1", "2/2")), expected_tree(GOLD))
    overall = result.metrics.overall
    assert (overall.leaves, overall.invalid, overall.not_judged) == (4, 1, 3)
    assert overall.accuracy == 1.0
    assert [note.path for note in result.invalid] == ["0/2"]
    assert [note.path for note in result.not_judged] == ["2/0", "2/1", "2/2"]
    # Without 0/2 and part 2: part 0 = (1 + 1)/2 for both; part 1 = 0.5 for both.
    assert result.judged_root == pytest.approx((2 * 1 + 0.5) / 3)
    assert result.root_error == pytest.approx(0.0)


def test_disagreements_are_listed_with_both_explanations() -> None:
    values = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    result = agreement(graded(values), expected_tree(GOLD))
    assert [(n.path, n.gold, n.judged) for n in result.disagreements] == [
        ("0/1", 1, 0.0),
        ("2/2", 0, 1.0),
    ]
    note = result.disagreements[0]
    assert note.gold_explanation == "graded by hand: met" and note.judge_explanation
    assert result.metrics.overall.accuracy == pytest.approx(6 / 8)


def test_a_depth_limited_item_spreads_its_score_over_the_gold_leaves_under_it() -> None:
    tree = expected_tree([0] * 8)
    part = tree["sub_tasks"][0]
    part.update(sub_tasks=[], score=0.5, path="0", judge_metadata={"item": "subtree"})
    for index, other in enumerate(tree["sub_tasks"][1:], start=1):
        for j, leaf in enumerate(other["sub_tasks"]):
            leaf.update(path=f"{index}/{j}", score=float(GOLD[3 + (index - 1) * 2 + j]))
    result = compare(tree, gold())
    first = [(j.path, j.gold, j.judged) for j in result.judgements[:3]]
    assert first == [("0/0", 1, 0.5), ("0/1", 1, 0.5), ("0/2", 0, 0.5)]
    # part 0's gold score is (1 + 1 + 0)/4 = 0.5, so the roots agree.
    assert result.root_error == pytest.approx(0.0)


def test_a_code_dev_tree_leaves_the_other_categories_out_of_scope() -> None:
    tree = graded(list(map(float, GOLD)))
    tree["sub_tasks"] = tree["sub_tasks"][:1]
    result = compare(tree, gold(), code_dev=True)
    assert {j.category for j in result.judgements} == {"Code Development"}
    assert len(result.judgements) == 3


def test_a_tree_of_another_rubric_is_refused_naming_the_node() -> None:
    tree = graded(list(map(float, GOLD)))
    tree["sub_tasks"][1]["sub_tasks"][1]["requirements"] = "Something else."
    with pytest.raises(AgreementError, match="node 1/1: its requirement differs"):
        compare(tree, gold())
    tree = graded(list(map(float, GOLD)))
    tree["sub_tasks"][0]["sub_tasks"][0]["path"] = "0/7"
    with pytest.raises(AgreementError, match="item 0/7 is not in the gold tree"):
        compare(tree, gold())


def test_a_paperbench_tree_without_paths_is_matched_by_position() -> None:
    tree = expected_tree(GOLD)
    result = compare(tree, gold())
    assert all(j.judged == j.gold for j in result.judgements)


def test_agreement_reads_files_and_the_printer_shows_figures_and_disagreements(
    tmp_path: Path,
) -> None:
    graded_path = tmp_path / "graded_tree.json"
    graded_path.write_text(json.dumps(graded([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, None])))
    folder = tmp_path / "set"
    (folder / "grading").mkdir(parents=True)
    (folder / "grading" / "expected_result.json").write_text(json.dumps(expected_tree(GOLD)))
    result = agreement(graded_path, folder)
    console = Console(record=True, width=200)
    print_agreement(result, console)
    text = console.export_text()
    assert "Agreement with the gold grades" in text and "Result Analysis" in text
    assert "1 leaves disagree with the gold" in text and "0/1 (Code Development)" in text
    assert "1 leaves left invalid by the judge" in text and "2/2" in text
    assert "root score: judge" in text


def test_an_unreadable_graded_tree_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "graded_tree.json"
    path.write_text("{not json")
    with pytest.raises(AgreementError, match=r"graded_tree\.json: not valid JSON"):
        agreement(path, expected_tree(GOLD))


def test_markup_in_requirements_and_explanations_is_printed_as_text() -> None:
    gold_tree = expected_tree(GOLD)
    gold_tree["sub_tasks"][0]["sub_tasks"][1]["requirements"] = "[bold red]forged[/] [link=x]y"
    tree = graded([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    tree["sub_tasks"][0]["sub_tasks"][1]["requirements"] = "[bold red]forged[/] [link=x]y"
    console = Console(record=True, width=200)
    print_agreement(agreement(tree, gold_tree), console)
    assert "[bold red]forged[/] [link=x]y" in console.export_text()
