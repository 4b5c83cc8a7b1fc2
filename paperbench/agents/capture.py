"""Taking a submission out of a sandbox: an archive plus a manifest of what is in it and what
was left out, and why.

Used for the final submission and for every snapshot, so a snapshot can be reproduced and
graded exactly like a final submission. Nothing of it runs a program of the sandbox (whose
root user may have replaced ``find``, ``tar`` or ``sh``): the folder comes out as a tar stream
that the Docker daemon builds (:meth:`~paperbench.sandbox.base.Sandbox.read_archive`), and is
listed, checked and hashed on the host, in bounded memory, in two readings:

1. List every entry (type, size, name, link target) from the stream's headers, skipping data.
   Decide on the host what to leave out: names with control characters or bytes that are not
   UTF-8 (listed escaped, see :mod:`paperbench.sandbox.names`); special files (FIFOs, sockets,
   devices); symbolic links that are absolute, point outside the submission or through
   another link (the reproduction stage would refuse the whole archive for one of them); hard
   links to a file left out; files over ``max_file_bytes``; and — when the rest is over
   ``max_total_bytes`` — the largest files until it fits.
2. Read the stream again and write the kept entries into ``submission.tar``: members under
   ``submission/``, owned by 0:0, each file hashed as it passes. Periodic snapshots are taken
   while the agent works: a file that changed size between the two readings is kept as read
   the second time if it still fits the limits (a note names it), anything else that changed
   is left out and says so.

Both readings stop at ``max_scan_bytes`` of stream, so a sparse 2 TB file costs a bounded
read: what comes after that point is left out with a note. The final snapshot is taken after
the sandbox was stopped (:class:`~paperbench.agents.snapshots.Snapshotter`), so nothing changes
between the readings then.

The manifest (``manifest.json``) lists each kept file with its size and SHA-256, each excluded
entry with its size and reason, the limits, and the archive's own hash.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, Field

from paperbench.sandbox.archives import ArchiveLimits
from paperbench.sandbox.base import Sandbox
from paperbench.sandbox.errors import FileTooLargeError
from paperbench.sandbox.names import escape_name, name_problem
from paperbench.sandbox.tarcheck import Checker
from paperbench.sandbox.tarstream import MemberData, iterate, open_tar

MiB = 1024 * 1024
ARCHIVE_NAME = "submission.tar"
MANIFEST_NAME = "manifest.json"
TOP = "submission"
#: At most this many entries are listed; what comes after is left out with a note.
MAX_ENTRIES = 100_000
#: A file is kept only if its data ends this far before the scan limit (tarfile reads ahead).
_READ_AHEAD = 64 * 1024
_LABEL = "the submission's archive"
_SPECIAL = {
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
}
_KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
}


class CapturedFile(BaseModel):
    path: str = Field(description="relative to the submission folder")
    kind: Literal["file", "symlink", "hardlink"] = "file"
    size: int = 0
    sha256: str | None = None
    target: str | None = None


class ExcludedFile(BaseModel):
    path: str = Field(description="relative to the submission folder; escaped if it had to be")
    size: int | None = None
    reason: str


class CaptureManifest(BaseModel):
    source: str
    captured_at: datetime
    archive: str
    archive_sha256: str
    archive_bytes: int
    total_bytes: int = Field(description="sum of the kept files' sizes")
    max_file_bytes: int
    max_total_bytes: int
    files: list[CapturedFile]
    excluded: list[ExcludedFile]
    notes: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    path: str
    kind: Literal["file", "dir", "symlink", "hardlink"]
    size: int
    target: str
    mode: int
    mtime: float


@dataclass
class _Listing:
    entries: list[_Entry]
    excluded: list[ExcludedFile]
    notes: list[str]


def _relative(raw: str, name: str) -> str | None:
    """``raw`` (a member name, ``name/...``) relative to the submission; None for the root."""
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if parts and parts[0] == name:
        parts = parts[1:]
    return "/".join(parts) or None


def _list(stream: IO[bytes], name: str, limits: ArchiveLimits, scan: int) -> _Listing:
    """Reading 1: every entry's header, nothing of its data kept."""
    listing = _Listing([], [], [])
    with open_tar(stream, _LABEL, limits) as (tar, _):
        try:
            for info in iterate(tar, _LABEL, limits):
                path = _relative(info.name, name)
                if path is None:
                    continue
                if len(listing.entries) + len(listing.excluded) >= MAX_ENTRIES:
                    listing.notes.append(
                        f"the submission has more than {MAX_ENTRIES} entries; those after "
                        f"{escape_name(path)!r} were left out"
                    )
                    break
                _classify(info, path, name, listing, scan)
        except FileTooLargeError:
            # Files whose data reaches past the limit were already left out, one by one.
            listing.notes.append(
                f"the capture reads at most {scan} bytes of the submission's stream; what "
                f"comes after that point was left out"
            )
    return listing


