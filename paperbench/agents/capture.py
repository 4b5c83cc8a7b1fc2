"""Taking a submission out of a sandbox: an archive plus a manifest of what is in it and what
was left out, and why.

Used for the final submission and for every snapshot, so a snapshot can be reproduced and
graded exactly like a final submission. The steps:

1. List the folder inside the sandbox (type, size, path and link target of every entry).
2. Decide on the host what to leave out: special files (FIFOs, sockets, devices), symbolic
   links that are absolute or point outside the submission (the reproduction stage would refuse
   the whole archive for one of them), files over ``max_file_bytes``, and — when the rest is
   over ``max_total_bytes`` — the largest files until it fits. Deciding *before* the download
   means a 20 GB checkpoint left in the folder costs nothing: it never leaves the container.
3. ``tar`` the kept entries inside the sandbox (with ``--ignore-failed-read``, because
   snapshots are taken while the agent works and files may vanish), download that, and rewrite
   it on the host into ``submission.tar``: members under ``submission/``, owned by 0:0, every
   member checked again with the standard library's ``data`` filter, every file hashed.

The manifest (``manifest.json``) lists each kept file with its size and SHA-256, each excluded
entry with its size and reason, the limits, and the archive's own hash.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, Field

from paperbench.sandbox.base import Sandbox

MiB = 1024 * 1024
ARCHIVE_NAME = "submission.tar"
MANIFEST_NAME = "manifest.json"
TOP = "submission"
_LIST_SCRIPT = r"""
[ -d "$1" ] || exit 3
find "$1" -mindepth 1 -printf '%y\0%s\0%P\0%l\0' > "$2"
"""
_SPECIAL = {"p": "a FIFO", "s": "a socket", "b": "a block device", "c": "a character device"}


class CapturedFile(BaseModel):
    path: str = Field(description="relative to the submission folder")
    kind: Literal["file", "symlink", "hardlink"] = "file"
    size: int = 0
    sha256: str | None = None
    target: str | None = None


class ExcludedFile(BaseModel):
    path: str
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


class _Entry(BaseModel):
    kind: str
    size: int
    path: str
    target: str


def _parse_listing(raw: bytes) -> list[_Entry]:
    fields = raw.split(b"\0")
    entries = []
    for i in range(0, len(fields) - 3, 4):
        kind, size, path, target = (f.decode("utf-8", "surrogateescape") for f in fields[i : i + 4])
        entries.append(_Entry(kind=kind, size=int(size or 0), path=path, target=target))
    return entries


def _link_escapes(path: str, target: str) -> bool:
    if target.startswith("/"):
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return resolved == ".." or resolved.startswith("../")


def choose(
    entries: list[_Entry], max_file_bytes: int, max_total_bytes: int
) -> tuple[list[_Entry], list[ExcludedFile]]:
    """Split the listing into what to keep and what to leave out (with reasons)."""
    kept: list[_Entry] = []
    excluded: list[ExcludedFile] = []
    for entry in entries:
        if entry.kind in _SPECIAL:
            reason = f"{_SPECIAL[entry.kind]}, not a regular file"
            excluded.append(ExcludedFile(path=entry.path, reason=reason))
        elif entry.kind == "l" and _link_escapes(entry.path, entry.target):
            reason = f"a symbolic link pointing outside the submission (-> {entry.target})"
            excluded.append(ExcludedFile(path=entry.path, reason=reason))
        elif entry.kind == "f" and entry.size > max_file_bytes:
            reason = f"over the per-file size limit of {max_file_bytes} bytes"
            excluded.append(ExcludedFile(path=entry.path, size=entry.size, reason=reason))
        elif entry.kind in ("f", "d", "l"):
            kept.append(entry)
        else:
            excluded.append(ExcludedFile(path=entry.path, reason=f"unknown file type {entry.kind}"))
    total = sum(e.size for e in kept if e.kind == "f")
    if total > max_total_bytes:
        for entry in sorted((e for e in kept if e.kind == "f"), key=lambda e: -e.size):
            if total <= max_total_bytes:
                break
            kept.remove(entry)
            total -= entry.size
            reason = (
                f"the submission is over its total size limit of {max_total_bytes} bytes; "
                "the largest files were left out"
            )
            excluded.append(ExcludedFile(path=entry.path, size=entry.size, reason=reason))
    return kept, excluded


class _Hashing:
    """A file reader that hashes what passes through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


