"""The sandbox contract: a spec, a command's result, and the abstract :class:`Sandbox`.

Shaped after Inspect's ``SandboxEnvironment``: ``exec``, ``read_file``/``write_file``,
``upload``/``download`` and a lifecycle. Every backend implements a handful of synchronous
primitives (start, teardown, exec, upload, download); this class runs each call in a thread of
its own (:mod:`paperbench.sandbox.threads`), so one sandbox can be used from any event loop,
and builds the file operations on top of ``exec`` so that permissions, users and error types
are the same on every backend. The spec and result types live in :mod:`.models`.

Guarantees every backend keeps (the conformance suite in ``tests/sandbox`` checks them):

- ``close()`` is idempotent, never hangs on a live command, and runs from ``async with`` on
  success, on exceptions and on cancellation (SIGINT under ``asyncio.run``); SIGTERM is turned
  into the same unwinding by :mod:`paperbench.sandbox.cleanup`.
- A timeout kills the command's whole process tree and is reported in
  :attr:`ExecResult.timed_out`; nothing is ever re-run.
- Output past ``output_limit_bytes`` per stream is cut in the middle and marked, in bounded
  memory; :attr:`ExecResult.stdout_truncated` says so.
- Cancelling an ``exec`` kills the command.
- ``stop()`` kills every process of the sandbox, however it left the command's process tree
  (``setsid``, ``env -i``, another user), and keeps the files: ``read_archive`` and
  ``download`` still work, so a stage's final capture sees files nothing can change any more.
  ``freeze()`` holds every process where it is instead (until ``thaw()``), for a capture after
  which the sandbox is used again.
- ``read_archive`` hands the caller a bounded tar stream built by the backend (for Docker, by
  the daemon, from outside the container): no binary of the sandbox is run to make it.
"""

from __future__ import annotations

import asyncio
import errno
import posixpath
import shutil
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, Self, TypeVar, cast, overload

from paperbench.sandbox import cleanup
from paperbench.sandbox.archives import limited_archive
from paperbench.sandbox.errors import FileTooLargeError, SandboxError, SandboxGoneError
from paperbench.sandbox.models import ExecRequest, ExecResult, RawResult, SandboxSpec
from paperbench.sandbox.threads import in_thread

__all__ = ["ExecRequest", "ExecResult", "RawResult", "Sandbox", "SandboxSpec"]

#: File operations get this long; a FIFO or a stuck filesystem must not hang the harness.
FILE_OP_TIMEOUT = 300.0
_T = TypeVar("_T")


# Exit statuses of the file scripts, mapped to the built-in exceptions below.
_NOT_FOUND, _IS_DIR, _DENIED, _NOT_DIR = 90, 91, 92, 93
_READ_SCRIPT = f"""
[ -d "$1" ] && exit {_IS_DIR}
[ -e "$1" ] || exit {_NOT_FOUND}
[ -r "$1" ] || exit {_DENIED}
exec head -c "$2" -- "$1"
"""
_WRITE_SCRIPT = f"""
[ -d "$1" ] && exit {_IS_DIR}
d=$(dirname -- "$1")
if [ ! -d "$d" ]; then
  [ -e "$d" ] && exit {_NOT_DIR}
  mkdir -p -- "$d" 2>/dev/null || exit {_DENIED}
fi
if [ -e "$1" ]; then [ -w "$1" ] || exit {_DENIED}; else [ -w "$d" ] || exit {_DENIED}; fi
cat > "$1" || exit {_DENIED}
"""