def _past_scan(scan: int) -> str:
    return f"past the {scan} bytes the capture reads (max_scan_bytes)"


def _classify(info: tarfile.TarInfo, path: str, name: str, listing: _Listing, scan: int) -> None:
    def exclude(reason: str, size: int | None = None) -> None:
        listing.excluded.append(ExcludedFile(path=escape_name(path), size=size, reason=reason))

    problem = name_problem(path)
    if problem is not None:
        exclude(f"{problem}; such names are not captured", info.size if info.isreg() else None)
        return
    if info.type in _SPECIAL:
        exclude(f"{_SPECIAL[info.type]}, not a regular file")
        return
    kind: Literal["file", "dir", "symlink", "hardlink"]
    target = ""
    if info.isreg():
        kind = "file"
        if info.offset_data + info.size + _READ_AHEAD > scan:
            exclude(_past_scan(scan), info.size)
            return
    elif info.isdir():
        kind = "dir"
    elif info.issym():
        kind, target = "symlink", info.linkname
        why = _link_problem(path, target)
        if why is not None:
            exclude(why)
            return
    elif info.islnk():
        kind, target = "hardlink", _relative(info.linkname, name) or ""
    else:
        exclude(f"an entry of unknown type {info.type!r}")
        return
    mode = info.mode & 0o755 if kind == "file" else 0o755
    listing.entries.append(_Entry(path, kind, info.size, target, mode, info.mtime))


def _link_problem(path: str, target: str) -> str | None:
    if name_problem(target) is not None:
        return "a symbolic link whose target holds control characters or is not UTF-8"
    if not target or target.startswith("/"):
        return f"a symbolic link pointing outside the submission (-> {target})"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        return f"a symbolic link pointing outside the submission (-> {target})"
    return None


def choose(
    listing: _Listing, max_file_bytes: int, max_total_bytes: int
) -> tuple[dict[str, _Entry], list[ExcludedFile]]:
    """Split the listing into what to keep (by path) and what to leave out, with reasons."""
    excluded = list(listing.excluded)
    kept: dict[str, _Entry] = {}
    links = {e.path for e in listing.entries if e.kind == "symlink"}
    for entry in listing.entries:
        if entry.kind == "file" and entry.size > max_file_bytes:
            reason = f"over the per-file size limit of {max_file_bytes} bytes"
            excluded.append(ExcludedFile(path=entry.path, size=entry.size, reason=reason))
        elif entry.kind == "symlink" and _through_link(entry, links):
            reason = "a symbolic link through another link (chains of links are not captured)"
            excluded.append(ExcludedFile(path=entry.path, reason=reason))
        else:
            kept[entry.path] = entry
    total = sum(e.size for e in kept.values() if e.kind == "file")
    if total > max_total_bytes:
        for entry in sorted((e for e in kept.values() if e.kind == "file"), key=lambda e: -e.size):
            if total <= max_total_bytes:
                break
            del kept[entry.path]
            total -= entry.size
            reason = (
                f"the submission is over its total size limit of {max_total_bytes} bytes; "
                "the largest files were left out"
            )
            excluded.append(ExcludedFile(path=entry.path, size=entry.size, reason=reason))
    for entry in list(kept.values()):
        source = kept.get(entry.target)
        if entry.kind == "hardlink" and (source is None or source.kind != "file"):
            del kept[entry.path]
            reason = f"a hard link to {escape_name(entry.target)}, which was left out"
            excluded.append(ExcludedFile(path=entry.path, reason=reason))
    return kept, excluded


