"""Files of a run directory, as the viewer may show them: only inside the run, bounded, never
through a link.

A run directory holds what came out of the agent's container (the submission, its snapshots),
what the reproduction left (the log, the executed copy) and what the judge wrote (explanations,
evidence paths). None of it is trusted. So:

* a file is named by an *area* of the run (:data:`AREAS`) and a relative path; the path may not
  be absolute, climb with ``..``, hold control characters, or pass through a symbolic link at
  any step (each step is checked with ``lstat``, and the file is opened with ``O_NOFOLLOW``) —
  a submission that links ``results.txt`` to ``/etc/shadow`` shows a refusal, not the file;
* only regular files are opened (no FIFOs or devices that would block or never end);
* JSON records are read up to :data:`MAX_JSON_BYTES`; listings stop at :data:`MAX_LISTING`;
* an evidence reference the judge wrote (``src/train.py:12-30``, ``reproduce.log``) resolves
  only inside the executed submission, the captured submission or the reproduction folder.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperbench.errors import PaperbenchError

#: Where the viewer may read, relative to the run directory.
AREAS = {
    "run": "",
    "agent": "agent",
    "submission": "submission",
    "executed": "reproduction/submission",
    "reproduction": "reproduction",
    "grading": "grading",
}
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_LISTING = 5000
MAX_PATH_CHARS = 4096
BINARY_SNIFF = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EVIDENCE = re.compile(
    r"^(?P<path>.*?)(?:(?::|#L|, lines? )(?P<start>\d+)(?:\s*[-\u2013]\s*L?(?P<end>\d+))?)?$"
)
_PREFIXES = ("/home/submission/", "home/submission/", "submission/", "./", "/")


class FileRefused(PaperbenchError):
    """A path that leaves its area, passes through a link, or is not a regular file."""


class FileMissing(PaperbenchError):
    """No such file in the area."""


@dataclass(frozen=True)
class Located:
    """A file inside a run directory that is safe to open."""

    area: str
    relative: str
    path: Path
    size: int


def area_root(run_dir: Path, area: str) -> Path:
    """The folder of ``area`` in the run.

    Raises:
        FileRefused: not an area.
    """
    if area not in AREAS:
        raise FileRefused(f"unknown area {area!r}; one of {', '.join(AREAS)}")
    return run_dir / AREAS[area] if AREAS[area] else run_dir


def locate(run_dir: Path, area: str, relative: str, *, directory: bool = False) -> Located:
    """Check ``relative`` inside ``area`` step by step and return the file (or folder).

    Raises:
        FileRefused: a bad path, a link on the way, or not a regular file (folder).
        FileMissing: nothing there.
    """
    root = area_root(run_dir, area)
    if len(relative) > MAX_PATH_CHARS or _CONTROL.search(relative):
        raise FileRefused("the path is too long or holds control characters")
    parts = [part for part in relative.replace("\\", "/").split("/") if part not in ("", ".")]
    if relative.startswith("/") or ".." in parts:
        raise FileRefused(f"{relative!r} is not a path inside the {area} folder")
    current = root
    status = _lstat(root, area, "")
    if stat.S_ISLNK(status.st_mode):
        raise FileRefused(f"the {area} folder is a link")
    for index, part in enumerate(parts):
        current = current / part
        status = _lstat(current, area, "/".join(parts[: index + 1]))
        if stat.S_ISLNK(status.st_mode):
            raise FileRefused(f"{'/'.join(parts[: index + 1])} is a link; links are not followed")
    wanted = stat.S_ISDIR if directory else stat.S_ISREG
    if not wanted(status.st_mode):
        kind = "folder" if directory else "regular file"
        raise FileRefused(f"{'/'.join(parts) or area} is not a {kind}")
    return Located(area, "/".join(parts), current, status.st_size)


def _lstat(path: Path, area: str, shown: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise FileMissing(f"no {shown or 'folder'} in {area}") from None
    except NotADirectoryError:
        raise FileMissing(f"no {shown} in {area}: a step is not a folder") from None
    except OSError as error:
        raise FileRefused(f"{shown or area}: {error.strerror}") from None


def open_located(located: Located) -> int:
    """A read-only descriptor of a located file, refusing a link swapped in since.

    Raises:
        FileRefused: the file became a link or something other than a regular file.
    """
    try:
        handle = os.open(located.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise FileRefused(f"{located.relative}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise FileRefused(f"{located.relative} is not a regular file")
    return handle


def is_binary(located: Located) -> bool:
    """True when the file's first bytes hold a NUL (it is then not shown as text)."""
    handle = open_located(located)
    try:
        return b"\x00" in os.read(handle, BINARY_SNIFF)
    finally:
        os.close(handle)


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> tuple[Any, str | None]:
    """``(data, None)``, or ``(None, why)`` when the file is missing, too large or malformed;
    links are not followed."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, "missing"
    except OSError as error:
        return None, f"unreadable: {error.strerror}"
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            return None, "not a regular file"
        if status.st_size > limit:
            return None, f"{status.st_size} bytes, over the {limit}-byte limit"
        with os.fdopen(os.dup(handle), "rb") as stream:
            raw = stream.read(limit + 1)
    finally:
        os.close(handle)
    try:
        return json.loads(raw.decode("utf-8", errors="replace")), None
    except ValueError as error:
        return None, f"not JSON: {error}"


def listing(run_dir: Path, area: str, limit: int = MAX_LISTING) -> dict[str, Any]:
    """Every entry under ``area`` (path, kind, size), links listed but never followed; at most
    ``limit`` entries, ``truncated`` saying whether more were left out.

    Raises:
        FileRefused, FileMissing: the area's folder itself is unusable.
    """
    root = locate(run_dir, area, "", directory=True).path
    entries: list[dict[str, Any]] = []
    truncated = False
    for folder, folders, files in os.walk(root, followlinks=False):
        folders.sort()
        base = Path(folder).relative_to(root)
        for name in sorted(files) + [f for f in folders if (Path(folder) / f).is_symlink()]:
            if len(entries) >= limit:
                truncated = True
                break
            path = Path(folder) / name
            try:
                status = os.lstat(path)
            except OSError:
                continue
            kind = (
                "link"
                if stat.S_ISLNK(status.st_mode)
                else ("file" if stat.S_ISREG(status.st_mode) else "other")
            )
            entries.append({"path": (base / name).as_posix(), "kind": kind, "size": status.st_size})
        if truncated:
            break
    return {"area": area, "entries": entries, "truncated": truncated}


@dataclass(frozen=True)
class Evidence:
    """Where an evidence reference points: a file of the run and the lines it names."""

    reference: str
    located: Located | None
    start: int | None
    end: int | None
    problem: str | None = None


def resolve_evidence(run_dir: Path, reference: str) -> Evidence:
    """Resolve a judge's evidence reference (``path``, ``path:12``, ``path:12-30``,
    ``path#L12-L30``) to a file of the executed submission, the captured submission or the
    reproduction folder (the log), in that order; never anywhere else."""
    text = reference.strip()[:MAX_PATH_CHARS]
    match = _EVIDENCE.match(text)
    path = (match.group("path") if match else text).strip().strip("`'\"")
    start = int(match.group("start")) if match and match.group("start") else None
    end = int(match.group("end")) if match and match.group("end") else start
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix) :]
    if start is not None and end is not None and end < start:
        start, end = end, start
    candidates = [("executed", path), ("submission", path)]
    if path.startswith("reproduction/"):
        candidates = [("reproduction", path[len("reproduction/") :])]
    elif "/" not in path and path.endswith(".log"):
        candidates.insert(0, ("reproduction", path))
    problem = "not found in the submission or the reproduction"
    for area, relative in candidates:
        try:
            located = locate(run_dir, area, relative)
        except FileMissing:
            continue
        except FileRefused as error:
            problem = str(error)
            break
        return Evidence(reference, located, start, end)
    return Evidence(reference, None, start, end, problem)
