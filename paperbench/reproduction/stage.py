"""The reproduction stage: run a submission's ``reproduce.sh`` in a fresh sandbox and keep
everything it tells us.

Its contract (:mod:`paperbench.contracts`): :class:`ReproductionInputs` in — the submission's
digest, the image and its id, the time limit, retries, network and resources resolved from the
paper's ``config.yaml`` and the user's options — and
:class:`~paperbench.reproduction.result.ReproductionResult` (``reproduction.json``) out, through
the one entry point :func:`reproduce`.

Guarantees:

- Every attempt starts from a clean image in a new sandbox, with the paper's network policy,
  resources and time limit, and nothing of the agent's container (its installed packages, its
  files outside the submission, its environment).
- Success is the exit status of ``bash -o pipefail reproduce.sh`` run from the submission root:
  a failing command in a pipeline fails the pipeline. No pattern in the output counts.
- Retries happen only when the user asks for them, only after the script ran and failed (exit
  status, timeout or out-of-memory), each in a fresh sandbox, each kept in the record. The
  attempt graded is the first success, else the last attempt. (PaperBench re-ran short scripts
  whatever their outcome and graded the last run; a success could be replaced by a failure.)
- Salvaging (``--salvage``, off by default) is PaperBench's second chance for a script that
  failed quickly: when the graded attempt failed within :data:`SALVAGE_THRESHOLD_SECONDS` (and
  the time limit is longer than that, as PaperBench requires), the script runs again in fresh
  sandboxes under PaperBench's environment variants in its order — ``python3`` as Python 3.11,
  a fresh ``venv``, both — after removing the submission's own ``venv``/``.venv`` (the venv a
  variant makes is removed again after the run), until one succeeds or runs past the
  threshold. Each attempt records its ``variant``, and the record says whether the graded one
  was salvaged. Unlike PaperBench, a quick success is never re-run.
- A submission that cannot run — no files, no ``reproduce.sh``, a script bash cannot parse, an
  archive that tries to escape its folder — is recorded as such, never raised.
- Files over the per-file size limit are left out of the executed submission's archive and
  listed with the reason; everything else the script left is kept for the judge.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field

from paperbench import __version__
from paperbench.contracts import StageInputs, located, tree_sha256
from paperbench.papers import NetworkPolicy, PaperBundle
from paperbench.reproduction.inventory import Changes, Inventory, compare, read_listing
from paperbench.reproduction.options import ReproductionOptions
from paperbench.reproduction.result import (
    ARCHIVE_FILE,
    EXECUTED_DIR,
    LOG_FILE,
    RETRYABLE,
    Attempt,
    AttemptStatus,
    ExcludedFile,
    GitRecord,
    ReproductionResult,
)
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.base import ExecResult, Sandbox, SandboxSpec
from paperbench.sandbox.errors import ArchiveError, FileTooLargeError, SandboxError
from paperbench.sandbox.images import REPRODUCER_IMAGE

MiB = 1024 * 1024
#: Where the submission goes, under the sandbox's work folder (``/home`` in our images, as in
#: the agent's container, so absolute paths an agent wrote keep working).
SUBMISSION_NAME = "submission"
#: PaperBench's ``ReproductionConfig.retry_threshold``: only a script that failed within this
#: many seconds is salvaged.
SALVAGE_THRESHOLD_SECONDS = 600.0
_PYTHON_311 = (
    "if command -v python3.11 >/dev/null 2>&1; then "
    'shim="${TMPDIR:-/tmp}/paperbench-python-$$"; mkdir -p "$shim" && '
    'ln -sf "$(command -v python3.11)" "$shim/python3" && '
    'ln -sf "$(command -v python3.11)" "$shim/python" && export PATH="$shim:$PATH"; '
    'else echo "[paperbench] salvage: this image has no python3.11"; fi'
)
_VENV = "python3 -m venv venv && . venv/bin/activate"
#: PaperBench's salvage variants, in its order, and the shell that sets each up.
SALVAGE_VARIANTS: tuple[tuple[str, str], ...] = (
    ("python3.11", _PYTHON_311),
    ("venv", _VENV),
    ("python3.11+venv", f"{_PYTHON_311}; {_VENV}"),
)
SandboxFactory = Callable[[SandboxSpec], Sandbox]


class ReproductionInputs(StageInputs):
    """Everything a reproduction's result depends on, resolved (see :meth:`resolve`)."""

    paper_id: str
    submission: Path = located(help="the submission folder or archive (its digest is below)")
    submission_sha256: str
    image: str = REPRODUCER_IMAGE
    image_id: str = ""
    timeout_seconds: float = Field(gt=0)
    retries: int = Field(default=0, ge=0)
    network: NetworkPolicy = "none"
    cpus: float | None = None
    memory_mb: int = 4096
    disk_mb: int = 10240
    gpus: tuple[str, ...] = ()
    max_file_bytes: int = Field(default=100 * MiB, gt=0)
    log_limit_bytes: int = Field(default=8 * MiB, gt=0)
    salvage: bool = False
    salvage_threshold_seconds: float = Field(default=SALVAGE_THRESHOLD_SECONDS, gt=0)
    run_id: str = located("adhoc")

    @classmethod
    def resolve(
        cls,
        paper: PaperBundle,
        submission: Path,
        options: ReproductionOptions,
        *,
        image_id: str = "",
        run_id: str = "adhoc",
        gpus: tuple[str, ...] = (),
    ) -> ReproductionInputs:
        """The inputs of reproducing ``submission`` (a folder or an archive) for ``paper``.

        Raises:
            FileNotFoundError: ``submission`` does not exist.
        """
        if not submission.exists():
            raise FileNotFoundError(f"{submission}: no such submission folder or archive")
        config = paper.config
        return cls(
            paper_id=paper.id,
            submission=submission,
            submission_sha256=tree_sha256(submission),
            image=options.reproducer_image,
            image_id=image_id,
            timeout_seconds=options.reproduction_timeout
            or float(config.reproduction.time_limit_seconds),
            retries=options.reproduction_retries,
            salvage=options.salvage,
            network=config.reproduction.network,
            cpus=config.resources.cpus,
            memory_mb=config.resources.memory_mb,
            disk_mb=config.resources.disk_mb,
            gpus=gpus,
            run_id=run_id,
        )


