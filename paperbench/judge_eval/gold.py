"""Gold sets: a submission graded by hand, leaf by leaf, to measure judges against.

A gold set is a folder (the layout of PaperBench's ``data/judge_eval/<paper>/<n>/``, plus our
optional recorded reproduction and metadata)::

    <set>/
        gold.json                  GoldMeta: paper id, name, kind, description, who graded it
                                   and when, the sha256 of the rubric.json graded against
                                   (optional: without it the paper is the parent folder's name
                                   and the set's name its own)
        submission/                the submission as the agent left it, or PaperBench's
        submission.tar             submission.tar (extracted when graded)
        reproduction/              optional: reproduction.json, reproduce.log, submission/
        grading/expected_result.json
                                   the graded tree (PaperBench's format): every leaf has a
                                   ``score`` of 0 or 1, ``valid_score`` true, an ``explanation``
                                   and, in our sets, ``evidence`` (paths that decide the leaf)

Loading checks what the evaluator relies on (every leaf graded 0 or 1 and valid, a category on
every leaf, something to grade) and fails with one line naming the file and node path.
:func:`check_gold_set` goes further for authors: the tree must have the paper's rubric's exact
structure, the rubric's hash must match, and every evidence path must exist.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError

from paperbench.errors import PaperbenchError
from paperbench.grading.overrides import GRADED_TREE_FILE, OVERRIDES_FILE
from paperbench.paper_import import is_lfs_pointer
from paperbench.rubric import RubricNode, display_path
from paperbench.rubric.model import TaskCategory, join_path
from paperbench.sandbox.archives import safe_extract

EXPECTED_FILE = Path("grading") / "expected_result.json"
META_FILE = "gold.json"
#: Keys of a graded tree that are grades, not rubric: stripped to recover the rubric.
GRADE_KEYS = frozenset(
    {"score", "valid_score", "explanation", "judge_metadata", "evidence", "path", "usage"}
)
_SEARCH_DEPTH = 3

Weight = (
    Annotated[StrictInt, Field(ge=0)] | Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
)


class GoldSetError(PaperbenchError):
    """A gold set is missing a file or is malformed; the message names the file and node."""


class GoldMeta(BaseModel):
    """``gold.json``: what the set is and who graded it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paper_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: str = "unknown"
    description: str = ""
    graded_by: str = ""
    graded_at: str = ""
    rubric_sha256: str | None = None
    source: str = ""


class GoldNode(BaseModel):
    """A node of a graded tree; leaves carry the human grade. Unknown keys are kept."""

    model_config = ConfigDict(extra="allow")

    id: str
    requirements: str
    weight: Weight
    sub_tasks: list[GoldNode] = Field(default_factory=list)
    task_category: TaskCategory | None = None
    finegrained_task_category: str | None = None
    score: float | None = None
    valid_score: bool = True
    explanation: str = ""
    evidence: list[str] = Field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.sub_tasks

    def walk(self, path: str = "") -> Iterator[tuple[str, GoldNode]]:
        yield path, self
        for index, child in enumerate(self.sub_tasks):
            yield from child.walk(join_path(path, index))

    def leaves(self) -> Iterator[tuple[str, GoldNode]]:
        return ((path, node) for path, node in self.walk() if node.is_leaf)

    @property
    def graded(self) -> bool:
        """The leaf has a human grade: every leaf of a hand-graded set (checked on load); in a
        reviewed run's set (:mod:`~paperbench.judge_eval.reviewed`) the reviewed leaves only."""
        return self.score is not None

    @property
    def gold(self) -> int:
        """The human grade of a graded leaf: 0 or 1.

        Raises:
            ValueError: the leaf has no human grade (see :attr:`graded`).
        """
        if self.score is None:
            raise ValueError(f"gold leaf {self.id!r} has no human grade")
        return int(self.score)


def gold_score(node: GoldNode, *, code_dev: bool = False) -> float | None:
    """The weighted mean of the gold leaves under ``node`` (only Code Development leaves when
    ``code_dev``; only leaves with a human grade); ``None`` when no leaf is in scope. A node
    whose children all weigh 0 scores 0, as in PaperBench."""
    if node.is_leaf:
        if not node.graded or (code_dev and node.task_category != "Code Development"):
            return None
        return float(node.gold)
    scored = [
        (child.weight, value)
        for child in node.sub_tasks
        if (value := gold_score(child, code_dev=code_dev)) is not None
    ]
    if not scored:
        return None
    total = sum(weight for weight, _ in scored)
    return sum(weight * value for weight, value in scored) / total if total > 0 else 0.0


