"""What a reproduction records: the typed, serialisable result of the reproduction stage.

A reproduction directory holds::

    reproduction.json        this model
    reproduce.log            the graded attempt's combined stdout+stderr, as the judge reads it
    reproduce.attempt-N.log  every attempt's log (N from 1), kept when retries were asked for
                             (and for salvage attempts, whose ``variant`` says how they ran)
    executed_submission.tar  the submission as it was after the graded attempt
    submission/              the same, extracted (what the judge reads)

The top-level ``status``, ``exit_code``, ``timed_out``, ``oom_killed``, ``disk_limit_exceeded``
and ``duration_seconds`` repeat the graded attempt's, so a reader needs no knowledge of retries.
``disk_limit_exceeded``: the sandbox's disk (the paper's ``resources.disk_mb``) filled up while
the script ran; the script was stopped there, like an out-of-memory kill.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from paperbench.contracts import Failure, FailureKind, StageResult

AttemptStatus = Literal[
    "succeeded",
    "failed",
    "timed_out",
    "oom_killed",
    "disk_limit_exceeded",
    "missing_script",
    "invalid_script",
    "empty_submission",
    "rejected_submission",
    "infrastructure_error",
]
#: The failure each outcome stands for in the run record (see :data:`paperbench.contracts.FAILURES`
#: for which are still graded).
STATUS_FAILURES: dict[AttemptStatus, FailureKind | None] = {
    "succeeded": None,
    "failed": "reproduction_failed",
    "timed_out": "timeout",
    "oom_killed": "out_of_memory",
    "disk_limit_exceeded": "disk_limit_exceeded",
    "missing_script": "missing_script",
    "invalid_script": "invalid_script",
    "empty_submission": "empty_submission",
    "rejected_submission": "rejected_submission",
    "infrastructure_error": "infrastructure_error",
}
#: Outcomes whose script never ran: the judge has no log or outputs to read.
DID_NOT_RUN: frozenset[AttemptStatus] = frozenset(
    {"missing_script", "invalid_script", "empty_submission", "rejected_submission"}
)
#: Outcomes that leave nothing to grade at all: every leaf scores 0 by rule.
NOTHING_TO_GRADE: frozenset[AttemptStatus] = frozenset({"empty_submission", "rejected_submission"})
#: Outcomes worth another attempt when the user asks for retries: the script ran and failed.
RETRYABLE: frozenset[AttemptStatus] = frozenset(
    {"failed", "timed_out", "oom_killed", "disk_limit_exceeded"}
)

RESULT_FILE = "reproduction.json"
LOG_FILE = "reproduce.log"
ARCHIVE_FILE = "executed_submission.tar"
EXECUTED_DIR = "submission"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FileRecord(_Record):
    """A file of the submission, relative to its root."""

    path: str
    size: int
    sha256: str


class ExcludedFile(_Record):
    """A file left out of the executed submission's archive, and why."""

    path: str
    size: int
    reason: str


class GitRecord(_Record):
    """What git says of a submission that is a repository (``error`` when git could not)."""

    log: str = ""
    status: str = ""
    error: str | None = None


class Attempt(_Record):
    """One run of ``reproduce.sh`` in its own fresh sandbox."""

    number: int
    status: AttemptStatus
    exit_code: int | None
    duration_seconds: float
    timed_out: bool = False
    oom_killed: bool = False
    disk_limit_exceeded: bool = False
    log_file: str | None = None
    log_bytes: int = 0
    log_truncated: bool = False
    started_at: datetime
    error: str | None = Field(None, description="why the script did not run, when it did not")
    variant: str | None = Field(
        None, description="the salvage variant this attempt ran under (--salvage), if any"
    )


class ReproductionResult(StageResult):
    """The record of the reproduction stage for one submission of one paper."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    FILE: ClassVar[str] = RESULT_FILE

    schema_version: Literal[1] = 1
    paper_id: str
    submission: str = Field(description="the submission folder or archive given")
    image: str
    image_id: str
    timeout_seconds: float
    network: Literal["none", "bridge"]
    cpus: float | None
    memory_mb: int

    status: AttemptStatus
    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    disk_limit_exceeded: bool = False
    duration_seconds: float
    attempts: list[Attempt]
    graded_attempt: int = Field(description="number of the attempt this record describes")
    salvage: bool = Field(default=False, description="--salvage was asked for")
    salvaged: bool = Field(
        default=False, description="the graded attempt is a salvage attempt, not the script as is"
    )

    files_created: list[FileRecord] = Field(default_factory=list)
    files_changed: list[FileRecord] = Field(default_factory=list)
    files_deleted: list[str] = Field(default_factory=list)
    excluded_files: list[ExcludedFile] = Field(default_factory=list)
    git: GitRecord | None = None
    executed_archive: str | None = None
    executed_dir: str | None = None
    notes: list[str] = Field(default_factory=list)
    paperbench_version: str

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def ran(self) -> bool:
        """Whether reproduce.sh ran at all (so there is a log and outputs to judge)."""
        return self.status not in DID_NOT_RUN and self.status != "infrastructure_error"

    def status_line(self) -> str:
        """One sentence for the judge and the terminal: how the script ended."""
        if not self.ran:
            why = self.attempts[-1].error if self.attempts else None
            return f"reproduce.sh did not run ({self.status}): {why or 'no reason recorded'}."
        how = (
            f"ran past its {self.timeout_seconds:g} s limit and was stopped"
            if self.timed_out
            else "was killed for running out of memory"
            if self.oom_killed
            else "was stopped for filling its disk quota"
            if self.disk_limit_exceeded
            else f"exited with status {self.exit_code}"
        )
        return (
            f"reproduce.sh {how} after {self.duration_seconds:.0f} s and created "
            f"{len(self.files_created)} files."
        )

    def failures(self) -> list[Failure]:
        kind = STATUS_FAILURES[self.status]
        if kind is None:
            return []
        reason = self.status_line()
        if self.status == "infrastructure_error" and self.attempts:
            reason = self.attempts[-1].error or "the sandbox failed"
        return [Failure(kind=kind, stage="reproduction", reason=reason)]