@dataclass
class _Outcome:
    attempt: Attempt
    changes: Changes | None = None
    excluded: list[ExcludedFile] | None = None
    git: GitRecord | None = None
    notes: list[str] | None = None


def prepare_submission(source: Path, workspace: Path) -> Path:
    """The submission as a host folder: ``source`` itself, or an archive extracted safely.

    An archive whose members sit under one top-level folder (as captured from an agent's
    ``/home/submission``) is unwrapped to that folder.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        ArchiveError: the archive is unreadable, unsafe (the message names the member) or too big.
    """
    if source.is_dir():
        return source
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such submission folder or archive")
    target = workspace / "extracted"
    safe_extract(source, target)
    entries = list(target.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not (target / "reproduce.sh").exists():
        return entries[0]
    return target


def _host_precheck(folder: Path) -> tuple[AttemptStatus, str] | None:
    if not any(path.is_file() or path.is_symlink() for path in folder.rglob("*")):
        return "empty_submission", "the submission has no files"
    script = folder / "reproduce.sh"
    if not script.is_file():
        return "missing_script", "the submission has no reproduce.sh at its root"
    return None


def _status_of(result: ExecResult) -> AttemptStatus:
    if result.timed_out:
        return "timed_out"
    if result.oom_killed:
        return "oom_killed"
    if result.disk_limit_exceeded:
        return "disk_limit_exceeded"
    return "succeeded" if result.exit_code == 0 else "failed"


async def _inventory(sandbox: Sandbox) -> Inventory:
    """The submission's files, listed and hashed on the host from the archive stream the
    backend builds: no program of the sandbox runs.

    Raises:
        SandboxError: the sandbox is gone, or its stream cannot be read.
    """
    limit = sandbox.spec.download_limit_bytes
    try:
        listing = await sandbox.read_archive(
            SUBMISSION_NAME,
            lambda stream: read_listing(stream, SUBMISSION_NAME, limit),
            limit=limit,
        )
    except ArchiveError as error:
        raise SandboxError(f"cannot list the submission in the sandbox: {error}") from None
    return listing.inventory


async def _git_record(sandbox: Sandbox) -> GitRecord | None:
    root = sandbox.resolve(SUBMISSION_NAME)
    probe = await sandbox.exec(["test", "-d", f"{root}/.git"])
    if probe.exit_code != 0:
        return None
    # Hooks and fsmonitor are configuration an untrusted repository controls: turn them off.
    git = [
        "git",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        f"safe.directory={root}",
        "-C",
        root,
    ]
    log = await sandbox.exec([*git, "log", "--oneline", "-n", "200"], timeout=60)
    if log.exit_code == 127:
        return GitRecord(error="the submission is a git repository but the image has no git")
    status = await sandbox.exec([*git, "status", "--porcelain"], timeout=60)
    error = (
        None
        if log.exit_code == 0 and status.exit_code == 0
        else ((log.stderr or status.stderr).strip()[:500])
    )
    return GitRecord(log=log.stdout, status=status.stdout, error=error)


class _Runner:
    def __init__(
        self,
        options: ReproductionInputs,
        out_dir: Path,
        factory: SandboxFactory,
    ) -> None:
        self.options = options
        self.out_dir = out_dir
        self.factory = factory
        self.timeout = options.timeout_seconds
        self.spec = SandboxSpec(
            image=options.image,
            run_id=options.run_id,
            stage="reproduction",
            cpus=options.cpus,
            memory_mb=options.memory_mb,
            disk_mb=options.disk_mb,
            gpus=options.gpus,
            network=options.network,
            output_limit_bytes=options.log_limit_bytes,
        )
        self.image_id = ""

    async def attempt(
        self, number: int, folder: Path, keep: bool, variant: tuple[str, str] | None = None
    ) -> _Outcome:
        started = datetime.now(UTC)
        command = "exec bash -o pipefail reproduce.sh 2>&1"
        if variant is not None:
            # The venv a variant makes is the harness's, not the submission's: it is removed
            # after the run (its links point outside the submission, which would make the
            # executed submission unkeepable).
            command = (
                f"{{ rm -rf venv .venv && {variant[1]}; }} 2>&1 && "
                "{ bash -o pipefail reproduce.sh 2>&1; status=$?; "
                f"{'rm -rf venv; ' if 'venv' in variant[0] else ''}exit $status; }}"
            )
        log_name = f"reproduce.attempt-{number}.log"
        try:
            async with self.factory(self.spec) as sandbox:
                self.image_id = sandbox.describe().get("image_id", self.image_id)
                await sandbox.upload(folder, SUBMISSION_NAME)
                parse = await sandbox.exec(
                    ["bash", "-n", "reproduce.sh"], cwd=SUBMISSION_NAME, timeout=60
                )
                if parse.exit_code != 0:
                    return _Outcome(
                        Attempt(
                            number=number,
                            status="invalid_script",
                            exit_code=parse.exit_code,
                            duration_seconds=0.0,
                            started_at=started,
                            error=f"bash cannot parse reproduce.sh: {parse.stderr.strip()[:1000]}",
                        )
                    )
                before = await _inventory(sandbox)
                run = await sandbox.exec(
                    ["bash", "-c", command], cwd=SUBMISSION_NAME, timeout=self.timeout
                )
                (self.out_dir / log_name).write_text(run.stdout, encoding="utf-8")
                attempt = Attempt(
                    number=number,
                    status=_status_of(run),
                    exit_code=None if run.timed_out else run.exit_code,
                    duration_seconds=run.duration_s,
                    timed_out=run.timed_out,
                    oom_killed=run.oom_killed,
                    disk_limit_exceeded=run.disk_limit_exceeded,
                    log_file=log_name,
                    log_bytes=run.stdout_bytes,
                    log_truncated=run.stdout_truncated,
                    started_at=started,
                    variant=variant[0] if variant else None,
                )
                if not keep and attempt.status in RETRYABLE:
                    return _Outcome(attempt)
                return await self._collect(sandbox, attempt, before)
        except SandboxError as error:
            return _Outcome(
                Attempt(
                    number=number,
                    status="infrastructure_error",
                    exit_code=None,
                    duration_seconds=(datetime.now(UTC) - started).total_seconds(),
                    started_at=started,
                    error=str(error),
                    variant=variant[0] if variant else None,
                )
            )

    async def _collect(self, sandbox: Sandbox, attempt: Attempt, before: Inventory) -> _Outcome:
        """What the script left: git's view first (the last command run in the sandbox), then
        the sandbox is stopped — every process it started dies, however it escaped — and the
        folder is listed, hashed and archived on the host from one reading of its stream."""
        git = await _git_record(sandbox)
        await sandbox.stop()
        notes: list[str] = []
        archive = self.out_dir / ARCHIVE_FILE
        partial = archive.with_name(archive.name + ".partial")
        limit = sandbox.spec.download_limit_bytes
        try:
            listing = await sandbox.read_archive(
                SUBMISSION_NAME,
                lambda stream: read_listing(
                    stream,
                    SUBMISSION_NAME,
                    limit,
                    archive=partial,
                    max_file_bytes=self.options.max_file_bytes,
                ),
                limit=limit,
            )
            partial.replace(archive)
            executed = self.out_dir / EXECUTED_DIR
            shutil.rmtree(executed, ignore_errors=True)
            with tempfile.TemporaryDirectory(dir=self.out_dir) as scratch:
                safe_extract(archive, Path(scratch))
                Path(scratch, "submission").rename(executed)
        except (FileTooLargeError, ArchiveError) as error:
            partial.unlink(missing_ok=True)
            archive.unlink(missing_ok=True)
            notes.append(f"the executed submission was not kept: {error}")
            return _Outcome(attempt, None, None, git, notes)
        changes = compare(before, listing.inventory)
        return _Outcome(attempt, changes, listing.excluded, git, [*notes, *listing.notes])


def _salvageable(options: ReproductionInputs, attempt: Attempt) -> bool:
    """Whether PaperBench would salvage ``attempt`` (see the module docstring)."""
    threshold = options.salvage_threshold_seconds
    return (
        options.salvage
        and threshold < options.timeout_seconds
        and attempt.status in RETRYABLE
        and attempt.duration_seconds < threshold
    )


async def reproduce(
    options: ReproductionInputs, out_dir: Path, sandboxes: SandboxFactory
) -> ReproductionResult:
    """Reproduce ``options.submission`` (a folder or a tar archive) into ``out_dir``.

    Writes ``reproduction.json``, ``reproduce.log``, the attempt logs, and the executed
    submission (archive and folder) into ``out_dir``, and returns the record.

    Raises:
        FileNotFoundError: the submission does not exist.
        DockerUnavailableError, ImageMissingError: from the sandbox factory, before any attempt.
    """
    submission = options.submission
    out_dir.mkdir(parents=True, exist_ok=True)
    runner = _Runner(options, out_dir, sandboxes)
    attempts: list[Attempt] = []
    graded: _Outcome
    with tempfile.TemporaryDirectory(prefix="paperbench-submission-") as workspace:
        try:
            folder = prepare_submission(submission, Path(workspace))
            precheck = _host_precheck(folder)
        except ArchiveError as error:
            precheck = ("rejected_submission", str(error))
        if precheck is not None:
            status, why = precheck
            graded = _Outcome(
                Attempt(
                    number=1,
                    status=status,
                    exit_code=None,
                    duration_seconds=0.0,
                    started_at=datetime.now(UTC),
                    error=why,
                )
            )
            attempts.append(graded.attempt)
        else:
            total = 1 + max(0, options.retries)
            for number in range(1, total + 1):
                graded = await runner.attempt(number, folder, keep=number == total)
                attempts.append(graded.attempt)
                if graded.attempt.status not in RETRYABLE:
                    break
            if _salvageable(options, graded.attempt):
                for variant in SALVAGE_VARIANTS:
                    graded = await runner.attempt(
                        len(attempts) + 1, folder, keep=True, variant=variant
                    )
                    attempts.append(graded.attempt)
                    if not _salvageable(options, graded.attempt):
                        break
    chosen = graded.attempt
    if chosen.log_file:
        shutil.copyfile(out_dir / chosen.log_file, out_dir / LOG_FILE)
    else:
        (out_dir / LOG_FILE).write_text(f"[paperbench] reproduce.sh did not run: {chosen.error}\n")
    changes = graded.changes
    result = ReproductionResult(
        paper_id=options.paper_id,
        submission=str(submission),
        image=options.image,
        image_id=runner.image_id,
        timeout_seconds=runner.timeout,
        network=runner.spec.network,
        cpus=runner.spec.cpus,
        memory_mb=runner.spec.memory_mb,
        status=chosen.status,
        exit_code=chosen.exit_code,
        timed_out=chosen.timed_out,
        oom_killed=chosen.oom_killed,
        disk_limit_exceeded=chosen.disk_limit_exceeded,
        duration_seconds=chosen.duration_seconds,
        attempts=attempts,
        graded_attempt=chosen.number,
        salvage=options.salvage,
        salvaged=chosen.variant is not None,
        files_created=changes.created if changes else [],
        files_changed=changes.changed if changes else [],
        files_deleted=changes.deleted if changes else [],
        excluded_files=graded.excluded or [],
        git=graded.git,
        executed_archive=ARCHIVE_FILE if (out_dir / ARCHIVE_FILE).exists() else None,
        executed_dir=EXECUTED_DIR if (out_dir / EXECUTED_DIR).exists() else None,
        notes=graded.notes or [],
        paperbench_version=__version__,
    )
    result.save(out_dir)
    return result
