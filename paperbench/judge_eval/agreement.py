"""One graded tree against its gold tree: which leaves agree, and by how much the roots differ.

Items of the graded tree are matched to gold nodes by *path* (ids repeat in real rubrics); a
graded tree that carries no ``path`` keys (PaperBench's own) is matched by position. An item
that is a gold leaf is compared as it is; an item that is a gold subtree (``--max-depth``)
spreads its score over the gold leaves under it (:mod:`~paperbench.judge_eval.metrics`). Gold
leaves no item covers (``--code-dev`` leaves out the rest), and leaves without a human grade (a
reviewed run's unreviewed leaves), are out of scope and not counted.

An item the judge left invalid (``valid_score`` false), or scored by rule without asking it
(``judge_metadata.judged_by == "rule"``: no reproduction was given), marks its gold leaves
*invalid* or *not judged*: they are counted apart, never as zeros. (PaperBench matches leaves by
id and skips every subtree whose root is not valid, so an invalid leaf there takes its valid
siblings out of the figures too; here only the leaf itself leaves them.)

The root-score error compares the judge's root score with the gold root score over the same
graded structure with those items left out of both (weights renormalised among what remains),
so a failure of the judge moves neither score; it is the judge's score minus the gold score.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from paperbench.judge_eval.gold import (
    EXPECTED_FILE,
    GoldNode,
    GoldSetError,
    gold_score,
    load_expected,
    parse_expected,
)
from paperbench.judge_eval.metrics import (
    CategoryMetrics,
    LeafJudgement,
    LeafStatus,
    category_metrics,
)
from paperbench.rubric import TASK_CATEGORIES, display_path
from paperbench.rubric.model import join_path


class AgreementError(GoldSetError):
    """A graded tree does not fit its gold tree (another rubric, or not a graded tree)."""


@dataclass(frozen=True)
class _Item:
    path: str
    score: float
    status: LeafStatus
    explanation: str


@dataclass(frozen=True)
class Comparison:
    """Every in-scope gold leaf with the judge's value, and the two root scores."""

    judgements: list[LeafJudgement]
    judged_root: float | None
    gold_root: float | None
    explanations: dict[str, str]

    @property
    def root_error(self) -> float | None:
        if self.judged_root is None or self.gold_root is None:
            return None
        return self.judged_root - self.gold_root


def _status(node: Mapping[str, Any]) -> LeafStatus:
    if not node.get("valid_score", True):
        return "invalid"
    metadata = node.get("judge_metadata")
    if isinstance(metadata, Mapping) and metadata.get("judged_by") == "rule":
        return "not_judged"
    return "judged"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise AgreementError(f"{where}: score {value!r} is not a number in [0, 1]")
    return float(value)


def _items(graded: Mapping[str, Any], source: str) -> list[_Item]:
    found: list[_Item] = []

    def visit(node: Any, positional: str) -> None:
        if not isinstance(node, Mapping) or not isinstance(node.get("sub_tasks", []), list):
            raise AgreementError(f"{source}: node {display_path(positional)} is not a graded node")
        path = node.get("path", positional)
        if not isinstance(path, str):
            raise AgreementError(f"{source}: node {display_path(positional)}: path is not text")
        children = node.get("sub_tasks") or []
        if not children:
            status = _status(node)
            where = f"{source}: item {display_path(path)}"
            score = _number(node.get("score"), where) if status == "judged" else 0.0
            found.append(_Item(path, score, status, str(node.get("explanation") or "")))
            return
        for index, child in enumerate(children):
            visit(child, join_path(positional, index))

    visit(graded, "")
    return found


def _gold_index(gold: GoldNode) -> dict[str, GoldNode]:
    return dict(gold.walk())


def _root_scores(
    graded: Mapping[str, Any],
    gold_nodes: Mapping[str, GoldNode],
    items: Mapping[str, _Item],
    code_dev: bool,
) -> tuple[float | None, float | None]:
    def visit(node: Mapping[str, Any], positional: str) -> tuple[float, float] | None:
        path = node.get("path", positional)
        children = node.get("sub_tasks") or []
        if not children:
            item = items[path]
            gold = gold_score(gold_nodes[path], code_dev=code_dev)
            if item.status != "judged" or gold is None:
                return None
            return item.score, gold
        kept = [
            (float(child.get("weight", 1)), scores)
            for index, child in enumerate(children)
            if (scores := visit(child, join_path(positional, index))) is not None
        ]
        if not kept:
            return None
        total = sum(weight for weight, _ in kept)
        if total <= 0:
            return 0.0, 0.0
        return (
            sum(weight * judged for weight, (judged, _) in kept) / total,
            sum(weight * gold for weight, (_, gold) in kept) / total,
        )

    scores = visit(graded, "")
    return (None, None) if scores is None else scores