class Sandbox(ABC):
    """A place to run untrusted code, with guaranteed cleanup. Use it as an async context
    manager::

        async with DockerSandbox(SandboxSpec(run_id="r1", stage="agent")) as sandbox:
            result = await sandbox.exec(["python3", "-c", "print(1)"], timeout=60)
    """

    backend: str = "abstract"

    def __init__(self, spec: SandboxSpec) -> None:
        self.spec = spec
        self._started = False
        self._stopped = False
        self._frozen = False
        self._closed = False
        self._closing = threading.Event()
        self._lifecycle = threading.Lock()

    # -- what a backend provides ---------------------------------------------------------------

    @property
    @abstractmethod
    def work_dir(self) -> str:
        """Absolute path of the work folder, as commands in the sandbox see it."""

    @abstractmethod
    def _start_sync(self) -> None:
        """Create and start; on failure leave nothing behind. Called with the lifecycle lock
        held; must give up (raising SandboxGoneError) once ``self._closing`` is set."""

    @abstractmethod
    def _teardown_sync(self) -> None:
        """Kill everything and remove what start created; tolerate parts already gone."""

    @abstractmethod
    def _exec_sync(self, request: ExecRequest) -> RawResult:
        """Run one command to its end, its timeout or ``request.abort``."""

    @abstractmethod
    def _upload_sync(self, source: Path, dest: str) -> None:
        """Copy a host folder's contents, or an archive's members, into folder ``dest``."""

    @abstractmethod
    def _archive_sync(self, path: str, limit: int) -> AbstractContextManager[IO[bytes]]:
        """A context giving ``path`` (file or folder) as an uncompressed tar stream, members
        under its last component; made without running anything in the sandbox. It may stop
        with FileTooLargeError past ``limit`` bytes (the caller bounds the stream as well).
        Raises FileNotFoundError when ``path`` does not exist."""

    @abstractmethod
    def _stop_sync(self) -> None:
        """Kill every process of the sandbox, keeping its files readable by ``_archive_sync``."""

    @abstractmethod
    def _freeze_sync(self, frozen: bool) -> None:
        """Hold (True) or release (False) every process of the sandbox."""

    def describe(self) -> dict[str, str]:
        """Facts about this sandbox for provenance records (backend, image, ids)."""
        return {"backend": self.backend, "image": self.spec.image}

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the sandbox; from here until :meth:`close` it holds resources.

        Raises:
            SandboxStartError: it could not be created (nothing is left behind).
            ImageMissingError: (docker) the image is not built; the message says how to build it.
            DockerUnavailableError: (docker) no engine answers.
            UnsafeLocalSandboxError: (local) no explicit opt-in.
            SandboxError: it was already started.
        """
        if self._started:
            raise SandboxError("this sandbox was already started; make a new one")
        self._started = True
        cleanup.register(self)
        try:
            await in_thread(self._locked_start)
        except BaseException:
            await self.close()
            raise

    def _locked_start(self) -> None:
        with self._lifecycle:
            if self._closing.is_set():
                raise SandboxGoneError("the sandbox was closed while it was starting")
            self._start_sync()

    async def close(self) -> None:
        """Kill whatever runs in the sandbox and remove it. Idempotent; safe to call from any
        state. If the awaiting task is cancelled the removal still completes in its thread.

        Raises:
            SandboxError: the backend failed to remove something (it is still labelled, so
                ``paperbench sandbox cleanup`` finds it).
        """
        if self._closed:
            return
        self._closing.set()
        await in_thread(self.close_sync)

    def close_sync(self) -> None:
        """:meth:`close` for code without an event loop (atexit, signal handlers)."""
        self._closing.set()
        with self._lifecycle:
            if self._closed:
                return
            try:
                self._teardown_sync()
            finally:
                self._closed = True
                cleanup.unregister(self)

    @property
    def closed(self) -> bool:
        return self._closed or self._closing.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped

    async def stop(self) -> None:
        """Kill every process in the sandbox, and keep its files: afterwards :meth:`exec`,
        :meth:`read_file`, :meth:`write_file` and :meth:`upload` raise SandboxGoneError, while
        :meth:`read_archive` and :meth:`download` still work until :meth:`close`. Idempotent.

        Raises:
            SandboxGoneError: the sandbox was not started, or is closed.
            SandboxError: the backend could not stop it.
        """
        if self._stopped:
            return
        self._check_readable()
        self._stopped = True
        await in_thread(self._stop_sync)

    async def freeze(self) -> None:
        """Hold every process of the sandbox where it is, escaped ones included, until
        :meth:`thaw`: its files cannot change. Meanwhile :meth:`exec` (and the file methods
        built on it) raise SandboxGoneError; :meth:`read_archive` and :meth:`download` work.

        Raises:
            SandboxGoneError: the sandbox was not started, is stopped or closed.
            SandboxError: the backend could not freeze it.
        """
        self._check_running()
        self._frozen = True
        try:
            await in_thread(lambda: self._freeze_sync(True))
        except BaseException:
            self._frozen = False
            raise

    async def thaw(self) -> None:
        """Let the processes held by :meth:`freeze` run again. Idempotent.

        Raises:
            SandboxGoneError: the sandbox was not started, or is closed.
            SandboxError: the backend could not thaw it.
        """
        if not self._frozen:
            return
        self._check_readable()
        await in_thread(lambda: self._freeze_sync(False))
        self._frozen = False

    def _check_readable(self) -> None:
        if not self._started:
            raise SandboxGoneError("the sandbox was not started; use `async with` or start()")
        if self.closed:
            raise SandboxGoneError("the sandbox is closed")

    def _check_running(self) -> None:
        self._check_readable()
        if self._stopped:
            raise SandboxGoneError("the sandbox was stopped; only its files can be read")
        if self._frozen:
            raise SandboxGoneError("the sandbox is frozen; thaw it to run commands")

    async def _in_thread(
        self, function: Callable[[], _T], abort: threading.Event | None, *, running: bool = True
    ) -> _T:
        if running:
            self._check_running()
        else:
            self._check_readable()
        try:
            return await in_thread(function)
        except asyncio.CancelledError:
            if abort is not None:
                abort.set()
            raise

    # -- commands --------------------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """An absolute sandbox path: relative paths are taken from the work folder."""
        return posixpath.normpath(posixpath.join(self.work_dir, path))

    def _request(
        self,
        cmd: Sequence[str],
        *,
        input: str | bytes | None,
        cwd: str | None,
        env: Mapping[str, str] | None,
        user: str | None,
        timeout: float | None,
        output_limit: int | None = None,
    ) -> ExecRequest:
        if isinstance(cmd, str) or not cmd or not all(isinstance(a, str) for a in cmd):
            raise TypeError(f"cmd must be a non-empty list of strings (argv), not {cmd!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive seconds or None, not {timeout}")
        return ExecRequest(
            argv=list(cmd),
            stdin=input.encode("utf-8") if isinstance(input, str) else input,
            cwd=self.resolve(cwd) if cwd is not None else self.work_dir,
            env={**self.spec.env, **(env or {})},
            user=user if user is not None else self.spec.user,
            timeout=timeout,
            output_limit=self.spec.output_limit_bytes if output_limit is None else output_limit,
        )

    async def exec(
        self,
        cmd: Sequence[str],
        *,
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``cmd`` (an argv list; use ``["sh", "-c", ...]`` for shell syntax).

        ``input`` is the command's stdin (empty when None); ``cwd`` is relative to the work
        folder unless absolute; ``env`` adds to the spec's; ``user`` overrides the spec's;
        ``timeout`` in seconds kills the whole process tree (None: no limit). A command that
        cannot be found exits 127, one that cannot be executed 126, as in a shell.

        Raises:
            SandboxGoneError: the sandbox is closed or its container is gone.
            UnknownUserError: ``user`` does not exist in the sandbox.
            FileNotFoundError: ``cwd`` does not exist in the sandbox.
            TypeError, ValueError: ``cmd`` is not an argv list, or ``timeout`` is not positive.
        """
        request = self._request(cmd, input=input, cwd=cwd, env=env, user=user, timeout=timeout)
        raw = await self._in_thread(lambda: self._exec_sync(request), request.abort)
        return raw.to_result()

    # -- files -----------------------------------------------------------------------------------

    @overload
    async def read_file(self, path: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, path: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, path: str, text: bool = True) -> str | bytes:
        """The contents of a file in the sandbox, read as the spec's user.

        Raises:
            FileNotFoundError, IsADirectoryError, PermissionError: as Python's ``open`` would.
            FileTooLargeError: the file is over ``spec.read_limit_bytes``.
            UnicodeDecodeError: ``text=True`` and the file is not UTF-8.
            SandboxGoneError: the sandbox is closed or gone.
        """
        limit = self.spec.read_limit_bytes
        request = self._request(
            ["sh", "-c", _READ_SCRIPT, "sh", path, str(limit + 1)],
            input=None,
            cwd=None,
            env=None,
            user=None,
            timeout=FILE_OP_TIMEOUT,
            output_limit=limit + 1,
        )
        raw = await self._in_thread(lambda: self._exec_sync(request), request.abort)
        self._raise_for_file_status(raw, path, "reading")
        data = raw.stdout.value()
        if raw.stdout.total > limit:
            raise FileTooLargeError(
                f"{path}: larger than the read limit of {limit} bytes (spec.read_limit_bytes)"
            )
        return data.decode("utf-8") if text else data

    async def write_file(self, path: str, contents: str | bytes) -> None:
        """Create or replace a file (and its missing parent folders) as the spec's user.

        Raises:
            IsADirectoryError, NotADirectoryError, PermissionError: as Python's ``open`` would.
            SandboxGoneError: the sandbox is closed or gone.
        """
        request = self._request(
            ["sh", "-c", _WRITE_SCRIPT, "sh", path],
            input=contents if isinstance(contents, bytes) else contents.encode("utf-8"),
            cwd=None,
            env=None,
            user=None,
            timeout=FILE_OP_TIMEOUT,
            output_limit=64 * 1024,
        )
        raw = await self._in_thread(lambda: self._exec_sync(request), request.abort)
        self._raise_for_file_status(raw, path, "writing")

    @staticmethod
    def _raise_for_file_status(raw: RawResult, path: str, doing: str) -> None:
        status = raw.exit_code
        if status == 0 and not raw.timed_out:
            return
        if status == _NOT_FOUND:
            raise FileNotFoundError(errno.ENOENT, "no such file in the sandbox", path)
        if status == _IS_DIR:
            raise IsADirectoryError(errno.EISDIR, "is a directory in the sandbox", path)
        if status == _DENIED:
            raise PermissionError(errno.EACCES, "permission denied in the sandbox", path)
        if status == _NOT_DIR:
            raise NotADirectoryError(errno.ENOTDIR, "a parent is not a directory", path)
        detail = raw.stderr.value().decode("utf-8", errors="replace").strip()
        how = "timed out" if raw.timed_out else f"failed (exit {status})"
        raise SandboxError(f"{doing} {path} in the sandbox {how}: {detail[:300]}")

    # -- folders and archives ----------------------------------------------------------------------

    async def upload(self, source: Path, dest: str = ".") -> None:
        """Copy a host folder's contents, or a tar archive's members, into folder ``dest``
        (created if missing, relative to the work folder), owned by the spec's user.

        Archives are checked on the host first: members that would escape ``dest`` or that are
        devices are refused, as is an archive over the size or member limits.

        Raises:
            FileNotFoundError: ``source`` does not exist on the host.
            UnsafeArchiveError, ArchiveLimitError: the archive is unsafe or too big.
            PermissionError: the spec's user cannot create or write ``dest``.
            SandboxGoneError: the sandbox is closed or gone.
        """
        if not source.exists():
            raise FileNotFoundError(errno.ENOENT, "no such file or folder to upload", str(source))
        target = self.resolve(dest)
        await self._in_thread(lambda: self._upload_sync(source, target), None)

    async def read_archive(
        self, path: str, reader: Callable[[IO[bytes]], _T], *, limit: int | None = None
    ) -> _T:
        """Give the file or folder ``path`` as an uncompressed tar stream to ``reader`` (run in
        a worker thread) and return what it returns. Members are named under the path's last
        component (``work/a`` for ``/home/work``). The stream is built without running anything
        in the sandbox, works after :meth:`stop`, and raises FileTooLargeError from its
        ``read`` once ``limit`` bytes (default ``spec.download_limit_bytes``) have passed. Read
        its members with :mod:`paperbench.sandbox.tarcheck`: they are untrusted.

        Raises:
            FileNotFoundError: ``path`` does not exist in the sandbox.
            FileTooLargeError: the stream went past ``limit``.
            SandboxGoneError: the sandbox is closed or gone.
            Whatever ``reader`` raises.
        """
        source = self.resolve(path)
        cap = self.spec.download_limit_bytes if limit is None else limit

        def consume() -> _T:
            with self._archive_sync(source, cap) as stream:
                return reader(cast(IO[bytes], LimitedReader(stream, cap, source)))

        return await self._in_thread(consume, None, running=False)

    async def download(self, path: str, archive: Path) -> Path:
        """Write the file or folder ``path`` as an uncompressed tar to ``archive`` on the host
        and return ``archive`` (see :meth:`read_archive`, whose stream it copies). Extract it
        with :func:`paperbench.sandbox.archives.safe_extract`.

        Raises:
            FileNotFoundError: ``path`` does not exist in the sandbox.
            FileTooLargeError: the archive grew past ``spec.download_limit_bytes`` (no partial
                archive is left).
            SandboxGoneError: the sandbox is closed or gone.
        """
        limit = self.spec.download_limit_bytes

        def copy(stream: IO[bytes]) -> None:
            with limited_archive(archive, limit, self.resolve(path)) as writer:
                shutil.copyfileobj(stream, writer, 1024 * 1024)

        await self.read_archive(path, copy, limit=limit + 1)
        return archive


class LimitedReader:
    """A read-only stream that raises FileTooLargeError once more than ``limit`` bytes have
    been read from it."""

    def __init__(self, stream: IO[bytes], limit: int, source: str) -> None:
        self.stream = stream
        self.limit = limit
        self.source = source
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        room = self.limit + 1 - self.read_bytes
        data = self.stream.read(room if size is None or size < 0 else min(size, room))
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise FileTooLargeError(
                f"{self.source}: its archive is over the limit of {self.limit} bytes"
            )
        return data
