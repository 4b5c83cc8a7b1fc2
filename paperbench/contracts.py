"""The contract every stage keeps: frozen, fully resolved inputs in; a result that owns its file
out; failures named from one vocabulary.

=============  =====================  =====================================================
stage          inputs                 result (its file, relative to the stage's folder)
=============  =====================  =====================================================
agent          ``AgentInputs``        ``AgentStageResult`` (``agent.json``); the capture of
                                      the submission is the end of this stage
reproduction   ``ReproductionInputs`` ``ReproductionResult`` (``reproduction.json``)
grading        ``GradeInputs``        ``GradeResult`` (``summary.json``)
=============  =====================  =====================================================

A stage is a function ``run(inputs, out_dir, ...) -> Result``. Its inputs hold everything that
decides its result — options, the settings it takes from the paper, digests of the files it
reads (the upstream result, the rubric, the prompt templates, the image id) — so the *hash of
the inputs* (:meth:`StageInputs.fingerprint`) is what resume compares: any change upstream
redoes exactly the stages it reaches. Fields that say where things are or how fast to go (a
folder's location, a concurrency) are marked ``fingerprint=False`` where they are declared
(:func:`paperbench.options.opt`) and are left out of the hash.

A result knows its file (:attr:`StageResult.FILE`, :meth:`load`, :meth:`save`), the failures it
stands for (:meth:`failures`), and whether it is complete (:meth:`complete`; a grade with invalid
leaves is not, so running the same command again retries exactly those leaves).

The failure vocabulary (:data:`FAILURES`) is the one the run record and the leaderboard use: each
kind says whether the run is still graded and whether the stage it came from counts as done.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.errors import PaperbenchError
from paperbench.files import write_json_atomic

FailureKind = Literal[
    "agent_error",
    "infrastructure_error",
    "disqualified",
    "reproduction_failed",
    "timeout",
    "out_of_memory",
    "disk_limit_exceeded",
    "missing_script",
    "invalid_script",
    "empty_submission",
    "rejected_submission",
    "judge_error",
    "judge_invalid",
]


class FailureRule(NamedTuple):
    """What a failure kind means for the run: ``graded`` — the judge still grades what there is
    (leaves nothing could show are scored 0 by rule, with the reason); ``stage_done`` — the stage
    it came from is finished (False: running the same command again redoes it)."""

    graded: bool
    stage_done: bool
    meaning: str


FAILURES: dict[FailureKind, FailureRule] = {
    "agent_error": FailureRule(
        True, True, "the agent crashed or its model's API kept failing; what it left is graded"
    ),
    "infrastructure_error": FailureRule(
        False, False, "the harness could not do its part (Docker, a sandbox); re-run to redo it"
    ),
    "disqualified": FailureRule(
        False, True, "the blacklist monitor found a violation; score 0 whatever the submission"
    ),
    "reproduction_failed": FailureRule(True, True, "reproduce.sh exited with a non-zero status"),
    "timeout": FailureRule(True, True, "reproduce.sh ran past its time limit"),
    "out_of_memory": FailureRule(True, True, "reproduce.sh was killed for running out of memory"),
    "disk_limit_exceeded": FailureRule(
        True, True, "reproduce.sh was stopped for writing past its disk quota"
    ),
    "missing_script": FailureRule(
        True, True, "no reproduce.sh: execution and result leaves score 0 by rule"
    ),
    "invalid_script": FailureRule(
        True, True, "bash cannot parse reproduce.sh: execution and result leaves score 0 by rule"
    ),
    "empty_submission": FailureRule(True, True, "the submission is empty: every leaf scores 0"),
    "rejected_submission": FailureRule(
        True, True, "the submission's archive was unsafe and refused: every leaf scores 0"
    ),
    "judge_error": FailureRule(
        False,
        False,
        "the judge could not be used (refused connection, key or model); re-run to grade",
    ),
    "judge_invalid": FailureRule(
        True, True, "some leaves could not be graded; they count 0 and a re-run retries them"
    ),
}


class Failure(BaseModel):
    """One way a run went wrong, with the stage it happened in and why (in one line)."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    stage: str
    reason: str


class ResultFileError(PaperbenchError):
    """A stage's result file is missing or is not the record it should be."""


def _unhashed(model: type[BaseModel]) -> set[str]:
    skipped = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("fingerprint") is False:
            skipped.add(name)
    return skipped


def _hashable(model: BaseModel) -> Any:
    """The model as plain JSON values, without the fields marked ``fingerprint=False`` at any
    depth."""
    skipped = _unhashed(type(model))
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name in skipped:
            continue
        values[name] = _plain(getattr(model, name))
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _hashable(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(item) for item in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if isinstance(value, Path):
        return str(value)
    return value


class StageInputs(BaseModel):
    """Everything one stage's result depends on, resolved before the stage starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def fingerprint(self) -> str:
        """A hash of every field that decides the result (see the module docstring)."""
        text = json.dumps(_hashable(self), sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class RecordFile(BaseModel):
    """A record that owns its file: the name, and how it is read and written."""

    FILE: ClassVar[str]

    @classmethod
    def path_in(cls, folder: Path) -> Path:
        return folder / cls.FILE

    @classmethod
    def load(cls, folder: Path) -> Self:
        """The record saved in ``folder``.

        Raises:
            ResultFileError: the file is missing, not JSON, or not this record (the message
                names the file and the first field that is wrong).
        """
        path = cls.path_in(folder)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ResultFileError(f"{path}: missing") from None
        except OSError as error:
            raise ResultFileError(f"{path}: unreadable ({error.strerror})") from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(file)"
            raise ResultFileError(f"{path}: {where}: {first['msg']}") from None

    def save(self, folder: Path) -> Path:
        """Write the record into ``folder`` atomically; returns its path."""
        path = self.path_in(folder)
        write_json_atomic(path, self.model_dump_json(indent=2))
        return path


class StageResult(RecordFile):
    """A stage's record, in the stage's folder, with the failures it stands for."""

    def failures(self) -> list[Failure]:
        """The failures this result stands for (none by default)."""
        return []

    def complete(self) -> bool:
        """False when running the stage again with the same inputs could do better."""
        return True


def located(default: Any = ..., help: str = "") -> Any:
    """A field that says where something is, not what it is: left out of the fingerprint (a
    digest of what is there sits beside it), so moving a folder never redoes a stage."""
    return Field(default, description=help, json_schema_extra={"fingerprint": False})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(root: Path) -> str:
    """A hash of every file's relative path and bytes under ``root`` (a file: its bytes).
    Symbolic links count by their target text and are never followed."""
    if root.is_file():
        return file_sha256(root)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
        if path.is_symlink():
            digest.update(b"L" + relative + b"\0" + str(path.readlink()).encode() + b"\0")
        elif path.is_file():
            digest.update(b"F" + relative + b"\0" + bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()
