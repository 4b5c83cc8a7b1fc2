"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperbench.papers import PAPERS_DIR_ENV, PaperRegistry

PapersDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--papers-dir",
        help=f"Extra folder of paper bundles (repeatable; also ${PAPERS_DIR_ENV}).",
        show_default=False,
    ),
]


def registry(papers_dir: list[Path] | None) -> PaperRegistry:
    return PaperRegistry.from_environment(papers_dir)
