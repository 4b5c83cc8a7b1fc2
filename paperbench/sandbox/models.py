"""The data of the sandbox contract: what a sandbox may do (:class:`SandboxSpec`), what a
command did (:class:`ExecResult`), and the two plain records a backend works with."""

from __future__ import annotations

import posixpath
import re
import threading
from dataclasses import dataclass, field
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paperbench.sandbox import labels
from paperbench.sandbox.errors import CommandFailedError, CommandTimedOutError
from paperbench.sandbox.images import BASE_IMAGE
from paperbench.sandbox.output import CappedBuffer

MiB = 1024 * 1024
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class SandboxSpec(BaseModel):
    """What a sandbox is allowed, fixed before it starts.

    Unknown keys are refused (a misspelt ``netwrok: none`` must not silently fall back to
    something else), and the defaults are the hardened ones: no network, no GPUs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    image: str = BASE_IMAGE
    run_id: str = Field("adhoc", pattern=NAME)
    stage: str = Field("adhoc", pattern=NAME)
    cpus: float | None = Field(None, gt=0, description="CPU quota; None means no quota")
    memory_mb: int = Field(4096, ge=16, description="memory limit; swap is not allowed beyond it")
    disk_mb: int = Field(
        10240, ge=16, description="docker: disk the sandbox may fill (work folder and root)"
    )
    disk_quota: Literal["auto", "loop", "memory"] = Field(
        "auto",
        description="docker: how disk_mb is held (see paperbench.sandbox.disks); auto takes "
        "a loop disk where the harness can make one, else memory",
    )
    pids_limit: int = Field(1024, ge=16)
    gpus: tuple[str, ...] = Field((), description="GPU device ids (index or UUID), never 'all'")
    network: str = Field(
        "none",
        pattern=r"^(none|bridge|paperbench-[A-Za-z0-9_.-]{1,200})$",
        description="none, bridge, or a run's own network (paperbench.sandbox.networks)",
    )
    user: str | None = Field(None, description="default user for commands; None: the image's")
    env: dict[str, str] = Field(default_factory=dict)
    work_dir: str = Field("/home", description="the work volume's mount point and default cwd")
    labels: dict[str, str] = Field(default_factory=dict)
    output_limit_bytes: int = Field(MiB, ge=0, description="kept per stream of each exec")
    read_limit_bytes: int = Field(100 * MiB, ge=0, description="largest file read_file returns")
    download_limit_bytes: int = Field(2048 * MiB, ge=0, description="largest download archive")
    read_only_root: bool = Field(False, description="docker: root filesystem read-only")
    allow_unsafe_local: bool = Field(False, description="local: accept running with no isolation")

    @field_validator("gpus")
    @classmethod
    def _explicit_gpus(cls, gpus: tuple[str, ...]) -> tuple[str, ...]:
        for gpu in gpus:
            if not re.fullmatch(r"[0-9]+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-fA-F-]+", gpu):
                raise ValueError(
                    f"gpus: {gpu!r} is not a device index or UUID; list each GPU this sandbox "
                    "may use (sandboxes never get 'all' GPUs)"
                )
        return gpus

    @field_validator("labels")
    @classmethod
    def _own_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith(labels.PREFIX):
                raise ValueError(f"labels: {key!r} is reserved for paperbench's own labels")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"env: {key!r} is not a valid variable name")
        return value

    @field_validator("work_dir")
    @classmethod
    def _absolute_work_dir(cls, value: str) -> str:
        if not value.startswith("/") or value == "/":
            raise ValueError(f"work_dir: {value!r} must be an absolute path other than /")
        return posixpath.normpath(value)


class ExecResult(BaseModel):
    """What a command did. A failure of the command is data here, not an exception.

    ``disk_limit_exceeded``: the sandbox's disk (``spec.disk_mb``) filled up while the command
    ran; the command was then stopped, as the kernel stops one at the memory limit."""

    model_config = ConfigDict(frozen=True)

    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    oom_killed: bool = False
    disk_limit_exceeded: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    stdout_bytes: int = 0
    stderr_bytes: int = 0

    @property
    def success(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def check(self) -> Self:
        """Return self if the command succeeded.

        Raises:
            CommandTimedOutError: it was killed at its timeout.
            CommandFailedError: it exited non-zero (``oom_killed`` says if memory ran out).
        """
        if self.timed_out:
            raise CommandTimedOutError(f"command timed out after {self.duration_s:.1f}s", self)
        if self.exit_code != 0:
            why = " (killed: out of memory)" if self.oom_killed else ""
            why = " (the sandbox's disk filled up)" if self.disk_limit_exceeded else why
            tail = self.stderr.strip().splitlines()[-1:] or [""]
            raise CommandFailedError(f"command exited {self.exit_code}{why}: {tail[0]}", self)
        return self


@dataclass
class ExecRequest:
    """One command, as a backend receives it: paths resolved, defaults applied."""

    argv: list[str]
    stdin: bytes | None
    cwd: str
    env: dict[str, str]
    user: str | None
    timeout: float | None
    output_limit: int
    abort: threading.Event = field(default_factory=threading.Event)


@dataclass
class RawResult:
    """A backend's report of one command; :class:`Sandbox` turns it into :class:`ExecResult`."""

    exit_code: int
    stdout: CappedBuffer
    stderr: CappedBuffer
    duration_s: float
    timed_out: bool = False
    oom_killed: bool = False
    disk_limit_exceeded: bool = False

    def to_result(self) -> ExecResult:
        return ExecResult(
            exit_code=self.exit_code,
            stdout=self.stdout.value().decode("utf-8", errors="replace"),
            stderr=self.stderr.value().decode("utf-8", errors="replace"),
            duration_s=round(self.duration_s, 4),
            timed_out=self.timed_out,
            oom_killed=self.oom_killed,
            disk_limit_exceeded=self.disk_limit_exceeded,
            stdout_truncated=self.stdout.truncated,
            stderr_truncated=self.stderr.truncated,
            stdout_bytes=self.stdout.total,
            stderr_bytes=self.stderr.total,
        )