def _through_link(entry: _Entry, links: set[str]) -> bool:
    stack = entry.path.split("/")[:-1]
    for part in entry.target.split("/"):
        if part in ("", "."):
            continue
        stack = stack[:-1] if part == ".." else [*stack, part]
        if part != ".." and "/".join(stack) in links:
            return True
    return False


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, source: MemberData) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def _member(
    name: str, kind: str, size: int, target: str, mode: int, mtime: float
) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = _KINDS[kind]
    member.size = size
    member.linkname = target
    member.mode = mode
    member.mtime = int(mtime)
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member


@dataclass
class _Limits:
    max_file_bytes: int
    max_total_bytes: int
    scan: int
    archive: ArchiveLimits


class _Rewriter:
    """Reading 2: writes the kept entries into the archive, each file hashed on the way.

    A file whose size changed since reading 1 (the agent works during periodic snapshots) is
    kept as read now if it still fits the limits, and named in a note; anything else that
    changed or vanished is left out with the reason. A hard link is written only after its file
    (which the daemon's walk puts first), and listed with that file's size and hash."""

    def __init__(self, out: tarfile.TarFile, archive: Path, limits: _Limits) -> None:
        self.out = out
        self.limits = limits
        self.files: list[CapturedFile] = []
        self.excluded: list[ExcludedFile] = []
        self.grown: list[str] = []
        self.hashes: dict[str, tuple[int, str]] = {}
        self.total = 0
        self.checker = Checker(str(archive), ArchiveLimits(max_members=MAX_ENTRIES + 1))
        root = _member(TOP, "dir", 0, "", 0o755, datetime.now().timestamp())
        self.checker.add(root)
        out.addfile(root)

    def run(self, stream: IO[bytes] | None, name: str, kept: dict[str, _Entry]) -> None:
        pending = dict(kept)
        self.total = sum(e.size for e in kept.values() if e.kind == "file")
        if pending and stream is not None:
            with open_tar(stream, _LABEL, self.limits.archive) as (tar, _):
                for info in iterate(tar, _LABEL, self.limits.archive):
                    path = _relative(info.name, name)
                    entry = pending.pop(path, None) if path is not None else None
                    if entry is not None:
                        self._one(tar, info, entry)
                    if not pending:
                        break
        for entry in pending.values():
            self._drop(entry, "vanished while the snapshot was taken", entry.size)
        self.checker.finish()

    def _drop(self, entry: _Entry, reason: str, size: int | None = None) -> None:
        self.excluded.append(ExcludedFile(path=entry.path, size=size, reason=reason))

    def _one(self, tar: tarfile.TarFile, info: tarfile.TarInfo, entry: _Entry) -> None:
        same_kind = {"file": info.isreg(), "dir": info.isdir(), "symlink": info.issym()}.get(
            entry.kind, info.islnk()
        )
        if not same_kind or (entry.kind == "symlink" and info.linkname != entry.target):
            self._drop(entry, "changed while the snapshot was taken", info.size)
            return
        if entry.kind == "hardlink" and entry.target not in self.hashes:
            self._drop(entry, f"a hard link to {escape_name(entry.target)}, which was left out")
            return
        size = info.size if entry.kind == "file" else 0
        if size != entry.size:
            limits = self.limits
            total = self.total - entry.size + size
            if size > limits.max_file_bytes or total > limits.max_total_bytes:
                self._drop(entry, "grew past the size limits while the snapshot was taken", size)
                return
            if info.offset_data + size + _READ_AHEAD > limits.scan:
                self._drop(entry, _past_scan(limits.scan), size)
                return
            self.total = total
            self.grown.append(entry.path)
        self._write(tar, info, entry, size)

    def _write(self, tar: tarfile.TarFile, info: tarfile.TarInfo, entry: _Entry, size: int) -> None:
        target = posixpath.join(TOP, entry.target) if entry.kind == "hardlink" else entry.target
        member = _member(
            posixpath.join(TOP, entry.path), entry.kind, size, target, entry.mode, entry.mtime
        )
        self.checker.add(member)
        if entry.kind == "file":
            reader = _Hashing(MemberData(tar, info, _LABEL, self.limits.archive))
            self.out.addfile(member, reader)
            digest = reader.digest.hexdigest()
            self.hashes[entry.path] = (size, digest)
            self.files.append(CapturedFile(path=entry.path, size=size, sha256=digest))
            return
        self.out.addfile(member)
        if entry.kind == "symlink":
            self.files.append(CapturedFile(path=entry.path, kind="symlink", target=entry.target))
        elif entry.kind == "hardlink":
            linked_size, digest = self.hashes[entry.target]
            self.files.append(
                CapturedFile(
                    path=entry.path,
                    kind="hardlink",
                    size=linked_size,
                    sha256=digest,
                    target=entry.target,
                )
            )


