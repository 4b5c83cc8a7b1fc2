"""The Docker backend, on the Docker SDK (never the docker command line).

A sandbox is one container running ``sleep infinity`` under Docker's init, plus one named
volume mounted at the work folder (``put_archive`` cannot write into a tmpfs on a read-only
container; a volume works either way). Both carry the labels of
:mod:`paperbench.sandbox.labels`. Hardening is in :mod:`paperbench.sandbox.docker_config`.

Commands run with ``exec``. The SDK's ``exec_run`` has neither a timeout nor a bound on the
output it buffers, so each command is started on a raw socket and read here, frame by frame,
into :class:`~paperbench.sandbox.output.CappedBuffer` s, while stdin is written in the same loop.
The command runs under ``timeout -s KILL``, which kills its whole process group when time is up
(a child that ignores SIGTERM, and grandchildren, go with it). Processes that left the group
(``setsid``) are then found by a marker variable in their environment and killed too; only a
process that both left the group and rewrote its environment survives until the sandbox closes.
A host-side deadline two seconds later does the same sweep should ``timeout`` fail to act.

An OOM kill of an ``exec`` does not set the container's ``State.OOMKilled``; it shows in the
container cgroup's ``oom_kill`` counter, which is read after a command dies of SIGKILL.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import struct
import tempfile
import threading
import time
import uuid
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, NotFound

from paperbench.sandbox import labels as sandbox_labels
from paperbench.sandbox.archives import limited_archive, pack_for_upload
from paperbench.sandbox.base import Sandbox
from paperbench.sandbox.docker_config import container_kwargs, host_config_kwargs
from paperbench.sandbox.engine import docker_client
from paperbench.sandbox.errors import (
    SandboxError,
    SandboxGoneError,
    SandboxStartError,
    UnknownUserError,
)
from paperbench.sandbox.images import require_image
from paperbench.sandbox.models import ExecRequest, RawResult, SandboxSpec
from paperbench.sandbox.output import CappedBuffer

#: Environment variable that marks every process of one command, for the kill sweep.
EXEC_TAG = "PAPERBENCH_EXEC_ID"
#: The host gives ``timeout`` this long to act before it kills the command itself (this also
#: ends the wait for processes that escaped ``timeout`` and still hold the output open). It
#: covers the time ``runc`` takes to start the command after the start request, so that a
#: loaded machine never cuts a command short of its timeout.
HOST_GRACE = 2.0
#: After killing a command, how long to read what it wrote before it died.
DRAIN = 2.0
#: How often the read loop looks at its deadline and at abort/close requests.
TICK = 0.25
_HEADER = struct.Struct(">BxxxL")
_ROOT_USERS = {None, "", "root", "0", "0:0"}
_SWEEP = f"""
for d in /proc/[0-9]*; do
  if grep -qzx "{EXEC_TAG}=$1" "$d/environ" 2>/dev/null; then
    kill -9 "${{d#/proc/}}" 2>/dev/null
  fi
