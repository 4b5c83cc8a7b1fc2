"""What the judge reads: the submission's files, and the reproduction stage's record and log.

The reproduction stage leaves a directory ``DIR`` with ``reproduction.json`` (exit code,
timeout and OOM flags, duration, the files it created), ``reproduce.log`` and ``submission/``
(the executed submission, including what the run created). We read only those, through
:class:`ReproductionRecord`, which tolerates keys it does not know so the two stages can grow
independently.

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
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.errors import PaperbenchError

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


class CreatedFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    size: int = Field(ge=0)
    sha256: str = ""


class ReproductionRecord(BaseModel):
    """``reproduction.json`` as far as the judge needs it; unknown keys are kept."""

    model_config = ConfigDict(extra="allow")

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    duration_seconds: float
    files_created: list[CreatedFile] = Field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed

    def status_line(self) -> str:
        how = (
            "timed out"
            if self.timed_out
            else "was killed for running out of memory"
            if self.oom_killed
            else f"exited with status {self.exit_code}"
        )
        return (
            f"reproduce.sh {how} after {self.duration_seconds:.0f} s and created "
            f"{len(self.files_created)} files."
        )


@dataclass(frozen=True)
class Reproduction:
    root: Path
    record: ReproductionRecord
    log: str

    @property
    def submission_dir(self) -> Path:
        return self.root / "submission"


def load_reproduction(root: Path) -> Reproduction:
    """Read a reproduction directory.

    Raises:
        InputError: the folder, ``reproduction.json``, ``reproduce.log`` or ``submission/`` is
            missing, or the record is not JSON of the expected shape (the message names the
            field).
    """
    record_path = root / "reproduction.json"
    if not root.is_dir():
        raise InputError(f"{root}: no such reproduction directory")
    for needed in ("reproduction.json", "reproduce.log", "submission"):
        if not (root / needed).exists():
            raise InputError(
                f"{root / needed}: missing; a reproduction directory holds reproduction.json, "
                "reproduce.log and submission/ (run `paperbench reproduce` first)"
            )
    try:
        record = ReproductionRecord.model_validate(json.loads(record_path.read_text("utf-8")))
    except json.JSONDecodeError as error:
        raise InputError(f"{record_path}:{error.lineno}: not valid JSON") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise InputError(f"{record_path}: {where}: {first['msg']}") from None
    log = (root / "reproduce.log").read_text(encoding="utf-8", errors="replace")
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