def _write(
    stream: IO[bytes] | None, name: str, kept: dict[str, _Entry], archive: Path, limits: _Limits
) -> tuple[list[CapturedFile], list[ExcludedFile], list[str]]:
    """Reading 2 into ``archive``: the files written, those left out, and notes."""
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as out:
        rewriter = _Rewriter(out, archive, limits)
        rewriter.run(stream, name, kept)
    notes = []
    if rewriter.grown:
        named = ", ".join(repr(path) for path in rewriter.grown[:20])
        more = f" and {len(rewriter.grown) - 20} more" if len(rewriter.grown) > 20 else ""
        notes.append(
            f"{len(rewriter.grown)} file(s) changed size while the snapshot was taken and are "
            f"kept as read the second time: {named}{more}"
        )
    return rewriter.files, rewriter.excluded, notes


async def capture_submission(
    sandbox: Sandbox,
    out_dir: Path,
    *,
    source: str = "/home/submission",
    max_file_bytes: int = 100 * MiB,
    max_total_bytes: int = 1024 * MiB,
    max_scan_bytes: int | None = None,
) -> CaptureManifest:
    """Write ``out_dir/submission.tar`` and ``out_dir/manifest.json`` from folder ``source`` of
    ``sandbox`` (see the module docstring); a missing folder gives an empty submission.
    ``max_scan_bytes`` (default four times ``max_total_bytes`` plus 64 MiB) bounds each
    reading of the folder's stream.

    Raises:
        SandboxGoneError: the sandbox is closed or gone.
        ArchiveError: the stream breaks our limits past recovery (e.g. a header over 16 KiB).
        SandboxError, OSError: the archive could not be read or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    source = sandbox.resolve(source)
    name = posixpath.basename(source)
    scan = max_scan_bytes if max_scan_bytes is not None else 4 * max_total_bytes + 64 * MiB
    limits = ArchiveLimits(max_bytes=scan + 64 * MiB, max_members=MAX_ENTRIES + 1)
    archive = out_dir / ARCHIVE_NAME
    try:
        listing = await sandbox.read_archive(
            source, lambda stream: _list(stream, name, limits, scan), limit=scan
        )
    except FileNotFoundError:
        listing = _Listing([], [], [f"{source} does not exist; the submission is empty"])
    kept, excluded = choose(listing, max_file_bytes, max_total_bytes)
    partial = archive.with_name(archive.name + ".partial")
    bounds = _Limits(max_file_bytes, max_total_bytes, scan, limits)
    try:
        if kept:
            files, changed, notes = await sandbox.read_archive(
                source, lambda stream: _write(stream, name, kept, partial, bounds), limit=scan
            )
        else:
            files, changed, notes = _write(None, name, kept, partial, bounds)
        partial.replace(archive)
    finally:
        partial.unlink(missing_ok=True)
    digest = hashlib.sha256()
    with archive.open("rb") as handle:
        for block in iter(lambda: handle.read(MiB), b""):
            digest.update(block)
    manifest = CaptureManifest(
        source=source,
        captured_at=datetime.now(UTC),
        archive=ARCHIVE_NAME,
        archive_sha256=digest.hexdigest(),
        archive_bytes=archive.stat().st_size,
        total_bytes=sum(f.size for f in files if f.kind == "file"),
        max_file_bytes=max_file_bytes,
        max_total_bytes=max_total_bytes,
        files=files,
        excluded=sorted([*excluded, *changed], key=lambda e: e.path),
        notes=[*listing.notes, *notes],
    )
    (out_dir / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return manifest
