"""Bring PaperBench's judge-evaluation examples in as gold sets.

PaperBench keeps them in ``data/judge_eval/<paper>/<n>/``: ``submission.tar`` (a tar of a
``submission/`` folder) and ``grading/expected_result.json``. In a clone made without
``git lfs`` the tars are Git LFS pointer files, and some examples ship no tar at all (their
code may not be redistributed; PaperBench's ``download_data.py`` fetches it). We import what is
usable — the expected result checked, the tar extracted with the archive checks every
submission gets — write a ``gold.json`` saying where it came from, and report the rest with
the reason.

PaperBench's examples were graded on its rubrics as they were then, and their submissions are
in the state their ``reproduce.sh`` left (no separate reproduction record): see
:mod:`~paperbench.judge_eval.grading` for how such sets are graded.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from paperbench.errors import PaperbenchError
from paperbench.judge_eval.gold import (
    EXPECTED_FILE,
    META_FILE,
    GoldMeta,
    GoldSetError,
    load_expected,
)
from paperbench.paper_import import is_lfs_pointer
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.errors import ArchiveError


@dataclass
class JudgeEvalImport:
    """What an import brought (set ids) and what it could not, with why."""

    destination: Path
    imported: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def judge_eval_root(source: Path) -> Path:
    """The ``judge_eval`` folder in ``source``: PaperBench's project folder, its ``data/``,
    or ``data/judge_eval`` itself.

    Raises:
        PaperbenchError: none of those is there.
    """
    for candidate in (source / "data" / "judge_eval", source / "judge_eval", source):
        if candidate.is_dir() and any(candidate.glob(f"*/*/{EXPECTED_FILE}")):
            return candidate
    raise PaperbenchError(
        f"{source}: no PaperBench judge-eval examples (expected "
        f"data/judge_eval/<paper>/<n>/{EXPECTED_FILE})"
    )


def _extract(tar: Path, destination: Path) -> None:
    unpacked = destination / ".unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    safe_extract(tar, unpacked)
    inner = unpacked / "submission"
    source = inner if list(unpacked.iterdir()) == [inner] and inner.is_dir() else unpacked
    source.rename(destination / "submission")
    shutil.rmtree(unpacked, ignore_errors=True)


def _import_one(example: Path, paper: str, name: str, target: Path) -> None:
    try:
        meta = GoldMeta(
            paper_id=paper,
            name=name,
            kind="imported",
            description=f"PaperBench's judge-evaluation example {paper}/{name}.",
            graded_by="PaperBench's authors",
            source=str(example),
        )
    except ValidationError:
        raise GoldSetError("the folder names are not a usable paper id and set name") from None
    load_expected(example / EXPECTED_FILE)
    untarred = example / "submission"
    tar = example / "submission.tar"
    if not untarred.is_dir():
        if not tar.is_file():
            raise GoldSetError(
                "no submission.tar: PaperBench does not redistribute this submission (its "
                "download_data.py fetches it); put it there and import again"
            )
        if is_lfs_pointer(tar):
            raise GoldSetError(
                "submission.tar is a Git LFS pointer, not the archive; run `git lfs pull` "
                "in the PaperBench clone and import again"
            )
    staging = target.parent.parent / f".importing-{paper}-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "grading").mkdir(parents=True)
    try:
        shutil.copyfile(example / EXPECTED_FILE, staging / EXPECTED_FILE)
        if untarred.is_dir():
            shutil.copytree(untarred, staging / "submission", symlinks=True)
        else:
            _extract(tar, staging)
        (staging / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def import_judge_eval(
    source: Path, destination: Path, *, overwrite: bool = False
) -> JudgeEvalImport:
    """Import every example under ``source`` (see :func:`judge_eval_root`) into
    ``destination/<paper>/<n>/``.

    Raises:
        PaperbenchError: ``source`` holds no examples.
    """
    root = judge_eval_root(source)
    report = JudgeEvalImport(destination=destination)
    for expected in sorted(root.glob(f"*/*/{EXPECTED_FILE}")):
        example = expected.parent.parent
        paper, name = example.parent.name, example.name
        set_id = f"{paper}/{name}"
        target = destination / paper / name
        if target.exists() and not overwrite:
            report.skipped[set_id] = f"already imported at {target} (--overwrite replaces it)"
            continue
        try:
            _import_one(example, paper, name, target)
        except (GoldSetError, ArchiveError) as error:
            report.skipped[set_id] = str(error)
            continue
        report.imported.append(set_id)
    return report
