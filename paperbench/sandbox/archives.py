"""Tar streams in and out of sandboxes, checked on the host.

Whatever comes out of a sandbox was written by untrusted code, and so is anything a user hands
us to upload. Every archive is read twice:

1. :func:`~paperbench.sandbox.tarcheck.check_archive` reads it to its end with our own checks
   (names, links, types, sizes, header sizes; see :mod:`paperbench.sandbox.tarcheck`); nothing
   is written unless every member passes.
2. The second reading must match the first member for member. Each member passes the standard
   library's ``data`` filter too (a second wall, not the first), and is written by
   :class:`~paperbench.sandbox.beneath.BeneathWriter`, which never follows a symbolic link,
   into a fresh folder that only this process can write (mode 0700, made next to the
   destination). Only a complete extraction is moved into place; on any failure the fresh
   folder is removed and the destination is as it was.

Errors name the archive and the offending member, escaped and shortened.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from paperbench.sandbox.beneath import BeneathWriter
from paperbench.sandbox.errors import (
    ArchiveError,
    ArchiveLimitError,
    FileTooLargeError,
    UnsafeArchiveError,
)
from paperbench.sandbox.names import shown
from paperbench.sandbox.tarcheck import Member, check_archive, read_checked
from paperbench.sandbox.tarstream import ArchiveLimits, MemberData

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["ArchiveLimits", "ExtractReport", "limited_archive", "pack_for_upload", "safe_extract"]


@dataclass(frozen=True)
class ExtractReport:
    """What was extracted: member names (normalized, relative to the destination) and bytes."""

    names: tuple[str, ...]
    bytes: int

    @property
    def members(self) -> int:
        return len(self.names)


_REASONS = {
    tarfile.AbsolutePathError: "has an absolute path",
    tarfile.OutsideDestinationError: "would be written outside the destination",
    tarfile.AbsoluteLinkError: "is a link to an absolute path",
    tarfile.LinkOutsideDestinationError: "is a link pointing outside the destination",
    tarfile.SpecialFileError: "is a device or other special file",
}


def _filtered(info: tarfile.TarInfo, dest: str, label: str) -> tarfile.TarInfo:
    """The standard library's ``data`` filter, as a second wall behind our own checks."""
    try:
        return tarfile.data_filter(info, dest)
    except tarfile.FilterError as error:
        reason = next((text for kind, text in _REASONS.items() if isinstance(error, kind)), None)
        raise UnsafeArchiveError(
            f"{label}: member {shown(info.name)} {reason or 'is refused by the data filter'}"
        ) from None


@contextmanager
def _rereadable(
    archive: Path | IO[bytes], label: str, limits: ArchiveLimits
) -> Iterator[Callable[[], Path | IO[bytes]]]:
    """A way to read ``archive`` from its start again: the path, the rewound file, or a spool
    of a stream that cannot seek (at most ``max_bytes``)."""
    if isinstance(archive, Path):
        yield lambda: archive
        return
    if getattr(archive, "seekable", lambda: False)():
        start = archive.tell()

        def rewound() -> IO[bytes]:
            archive.seek(start)
            return archive

        yield rewound
        return
    with tempfile.TemporaryFile() as spool:
        copied = 0
        while chunk := archive.read(1024 * 1024):
            copied += len(chunk)
            if copied > limits.max_bytes:
                raise ArchiveLimitError(f"{label}: over the size limit of {limits.max_bytes} bytes")
            spool.write(chunk)

        def spooled() -> IO[bytes]:
            spool.seek(0)
            return spool

        yield spooled


def safe_extract(
    archive: Path | IO[bytes], dest: Path, limits: ArchiveLimits | None = None
) -> ExtractReport:
    """Extract a tar (plain or compressed) into ``dest`` (see the module docstring).

    ``dest`` is created if needed; an existing folder gets the archive's members merged in.

    Raises:
        UnsafeArchiveError: a member is unsafe; the message names it.
        ArchiveLimitError: the archive is over a limit; the message says which and where.
        ArchiveError: the file is not a readable tar archive, or ``dest`` cannot take it.
    """
    limits = limits or ArchiveLimits()
    label = str(archive) if isinstance(archive, Path) else "archive"
    with _rereadable(archive, label, limits) as source:
        plan = check_archive(source(), label, limits)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extracting-", dir=dest.parent))
        except OSError as error:
            raise ArchiveError(f"{label}: cannot extract into {dest} ({error})") from None
        try:
            with BeneathWriter(staging) as writer:
                with read_checked(source(), label, limits, plan) as members:
                    for member, info, tar in members:
                        _write(writer, member, info, tar, str(staging), label, limits)
                writer.finish_folders()
            _place(staging, dest, label)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ExtractReport(tuple(m.name for m in plan), sum(m.size for m in plan if m.kind == "file"))


def _write(
    writer: BeneathWriter,
    member: Member,
    info: tarfile.TarInfo,
    tar: tarfile.TarFile,
    root: str,
    label: str,
    limits: ArchiveLimits,
) -> None:
    filtered = _filtered(info, root, label)
    parts = member.parts
    try:
        if member.kind == "dir":
            writer.folder(parts)
        elif member.kind == "file":
            mode = filtered.mode if filtered.mode is not None else 0o644
            writer.file(parts, MemberData(tar, info, label, limits), mode, filtered.mtime)
        elif member.kind == "symlink":
            writer.symlink(parts, member.target)
        else:
            writer.hardlink(parts, member.target.split("/"))
    except OSError as error:
        raise UnsafeArchiveError(
            f"{label}: member {shown(info.name)} cannot be written under the destination "
            f"({error.strerror or error})"
        ) from None


