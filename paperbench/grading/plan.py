"""Which parts of the rubric the judge grades, and how: leaves, or whole subtrees.

Modes, as in PaperBench:

* **Code-Dev** (``code_dev=True``): the rubric is reduced to its Code Development leaves; inner
  nodes left without children are dropped, weights of what remains are kept. No reproduction is
  needed.
* **Depth limit** (``max_depth=N``): a node ``N`` levels below the root that still has children
  is graded as one item with a continuous score in [0, 1], shown with its whole subtree.
  ``max_depth=1`` grades each top-level part as one item.

* **Resources provided** (``resources_provided=True``): the leaves whose finegrained category is
  *Dataset and Model Acquisition* weigh 0, as PaperBench does when the datasets and models are
  given to the agent (its ``TaskNode.resources_provided``). They are still graded but cannot
  move the score; like PaperBench, a node whose children all weigh 0 then scores 0 and keeps
  its own weight.

Nodes keep the *paths of the original rubric* through these reductions, so a path in a graded
tree always points at the same requirement in ``rubric.json``.

Without a reproduction (and not in Code-Dev mode), leaves of Code Execution and Result Analysis
cannot be met — nothing was run — so they are scored 0 by rule, without a call, with an
explanation saying so; the summary counts them and suggests ``--reproduction`` or
``--code-dev``. Asking a judge would cost a call per leaf to learn the same thing, and a weak
judge might invent a pass. A depth-limited subtree that mixes kinds is still graded by the judge,
which is told that no reproduction was run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from paperbench.rubric import TASK_CATEGORIES, RubricNode

CODE_DEVELOPMENT, CODE_EXECUTION, RESULT_ANALYSIS = TASK_CATEGORIES
NEEDS_RUN = frozenset({CODE_EXECUTION, RESULT_ANALYSIS})
ACQUISITION = "Dataset and Model Acquisition"


@dataclass(frozen=True)
class GradingItem:
    """One thing the judge scores: a leaf (0 or 1) or a depth-limited subtree (0 to 1)."""

    path: str
    node: RubricNode
    kind: Literal["leaf", "subtree"]
    categories: tuple[str, ...]
    ancestors: tuple[RubricNode, ...]
    order: int

    @property
    def category_label(self) -> str:
        return self.categories[0] if len(self.categories) == 1 else "mixed"

    @property
    def needs_run(self) -> bool:
        return set(self.categories) <= NEEDS_RUN


@dataclass
class PlanNode:
    """A node of the tree as graded: original path, the rubric node, kept children."""

    path: str
    node: RubricNode
    children: list[PlanNode] = field(default_factory=list)
    item: GradingItem | None = None


def _categories(node: RubricNode) -> tuple[str, ...]:
    found = {leaf.task_category or CODE_DEVELOPMENT for _, leaf in node.leaves()}
    return tuple(category for category in TASK_CATEGORIES if category in found)


def resources_provided(rubric: RubricNode) -> RubricNode:
    """``rubric`` with every *Dataset and Model Acquisition* leaf weighing 0 (see the module
    docstring); other nodes are kept as they are."""
    if rubric.is_leaf:
        if rubric.finegrained_task_category == ACQUISITION:
            return rubric.model_copy(update={"weight": 0})
        return rubric
    children = [resources_provided(child) for child in rubric.sub_tasks]
    return rubric.model_copy(update={"sub_tasks": children})


def build_plan(
    rubric: RubricNode,
    *,
    code_dev: bool = False,
    max_depth: int | None = None,
    resources_given: bool = False,
) -> PlanNode | None:
    """The tree to grade, or ``None`` when nothing is left (Code-Dev of a rubric without any
    Code Development leaf); ``resources_given`` zero-weights acquisition leaves."""
    counter = iter(range(1 << 30))
    if resources_given:
        rubric = resources_provided(rubric)

    def visit(
        node: RubricNode, path: str, depth: int, ancestors: tuple[RubricNode, ...]
    ) -> PlanNode | None:
        if node.is_leaf:
            category = node.task_category or CODE_DEVELOPMENT
            if code_dev and category != CODE_DEVELOPMENT:
                return None
            item = GradingItem(path, node, "leaf", (category,), ancestors, next(counter))
            return PlanNode(path, node, item=item)
        if max_depth is not None and depth >= max_depth and path:
            subtree = _reduced(node) if code_dev else node
            if subtree is None:
                return None
            categories = _categories(subtree)
            item = GradingItem(path, subtree, "subtree", categories, ancestors, next(counter))
            return PlanNode(path, subtree, item=item)
        children = []
        for index, child in enumerate(node.sub_tasks):
            child_path = f"{path}/{index}" if path else str(index)
            kept = visit(child, child_path, depth + 1, (*ancestors, node))
            if kept is not None:
                children.append(kept)
        if not children:
            return None
        return PlanNode(path, node, children)

    return visit(rubric, "", 0, ())


def _reduced(node: RubricNode) -> RubricNode | None:
    """``node`` with only its Code Development leaves (for a depth-limited Code-Dev item)."""
    if node.is_leaf:
        return node if (node.task_category or CODE_DEVELOPMENT) == CODE_DEVELOPMENT else None
    kept = [child for child in map(_reduced, node.sub_tasks) if child is not None]
    return node.model_copy(update={"sub_tasks": kept}) if kept else None


def items_of(plan: PlanNode) -> list[GradingItem]:
    """Every item in the plan, in tree order."""
    found: list[GradingItem] = []

    def visit(node: PlanNode) -> None:
        if node.item is not None:
            found.append(node.item)
        for child in node.children:
            visit(child)

    visit(plan)
    return found
