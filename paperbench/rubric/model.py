"""The rubric tree: PaperBench's ``rubric.json`` as a pydantic model.

A node is ``{id, requirements, weight, sub_tasks, task_category, finegrained_task_category}``.
Only leaves carry a ``task_category``. Keys we do not know are kept as they were (``extra =
"allow"``) and fields absent from the file stay absent when it is saved, so a load followed by
a save gives back the same JSON.

Ids are not unique in real rubrics and are often not UUIDs, so nodes are addressed by their
*path*: the indexes of ``sub_tasks`` from the root, joined by ``/`` (``"0/2/1"``); the root's
path is the empty string.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

TaskCategory = Literal["Code Development", "Code Execution", "Result Analysis"]
FinegrainedTaskCategory = Literal[
    "Environment & Infrastructure Setup",
    "Dataset and Model Acquisition",
    "Data Processing & Preparation",
    "Method Implementation",
    "Experimental Setup",
    "Evaluation, Metrics & Benchmarking",
    "Logging, Analysis & Presentation",
]
TASK_CATEGORIES: tuple[str, ...] = get_args(TaskCategory)
FINEGRAINED_TASK_CATEGORIES: tuple[str, ...] = get_args(FinegrainedTaskCategory)

Weight = (
    Annotated[StrictInt, Field(ge=0)] | Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
)


class RubricNode(BaseModel):
    """One requirement of a rubric; a leaf when ``sub_tasks`` is empty."""

    model_config = ConfigDict(extra="allow", title="PaperBench rubric node")

    id: str = Field(description="Identifier; may repeat within a tree and need not be a UUID.")
    requirements: str = Field(description="What must hold for this node to be satisfied.")
    weight: Weight = Field(description="Relative importance among siblings; finite, >= 0.")
    sub_tasks: list[RubricNode] = Field(
        default_factory=list, description="Children; empty for a leaf."
    )
    task_category: TaskCategory | None = Field(
        default=None, description="Leaves only: which kind of work the leaf checks."
    )
    finegrained_task_category: FinegrainedTaskCategory | None = Field(
        default=None, description="Optional finer category of a leaf."
    )

    @property
    def is_leaf(self) -> bool:
        return not self.sub_tasks

    def walk(self, path: str = "") -> Iterator[tuple[str, RubricNode]]:
        """Yield ``(path, node)`` for this node and every descendant, depth first."""
        yield path, self
        for index, child in enumerate(self.sub_tasks):
            yield from child.walk(join_path(path, index))

    def leaves(self) -> Iterator[tuple[str, RubricNode]]:
        return ((path, node) for path, node in self.walk() if node.is_leaf)

    def node_at(self, path: str) -> RubricNode:
        """Return the node at ``path`` (``""`` or ``"/"`` is the root).

        Raises:
            KeyError: no node has that path; the message names the first missing step.
        """
        node = self
        walked: list[str] = []
        for step in split_path(path):
            if not step.isdigit() or int(step) >= len(node.sub_tasks):
                where = "/".join(walked) or "the root"
                raise KeyError(
                    f"no node {path!r}: {where} has {len(node.sub_tasks)} children "
                    f"(0 to {len(node.sub_tasks) - 1}), not {step!r}"
                )
            node = node.sub_tasks[int(step)]
            walked.append(step)
        return node

    def to_json(self) -> dict[str, object]:
        """The node as PaperBench JSON: fields absent on load stay absent, extras kept."""
        return self.model_dump(mode="json", exclude_unset=True)


def join_path(parent: str, index: int) -> str:
    return f"{parent}/{index}" if parent else str(index)


def split_path(path: str) -> list[str]:
    return [step for step in path.strip().strip("/").split("/") if step]


def display_path(path: str) -> str:
    """How a path reads in messages: ``root`` for the root, else the path itself."""
    return path or "root"
