"""Bring papers from a PaperBench data folder into paperbench's bundle layout.

PaperBench keeps ``data/papers/<id>/`` with ``config.yaml`` (id, title), the paper texts, the
rubric and assets. Many of those files are Git LFS objects, so a clone made without ``git lfs``
holds small pointer files in their place; we never copy a pointer as if it were the paper, and
say so in the report. The rubric is copied byte for byte.

PaperBench sets its run conditions (internet, a GPU, long time limits) for the whole run, not
per paper, so the ``config.yaml`` we write holds only the paper's id and title and a comment:
the conditions come from ``paperbench run --preset paperbench`` (or our defaults without it),
and a value written into this file overrides them for this paper alone
(:mod:`paperbench.runs.conditions`). PaperBench's split files (``experiments/splits``) are
brought along by the command (:mod:`paperbench.splits`).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from paperbench.errors import PaperError
from paperbench.papers import PaperConfig
from paperbench.rubric import validate_file

BUNDLE_FILES = (
    "paper.md",
    "paper.pdf",
    "addendum.md",
    "judge.addendum.md",
    "blacklist.txt",
    "rubric.json",
)
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CONFIG_COMMENT = """\
# Imported from PaperBench. PaperBench sets its run conditions for the whole run, not per paper:
# `paperbench run --preset paperbench` gives every paper internet access (blacklist enforced),
# an NVIDIA GPU in the agent and reproduction containers and PaperBench's time limits; without
# the preset, paperbench's defaults apply. A value written below overrides both for this paper
# only, e.g.
#   agent: {network: bridge, time_limit_seconds: 43200}
#   reproduction: {network: bridge, time_limit_seconds: 86400}
#   resources: {cpus: 8, memory_mb: 32768, gpus: 1}
"""
#: What the import tells the user about the config.yaml it wrote.
CONFIG_SET = (
    "id and title from PaperBench; no run conditions (PaperBench sets them for the whole run: "
    "use `paperbench run --preset paperbench`); write one here to override it for this paper"
)


@dataclass
class ImportReport:
    """What happened to one paper: what was copied, and what could not be brought and why."""

    paper_id: str
    destination: Path
    copied: list[str] = field(default_factory=list)
    not_brought: dict[str, str] = field(default_factory=dict)
    usable: bool = False


def is_lfs_pointer(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX


def find_paper_folders(source: Path) -> list[Path]:
    """Accept one paper folder, a ``papers/`` folder, PaperBench's ``data/`` folder, or its
    project folder (``project/paperbench``, holding ``data/papers``)."""
    if not source.is_dir():
        raise PaperError(f"{source}: no such folder")
    if (source / "config.yaml").is_file():
        return [source]
    base = source
    for inner in ("data/papers", "papers"):
        if (source / inner).is_dir():
            base = source / inner
            break
    found = sorted(child for child in base.iterdir() if (child / "config.yaml").is_file())
    if not found:
        raise PaperError(
            f"{source}: no paper folders (folders with config.yaml) here or in {source}/papers"
        )
    return found


def import_paper(source: Path, destination_root: Path, *, overwrite: bool = False) -> ImportReport:
    """Copy one PaperBench paper folder into ``destination_root/<id>``.

    Raises:
        PaperError: the source config is unreadable, or the destination exists and
            ``overwrite`` is false.
    """
    try:
        raw = yaml.safe_load((source / "config.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise PaperError(f"{source / 'config.yaml'}: not valid YAML") from None
    declared = str(raw.get("id") or source.name)
    # PaperBench addresses a paper by its folder (its registry and its split files do), and a
    # few config.yaml files declare another id (stochastic-interpolants says
    # stochastic-interpolant): the folder name is the id, so --split finds the paper.
    paper_id = source.name if _ID.fullmatch(source.name) else declared
    title = str(raw.get("title") or paper_id)
    destination = destination_root / paper_id
    if destination.exists():
        if not overwrite:
            raise PaperError(f"{destination}: already exists; pass --overwrite to replace it")
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    report = ImportReport(paper_id=paper_id, destination=destination)
    if declared != paper_id:
        report.not_brought["config.yaml (id)"] = (
            f"declares id {declared!r}; imported as {paper_id!r}, its folder's name, by which "
            "PaperBench and its splits address it"
        )

    config = PaperConfig(id=paper_id, title=title)
    (destination / "config.yaml").write_text(
        CONFIG_COMMENT
        + yaml.safe_dump(config.model_dump(mode="json", include={"id", "title"}), sort_keys=False),
        encoding="utf-8",
    )
    for name in BUNDLE_FILES:
        path = source / name
        if not path.is_file():
            report.not_brought[name] = "not in the source folder"
        elif is_lfs_pointer(path):
            report.not_brought[name] = "a Git LFS pointer, not the file (fetch it with git lfs)"
        else:
            shutil.copy2(path, destination / name)
            report.copied.append(name)
    assets = source / "assets"
    if assets.is_dir():
        _copy_assets(assets, destination / "assets", report)
    for extra in sorted(source.iterdir()):
        if extra.name not in {*BUNDLE_FILES, "assets", "config.yaml"}:
            report.not_brought[extra.name] = "not part of a paper bundle"

    if "rubric.json" in report.copied:
        _, problems = validate_file(destination / "rubric.json")
        errors = [problem for problem in problems if problem.severity == "error"]
        if errors:
            report.not_brought["rubric.json (validity)"] = (
                f"copied, but has {len(errors)} errors; see `paperbench rubric validate`"
            )
    report.usable = {"paper.md", "rubric.json"} <= set(report.copied)
    return report


def _copy_assets(source: Path, destination: Path, report: ImportReport) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink():
            report.not_brought[f"assets/{relative}"] = "a symbolic link"
        elif path.is_file():
            if is_lfs_pointer(path):
                report.not_brought[f"assets/{relative}"] = "a Git LFS pointer, not the file"
                continue
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination / relative)
            report.copied.append(f"assets/{relative}")
