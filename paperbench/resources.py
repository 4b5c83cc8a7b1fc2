"""Locate the folders that ship with paperbench (papers, rubrics, agents, grader, sandbox).

In a checkout (including an editable install) they sit at the repository's top level, next to
the ``paperbench`` package; in an installed wheel they are package data under
``paperbench/_data/``. Callers ask for a folder by name and never care which case applies.
"""

from pathlib import Path
from typing import Literal

ResourceName = Literal["papers", "rubrics", "agents", "grader", "sandbox"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: ResourceName) -> Path:
    """Return the folder ``name`` as shipped with this installation.

    Raises:
        FileNotFoundError: the installation is broken (neither location holds the folder).
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"paperbench's '{name}' folder is missing from {_PACKAGE_DIR} and its parent; "
        "reinstall paperbench"
    )