async def capture_submission(
    sandbox: Sandbox,
    out_dir: Path,
    *,
    source: str = "/home/submission",
    max_file_bytes: int = 100 * MiB,
    max_total_bytes: int = 1024 * MiB,
) -> CaptureManifest:
    """Write ``out_dir/submission.tar`` and ``out_dir/manifest.json`` from folder ``source`` of
    ``sandbox`` (see the module docstring); a missing folder gives an empty submission.

    Raises:
        SandboxGoneError: the sandbox is closed or gone.
        SandboxError, OSError: the listing or the archive could not be made or read.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    source = sandbox.resolve(source)
    parent, name = posixpath.split(source)
    scratch = posixpath.join(parent, f".paperbench-capture-{uuid.uuid4().hex[:12]}")
    notes: list[str] = []
    kept: list[_Entry] = []
    excluded: list[ExcludedFile] = []
    archive = out_dir / ARCHIVE_NAME
    try:
        listed = await sandbox.exec(
            ["sh", "-c", _LIST_SCRIPT, "sh", source, scratch + ".list"], timeout=600
        )
        if listed.exit_code == 3:
            notes.append(f"{source} does not exist; the submission is empty")
        else:
            listed.check()
            raw = await sandbox.read_file(scratch + ".list", text=False)
            kept, excluded = choose(_parse_listing(raw), max_file_bytes, max_total_bytes)
        files = await _archive(sandbox, parent, name, scratch, kept, archive, notes)
    finally:
        await sandbox.exec(["rm", "-f", scratch + ".list", scratch + ".tar"], timeout=120)
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
        excluded=sorted(excluded, key=lambda e: e.path),
        notes=notes,
    )
    (out_dir / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return manifest


async def _archive(
    sandbox: Sandbox,
    parent: str,
    name: str,
    scratch: str,
    kept: list[_Entry],
    archive: Path,
    notes: list[str],
) -> list[CapturedFile]:
    files: list[CapturedFile] = []
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as out:
        root = tarfile.TarInfo(TOP)
        root.type, root.mode, root.mtime = tarfile.DIRTYPE, 0o755, int(datetime.now().timestamp())
        out.addfile(root)
        if not kept:
            return files
        listing = b"".join(
            posixpath.join(name, e.path).encode("utf-8", "surrogateescape") + b"\0" for e in kept
        )
        made = await sandbox.exec(
            [
                "tar", "-C", parent, "--null", "--no-recursion", "--ignore-failed-read",
                "--numeric-owner", "-T", "-", "-cf", scratch + ".tar",
            ],
            input=listing,
            timeout=3600,
        )  # fmt: skip
        if made.stderr.strip():
            notes.append(f"tar: {made.stderr.strip()[:2000]}")
        if made.exit_code != 1:  # 1: a file changed while it was read (the agent is working)
            made.check()
        with tempfile.TemporaryDirectory(prefix="paperbench-capture-") as work:
            outer_path = await sandbox.download(scratch + ".tar", Path(work) / "outer.tar")
            with tarfile.open(outer_path) as outer:
                member = outer.next()
                inner_file = outer.extractfile(member) if member is not None else None
                if inner_file is None:
                    raise OSError(f"the archive made in the sandbox at {scratch}.tar is empty")
                with tarfile.open(fileobj=inner_file, mode="r|") as inner:
                    _rewrite(inner, out, name, files, notes)
    return files


def _rewrite(
    inner: tarfile.TarFile,
    out: tarfile.TarFile,
    name: str,
    files: list[CapturedFile],
    notes: list[str],
) -> None:
    for member in inner:
        relative = member.name.removeprefix(name).lstrip("/")
        if not relative:
            continue
        try:
            tarfile.data_filter(member, "/submission-check")
        except tarfile.FilterError as error:
            notes.append(f"{relative}: left out on the host ({error})")
            continue
        linkname = member.linkname
        if member.islnk():
            linkname = posixpath.join(TOP, linkname.removeprefix(name).lstrip("/"))
        clean = member.replace(
            name=posixpath.join(TOP, relative),
            linkname=linkname,
            uid=0,
            gid=0,
            uname="",
            gname="",
            deep=False,
        )
        if member.isreg():
            source = inner.extractfile(member)
            if source is None:
                continue
            reader = _Hashing(source)
            out.addfile(clean, reader)
            files.append(
                CapturedFile(path=relative, size=member.size, sha256=reader.digest.hexdigest())
            )
        elif member.issym():
            out.addfile(clean)
            files.append(CapturedFile(path=relative, kind="symlink", target=member.linkname))
        elif member.islnk():
            out.addfile(clean)
            files.append(
                CapturedFile(path=relative, kind="hardlink", target=linkname[len(TOP) + 1 :])
            )
        elif member.isdir():
            out.addfile(clean)