def _place(staging: Path, dest: Path, label: str) -> None:
    """Move a complete extraction into ``dest``: a rename when ``dest`` is new or an empty
    folder, else a merge that replaces files but never follows a link."""
    try:
        if not os.path.lexists(dest):
            os.rename(staging, dest)
            return
        info = os.lstat(dest)
        if not stat.S_ISDIR(info.st_mode):
            raise ArchiveError(f"{label}: cannot extract into {dest}: it is not a folder")
        if not any(os.scandir(dest)):
            os.rename(staging, dest)
            return
        source_fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        target_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            _merge(source_fd, target_fd, label)
        finally:
            os.close(source_fd)
            os.close(target_fd)
    except OSError as error:
        raise ArchiveError(f"{label}: cannot move the extraction into {dest} ({error})") from None


def _merge(source_fd: int, target_fd: int, label: str) -> None:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    for entry in os.listdir(source_fd):
        mine = os.stat(entry, dir_fd=source_fd, follow_symlinks=False)
        try:
            theirs = os.stat(entry, dir_fd=target_fd, follow_symlinks=False)
        except FileNotFoundError:
            os.rename(entry, entry, src_dir_fd=source_fd, dst_dir_fd=target_fd)
            continue
        if stat.S_ISDIR(theirs.st_mode):
            if not stat.S_ISDIR(mine.st_mode):
                raise ArchiveError(f"{label}: member {shown(entry)} would replace a folder")
            child_source = os.open(entry, flags, dir_fd=source_fd)
            try:
                child_target = os.open(entry, flags, dir_fd=target_fd)
                try:
                    _merge(child_source, child_target, label)
                finally:
                    os.close(child_target)
            finally:
                os.close(child_source)
            continue
        os.rename(entry, entry, src_dir_fd=source_fd, dst_dir_fd=target_fd)


def pack_for_upload(
    source: Path, out: IO[bytes], *, uid: int, gid: int, limits: ArchiveLimits | None = None
) -> None:
    """Write a tar of a host folder's contents, or re-pack a tar archive, into ``out``.

    Members pass the same checks as :func:`safe_extract` (so nothing unsafe reaches a sandbox
    either), are written under their normalized names, and are owned by ``uid``/``gid``, the
    sandbox user's ids.

    Raises:
        UnsafeArchiveError, ArchiveLimitError, ArchiveError: as for :func:`safe_extract`.
    """
    limits = limits or ArchiveLimits()
    with contextlib.ExitStack() as stack:
        if source.is_dir():
            readable: Path | IO[bytes] = stack.enter_context(_folder_as_tar(source))
        else:
            readable = source
        label = str(source)
        with _rereadable(readable, label, limits) as again:
            plan = check_archive(again(), label, limits)
            with (
                tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as packed,
                read_checked(again(), label, limits, plan) as members,
            ):
                for member, info, tar in members:
                    _repack(packed, member, info, tar, label, limits, uid, gid)


def _repack(
    packed: tarfile.TarFile,
    member: Member,
    info: tarfile.TarInfo,
    tar: tarfile.TarFile,
    label: str,
    limits: ArchiveLimits,
    uid: int,
    gid: int,
) -> None:
    filtered = _filtered(info, "/nonexistent-paperbench-dest", label)
    clean = tarfile.TarInfo(member.name)
    clean.type = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
    }[member.kind]
    clean.linkname = member.target
    clean.size = member.size
    clean.mtime = int(filtered.mtime or 0)
    # The data filter drops ownership, and the mode of folders and links; set them for the
    # sandbox user (folders 0755 so the user can write into them).
    default = 0o755 if member.kind == "dir" else 0o777
    clean.mode = filtered.mode if filtered.mode is not None else default
    clean.uid, clean.gid = uid, gid
    data = MemberData(tar, info, label, limits) if member.kind == "file" else None
    packed.addfile(clean, data)


@contextmanager
def _folder_as_tar(folder: Path) -> Iterator[IO[bytes]]:
    """A folder's contents as a tar (spooled to a temporary file), so folders and archives go
    through one code path. Links are stored as links, never followed."""
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(folder.iterdir()):
                tar.add(entry, arcname=entry.name, recursive=True)
        spool.seek(0)
        yield spool


class LimitedWriter(io.RawIOBase):
    """A write-only file that refuses to grow past a size, for archives streamed out of a
    sandbox. Raises ``OverflowError`` from :meth:`write` once the limit would be passed; the
    caller turns that into its own error and deletes the partial file."""

    def __init__(self, target: IO[bytes], limit: int) -> None:
        super().__init__()
        self.target = target
        self.limit = limit
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        size = memoryview(data).nbytes
        self.written += size
        if self.written > self.limit:
            raise OverflowError(f"over {self.limit} bytes")
        self.target.write(bytes(data))
        return size


@contextmanager
def limited_archive(archive: Path, limit: int, source: str) -> Iterator[LimitedWriter]:
    """A writer for ``archive`` that refuses to grow past ``limit`` bytes. The archive appears
    only when the block completes; on any failure no partial file is left.

    Raises:
        FileTooLargeError: the archive of ``source`` went over ``limit``.
    """
    partial = archive.with_name(archive.name + ".partial")
    try:
        with partial.open("wb") as out:
            yield LimitedWriter(out, limit)
    except OverflowError:
        partial.unlink(missing_ok=True)
        raise FileTooLargeError(
            f"{source}: its archive is over the download limit of {limit} bytes "
            "(spec.download_limit_bytes)"
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(archive)
