"""What a reproduction records: the typed, serialisable result of the reproduction stage.

A reproduction directory holds::

    reproduction.json        this model
    reproduce.log            the graded attempt's combined stdout+stderr, as the judge reads it
    reproduce.attempt-N.log  every attempt's log (N from 1), kept when retries were asked for
    executed_submission.tar  the submission as it was after the graded attempt
    submission/              the same, extracted (what the judge reads)

The top-level ``status``, ``exit_code``, ``timed_out``, ``oom_killed``, ``disk_limit_exceeded``
and ``duration_seconds`` repeat the graded attempt's, so a reader needs no knowledge of retries.
``disk_limit_exceeded``: the sandbox's disk (the paper's ``resources.disk_mb``) filled up while
the script ran; the script was stopped there, like an out-of-memory kill.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class ReproductionResult(_Record):
    """The record of the reproduction stage for one submission of one paper."""

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