done
true
"""
_OOM_COUNT = (
    "cat /sys/fs/cgroup/memory.events 2>/dev/null"  # cgroup v2
    " || cat /sys/fs/cgroup/memory/memory.oom_control"  # cgroup v1
)

_shared_client: docker.DockerClient | None = None
_client_lock = threading.Lock()


def shared_client() -> docker.DockerClient:
    """One engine connection per process (the SDK's pool is thread-safe).

    Raises:
        DockerUnavailableError: no engine answers.
    """
    global _shared_client
    with _client_lock:
        if _shared_client is None:
            _shared_client = docker_client()
        return _shared_client


class _Demuxer:
    """Splits Docker's multiplexed exec stream (8-byte header, then payload) into two sinks."""

    def __init__(self, stdout: CappedBuffer, stderr: CappedBuffer) -> None:
        self._sinks = {1: stdout, 2: stderr}
        self._header = bytearray()
        self._stream = 1
        self._left = 0

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._left == 0:
                take = view[: _HEADER.size - len(self._header)]
                self._header += take
                view = view[len(take) :]
                if len(self._header) == _HEADER.size:
                    self._stream, self._left = _HEADER.unpack(self._header)
                    self._header.clear()
                continue
            chunk = view[: self._left]
            self._sinks.get(self._stream, self._sinks[1]).feed(bytes(chunk))
            self._left -= len(chunk)
            view = view[len(chunk) :]


class DockerSandbox(Sandbox):
    """A sandbox in a hardened Docker container (see the module docstring)."""

    backend = "docker"

    def __init__(self, spec: SandboxSpec, client: docker.DockerClient | None = None) -> None:
        super().__init__(spec)
        self._client = client
        self.name = f"paperbench-{spec.run_id}-{spec.stage}-{uuid.uuid4().hex[:8]}"
        self.volume = f"{self.name}-work"
        self.container_id: str | None = None
        self.image_id: str | None = None
        self._ids: tuple[int, int] | None = None
        self._oom_seen = 0
        self._oom_lock = threading.Lock()

    @property
    def work_dir(self) -> str:
        return self.spec.work_dir

    @property
    def api(self) -> docker.APIClient:
        if self._client is None:
            self._client = shared_client()
        return self._client.api

    def describe(self) -> dict[str, str]:
        return {
            **super().describe(),
            "image_id": self.image_id or "",
            "container": self.name,
            "container_id": self.container_id or "",
        }

    # -- lifecycle -------------------------------------------------------------------------------

    def _start_sync(self) -> None:
        if self._client is None:
            self._client = shared_client()
        self.image_id = require_image(self._client, self.spec.image)
        tags = sandbox_labels.sandbox_labels(self.spec.run_id, self.spec.stage, self.spec.labels)
        api = self.api
        try:
            api.create_volume(self.volume, labels=tags)
            host_config = api.create_host_config(**host_config_kwargs(self.spec, self.volume))
            created = api.create_container(
                host_config=host_config, **container_kwargs(self.spec, self.name, tags)
            )
            self.container_id = str(created["Id"])
            if self._closing.is_set():
                raise SandboxGoneError("the sandbox was closed while it was starting")
            api.start(self.container_id)
        except (DockerException, SandboxGoneError) as error:
            self._teardown_sync()
            if isinstance(error, SandboxGoneError):
                raise
            raise SandboxStartError(
                f"cannot start a {self.spec.image} sandbox: {_first_line(error)}"
            ) from None
        if self.spec.user not in _ROOT_USERS:
            self._give_work_dir_to_user()

    def _give_work_dir_to_user(self) -> None:
        """Hand the work folder to a non-root spec user (as root, which keeps CAP_CHOWN: the
        container's own user stays root so that root commands keep their capabilities)."""
        user = str(self.spec.user)
        if ":" in user:
            script = 'chown "$1" "$2"'
        else:
            script = (
                'id -u "$1" >/dev/null 2>&1 || exit 3; chown "$(id -u "$1"):$(id -g "$1")" "$2"'
            )
        status, output = self._quick_exec(["sh", "-c", script, "sh", user, self.work_dir], user="0")
        if status == 0:
            return
        self._teardown_sync()
        if status == 3:
            raise UnknownUserError(f"user {user!r} (spec.user) does not exist in {self.spec.image}")
        raise SandboxStartError(
            f"cannot give {self.work_dir} to user {user!r} in {self.spec.image}: "
            f"{output.strip()[:200]}"
        )

    def _teardown_sync(self) -> None:
        if self._client is None:
            return  # never reached an engine: nothing was created
        api = self.api
        problems = []
        if self.container_id is not None:
            try:
                api.remove_container(self.container_id, force=True, v=True)
            except NotFound:
                pass
            except DockerException as error:
                problems.append(f"container {self.name}: {_first_line(error)}")
        try:
            api.remove_volume(self.volume, force=True)
        except NotFound:
            pass
        except DockerException as error:
            problems.append(f"volume {self.volume}: {_first_line(error)}")
        if problems:
            raise SandboxError(
                f"could not remove {'; '.join(problems)}; "
                f"`paperbench sandbox cleanup --run {self.spec.run_id}` will retry"
            )

    # -- commands --------------------------------------------------------------------------------

    def _exec_sync(self, request: ExecRequest) -> RawResult:
        tag = uuid.uuid4().hex
        seconds = "0" if request.timeout is None else f"{request.timeout:g}"
        environment = [f"{k}={v}" for k, v in {**request.env, EXEC_TAG: tag}.items()]
        stdout, stderr = CappedBuffer(request.output_limit), CappedBuffer(request.output_limit)
        started = time.monotonic()
        exec_id, sock = self._open_exec(
            ["timeout", "-s", "KILL", seconds, *request.argv],
            stdin=request.stdin is not None,
            environment=environment,
            workdir=request.cwd,
            user=request.user,
        )
        # Counted from the start request, not from before it: under load Docker can take a
        # good fraction of a second to start an exec, and that time is not the command's.
        opened = time.monotonic()
        deadline = None if request.timeout is None else opened + request.timeout + HOST_GRACE
        demux = _Demuxer(stdout, stderr)
        try:
            stopped = self._pump(sock, request, demux, deadline)
            if stopped is not None:
                # Time is up, or the caller gave up: kill every process of the command, then
                # read what it wrote before it died (the stream ends once they are gone).
                self._kill_tagged(tag, request.user)
                self._pump(sock, request, demux, time.monotonic() + DRAIN, watch=False)
        finally:
            sock.close()
        duration = time.monotonic() - started
        exit_code, never_started = self._exit_code(exec_id)
        if exit_code is None:
            exit_code = 137 if stopped is not None else -1
        timed_out = stopped == "deadline"
        if request.timeout is not None and exit_code == 137 and duration >= request.timeout:
            timed_out = True  # `timeout` fired; processes that left its group may remain
            if stopped is None:
                self._kill_tagged(tag, request.user)
        if exit_code == 126 and never_started:
            self._raise_for_start_failure(stdout.value() + stderr.value(), request)
        oom = exit_code == 137 and not timed_out and stopped is None and self._oom_happened()
        return RawResult(exit_code, stdout, stderr, duration, timed_out, oom)

    def _open_exec(
        self,
        argv: list[str],
        *,
        stdin: bool,
        environment: list[str],
        workdir: str,
        user: str | None,
    ) -> tuple[str, socket.socket]:
        try:
            created = self.api.exec_create(
                self._container(),
                argv,
                stdin=stdin,
                environment=environment,
                workdir=workdir,
                user=user or "",
            )
            exec_id = str(created["Id"])
            response = self.api.exec_start(exec_id, socket=True)
        except NotFound:
            raise SandboxGoneError(f"sandbox {self.name}: its container is gone") from None
        except APIError as error:
            if error.status_code == 409:
                raise SandboxGoneError(
                    f"sandbox {self.name}: its container is not running ({_first_line(error)})"
                ) from None
            raise SandboxError(f"sandbox {self.name}: exec failed: {_first_line(error)}") from None
        # exec_start(socket=True) hands back a socket.SocketIO; select() and half-closing stdin
        # need the socket object under it.
        raw = getattr(response, "_sock", None)
        if not isinstance(raw, socket.socket):
            raise SandboxError(
                "this Docker connection gives no plain socket for exec (ssh:// hosts are not "
                "supported); use a unix socket or tcp DOCKER_HOST"
            )
        return exec_id, raw

    def _pump(
        self,
        sock: socket.socket,
        request: ExecRequest,
        demux: _Demuxer,
        deadline: float | None,
        *,
        watch: bool = True,
    ) -> str | None:
        """Feed stdin and read output until EOF (None), the deadline, or (when ``watch``) an
        abort or a close."""
        pending = memoryview(request.stdin) if request.stdin is not None else None
        sock.setblocking(False)
        if pending is not None and not pending:
            sock.shutdown(socket.SHUT_WR)
            pending = None
        while True:
            if watch and request.abort.is_set():
                return "abort"
            if watch and self._closing.is_set():
                return "closed"
            wait = TICK
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "deadline"
                wait = min(wait, left)
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], wait)
            if writable and pending is not None:
                try:
                    sent = sock.send(pending[: 64 * 1024])
                    pending = pending[sent:]
                except BlockingIOError:
                    pass
                except OSError:  # the command stopped reading and exited
                    pending = memoryview(b"")
                if not pending:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
                    pending = None
            if readable:
                try:
                    data = sock.recv(256 * 1024)
                except BlockingIOError:
                    continue
                except OSError:
                    return None
                if not data:
                    return None
                demux.feed(data)

    def _exit_code(self, exec_id: str) -> tuple[int | None, bool]:
        """The exec's exit code, and whether it never started (Docker then reports pid 0)."""
        try:
            for _ in range(20):
                state = self.api.exec_inspect(exec_id)
                if not state.get("Running"):
                    code = state.get("ExitCode")
                    return (int(code) if code is not None else None), not state.get("Pid")
                time.sleep(0.05)
        except DockerException:
            pass
        return None, False

    def _raise_for_start_failure(self, output: bytes, request: ExecRequest) -> None:
        """Docker could not start the exec (exit 126, pid 0). It usually says why in the
        output, but not always (the message can be lost), so ask the sandbox what is wrong.

        Raises:
            UnknownUserError, FileNotFoundError, SandboxError: always.
        """
        text = output.decode("utf-8", errors="replace").strip()
        user = request.user or ""
        if "unable to find user" in text or "no matching entries in passwd" in text:
            raise UnknownUserError(f"user {user!r} does not exist in the sandbox")
        if "chdir to cwd" in text:
            raise FileNotFoundError(2, "working folder does not exist in the sandbox", request.cwd)
        if not text:
            named = bool(user) and not re.fullmatch(r"[0-9]+(:[0-9]+)?", user)
            check = '[ -z "$1" ] || id -u "$1" >/dev/null 2>&1 || exit 3; [ -d "$2" ] || exit 4'
            status, _ = self._quick_exec(
                ["sh", "-c", check, "sh", user if named else "", request.cwd], user="0"
            )
            if status == 3:
                raise UnknownUserError(f"user {user!r} does not exist in the sandbox")
            if status == 4:
                raise FileNotFoundError(
                    2, "working folder does not exist in the sandbox", request.cwd
                )
        reason = text.splitlines()[0][:300] if text else "Docker gave no reason"
        raise SandboxError(f"cannot start the command as {user or 'the default user'}: {reason}")

    def _quick_exec(self, argv: list[str], user: str | None = None) -> tuple[int, str]:
        """A short command of the harness's own (kill sweeps, cgroup reads, chown), bounded."""
        try:
            created = self.api.exec_create(
                self._container(), ["timeout", "-s", "KILL", "60", *argv], user=user or ""
            )
            output = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"]).get("ExitCode")
        except NotFound:
            raise SandboxGoneError(f"sandbox {self.name}: its container is gone") from None
        except APIError as error:
            if error.status_code == 409:
                raise SandboxGoneError(f"sandbox {self.name}: its container stopped") from None
            raise
        text = output.decode("utf-8", errors="replace") if isinstance(output, bytes) else ""
        return (int(code) if code is not None else -1), text

    def _kill_tagged(self, tag: str, user: str | None) -> None:
        with contextlib.suppress(SandboxGoneError, DockerException):
            self._quick_exec(["sh", "-c", _SWEEP, "sh", tag], user=user)

    def _oom_happened(self) -> bool:
        """Whether the cgroup's OOM-kill count grew since we last looked."""
        try:
            _, text = self._quick_exec(["sh", "-c", _OOM_COUNT])
        except SandboxGoneError:
            return self._container_oom_killed()
        match = re.search(r"^oom_kill (\d+)", text, re.MULTILINE)
        if match is None:
            return False
        count = int(match.group(1))
        with self._oom_lock:
            grew = count > self._oom_seen
            self._oom_seen = max(self._oom_seen, count)
        return grew

    def _container_oom_killed(self) -> bool:
        try:
            state = self.api.inspect_container(self._container())["State"]
        except DockerException:
            return False
        return bool(state.get("OOMKilled"))

    def _container(self) -> str:
        if self.container_id is None:
            raise SandboxGoneError("the sandbox was not started")
        return self.container_id

    # -- files -----------------------------------------------------------------------------------

    def _user_ids(self) -> tuple[int, int]:
        if self._ids is None:
            status, text = self._quick_exec(["sh", "-c", "id -u; id -g"], user=self.spec.user)
            numbers = text.split()
            if status != 0 or len(numbers) != 2:
                raise SandboxError(f"cannot find the ids of the sandbox user: {text.strip()}")
            self._ids = (int(numbers[0]), int(numbers[1]))
        return self._ids

    def _upload_sync(self, source: Path, dest: str) -> None:
        status, output = self._quick_exec(["mkdir", "-p", "--", dest], user=self.spec.user)
        if status != 0:
            raise PermissionError(13, f"cannot create the folder: {output.strip()}", dest)
        uid, gid = self._user_ids()
        with tempfile.TemporaryFile() as packed:
            pack_for_upload(source, packed, uid=uid, gid=gid)
            packed.seek(0)
            try:
                self.api.put_archive(self._container(), dest, packed)
            except NotFound:
                raise SandboxGoneError(
                    f"sandbox {self.name}: {dest} or the container is gone"
                ) from None
            except APIError as error:
                raise SandboxError(f"upload to {dest} failed: {_first_line(error)}") from None

    def _download_sync(self, path: str, archive: Path) -> None:
        limit = self.spec.download_limit_bytes
        try:
            stream, _ = self.api.get_archive(self._container(), path, chunk_size=1024 * 1024)
        except NotFound:
            raise FileNotFoundError(2, "no such file or folder in the sandbox", path) from None
        except APIError as error:
            raise SandboxError(f"download of {path} failed: {_first_line(error)}") from None
        with limited_archive(archive, limit, path) as writer:
            for chunk in stream:
                if self._closing.is_set():
                    raise SandboxGoneError("the sandbox was closed during a download")
                writer.write(chunk)


def _first_line(error: Exception) -> str:
    text = getattr(error, "explanation", None) or str(error) or type(error).__name__
    return str(text).strip().splitlines()[0][:300]
