"""What the judge reads: the submission's files, and the reproduction stage's record and log.

The reproduction stage leaves a directory ``DIR`` with ``reproduction.json`` (its
:class:`~paperbench.reproduction.result.ReproductionResult`: status, exit code, timeout and OOM
flags, duration, the files it created), ``reproduce.log`` and ``submission/`` (the executed
submission, including what the run created). The judge reads the stage's own record model: there
is one model of that record, owned by the reproduction stage.

Without a reproduction the judge grades the plain submission folder; see
:mod:`paperbench.grading.plan` for what then happens to execution and result leaves.

Files are classified for the category views (:mod:`paperbench.grading.prompts`):
``script`` (``reproduce.sh``), ``doc`` (Markdown, reStructuredText, plain text), ``output``
(created by the reproduction run), ``source`` (every other text file). Binary files, caches and
virtual environments are listed with their size but never shown; a text file larger than
``max_file_bytes`` is cut with a marker.

The submission is untrusted and may be any size (the capture allows gigabytes): reading is
bounded by a budget tied to the judge's context (:func:`reading_budget`), files chosen by rank,
the rest listed as not read; names are kept as the file system gave them and escaped only where
they are shown (:mod:`paperbench.grading.fencing`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from paperbench.contracts import ResultFileError
from paperbench.errors import PaperbenchError
from paperbench.grading.retrieval import name_scores
from paperbench.reproduction.result import LOG_FILE, ReproductionResult

FileKind = Literal["script", "doc", "source", "output"]
SKIPPED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        ".venv",
        "venv",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        ".tox",
        ".cache",
        "wandb",
    }
)
BINARY_SUFFIXES = frozenset(
    {
        ".pt",
        ".pth",
        ".ckpt",
        ".bin",
        ".safetensors",
        ".npy",
        ".npz",
        ".pkl",
        ".pickle",
        ".h5",
        ".hdf5",
        ".onnx",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".tar",
        ".xz",
        ".bz2",
        ".7z",
        ".so",
        ".o",
        ".a",
        ".pyc",
        ".whl",
        ".parquet",
        ".arrow",
        ".mp4",
        ".wav",
        ".mp3",
        ".ttf",
        ".woff",
        ".ico",
        ".sqlite",
        ".db",
    }
)
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt"})
DEFAULT_MAX_FILE_BYTES = 200_000
MiB = 1024 * 1024
#: Bytes of text read from a submission, in all, unless the caller sets a budget.
DEFAULT_MAX_TOTAL_BYTES = 8 * MiB
READ_CONTEXTS = 4
BYTES_PER_TOKEN = 4
MIN_READ_BYTES = 1 * MiB
MAX_READ_BYTES = 32 * MiB
#: Files listed (and kept in memory) at most; the rest are only counted.
MAX_LISTED_FILES = 100_000


class InputError(PaperbenchError):
    """A submission or reproduction directory is missing or malformed."""


@dataclass(frozen=True)
class Reproduction:
    """A reproduction as the judge sees it: the stage's record and the graded attempt's log."""

    root: Path
    record: ReproductionResult
    log: str

    @property
    def submission_dir(self) -> Path | None:
        """The executed submission, or None when the script did not run or it was not kept."""
        if self.record.executed_dir is None:
            return None
        folder = self.root / self.record.executed_dir
        return folder if folder.is_dir() else None


def load_reproduction(root: Path) -> Reproduction:
    """Read a reproduction directory.

    Raises:
        InputError: the folder or its ``reproduction.json`` is missing, or the record is not
            a reproduction record (the message names the field).
    """
    if not root.is_dir():
        raise InputError(f"{root}: no such reproduction directory")
    try:
        record = ReproductionResult.load(root)
    except ResultFileError as error:
        raise InputError(
            f"{error} (a reproduction directory is what `paperbench reproduce` writes)"
        ) from None
    log_path = root / LOG_FILE
    if not log_path.is_file():
        if record.ran:
            raise InputError(f"{log_path}: missing (the script ran, so its log should be there)")
        return Reproduction(root=root, record=record, log="")
    log = log_path.read_text(encoding="utf-8", errors="replace")
    return Reproduction(root=root, record=record, log=log)


@dataclass(frozen=True)
class SubmissionFile:
    path: str
    """Relative path as the file system gave it (undecodable bytes kept by surrogateescape);
    untrusted, so prompts show it through :func:`paperbench.grading.fencing.quote_name`."""
    kind: FileKind
    size: int
    text: str | None
    """The file's text, or ``None`` for a binary, unread or skipped file (listed, never shown)."""
    note: str = ""


@dataclass(frozen=True)
class Submission:
    root: Path
    files: tuple[SubmissionFile, ...]
    skipped_dirs: tuple[str, ...] = field(default=())
    unlisted: int = 0
    """Files past :data:`MAX_LISTED_FILES`, counted but not listed."""
    bytes_read: int = 0

    def shown(self, kinds: frozenset[FileKind]) -> list[SubmissionFile]:
        return [f for f in self.files if f.kind in kinds and f.text is not None]

    def digest(self) -> str:
        """A hash of every path and shown text: the submission's identity for the judge."""
        hasher = hashlib.sha256()
        for item in self.files:
            hasher.update(
                f"{item.path}\0{item.kind}\0{item.size}\0".encode("utf-8", "surrogatepass")
            )
            hasher.update((item.text or "").encode("utf-8", "surrogatepass"))
        hasher.update(f"unlisted:{self.unlisted}".encode())
        return hasher.hexdigest()


