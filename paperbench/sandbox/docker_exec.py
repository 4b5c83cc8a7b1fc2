"""Docker exec on a raw socket, read in bounded memory against a host-side deadline.

The SDK's ``exec_run``/``exec_start`` without a socket joins everything a command writes into
one bytes object and has no timeout: a command that writes gigabytes (or a replaced ``/bin/sh``
that does) would take the harness's memory with it. Every exec of the backend — the user's
commands and the harness's own short ones alike — goes through :func:`open_exec` and
:class:`Pump`: stdin is written and Docker's multiplexed stream (8-byte header, then payload)
is split into two :class:`~paperbench.sandbox.output.CappedBuffer` s as it arrives, until the
stream ends, the deadline passes, or the caller's stop check says so.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import docker
from docker.errors import APIError, DockerException, NotFound

from paperbench.sandbox.errors import SandboxError, SandboxGoneError
from paperbench.sandbox.output import CappedBuffer

#: How often the read loop looks at its deadline and stop check.
TICK = 0.25
_HEADER = struct.Struct(">BxxxL")


def first_line(error: Exception) -> str:
    text = getattr(error, "explanation", None) or str(error) or type(error).__name__
    return str(text).strip().splitlines()[0][:300]


class Demuxer:
    """Splits Docker's multiplexed exec stream into two sinks."""

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


def open_exec(
    api: docker.APIClient,
    container: str,
    label: str,
    argv: list[str],
    *,
    stdin: bool,
    environment: list[str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
) -> tuple[str, socket.socket]:
    """Create and start an exec; its id and the raw socket of its stream.

    Raises:
        SandboxGoneError: the container is gone or not running.
        SandboxError: Docker refused the exec, or the connection has no plain socket.
    """
    try:
        created = api.exec_create(
            container,
            argv,
            stdin=stdin,
            environment=environment,
            workdir=workdir,
            user=user or "",
        )
        exec_id = str(created["Id"])
        response = api.exec_start(exec_id, socket=True)
    except NotFound:
        raise SandboxGoneError(f"sandbox {label}: its container is gone") from None
    except APIError as error:
        if error.status_code == 409:
            raise SandboxGoneError(
                f"sandbox {label}: its container is not running ({first_line(error)})"
            ) from None
        raise SandboxError(f"sandbox {label}: exec failed: {first_line(error)}") from None
    # exec_start(socket=True) hands back a socket.SocketIO; select() and half-closing stdin
    # need the socket object under it.
    raw = getattr(response, "_sock", None)
    if not isinstance(raw, socket.socket):
        raise SandboxError(
            "this Docker connection gives no plain socket for exec (ssh:// hosts are not "
            "supported); use a unix socket or tcp DOCKER_HOST"
        )
    return exec_id, raw


class Pump:
    """Moves stdin in and output out of one exec's socket."""

    def __init__(self, sock: socket.socket, stdin: bytes | None, demux: Demuxer) -> None:
        self.sock = sock
        self.demux = demux
        self._pending = memoryview(stdin) if stdin else None
        sock.setblocking(False)
        if stdin is not None and not stdin:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)

    def run(self, deadline: float | None, stop: Callable[[], str | None]) -> str | None:
        """Until the stream ends (None), ``deadline`` passes (``"deadline"``) or ``stop()``
        returns a reason (that reason)."""
        while True:
            reason = stop()
            if reason is not None:
                return reason
            wait = TICK
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "deadline"
                wait = min(wait, left)
            pending = self._pending
            readable, writable, _ = select.select(
                [self.sock], [self.sock] if pending else [], [], wait
            )
            if writable and pending is not None:
                self._send(pending)
            if readable:
                try:
                    data = self.sock.recv(256 * 1024)
                except BlockingIOError:
                    continue
                except OSError:
                    return None
                if not data:
                    return None
                self.demux.feed(data)

    def _send(self, pending: memoryview) -> None:
        try:
            pending = pending[self.sock.send(pending[: 64 * 1024]) :]
        except BlockingIOError:
            return
        except OSError:  # the command stopped reading and exited
            pending = memoryview(b"")
        if pending:
            self._pending = pending
            return
        self._pending = None
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)


#: How long the daemon may take to mark an exec finished once its output has ended: on a busy
#: 2-core machine a second was not always enough, and a command that had succeeded read as
#: failed ("cannot find the ids of the sandbox user").
EXIT_CODE_WAIT_SECONDS = 15.0


def exit_code(api: docker.APIClient, exec_id: str) -> tuple[int | None, bool]:
    """The exec's exit code from the daemon, and whether it never started (pid 0)."""
    deadline = time.monotonic() + EXIT_CODE_WAIT_SECONDS
    pause = 0.02
    try:
        while True:
            state = api.exec_inspect(exec_id)
            if not state.get("Running"):
                code = state.get("ExitCode")
                return (int(code) if code is not None else None), not state.get("Pid")
            if time.monotonic() > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
    except DockerException:
        pass
    return None, False


@dataclass(frozen=True)
class Bounded:
    """What one of the harness's own short commands did."""

    exit_code: int
    output: str
    timed_out: bool


def run_bounded(
    api: docker.APIClient,
    container: str,
    label: str,
    argv: list[str],
    *,
    user: str | None = None,
    timeout: float = 60.0,
    limit: int = 64 * 1024,
) -> Bounded:
    """Run a short command of the harness's own (``chown``, ``mkdir``, ``id``) through the
    streaming path: at most ``limit`` bytes of each stream kept, given up after ``timeout``.

    Raises:
        SandboxGoneError, SandboxError: as :func:`open_exec`.
    """
    stdout, stderr = CappedBuffer(limit), CappedBuffer(limit)
    seconds = f"{timeout:g}"
    exec_id, sock = open_exec(
        api, container, label, ["timeout", "-s", "KILL", seconds, *argv], stdin=False, user=user
    )
    try:
        stopped = Pump(sock, None, Demuxer(stdout, stderr)).run(
            time.monotonic() + timeout + 2, lambda: None
        )
    finally:
        sock.close()
    code, _ = exit_code(api, exec_id)
    text = (stdout.value() + stderr.value()).decode("utf-8", errors="replace")
    return Bounded(code if code is not None else -1, text, stopped == "deadline")
