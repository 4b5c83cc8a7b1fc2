"""Lint: advice a reviewer would give, with node paths, quiet where a rubric is fine."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from paperbench.errors import RubricError
from paperbench.rubric.lint import LintConfig, lint_data, lint_file, lint_tree
from tests.support.cli import paperbench
from tests.support.trees import chain, leaf, node, tree

PRECISE = "The optimizer has been implemented as in Equation 3."


def rules(*children: dict, config: LintConfig | None = None) -> list[tuple[str, str]]:
    return [(item.rule, item.path) for item in lint_tree(tree(*children), "r.json", config)]


def test_a_precise_rubric_gets_no_advice() -> None:
    assert (
        rules(leaf(PRECISE), leaf("Training ran for 4000 steps.", category="Code Execution")) == []
    )


def test_a_leaf_stating_three_separate_checks_is_bundled() -> None:
    text = (
        "The model has been trained for 10 epochs. The test accuracy has been recorded. "
        "The learning-rate schedule is cosine."
    )
    [advice] = lint_tree(tree(leaf(text)), "r.json")
    assert (advice.rule, advice.path) == ("bundled", "0")
    assert "asks for 3 things" in advice.message


def test_notes_and_pointers_do_not_count_as_separate_checks() -> None:
    text = (
        "The model has been trained for 10 epochs. The test accuracy has been recorded. "
        "Alternative names for the metric are allowed. As described in Section 4."
    )
    assert rules(leaf(text)) == []


def test_math_and_abbreviations_do_not_split_a_sentence() -> None:
    text = "The loss is $\\ell = a. b$ (i.e. cross-entropy, cf. Eq. 2). The mean is recorded."
    assert rules(leaf(text)) == []


def test_vague_wording_without_anything_concrete_is_advised() -> None:
    [advice] = lint_tree(tree(leaf("The benchmark has been implemented correctly.")), "r.json")
    assert (advice.rule, advice.path) == ("vague", "0")
    assert "'correctly'" in advice.message


def test_vague_wording_next_to_a_pointer_into_the_paper_is_fine() -> None:
    assert rules(leaf("The benchmark has been implemented correctly, as in Section 3.2.")) == []


def test_vague_wording_on_an_inner_node_is_fine_because_its_children_refine_it() -> None:
    assert rules(node("The baselines are correctly set up.", [leaf(PRECISE)])) == []


def test_a_result_analysis_leaf_with_no_target_is_advised() -> None:
    text = "The recorded metrics show that the method works on the benchmark."
    [advice] = lint_tree(tree(leaf(text, category="Result Analysis")), "r.json")
    assert (advice.rule, advice.path) == ("no-target", "0")


@pytest.mark.parametrize(
    "text",
    [
        "The recorded metrics show that Adam reaches a lower loss than SGD.",
        "The recorded accuracy is about 99.5%.",
        "The recorded losses match the trend in Figure 2.",
    ],
)
def test_a_result_with_a_comparison_number_or_figure_has_a_target(text: str) -> None:
    assert rules(leaf(text, category="Result Analysis")) == []


def test_siblings_worded_the_same_are_duplicates() -> None:
    assert rules(leaf(PRECISE), leaf(PRECISE.upper())) == [("duplicate", "1")]


def test_siblings_differing_only_in_articles_and_punctuation_are_near_duplicates() -> None:
    found = lint_tree(
        tree(
            leaf("A GC-IQL agent has been trained on antmaze."),
            leaf("An GC-IQL agent was trained on the antmaze"),
        ),
        "r.json",
    )
    assert [(item.rule, item.path) for item in found] == [("duplicate", "1")]
    assert "differing only in articles" in found[0].message


def test_templated_siblings_that_differ_in_a_number_are_not_duplicates() -> None:
    assert (
        rules(
            leaf("ResNet-18 has been fine-tuned on CIFAR10 as in Section 4."),
            leaf("ResNet-18 has been fine-tuned on CIFAR100 as in Section 4."),
        )
        == []
    )


def test_a_child_restating_its_parent_is_not_a_duplicate() -> None:
    text = "The results of Figure 1 have been reproduced."
    assert rules(node(text, [leaf(text, category="Result Analysis"), leaf(PRECISE)])) == []


def test_same_leaf_under_differently_worded_parents_is_not_a_duplicate() -> None:
    assert (
        rules(
            node("Method A has been reproduced.", [leaf(PRECISE)]),
            node("Method B has been reproduced.", [leaf(PRECISE)]),
        )
        == []
    )


def test_a_copied_subtree_the_judge_cannot_tell_apart_is_reported_once_at_its_top() -> None:
    copy = node("Method A has been reproduced.", [leaf(PRECISE), leaf("Its loss is Eq. 2.")])
    nested_a = node("Experiments have been run.", [copy])
    nested_b = node("Experiments have been run!", [copy])
    assert rules(nested_a, leaf("Something else, Section 5."), nested_b) == [("duplicate", "2")]


def test_equal_weights_on_many_unlike_children_are_advised() -> None:
    big = node(
        "Training has been reproduced.", [leaf(f"Step {i} as in Eq. {i}.") for i in range(8)]
    )
    children = [big] + [leaf(f"Setting {i} is as in Table {i}.") for i in range(5)]
    [advice] = lint_tree(tree(*children), "r.json")
    assert (advice.rule, advice.path) == ("equal-weights", "")
    assert "0 holds 8 leaves and 1 1" in advice.message


def test_equal_weights_on_parallel_children_are_fine() -> None:
    assert rules(*[leaf(f"Dataset {i} is loaded as in Table {i}.") for i in range(10)]) == []


def test_equal_weights_on_a_few_children_are_fine() -> None:
    big = node("Training has been reproduced.", [leaf(f"Step {i}, Eq. {i}.") for i in range(8)])
    assert rules(big, leaf("Setting 1 as in Table 1.")) == []


def test_a_branch_deeper_than_the_limit_is_advised_once_naming_its_deepest_path() -> None:
    [advice] = lint_tree(tree(chain(5)), "r.json", LintConfig(max_depth=3))
    assert (advice.rule, advice.path) == ("too-deep", "0")
    assert "deepest 0/0/0/0/0 at 5" in advice.message


def test_a_node_with_more_children_than_the_limit_is_advised() -> None:
    children = [leaf(f"Dataset {i} is loaded as in Table {i}.") for i in range(4)]
    assert rules(node("Data.", children), config=LintConfig(max_children=3)) == [("too-broad", "0")]


def test_placeholders_are_listed_one_by_one() -> None:
    found = rules(leaf("TODO: the optimizer"), leaf("TODO: the model"))
    assert found == [("placeholder", "0"), ("placeholder", "1")]


def test_advice_on_templated_leaves_is_collapsed_into_one_line() -> None:
    template = "Vanilla {} has been run correctly."
    found = lint_tree(tree(*[leaf(template.format(name)) for name in ("SGD", "Adam", "Lion")]), "r")
    [advice] = found
    assert advice.similar == ("1", "2")
    assert advice.describe().endswith("(and 2 similar: 1, 2)")


def test_an_ignored_rule_is_not_reported() -> None:
    assert rules(leaf("TODO"), config=LintConfig(ignore=frozenset({"placeholder"}))) == []


def test_an_unknown_rule_name_is_a_clear_error() -> None:
    with pytest.raises(RubricError, match="unknown lint rule nope; rules: bundled, vague"):
        LintConfig(ignore=frozenset({"nope"}))


def test_an_invalid_rubric_reports_its_errors_and_no_advice() -> None:
    report = lint_data({"id": "r", "requirements": "r", "weight": -1}, "r.json")
    assert report.tree is None and report.advice == []
    assert "weight" in report.errors[0].describe()


def test_advice_reads_as_one_line_with_file_node_path_and_fix() -> None:
    [advice] = lint_tree(tree(leaf("The benchmark has been implemented correctly.")), "r.json")
    line = advice.describe()
    assert line.startswith("r.json: vague: node 0: 'correctly' with nothing concrete")
    assert "; fix: " in line and "\n" not in line


def test_lint_file_reads_a_file_and_counts_advice_per_rule(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(tree(leaf("TODO a"), leaf("TODO b")).to_json()))
    assert lint_file(path).counts() == {"placeholder": 2}


def test_the_cli_prints_json_per_rubric_and_skips_ignored_rules(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(tree(leaf("TODO a"), leaf("Works correctly.")).to_json()))
    result = paperbench("rubric", "lint", str(path), "--json", "--ignore", "vague", home=tmp_path)
    assert result.returncode == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert (report["source"], report["counts"], report["errors"]) == (
        str(path),
        {"placeholder": 1},
        [],
    )
    assert report["advice"][0]["path"] == "0"


def test_the_cli_exits_1_on_an_invalid_rubric_naming_the_node(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    data = tree(leaf(PRECISE)).to_json()
    data["sub_tasks"][0]["weight"] = -1
    path.write_text(json.dumps(data))
    result = paperbench("rubric", "lint", str(path), home=tmp_path)
    assert result.returncode == 1
    assert f"{path}: error: node 0: weight: not a finite number >= 0" in result.stdout
    assert result.stdout.strip().endswith(f"{path}: invalid (1 errors)")


# --- the real rubrics ----------------------------------------------------------------------

REAL = sorted(
    (Path(__file__).resolve().parents[3] / "shared/data/paperbench-rubrics").glob("*/rubric.json")
)


@pytest.mark.parametrize("path", REAL, ids=lambda path: path.parent.name)
def test_on_real_rubrics_the_advice_fits_on_a_screen(path: Path, shared_data: Path) -> None:
    report = lint_file(path)
    assert report.errors == []
    assert len(report.advice) <= 16, [item.describe() for item in report.advice]


def test_on_real_rubrics_lint_finds_the_duplicated_leaves_in_fre(shared_data: Path) -> None:
    report = lint_file(shared_data / "paperbench-rubrics/fre/rubric.json")
    duplicates = [item.path for item in report.advice if item.rule == "duplicate"]
    assert duplicates == ["2/0/1/0/1/2", "2/0/2/0/1/2", "2/0/3/0/1/2", "2/0/4/0/1/2"]


def test_the_largest_real_rubric_lints_in_seconds(shared_data: Path) -> None:
    started = time.perf_counter()
    report = lint_file(shared_data / "paperbench-rubrics/pinn/rubric.json")
    assert time.perf_counter() - started < 5
    bundled = [item for item in report.advice if item.rule == "bundled"]
    assert len(bundled) == 1 and bundled[0].count == 255


def test_the_guide_table_of_advice_on_real_rubrics_is_current(shared_data: Path) -> None:
    guide = (Path(__file__).resolve().parents[2] / "rubrics/GUIDE.md").read_text()
    header, _, *rows = (
        guide.split("| rubric | leaves | lines |", 1)[1].split("\n\n")[0].splitlines()
    )
    rules = [cell.strip() for cell in header.split("|")[:-1]]
    assert len(rows) == len(REAL) == 16
    for row in rows:
        name, leaves, lines, *counts = (cell.strip() for cell in row.strip("|").split("|"))
        report = lint_file(shared_data / "paperbench-rubrics" / name / "rubric.json")
        expected = {rule: int(count) for rule, count in zip(rules, counts, strict=True) if count}
        assert report.tree is not None
        found = (sum(1 for _ in report.tree.leaves()), len(report.advice), report.counts())
        assert found == (int(leaves), int(lines), expected), name
