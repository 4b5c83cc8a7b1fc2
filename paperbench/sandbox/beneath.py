"""Writing files under one folder without ever following a symbolic link.

Every path is walked from the folder's own descriptor one component at a time, each opened with
``O_NOFOLLOW | O_DIRECTORY``; files are created with ``O_EXCL | O_NOFOLLOW``; links are made
relative to the descriptor of their folder. So a link made by an earlier member (or by anyone
else) can never redirect a write: whatever names an archive holds, nothing is written outside
the folder. This is ``openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`` built from ``openat``,
which Python exposes. Linux and other POSIX systems with ``O_NOFOLLOW`` and ``dir_fd``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class BeneathWriter:
    """Creates folders, files and links at relative paths under ``root`` (a folder this process
    owns). Paths are lists of components, already free of ``.``, ``..`` and empty parts.

    Every method raises ``OSError`` when a component on the way is missing (for links and
    files the folders must exist: :meth:`folder` makes them), is not a folder, or is a link;
    and ``FileExistsError`` when the path is taken.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fd = os.open(root, _DIR_FLAGS)
        self.folders: list[list[str]] = []

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> BeneathWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _folder_fd(self, parts: list[str], *, create: bool) -> Iterator[int]:
        fd = os.dup(self._fd)
        try:
            for index, part in enumerate(parts):
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o700, dir_fd=fd)
                    self.folders.append(parts[: index + 1])
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def folder(self, parts: list[str]) -> None:
        """Make the folder ``parts`` and any missing parents (an existing folder is fine)."""
        with self._folder_fd(parts, create=True):
            pass

    def file(self, parts: list[str], data: Readable, mode: int, mtime: float | None) -> int:
        """Create the file ``parts`` from ``data`` (read to its end); returns its size."""
        written = 0
        with self._folder_fd(parts[:-1], create=True) as parent:
            fd = os.open(
                parts[-1],
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=parent,
            )
            try:
                while chunk := data.read(_CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                    written += len(chunk)
                os.fchmod(fd, mode & 0o777)
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)
        return written

    def symlink(self, parts: list[str], target: str) -> None:
        """Create the symbolic link ``parts`` with text ``target`` (never followed here)."""
        with self._folder_fd(parts[:-1], create=True) as parent:
            os.symlink(target, parts[-1], dir_fd=parent)

    def hardlink(self, parts: list[str], existing: list[str]) -> None:
        """Create ``parts`` as a hard link to the regular file ``existing`` under the root."""
        with (
            self._folder_fd(existing[:-1], create=False) as source,
            self._folder_fd(parts[:-1], create=True) as parent,
        ):
            info = os.stat(existing[-1], dir_fd=source, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EPERM, "a hard link may only name a regular file")
            os.link(
                existing[-1],
                parts[-1],
                src_dir_fd=source,
                dst_dir_fd=parent,
                follow_symlinks=False,
            )

    def finish_folders(self, mode: int = 0o755) -> None:
        """Give every folder made here ``mode`` (they are made 0700 so only we write into
        them while extracting)."""
        for parts in sorted(self.folders, key=len, reverse=True):
            with contextlib.suppress(OSError), self._folder_fd(parts, create=False) as fd:
                os.fchmod(fd, mode)
        with contextlib.suppress(OSError):
            os.fchmod(self._fd, mode)
