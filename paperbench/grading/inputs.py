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
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from paperbench.contracts import ResultFileError
from paperbench.errors import PaperbenchError
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
    kind: FileKind
    size: int
    text: str | None
    """The file's text, or ``None`` for a binary or skipped file (listed, never shown)."""
    note: str = ""


@dataclass(frozen=True)
class Submission:
    root: Path
    files: tuple[SubmissionFile, ...]
    skipped_dirs: tuple[str, ...] = field(default=())

    def shown(self, kinds: frozenset[FileKind]) -> list[SubmissionFile]:
        return [f for f in self.files if f.kind in kinds and f.text is not None]

    def digest(self) -> str:
        """A hash of every path and shown text: the submission's identity for the judge."""
        hasher = hashlib.sha256()
        for item in self.files:
            hasher.update(f"{item.path}\0{item.kind}\0{item.size}\0".encode())
            hasher.update((item.text or "").encode("utf-8", "surrogatepass"))
        return hasher.hexdigest()


def _kind(path: str, created: set[str]) -> FileKind:
    if path in created:
        return "output"
    if PurePosixPath(path).name == "reproduce.sh":
        return "script"
    if PurePosixPath(path).suffix.lower() in DOC_SUFFIXES:
        return "doc"
    return "source"


def _read_text(path: Path, size: int, limit: int) -> tuple[str | None, str]:
    if path.suffix.lower() in BINARY_SUFFIXES:
        return None, "binary"
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if b"\0" in data[:8192]:
        return None, "binary"
    text = data[:limit].decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(16, len(text) // 100):
        return None, "binary"
    if size > limit:
        return text + f"\n[... file cut here: {size - limit} more bytes not shown ...]", "cut"
    return text, ""


def read_submission(
    root: Path,
    *,
    created: set[str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Submission:
    """Read the text files under ``root``; ``created`` names files the reproduction made.

    Raises:
        InputError: ``root`` is not a folder.
    """
    if not root.is_dir():
        raise InputError(f"{root}: no such submission folder")
    created = created or set()
    files: list[SubmissionFile] = []
    skipped: list[str] = []
    for directory, subdirs, names in os.walk(root, followlinks=False):
        here = Path(directory)
        for name in sorted(subdirs):
            if name in SKIPPED_DIRS:
                skipped.append((here / name).relative_to(root).as_posix())
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            size = path.stat().st_size
            text, note = _read_text(path, size, max_file_bytes)
            files.append(SubmissionFile(relative, _kind(relative, created), size, text, note))
    files.sort(key=lambda item: item.path)
    return Submission(root=root, files=tuple(files), skipped_dirs=tuple(sorted(skipped)))