def compare(
    graded: Mapping[str, Any],
    gold: GoldNode,
    *,
    set_id: str = "",
    code_dev: bool = False,
    source: str = "graded tree",
) -> Comparison:
    """Match ``graded`` (a graded tree as JSON) against ``gold`` (see the module docstring).

    ``code_dev`` says the tree was graded in Code-Dev mode, so a depth-limited item covers only
    the Code Development leaves under it.

    Raises:
        AgreementError: an item at a path the gold tree lacks, a requirement that differs, or a
            node that is not a graded node.
    """
    nodes = _gold_index(gold)
    items = _items(graded, source)
    judgements: list[LeafJudgement] = []
    explanations: dict[str, str] = {}
    for item in items:
        node = nodes.get(item.path)
        if node is None:
            raise AgreementError(
                f"{source}: item {display_path(item.path)} is not in the gold tree; they grade "
                "different rubrics"
            )
        explanations[item.path] = item.explanation
        for leaf_path, leaf in node.leaves():
            full = _join(item.path, leaf_path) if leaf_path else item.path
            if code_dev and not node.is_leaf and leaf.task_category != "Code Development":
                continue
            if not leaf.graded:
                continue
            judgements.append(
                LeafJudgement(
                    set_id=set_id,
                    path=full,
                    category=leaf.task_category or TASK_CATEGORIES[0],
                    gold=leaf.gold,
                    judged=item.score if item.status == "judged" else None,
                    status=item.status,
                    reason=item.explanation if item.status != "judged" else "",
                )
            )
    _check_requirements(graded, nodes, source)
    judged_root, gold_root = _root_scores(
        graded, nodes, {item.path: item for item in items}, code_dev
    )
    return Comparison(judgements, judged_root, gold_root, explanations)


def _join(base: str, relative: str) -> str:
    return f"{base}/{relative}" if base else relative


def _check_requirements(
    graded: Mapping[str, Any], nodes: Mapping[str, GoldNode], source: str
) -> None:
    def visit(node: Mapping[str, Any], positional: str) -> None:
        path = node.get("path", positional)
        gold = nodes.get(path)
        text = node.get("requirements")
        if gold is None or (isinstance(text, str) and text.strip() != gold.requirements.strip()):
            raise AgreementError(
                f"{source}: node {display_path(path)}: its requirement differs from the gold "
                "tree's; they grade different rubrics"
            )
        for index, child in enumerate(node.get("sub_tasks") or []):
            visit(child, join_path(positional, index))

    visit(graded, "")


# -- one submission: `paperbench grade --gold FILE` -------------------------------------------


class LeafNote(BaseModel):
    """A gold leaf the judge did not grade, or graded otherwise than the human."""

    path: str
    category: str
    requirements: str
    gold: int
    judged: float | None
    gold_explanation: str
    judge_explanation: str


class Agreement(BaseModel):
    """How one graded tree agrees with its gold tree."""

    metrics: CategoryMetrics
    judged_root: float | None
    gold_root: float | None
    root_error: float | None
    disagreements: list[LeafNote]
    invalid: list[LeafNote]
    not_judged: list[LeafNote]


def _read(value: Path | Mapping[str, Any], what: str) -> tuple[Mapping[str, Any], str]:
    if isinstance(value, Mapping):
        return value, what
    try:
        data = json.loads(value.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgreementError(f"{value}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise AgreementError(f"{value}: not valid JSON: {error}") from None
    if not isinstance(data, Mapping):
        raise AgreementError(f"{value}: not a graded tree (a JSON object)")
    return data, str(value)


def load_gold_tree(path: Path) -> GoldNode:
    """The gold tree of a gold-set folder, or of an ``expected_result.json`` file.

    Raises:
        GoldSetError: the file is missing or malformed (the message names it).
    """
    return load_expected(path / EXPECTED_FILE if path.is_dir() else path)


def agreement(
    graded_tree: Path | Mapping[str, Any],
    expected: Path | Mapping[str, Any] | GoldNode,
    *,
    code_dev: bool = False,
) -> Agreement:
    """Agreement of ``graded_tree`` (``graded_tree.json`` or its data) with ``expected`` (an
    ``expected_result.json``, a gold-set folder, its data, or the loaded tree).

    Raises:
        GoldSetError: the expected tree is missing or malformed.
        AgreementError: the graded tree is unreadable or grades another rubric.
    """
    graded, source = _read(graded_tree, "graded tree")
    if isinstance(expected, GoldNode):
        gold = expected
    elif isinstance(expected, Path):
        gold = load_gold_tree(expected)
    else:
        gold = parse_expected(expected, "expected result")
    result = compare(graded, gold, code_dev=code_dev, source=source)
    nodes = _gold_index(gold)
    notes: dict[str, list[LeafNote]] = {"judged": [], "invalid": [], "not_judged": []}
    for leaf in result.judgements:
        node = nodes[leaf.path]
        if leaf.status == "judged" and abs(leaf.gold - (leaf.judged or 0.0)) < 0.5:
            continue
        item_path = _covering_item(leaf.path, result.explanations)
        notes[leaf.status].append(
            LeafNote(
                path=leaf.path,
                category=leaf.category,
                requirements=node.requirements,
                gold=leaf.gold,
                judged=leaf.judged,
                gold_explanation=node.explanation,
                judge_explanation=result.explanations.get(item_path, ""),
            )
        )
    return Agreement(
        metrics=category_metrics(result.judgements, TASK_CATEGORIES),
        judged_root=result.judged_root,
        gold_root=result.gold_root,
        root_error=result.root_error,
        disagreements=notes["judged"],
        invalid=notes["invalid"],
        not_judged=notes["not_judged"],
    )


def _covering_item(path: str, items: Mapping[str, str]) -> str:
    steps = path.split("/") if path else []
    for end in range(len(steps), -1, -1):
        candidate = "/".join(steps[:end])
        if candidate in items:
            return candidate
    return path


def categories_in(judgements: Sequence[LeafJudgement]) -> list[str]:
    """The task categories present, in PaperBench's order."""
    present = {item.category for item in judgements}
    return [category for category in TASK_CATEGORIES if category in present]
