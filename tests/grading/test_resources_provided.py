"""``--resources-provided``: PaperBench's zero weight for Dataset and Model Acquisition leaves,
on hand-computed trees and on a real PaperBench rubric, recorded with the grade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperbench.grading.aggregate import ItemResult, summarise
from paperbench.grading.plan import ACQUISITION, build_plan, items_of, resources_provided
from paperbench.papers import PaperBundle, load_bundle
from paperbench.rubric import RubricNode, load_rubric
from tests.support.grading import run_grade
from tests.support.llm_server import ScriptedLLMServer, schema_responder
from tests.support.nodes import inner, leaf
from tests.support.paths import VENDORED_DATA


def acquisition(node_id: str, weight: float = 1) -> dict[str, object]:
    return {**leaf(node_id, weight), "finegrained_task_category": ACQUISITION}


#: root -> a (weight 1): download (acquisition), model (code); b (weight 2): only data (acq.)
TREE = RubricNode.model_validate(
    inner(
        "root",
        [
            inner("a", [acquisition("download"), leaf("model")]),
            inner("b", [acquisition("data")], weight=2),
        ],
    )
)
SCORES = {"0/0": 0.0, "0/1": 1.0, "1/0": 1.0}


def graded(**options: bool) -> float:
    plan = build_plan(TREE, resources_given=options.get("resources", False))
    assert plan is not None
    return summarise(
        plan, {path: ItemResult(score=s, explanation="") for path, s in SCORES.items()}
    ).score


def test_without_it_acquisition_leaves_count_like_any_other() -> None:
    # a = (0 + 1) / 2, b = 1, root = (1 * 0.5 + 2 * 1) / 3
    assert graded() == pytest.approx(2.5 / 3)


def test_with_it_they_weigh_0_and_a_node_of_only_them_scores_0_as_in_paperbench() -> None:
    # a = model alone = 1; b's children all weigh 0, so b scores 0 and keeps its weight 2
    assert graded(resources=True) == pytest.approx(1 / 3)


def test_on_a_real_rubric_exactly_the_acquisition_leaves_are_zeroed() -> None:
    rubric = load_rubric(VENDORED_DATA / "rubrics" / "semantic-self-consistency" / "rubric.json")
    changed = resources_provided(rubric)
    before = dict(rubric.walk())
    after = dict(changed.walk())
    assert before.keys() == after.keys()
    zeroed = [path for path in before if before[path].weight != after[path].weight]
    acquiring = [
        path for path, node in rubric.leaves() if node.finegrained_task_category == ACQUISITION
    ]
    assert zeroed == acquiring and len(zeroed) == 3
    assert all(after[path].weight == 0 for path in zeroed)
    plan = build_plan(rubric, resources_given=True)
    assert plan is not None and len(items_of(plan)) == sum(1 for _ in rubric.leaves())


def test_the_grade_records_it_and_the_judge_still_sees_every_leaf(
    tmp_path: Path, server: ScriptedLLMServer, submission: Path
) -> None:
    root = tmp_path / "acq-paper"
    root.mkdir()
    (root / "config.yaml").write_text("id: acq\ntitle: Acquisition\n")
    (root / "paper.md").write_text("# A paper that downloads data\n")
    (root / "rubric.json").write_text(json.dumps(TREE.to_json()))
    bundle: PaperBundle = load_bundle(root)
    server.default = schema_responder(score=1)
    result = run_grade(
        bundle,
        server,
        tmp_path / "out",
        submission=submission,
        resources_provided=True,
        code_dev=True,
    )
    assert result.mode.resources_provided
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["mode"]["resources_provided"] is True
    # every leaf passes, but b (only acquisition) scores 0 with its weight: 1/3
    assert result.summary.score == pytest.approx(1 / 3)
    assert result.summary.items == 3
