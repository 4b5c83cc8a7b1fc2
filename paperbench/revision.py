"""Which paperbench made a result: its version and the git revision of its checkout."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path


@cache
def git_revision(folder: Path | None = None) -> tuple[str | None, bool | None]:
    """The checkout's HEAD and whether it has uncommitted changes; (None, None) outside git."""
    where = folder or Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    return sha or None, bool(dirty)
