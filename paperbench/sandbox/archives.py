"""Tar streams in and out of sandboxes, checked on the host.

Whatever comes out of a sandbox was written by untrusted code, and so is anything a user hands
us to upload. Extraction uses the standard library's ``data`` filter (Python's own answer to
absolute paths, ``..`` traversal, links pointing outside the destination and device files)
rather than checks of our own, plus the two limits it lacks: total size and member count.
We also refuse absolute member names outright where the filter would quietly strip the
leading ``/``: no archive we handle has a legitimate reason to carry one.

Every check runs over all members before anything is written, and extraction applies the
filter again member by member (a link made by an earlier member can change what a later path
means). Errors name the archive and the offending member.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from paperbench.sandbox.errors import (
    ArchiveError,
    ArchiveLimitError,
    FileTooLargeError,
    UnsafeArchiveError,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

GiB = 1024**3


@dataclass(frozen=True)
class ArchiveLimits:
    """Ceilings for one archive: the sum of its members' sizes, and how many members."""

    max_bytes: int = 2 * GiB
    max_members: int = 100_000


@dataclass(frozen=True)
class ExtractReport:
    """What was extracted: member names (as written, relative to the destination) and bytes."""

    names: tuple[str, ...]
    bytes: int

    @property
    def members(self) -> int:
        return len(self.names)


def _describe(error: tarfile.FilterError) -> str:
    reasons = {
        tarfile.AbsolutePathError: "has an absolute path",
        tarfile.OutsideDestinationError: "would be written outside the destination",
        tarfile.AbsoluteLinkError: "is a link to an absolute path",
        tarfile.LinkOutsideDestinationError: "is a link pointing outside the destination",
        tarfile.SpecialFileError: "is a device or other special file",
    }
    for kind, reason in reasons.items():
        if isinstance(error, kind):
            return reason
    return str(error)


def checked_members(
    tar: tarfile.TarFile, label: str, dest: str, limits: ArchiveLimits
) -> Iterator[tarfile.TarInfo]:
    """Yield ``tar``'s members as the ``data`` filter rewrites them for ``dest``.

    Raises:
        UnsafeArchiveError: a member has an absolute name, escapes ``dest`` or is special.
        ArchiveLimitError: past ``limits.max_members`` members or ``limits.max_bytes`` bytes.
    """
    total = 0
    for count, member in enumerate(tar, start=1):
        if count > limits.max_members:
            raise ArchiveLimitError(
                f"{label}: more than {limits.max_members} members "
                f"(stopped at {member.name!r}); raise the member limit if this is expected"
            )
        total += member.size if member.isreg() else 0
        if total > limits.max_bytes:
            raise ArchiveLimitError(
                f"{label}: over the size limit of {limits.max_bytes} bytes "
                f"at member {member.name!r} ({member.size} bytes)"
            )
        if member.name.startswith("/") or member.name.startswith(os.sep):
            raise UnsafeArchiveError(f"{label}: member {member.name!r} has an absolute path")
        try:
            filtered = tarfile.data_filter(member, dest)
        except tarfile.FilterError as error:
            raise UnsafeArchiveError(
                f"{label}: member {member.name!r} {_describe(error)}"
                + (f" ({member.linkname!r})" if member.linkname else "")
            ) from None
        yield filtered


def safe_extract(
    archive: Path | IO[bytes], dest: Path, limits: ArchiveLimits | None = None
) -> ExtractReport:
    """Extract a tar (plain or compressed) into ``dest``, creating it if needed.

    Nothing is written unless every member passes; if extraction still fails part-way, a
    ``dest`` this call created is removed again.

    Raises:
        UnsafeArchiveError: a member is unsafe; the message names it.
        ArchiveLimitError: the archive is over a limit; the message names where.
        ArchiveError: the file is not a readable tar archive.
    """
    limits = limits or ArchiveLimits()
    label = str(archive) if isinstance(archive, Path) else "archive"
    created = not dest.exists()
    try:
        with _open(archive, label) as tar:
            members = list(checked_members(tar, label, str(dest), limits))
            dest.mkdir(parents=True, exist_ok=True)
            try:
                tar.extractall(dest, members=members, filter="data")
            except tarfile.FilterError as error:
                name = error.tarinfo.name if error.tarinfo else "?"
                raise UnsafeArchiveError(f"{label}: member {name!r} {_describe(error)}") from None
    except (ArchiveError, tarfile.TarError, OSError) as error:
        if created and dest.exists():
            shutil.rmtree(dest, ignore_errors=True)
        if isinstance(error, ArchiveError):
            raise
        raise ArchiveError(f"{label}: cannot extract ({error})") from None
    return ExtractReport(tuple(m.name for m in members), sum(m.size for m in members if m.isreg()))


@contextmanager
def _open(archive: Path | IO[bytes], label: str) -> Iterator[tarfile.TarFile]:
    try:
        if isinstance(archive, Path):
            tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the with below
        else:
            tar = tarfile.open(fileobj=archive, mode="r:*")  # noqa: SIM115
    except (tarfile.TarError, OSError) as error:
        raise ArchiveError(f"{label}: not a readable tar archive ({error})") from None
    with tar:
        yield tar


def pack_for_upload(
    source: Path, out: IO[bytes], *, uid: int, gid: int, limits: ArchiveLimits | None = None
) -> None:
    """Write a tar of a host folder's contents, or re-pack a tar archive, into ``out``.

    Members pass the same checks as :func:`safe_extract` (so nothing unsafe reaches a sandbox
    either) and are owned by ``uid``/``gid``, the sandbox user's ids.

    Raises:
        UnsafeArchiveError, ArchiveLimitError, ArchiveError: as for :func:`safe_extract`.
    """
    limits = limits or ArchiveLimits()
    staging = "/nonexistent-paperbench-dest"
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as packed:
        if source.is_dir():
            with _folder_as_tar(source) as tar:
                _repack(tar, packed, str(source), staging, uid, gid, limits)
        else:
            with _open(source, str(source)) as tar:
                _repack(tar, packed, str(source), staging, uid, gid, limits)


def _repack(
    tar: tarfile.TarFile,
    packed: tarfile.TarFile,
    label: str,
    staging: str,
    uid: int,
    gid: int,
    limits: ArchiveLimits,
) -> None:
    for member in checked_members(tar, label, staging, limits):
        # The data filter drops ownership, and the mode of folders and links; set them for
        # the sandbox user (folders 0755 so the user can write into them).
        mode = member.mode if member.mode is not None else (0o755 if member.isdir() else 0o777)
        member = member.replace(uid=uid, gid=gid, uname="", gname="", mode=mode, deep=False)
        packed.addfile(member, tar.extractfile(member) if member.isreg() else None)


@contextmanager
def _folder_as_tar(folder: Path) -> Iterator[tarfile.TarFile]:
    """A folder's contents as a readable tar (spooled to a temporary file), so folders and
    archives go through one code path."""
    import tempfile

    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(folder.iterdir()):
                tar.add(entry, arcname=entry.name, recursive=True)
        spool.seek(0)
        with tarfile.open(fileobj=spool, mode="r:") as tar:
            yield tar


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
