"""List a submission's files (size and SHA-256) on the host, from the archive stream the
sandbox backend builds, and compare two lists; the second listing also writes the executed
submission's archive.

Nothing of the sandbox runs: ``reproduce.sh`` ran as root and may have replaced ``find``,
``python3`` or ``sh``, so the stream comes from :meth:`~paperbench.sandbox.base.Sandbox.
read_archive` (for Docker, the daemon) and is read with :mod:`paperbench.sandbox.tarcheck` in
bounded memory: headers are size-checked before they are read, at most :data:`MAX_ENTRIES`
entries are listed, and each reading stops at the stream limit it is given, leaving later files
unread with a note. Symbolic links are listed by their target text, never followed. Names with
control characters are listed escaped (:func:`~paperbench.sandbox.names.escape_name`) and kept
out of the executed archive, as are files over the per-file limit and links the reproduction
folder could not hold safely.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from paperbench.reproduction.result import ExcludedFile, FileRecord
from paperbench.sandbox.archives import ArchiveLimits
from paperbench.sandbox.errors import FileTooLargeError
from paperbench.sandbox.names import escape_name, name_problem
from paperbench.sandbox.tarcheck import Checker
from paperbench.sandbox.tarstream import MemberData, iterate, open_tar

if TYPE_CHECKING:
    from hashlib import _Hash as HashObject

Inventory = dict[str, tuple[int, str]]
MAX_ENTRIES = 100_000
#: A file is read only if its data ends this far before the stream limit (tarfile reads ahead).
READ_AHEAD = 64 * 1024
#: Members of the executed archive sit under this folder.
TOP = "submission"
_LABEL = "the submission's archive"
_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
}


@dataclass
class Listing:
    """What one reading found: the inventory, what was kept out of the executed archive, and
    notes on what could not be read."""

    inventory: Inventory = field(default_factory=dict)
    excluded: list[ExcludedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _relative(raw: str, name: str) -> str | None:
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if parts and parts[0] == name:
        parts = parts[1:]
    return "/".join(parts) or None


def read_listing(
    stream: IO[bytes],
    name: str,
    limit: int,
    *,
    archive: Path | None = None,
    max_file_bytes: int | None = None,
) -> Listing:
    """List the tar ``stream`` of folder ``name`` (members ``name/...``), read up to ``limit``
    bytes; with ``archive``, also write the executed submission into it (members under
    ``submission/``), leaving out files over ``max_file_bytes`` and entries it could not hold
    safely, each listed with its reason.

    Raises:
        ArchiveError: the stream breaks our limits past recovery (e.g. a header over 16 KiB).
        OSError: ``archive`` cannot be written.
    """
    listing = Listing()
    limits = ArchiveLimits(max_bytes=limit + 64 * 1024 * 1024, max_members=MAX_ENTRIES + 1)
    writer = _Writer(archive, max_file_bytes, listing) if archive is not None else None
    try:
        with open_tar(stream, _LABEL, limits) as (tar, _):
            for info in iterate(tar, _LABEL, limits):
                path = _relative(info.name, name)
                if path is None:
                    continue
                if len(listing.inventory) >= MAX_ENTRIES:
                    listing.notes.append(
                        f"more than {MAX_ENTRIES} entries; those after {escape_name(path)!r} "
                        "were not listed"
                    )
                    break
                _one(tar, info, path, name, listing, writer, limits, limit)
    except FileTooLargeError:
        listing.notes.append(
            f"the listing reads at most {limit} bytes of the submission's stream; files "
            "after that point were not read"
        )
    finally:
        if writer is not None:
            writer.close()
    return listing


def _one(
    tar: tarfile.TarFile,
    info: tarfile.TarInfo,
    path: str,
    name: str,
    listing: Listing,
    writer: _Writer | None,
    limits: ArchiveLimits,
    limit: int,
) -> None:
    problem = name_problem(path)
    shown = escape_name(path) if problem is not None else path
    if info.isreg():
        if info.offset_data + info.size + READ_AHEAD > limit:
            listing.inventory[shown] = (info.size, "not read: past the listing's read limit")
            if writer is not None:
                reason = "past the listing's read limit"
                listing.excluded.append(ExcludedFile(path=shown, size=info.size, reason=reason))
            raise FileTooLargeError(f"{shown}: past the read limit")
        digest = hashlib.sha256()
        keep = writer is not None and problem is None and writer.fits(shown, info.size)
        data = MemberData(tar, info, _LABEL, limits)
        if keep and writer is not None:
            writer.file(path, info, data, digest)
        else:
            while chunk := data.read(1024 * 1024):
                digest.update(chunk)
        listing.inventory[shown] = (info.size, digest.hexdigest())
    elif info.issym():
        target = info.linkname.encode("utf-8", "surrogateescape")
        listing.inventory[shown] = (len(target), "link:" + hashlib.sha256(target).hexdigest())
        if writer is not None and problem is None:
            writer.symlink(path, info.linkname)
    elif info.islnk():
        source = _relative(info.linkname, name) or ""
        if source in listing.inventory:
            listing.inventory[shown] = listing.inventory[source]
        if writer is not None and problem is None:
            writer.hardlink(path, source)
    elif info.isdir() and writer is not None and problem is None:
        writer.folder(path)
    if problem is not None and writer is not None:
        size = info.size if info.isreg() else 0
        listing.excluded.append(ExcludedFile(path=shown, size=size, reason=problem))


class _Writer:
    """Writes the executed archive, member by member, checking as it goes that every member
    would pass :func:`~paperbench.sandbox.archives.safe_extract`."""

    def __init__(self, archive: Path, max_file_bytes: int | None, listing: Listing) -> None:
        self.max_file_bytes = max_file_bytes
        self.listing = listing
        self.out = tarfile.open(archive, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.checker = Checker(str(archive), ArchiveLimits(max_members=MAX_ENTRIES + 2))
        self.files: set[str] = set()
        self.links: set[str] = set()
        self._add(TOP, "dir")

    def close(self) -> None:
        self.out.close()
        self.checker.finish()

    def _add(
        self, path: str, kind: str, *, size: int = 0, target: str = "", data: object = None
    ) -> None:
        member = tarfile.TarInfo(path)
        member.type = _TYPES[kind]
        member.size, member.linkname = size, target
        member.mode = 0o644 if kind == "file" else 0o755
        self.checker.add(member)
        self.out.addfile(member, data)  # type: ignore[arg-type]

    def fits(self, shown: str, size: int) -> bool:
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            reason = f"larger than the {self.max_file_bytes} byte limit for one file"
            self.listing.excluded.append(ExcludedFile(path=shown, size=size, reason=reason))
            return False
        return True

    def file(self, path: str, info: tarfile.TarInfo, data: MemberData, digest: HashObject) -> None:
        self._add(posixpath.join(TOP, path), "file", size=info.size, data=_Hashing(data, digest))
        self.files.add(path)

    def folder(self, path: str) -> None:
        self._add(posixpath.join(TOP, path), "dir")

    def symlink(self, path: str, target: str) -> None:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        through = _passes_through(path, target, self.links)
        if (
            name_problem(target) is not None
            or target.startswith("/")
            or resolved == ".."
            or resolved.startswith("../")
            or through
        ):
            reason = "a symbolic link pointing outside the submission or through another link"
            self.listing.excluded.append(ExcludedFile(path=path, size=0, reason=reason))
            return
        self._add(posixpath.join(TOP, path), "symlink", target=target)
        self.links.add(path)

    def hardlink(self, path: str, source: str) -> None:
        if source not in self.files:
            reason = "a hard link to a file left out of the archive"
            self.listing.excluded.append(ExcludedFile(path=path, size=0, reason=reason))
            return
        self._add(posixpath.join(TOP, path), "hardlink", target=posixpath.join(TOP, source))


def _passes_through(path: str, target: str, links: set[str]) -> bool:
    stack = path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        stack = stack[:-1] if part == ".." else [*stack, part]
        if part != ".." and "/".join(stack) in links:
            return True
    return False


class _Hashing:
    """A reader that hashes what passes through it into ``digest``."""

    def __init__(self, source: MemberData, digest: HashObject) -> None:
        self.source = source
        self.digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


@dataclass(frozen=True)
class Changes:
    created: list[FileRecord]
    changed: list[FileRecord]
    deleted: list[str]


def compare(before: Inventory, after: Inventory, *, ignore_prefix: str = ".git/") -> Changes:
    """Files created, changed (other content) and deleted between two listings. Git's own
    bookkeeping under ``.git/`` is left out: it changes on every commit and says nothing."""

    def kept(path: str) -> bool:
        return not path.startswith(ignore_prefix)

    created = [
        FileRecord(path=path, size=size, sha256=digest)
        for path, (size, digest) in sorted(after.items())
        if path not in before and kept(path)
    ]
    changed = [
        FileRecord(path=path, size=size, sha256=digest)
        for path, (size, digest) in sorted(after.items())
        if path in before and before[path][1] != digest and kept(path)
    ]
    deleted = sorted(path for path in before if path not in after and kept(path))
    return Changes(created, changed, deleted)
