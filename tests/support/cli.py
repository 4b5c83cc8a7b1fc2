"""Run the `paperbench` command line the way a user does: a new process, its own home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def paperbench(
    *args: str, home: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m paperbench ARGS`` with ``PAPERBENCH_HOME=home``, a wide terminal, no colour,
    no inherited ``PAPERBENCH_PAPERS_DIR``, and ``env`` added to the environment."""
    environment = {**os.environ, "PAPERBENCH_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    environment.pop("PAPERBENCH_PAPERS_DIR", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "paperbench", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=timeout,
    )