def parse_expected(data: Any, source: str) -> GoldNode:
    """A graded tree from JSON data, with every leaf checked.

    Raises:
        GoldSetError: not a tree, or a leaf without a 0/1 score, valid, with a category.
    """
    try:
        tree = GoldNode.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = "/".join(str(step) for step in first["loc"] if step != "sub_tasks")
        raise GoldSetError(f"{source}: at {where or 'the root'}: {first['msg']}") from None
    for path, leaf in tree.leaves():
        where = f"{source}: leaf {display_path(path)} ({leaf.id})"
        if leaf.score not in (0, 1):
            raise GoldSetError(f"{where}: score {leaf.score!r} is not 0 or 1; grade it by hand")
        if not leaf.valid_score:
            raise GoldSetError(f"{where}: valid_score is false; a gold leaf must be graded")
        if leaf.task_category is None:
            raise GoldSetError(f"{where}: no task_category; copy it from the rubric")
    return tree


def load_expected(path: Path) -> GoldNode:
    """Read and check ``expected_result.json``.

    Raises:
        GoldSetError: missing, not JSON, or malformed (see :func:`parse_expected`).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoldSetError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GoldSetError(f"{path}: not valid JSON: {error}") from None
    return parse_expected(data, str(path))


@dataclass(frozen=True)
class GoldSet:
    """A loaded gold set. Construct with :func:`load_gold_set`."""

    root: Path
    meta: GoldMeta
    expected: GoldNode
    submission_dir: Path | None
    submission_tar: Path | None
    reproduction_dir: Path | None
    #: ``gold-set`` (a folder graded by hand) or ``reviewed-run`` (a run's reviewed leaves).
    source: str = "gold-set"

    @property
    def id(self) -> str:
        return f"{self.meta.paper_id}/{self.meta.name}"

    @property
    def paper_id(self) -> str:
        return self.meta.paper_id


def _meta(root: Path) -> GoldMeta:
    path = root / META_FILE
    if not path.is_file():
        try:
            return GoldMeta(paper_id=root.resolve().parent.name, name=root.resolve().name)
        except ValidationError:
            raise GoldSetError(
                f"{root}: no {META_FILE}, and the folder names do not make a paper id and set "
                "name; add gold.json"
            ) from None
    try:
        return GoldMeta.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(step) for step in first["loc"]) or "(top level)"
        raise GoldSetError(f"{path}: {where}: {first['msg']}") from None


def load_gold_set(root: Path) -> GoldSet:
    """Load the gold set in folder ``root`` (see the module docstring).

    Raises:
        GoldSetError: no expected result, a malformed one or a malformed ``gold.json``, or
            nothing to grade (no submission folder, usable submission.tar or reproduction).
    """
    if not root.is_dir():
        raise GoldSetError(f"{root}: no such gold-set folder")
    meta = _meta(root)
    expected = load_expected(root / EXPECTED_FILE)
    reproduction = root / "reproduction"
    reproduction_dir = (
        reproduction
        if (reproduction / "reproduction.json").is_file() and (reproduction / "submission").is_dir()
        else None
    )
    submission_dir = root / "submission" if (root / "submission").is_dir() else None
    tar = root / "submission.tar"
    submission_tar = None
    if submission_dir is None and tar.is_file():
        if is_lfs_pointer(tar):
            raise GoldSetError(
                f"{tar}: a Git LFS pointer, not the archive; fetch it with `git lfs pull`"
            )
        submission_tar = tar
    if submission_dir is None and submission_tar is None and reproduction_dir is None:
        raise GoldSetError(
            f"{root}: nothing to grade: no submission/, submission.tar or "
            "reproduction/ (with reproduction.json and submission/)"
        )
    return GoldSet(root, meta, expected, submission_dir, submission_tar, reproduction_dir)


def is_gold_set(folder: Path) -> bool:
    return (folder / EXPECTED_FILE).is_file()


def is_reviewed_run(folder: Path) -> bool:
    """A run directory whose grade a reviewer has overridden (``paperbench view``)."""
    grading = folder / "grading"
    return (grading / OVERRIDES_FILE).is_file() and (grading / GRADED_TREE_FILE).is_file()


def find_gold_sets(paths: Sequence[Path]) -> list[Path]:
    """The gold-set folders named by ``paths``: each a set or a reviewed run directory, or a
    folder holding them (a paper's folder, a root of paper folders, a runs folder), searched a
    few levels deep. Order: as given, then by name; each set once.

    Raises:
        GoldSetError: a path that does not exist or holds no gold set.
    """
    found: list[Path] = []

    def search(folder: Path, depth: int) -> None:
        if is_gold_set(folder) or is_reviewed_run(folder):
            found.append(folder)
            return
        if depth >= _SEARCH_DEPTH:
            return
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                search(child, depth + 1)

    for path in paths:
        if not path.is_dir():
            raise GoldSetError(f"{path}: no such folder")
        before = len(found)
        search(path, 0)
        if len(found) == before:
            raise GoldSetError(
                f"{path}: no gold set here (a gold set is a folder with {EXPECTED_FILE}, or a "
                f"run directory with grading/{OVERRIDES_FILE} from `paperbench view`)"
            )
    unique: dict[Path, Path] = {}
    for folder in found:
        unique.setdefault(folder.resolve(), folder)
    return list(unique.values())


def submission_for_grading(gold: GoldSet, work_dir: Path) -> Path | None:
    """The plain submission folder to grade (when the set has no reproduction): the set's
    ``submission/``, or its ``submission.tar`` extracted (safely) under ``work_dir``.

    Raises:
        ArchiveError: the tar is unreadable or unsafe (a PaperbenchError).
    """
    if gold.submission_dir is not None:
        return gold.submission_dir
    if gold.submission_tar is None:
        return None
    target = work_dir / "submission"
    if target.is_dir():
        return target
    unpacked = work_dir / ".unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    safe_extract(gold.submission_tar, unpacked)
    entries = list(unpacked.iterdir())
    inner = unpacked / "submission"
    source = inner if entries == [inner] and inner.is_dir() else unpacked
    source.rename(target)
    shutil.rmtree(unpacked, ignore_errors=True)
    return target


# -- the rubric a set was graded against -----------------------------------------------------


def rubric_of(tree: GoldNode) -> dict[str, Any]:
    """The rubric inside a graded tree: the tree without its grades (other keys kept)."""

    def strip(node: dict[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in node.items() if key not in GRADE_KEYS}
        kept["sub_tasks"] = [strip(child) for child in node.get("sub_tasks", [])]
        return kept

    return strip(tree.model_dump(mode="json", exclude_unset=True))


def structure_differences(tree: GoldNode, rubric: RubricNode, limit: int = 5) -> list[str]:
    """Where ``tree`` does not have ``rubric``'s structure (paths, ids, requirements, weights,
    categories), at most ``limit`` of them; empty when it does."""
    found: list[str] = []

    def visit(gold: GoldNode, node: RubricNode, path: str) -> None:
        if len(found) >= limit:
            return
        where = display_path(path)
        for name, theirs, ours in (
            ("id", gold.id, node.id),
            ("requirements", gold.requirements.strip(), node.requirements.strip()),
            ("weight", gold.weight, node.weight),
            ("task_category", gold.task_category, node.task_category),
            ("children", len(gold.sub_tasks), len(node.sub_tasks)),
        ):
            if theirs != ours:
                found.append(f"{where}: {name} is {theirs!r} in the gold tree, {ours!r} in rubric")
                return
        for index, (child, rubric_child) in enumerate(
            zip(gold.sub_tasks, node.sub_tasks, strict=True)
        ):
            visit(child, rubric_child, join_path(path, index))

    visit(tree, rubric, "")
    return found


def rubric_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _evidence_exists(gold: GoldSet, reference: str) -> bool:
    relative = reference.split(":", 1)[0].strip()
    if not relative or relative.startswith("/") or ".." in Path(relative).parts:
        return False
    bases = [gold.root, gold.root / "reproduction", gold.root / "submission"]
    if gold.reproduction_dir is not None:
        bases.append(gold.reproduction_dir / "submission")
    return any((base / relative).exists() for base in bases)


def check_gold_set(gold: GoldSet, rubric: RubricNode, rubric_path: Path) -> list[str]:
    """What an author must fix before the set is used to measure judges: structure against the
    paper's rubric, the recorded rubric hash, a reason and existing evidence on every leaf.
    Empty when the set is clean."""
    problems = [f"structure: {line}" for line in structure_differences(gold.expected, rubric)]
    digest = rubric_sha256(rubric_path)
    if gold.meta.rubric_sha256 is None:
        problems.append(f"{META_FILE}: no rubric_sha256 (the paper's rubric.json is {digest})")
    elif gold.meta.rubric_sha256 != digest:
        problems.append(
            f"{META_FILE}: rubric_sha256 {gold.meta.rubric_sha256} is not the paper's "
            f"rubric.json ({digest}); re-check the grades against the current rubric"
        )
    for path, leaf in gold.expected.leaves():
        where = f"leaf {display_path(path)}"
        if not leaf.explanation.strip():
            problems.append(f"{where}: no explanation")
        if not leaf.evidence:
            problems.append(f"{where}: no evidence paths")
        for reference in leaf.evidence:
            if not _evidence_exists(gold, reference):
                problems.append(f"{where}: evidence {reference!r} names no file in the set")
    return problems