def reading_budget(context_window: int) -> int:
    """How many bytes of submission text to read for a judge with ``context_window`` tokens:
    :data:`READ_CONTEXTS` contexts' worth (at :data:`BYTES_PER_TOKEN`), within
    [:data:`MIN_READ_BYTES`, :data:`MAX_READ_BYTES`]. Enough for retrieval to choose different
    files for different subtrees, and a bound on memory whatever the submission's size."""
    wanted = READ_CONTEXTS * BYTES_PER_TOKEN * context_window
    return min(max(wanted, MIN_READ_BYTES), MAX_READ_BYTES)


def _kind(path: str, created: set[str]) -> FileKind:
    if path in created:
        return "output"
    if PurePosixPath(path).name == "reproduce.sh":
        return "script"
    if PurePosixPath(path).suffix.lower() in DOC_SUFFIXES:
        return "doc"
    return "source"


def _read_text(path: Path, size: int, limit: int) -> tuple[str | None, str]:
    """At most ``limit`` bytes of a regular file, as text; never follows a link or blocks on a
    pipe that replaced the file since it was listed."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return None, f"unreadable: {error.strerror}"
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None, "not a regular file"
        data = stream.read(limit + 1)
    if b"\0" in data[:8192]:
        return None, "binary"
    text = data[:limit].decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(16, len(text) // 100):
        return None, "binary"
    if size > limit:
        return text + f"\n[... file cut here: {size - limit} more bytes not shown ...]", "cut"
    return text, ""


@dataclass
class _Entry:
    path: str
    kind: FileKind
    size: int
    depth: int


def _list_files(root: Path, created: set[str]) -> tuple[list[_Entry], list[str], int]:
    """Every regular file under ``root`` (links and special files left out), the skipped
    folders, and how many files were past :data:`MAX_LISTED_FILES`."""
    entries: list[_Entry] = []
    skipped: list[str] = []
    unlisted = 0
    for directory, subdirs, names in os.walk(root, followlinks=False):
        here = Path(directory)
        for name in sorted(subdirs):
            if name in SKIPPED_DIRS:
                skipped.append((here / name).relative_to(root).as_posix())
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            try:
                info = os.lstat(here / name)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if len(entries) >= MAX_LISTED_FILES:
                unlisted += 1
                continue
            relative = (here / name).relative_to(root).as_posix()
            kind = _kind(relative, created)
            entries.append(_Entry(relative, kind, info.st_size, relative.count("/")))
    return entries, skipped, unlisted


def _reading_order(entries: list[_Entry], query: str) -> list[int]:
    """Indexes of ``entries`` in the order their text is worth reading: ``reproduce.sh`` first,
    then by how well the path matches ``query`` (lexically), then the shallower, then by path."""
    scores = name_scores([entry.path for entry in entries], query) if query else None

    def key(index: int) -> tuple[bool, float, int, str]:
        entry = entries[index]
        score = scores[index] if scores is not None else 0.0
        return (entry.kind != "script", -score, entry.depth, entry.path)

    return sorted(range(len(entries)), key=key)


def _choose(
    entries: list[_Entry], order: list[int], budget: int, limit: int
) -> tuple[set[int], int]:
    chosen: set[int] = set()
    used = 0
    for index in order:
        cost = min(entries[index].size, limit + 1)
        if used + cost <= budget:
            chosen.add(index)
            used += cost
    return chosen, used


def read_submission(
    root: Path,
    *,
    created: set[str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    query: str = "",
) -> Submission:
    """List the files under ``root`` and read the text of those worth reading; ``created``
    names files the reproduction made.

    At most ``max_file_bytes`` of each file and ``max_total_bytes`` in all are read (see
    :func:`reading_budget`): files are taken in the order of :func:`_reading_order` (``query``,
    the rubric's text, ranks them by name), the files the reproduction created sharing the
    budget with the rest (each side may use half, and what one leaves the other may use). Every
    file is listed; one left unread says so in its note. Memory stays bounded by the budget and
    :data:`MAX_LISTED_FILES`, whatever the submission's size.

    Raises:
        InputError: ``root`` is not a folder.
    """
    if not root.is_dir():
        raise InputError(f"{root}: no such submission folder")
    entries, skipped, unlisted = _list_files(root, created or set())
    readable = [
        i
        for i, e in enumerate(entries)
        if PurePosixPath(e.path).suffix.lower() not in BINARY_SUFFIXES
    ]
    order = [readable[i] for i in _reading_order([entries[i] for i in readable], query)]
    outputs = [i for i in order if entries[i].kind == "output"]
    others = [i for i in order if entries[i].kind != "output"]
    output_total = sum(min(entries[i].size, max_file_bytes + 1) for i in outputs)
    chosen, used = _choose(
        entries, others, max_total_bytes - min(output_total, max_total_bytes // 2), max_file_bytes
    )
    chosen_outputs, used_outputs = _choose(entries, outputs, max_total_bytes - used, max_file_bytes)
    chosen |= chosen_outputs
    unread = f"not read: over the {max_total_bytes:,}-byte reading budget"
    files: list[SubmissionFile] = []
    for index, entry in enumerate(entries):
        path = root / entry.path
        if PurePosixPath(entry.path).suffix.lower() in BINARY_SUFFIXES:
            text, note = None, "binary"
        elif index in chosen:
            text, note = _read_text(path, entry.size, max_file_bytes)
        else:
            text, note = None, unread
        files.append(SubmissionFile(entry.path, entry.kind, entry.size, text, note))
    files.sort(key=lambda item: item.path)
    return Submission(
        root=root,
        files=tuple(files),
        skipped_dirs=tuple(sorted(skipped)),
        unlisted=unlisted,
        bytes_read=used + used_outputs,
    )
