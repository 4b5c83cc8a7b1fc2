"""The local backend: a temporary folder and subprocesses on this machine, isolating nothing.

It exists for developing agents and for machines without Docker, and it refuses to start
unless asked for explicitly (``allow_unsafe_local=True`` in the spec, or
``PAPERBENCH_ALLOW_UNSAFE_LOCAL=1``): a command in it can read and write anything the harness's
user can, reach the network, and exhaust memory. What it does keep from the contract:

- Commands see only a minimal environment (``PATH``, ``HOME``, ``LANG`` and what the spec and
  the call add), never the harness's own, so API keys in the harness's environment stay there.
- Timeouts kill the whole process tree: each command starts a new session (its own process
  group), which is killed with SIGKILL, and processes that left it are found by the marker
  variable in their environment (on Linux, through ``/proc``).
- Output caps, users (only when the harness runs as root), cwd and file semantics as Docker.

Spec fields that need a container (memory, disk, pids, CPUs, GPUs, network, read-only root)
have no effect here, and :meth:`stop` kills only the processes it can find by their marker.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from paperbench.sandbox.archives import LimitedWriter, pack_for_upload, safe_extract
from paperbench.sandbox.base import Sandbox
from paperbench.sandbox.docker_backend import DRAIN, EXEC_TAG
from paperbench.sandbox.errors import (
    FileTooLargeError,
    SandboxError,
    SandboxGoneError,
    UnknownUserError,
    UnsafeLocalSandboxError,
)
from paperbench.sandbox.models import ExecRequest, RawResult, SandboxSpec
from paperbench.sandbox.output import CappedBuffer

OPT_IN_ENV = "PAPERBENCH_ALLOW_UNSAFE_LOCAL"
#: After the command itself exits, how long to wait for children still holding its output
#: (Docker waits about as long before it ends an exec's stream).
AFTER_EXIT = 2.0
TICK = 0.25
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LocalSandbox(Sandbox):
    """Commands run directly on this machine, in a temporary work folder (see module doc)."""

    backend = "local"

    def __init__(self, spec: SandboxSpec) -> None:
        """Raises:
        UnsafeLocalSandboxError: neither the spec nor the environment opts in.
        """
        if not (spec.allow_unsafe_local or os.environ.get(OPT_IN_ENV) == "1"):
            raise UnsafeLocalSandboxError(
                "the local sandbox runs commands directly on this machine with no isolation "
                "(they can read your files and keys, and reach the network); set "
                f"allow_unsafe_local=True in the sandbox spec or {OPT_IN_ENV}=1 to accept that, "
                "or use the docker backend"
            )
        super().__init__(spec)
        self._dir: str | None = None
        self._running: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
        self._tags: set[str] = set()
        self._running_lock = threading.Lock()

    @property
    def work_dir(self) -> str:
        if self._dir is None:
            raise SandboxGoneError("the sandbox was not started")
        return self._dir

    # -- lifecycle -------------------------------------------------------------------------------

    def _start_sync(self) -> None:
        prefix = f"paperbench-{self.spec.run_id}-{self.spec.stage}-"
        self._dir = tempfile.mkdtemp(prefix=prefix)
        switch = self._user_switch(self.spec.user)
        if switch:
            os.chown(self._dir, switch["user"], switch["group"])

    def _freeze_sync(self, frozen: bool) -> None:
        """SIGSTOP (or SIGCONT) every running command's group and every marked process."""
        with self._running_lock:
            running = [process for process, _ in self._running.values()]
            tags = set(self._tags)
        signum = signal.SIGSTOP if frozen else signal.SIGCONT
        for process in running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signum)
        _signal_tagged(tags, signum)

    def _teardown_processes(self) -> None:
        with self._running_lock:
            running = list(self._running.values())
            tags = set(self._tags)
        for process, tag in running:
            _kill_tree(process, tag)
        # Background processes of finished commands: found by their marker, never by a
        # process group id, which may since belong to someone else.
        _kill_tagged(tags)

    def _teardown_sync(self) -> None:
        self._teardown_processes()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    # -- commands --------------------------------------------------------------------------------

    def _user_switch(self, user: str | None) -> dict[str, Any]:
        """Popen arguments to run as ``user``; empty when no switch is needed.

        Raises:
            UnknownUserError: no such user on this machine.
            SandboxError: switching needs root and the harness is not root.
        """
        if user is None:
            return {}
        try:
            entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        except (KeyError, ValueError):
            raise UnknownUserError(f"user {user!r} does not exist on this machine") from None
        if entry.pw_uid == os.geteuid():
            return {}
        if os.geteuid() != 0:
            raise SandboxError(
                f"the local sandbox cannot run commands as {user!r}: only root can switch users"
            )
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _environment(self, request: ExecRequest, tag: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", DEFAULT_PATH),
            "HOME": self.work_dir,
            "LANG": "C.UTF-8",
            **request.env,
            EXEC_TAG: tag,
        }

    def _exec_sync(self, request: ExecRequest) -> RawResult:
        switch = self._user_switch(request.user)
        if not os.path.isdir(request.cwd):
            raise FileNotFoundError(2, "working folder does not exist", request.cwd)
        tag = uuid.uuid4().hex
        stdout, stderr = CappedBuffer(request.output_limit), CappedBuffer(request.output_limit)
        started = time.monotonic()
        environment = self._environment(request, tag)
        if "/" not in request.argv[0] and not shutil.which(
            request.argv[0], path=environment["PATH"]
        ):
            stderr.feed(f"{request.argv[0]}: command not found\n".encode())
            return RawResult(127, stdout, stderr, time.monotonic() - started)
        with self._running_lock:
            self._tags.add(tag)
        try:
            process = subprocess.Popen(
                request.argv,
                stdin=subprocess.PIPE if request.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=request.cwd,
                env=environment,
                start_new_session=True,
                **switch,
            )
        except FileNotFoundError:
            stderr.feed(f"{request.argv[0]}: command not found\n".encode())
            return RawResult(127, stdout, stderr, time.monotonic() - started)
        except PermissionError:
            stderr.feed(f"{request.argv[0]}: permission denied\n".encode())
            return RawResult(126, stdout, stderr, time.monotonic() - started)
        with self._running_lock:
            self._running[process.pid] = (process, tag)
        try:
            deadline = None if request.timeout is None else started + request.timeout
            stopped = self._pump(process, request, stdout, stderr, deadline)
            if stopped is not None:
                _kill_tree(process, tag)
                self._pump(process, request, stdout, stderr, time.monotonic() + DRAIN, watch=False)
            returncode = process.wait()
        finally:
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            with self._running_lock:
                self._running.pop(process.pid, None)
        exit_code = 128 - returncode if returncode < 0 else returncode
        duration = time.monotonic() - started
        return RawResult(exit_code, stdout, stderr, duration, timed_out=stopped == "deadline")

    def _pump(
        self,
        process: subprocess.Popen[bytes],
        request: ExecRequest,
        stdout: CappedBuffer,
        stderr: CappedBuffer,
        deadline: float | None,
        *,
        watch: bool = True,
    ) -> str | None:
        """Feed stdin and read both pipes until they close (None), the deadline, or (when
        ``watch``) an abort or a close. Once the command has exited, children still holding
        its pipes get :data:`AFTER_EXIT` seconds."""
        with selectors.DefaultSelector() as selector:
            for pipe, sink in ((process.stdout, stdout), (process.stderr, stderr)):
                if pipe is not None and not pipe.closed:
                    os.set_blocking(pipe.fileno(), False)
                    selector.register(pipe, selectors.EVENT_READ, sink)
            pending = memoryview(request.stdin) if request.stdin is not None else None
            if process.stdin is not None and not process.stdin.closed:
                if pending:
                    os.set_blocking(process.stdin.fileno(), False)
                    selector.register(process.stdin, selectors.EVENT_WRITE, None)
                else:
                    process.stdin.close()
            exited_at: float | None = None
            while selector.get_map():
                if watch and request.abort.is_set():
                    return "abort"
                if watch and self._closing.is_set():
                    return "closed"
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    return "deadline"
                if exited_at is None and process.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at >= AFTER_EXIT:
                    return None
                wait = TICK if deadline is None else max(0.0, min(TICK, deadline - now))
                for key, _ in selector.select(wait):
                    if key.data is None:
                        pending = self._feed_stdin(selector, key.fileobj, pending)
                        continue
                    try:
                        data = os.read(key.fd, 256 * 1024)
                    except BlockingIOError:
                        continue
                    if data:
                        key.data.feed(data)
                    else:
                        selector.unregister(key.fileobj)
        return None

    @staticmethod
    def _feed_stdin(
        selector: selectors.BaseSelector, pipe: Any, pending: memoryview | None
    ) -> memoryview | None:
        try:
            if pending:
                pending = pending[os.write(pipe.fileno(), pending[: 64 * 1024]) :]
        except BlockingIOError:
            return pending
        except OSError:  # the command closed its stdin
            pending = None
        if not pending:
            selector.unregister(pipe)
            with contextlib.suppress(OSError):
                pipe.close()
            return None
        return pending

    # -- files -----------------------------------------------------------------------------------

    def _upload_sync(self, source: Path, dest: str) -> None:
        self._mkdir_as_user(dest)
        switch = self._user_switch(self.spec.user)
        uid, gid = switch.get("user", os.geteuid()), switch.get("group", os.getegid())
        with tempfile.TemporaryFile() as packed:
            pack_for_upload(source, packed, uid=uid, gid=gid)
            packed.seek(0)
            report = safe_extract(packed, Path(dest))
        if switch:
            for name in report.names:
                with contextlib.suppress(OSError):
                    os.chown(os.path.join(dest, name), uid, gid, follow_symlinks=False)

    def _mkdir_as_user(self, dest: str) -> None:
        request = self._request(
            ["mkdir", "-p", "--", dest], input=None, cwd=None, env=None, user=None, timeout=60
        )
        result = self._exec_sync(request)
        if result.exit_code != 0:
            detail = result.stderr.value().decode("utf-8", errors="replace").strip()
            raise PermissionError(13, f"cannot create the folder: {detail}", dest)

    @contextlib.contextmanager
    def _archive_sync(self, path: str, limit: int) -> Iterator[IO[bytes]]:
        if not os.path.lexists(path):
            raise FileNotFoundError(2, "no such file or folder in the sandbox", path)
        with tempfile.TemporaryFile() as spool:
            try:
                with tarfile.open(
                    fileobj=LimitedWriter(spool, limit), mode="w|", format=tarfile.PAX_FORMAT
                ) as tar:
                    tar.add(path, arcname=os.path.basename(path.rstrip("/")) or ".")
            except OverflowError:
                raise FileTooLargeError(
                    f"{path}: its archive is over the limit of {limit} bytes"
                ) from None
            spool.seek(0)
            yield spool

    def _stop_sync(self) -> None:
        """Kill every command still running and everything carrying their markers (a process
        that dropped its marker survives: this backend has no container to kill)."""
        self._teardown_processes()


def _kill_tree(process: subprocess.Popen[bytes], tag: str) -> None:
    """SIGKILL a running command's process group (its leader is not reaped yet, so the id is
    still its own), then any process carrying its marker variable."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    _kill_tagged({tag})


def _kill_tagged(tags: set[str]) -> None:
    """SIGKILL every process whose environment carries one of the markers (Linux only), and
    wait (a few seconds at most) until they are dead, so a closed sandbox leaves none running."""
    killed = _signal_tagged(tags, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while killed and time.monotonic() < deadline:
        killed = [pid for pid in killed if _alive(pid)]
        if killed:
            time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


def _signal_tagged(tags: set[str], signum: int) -> list[int]:
    """Send ``signum`` to every process whose environment carries one of the markers; returns
    their pids."""
    proc = Path("/proc")
    if not tags or not proc.is_dir():
        return []
    markers = {f"{EXEC_TAG}={tag}".encode() for tag in tags}
    signalled = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if markers.intersection((entry / "environ").read_bytes().split(b"\0")):
                os.kill(int(entry.name), signum)
                signalled.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return signalled
