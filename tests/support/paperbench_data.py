"""A small PaperBench checkout to import: its ``project/paperbench`` layout with real rubrics.

PaperBench keeps papers in ``data/papers/<folder>/`` (config.yaml, rubric.json, blacklist.txt,
the paper texts, often as Git LFS pointers) and its splits in ``experiments/splits/*.txt``. The
fixture copies the real rubrics, configs and blacklists at hand (the vendored ones, and
``../shared/data`` when present), writes a short ``paper.md`` for each (the real texts are not
redistributed here), and writes split files naming those papers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.paths import paperbench_rubrics

#: PaperBench's ``dev`` split, as in its repository (experiments/splits/dev.txt), restricted
#: below to the papers at hand.
DEV = ("semantic-self-consistency", "self-expansion", "self-composing-policies")


def paperbench_checkout(root: Path, *, papers: tuple[str, ...] | None = None) -> Path:
    """Write ``root/project/paperbench`` with the real rubrics at hand (or ``papers`` of them)
    and the split files ``dev`` (PaperBench's, as far as its papers are here), ``debug`` (one
    paper) and ``all`` (every paper here); returns the ``project/paperbench`` folder."""
    project = root / "project" / "paperbench"
    data = project / "data" / "papers"
    data.mkdir(parents=True)
    chosen = []
    for rubric in paperbench_rubrics():
        folder = rubric.parent
        if papers is not None and folder.name not in papers:
            continue
        shutil.copytree(folder, data / folder.name)
        (data / folder.name / "paper.md").write_text(
            f"# {folder.name}\n\nThe paper's text (not redistributed with the tests).\n"
        )
        chosen.append(folder.name)
    splits = project / "experiments" / "splits"
    splits.mkdir(parents=True)
    (splits / "dev.txt").write_text("\n".join(DEV) + "\n")
    (splits / "debug.txt").write_text(chosen[-1] + "\n")
    (splits / "all.txt").write_text("\n".join(chosen))
    return project
