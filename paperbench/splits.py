"""PaperBench's paper splits: named lists of paper ids, brought in by ``paperbench papers import``.

PaperBench names its sets of papers in ``experiments/splits/<name>.txt`` (one paper id a line):
``all`` (the 20 papers of its paper), ``dev`` (3 papers for development), ``lite`` and ``human``
(the 5 papers of its human baseline), ``debug`` (one paper) and ``testing`` (one paper). The
import copies those files into ``_splits/`` of the folder it fills (beside the bundles; the
registry skips folders starting with ``_``), and ``--split NAME`` reads them back wherever
``--papers`` is accepted. Every folder the registry looks at may hold a ``_splits/`` folder of
its own; the first one holding the name wins, in the registry's order.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from paperbench.errors import PaperError
from paperbench.papers import PaperRegistry

SplitName = Literal["all", "dev", "lite", "debug", "human", "testing"]
SPLITS_DIR = "_splits"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SPLIT_FILE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.txt$")
#: Where PaperBench keeps its split files, relative to the folders ``papers import`` accepts:
#: ``project/paperbench``, its ``data/`` and its ``data/papers/``.
SPLIT_SOURCES = ("experiments/splits", "../experiments/splits", "../../experiments/splits")


@dataclass(frozen=True)
class Split:
    """A split as found: its name, its file, and its paper ids in the file's order."""

    name: str
    path: Path
    paper_ids: tuple[str, ...]


def parse_split(path: Path) -> tuple[str, ...]:
    """The paper ids of a split file: one a line, blank lines and ``#`` comments ignored.

    Raises:
        PaperError: the file is unreadable or a line is not a paper id (the message names the
            file and line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PaperError(f"{path}: unreadable split file ({error})") from None
    ids: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if not _ID.fullmatch(entry):
            raise PaperError(f"{path}:{number}: {entry[:60]!r} is not a paper id")
        if entry not in ids:
            ids.append(entry)
    return tuple(ids)


def find_split(name: str, registry: PaperRegistry) -> Split:
    """The split ``name`` from the first ``_splits/`` folder of the registry's folders.

    Raises:
        PaperError: no folder holds it (the message says how to import PaperBench's splits),
            or its file is malformed.
    """
    looked: list[str] = []
    for _, directory in registry.sources():
        path = directory / SPLITS_DIR / f"{name}.txt"
        looked.append(str(path.parent))
        if path.is_file():
            return Split(name=name, path=path, paper_ids=parse_split(path))
    raise PaperError(
        f"--split {name}: no split file {name}.txt in {', '.join(looked)}; "
        "`paperbench papers import PAPERBENCH_DATA_DIR` brings PaperBench's split files "
        "(from its experiments/splits/)"
    )


def paper_selection(
    papers: list[str], split: str | None, registry: PaperRegistry
) -> tuple[list[str], Split | None]:
    """The paper ids (or bundle folders) a command names: the split's papers first, then the
    ones given with ``--papers`` that it lacks, each once.

    Raises:
        PaperError: neither is given, or the split cannot be found or read.
    """
    chosen = find_split(split, registry) if split else None
    names = list(chosen.paper_ids) if chosen else []
    names += [name for name in papers if name not in names]
    if not names:
        raise PaperError("no papers: give --papers A,B or --split NAME")
    return names, chosen


def find_split_folder(source: Path) -> Path | None:
    """PaperBench's ``experiments/splits`` folder near ``source`` (see :data:`SPLIT_SOURCES`)."""
    for relative in SPLIT_SOURCES:
        candidate = (source / relative).resolve()
        if candidate.is_dir():
            return candidate
    return None


def copy_splits(folder: Path, destination_root: Path) -> dict[str, str]:
    """Copy the split files of ``folder`` into ``destination_root/_splits``; returns, per file
    name, what happened to it (``"copied: N papers"`` or why it was left)."""
    report: dict[str, str] = {}
    target = destination_root / SPLITS_DIR
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.is_symlink() or not _SPLIT_FILE.fullmatch(path.name):
            report[path.name] = "not a split file (NAME.txt)"
            continue
        try:
            ids = parse_split(path)
        except PaperError as error:
            report[path.name] = f"not brought: {error}"
            continue
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)
        report[path.name] = f"copied: {len(ids)} papers"
    return report
