"""Where the tests find things: the repository, and PaperBench's reference data.

The compatibility tests read real PaperBench rubrics. A small subset is vendored under
``tests/data/paperbench`` (MIT, PaperBench's license beside it) so they run from any clone;
the full set in ``../shared/data`` beside the repository is an extra that CI has.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
VENDORED_DATA = REPO_ROOT / "tests" / "data" / "paperbench"
IN_CI = os.environ.get("CI", "").lower() == "true"


def paperbench_rubrics() -> list[Path]:
    """Every real PaperBench rubric at hand: the vendored subset, plus the full set in
    ``../shared/data`` when it is there (one entry per paper)."""
    found: dict[str, Path] = {}
    for root in (VENDORED_DATA / "rubrics", SHARED_DATA / "paperbench-rubrics"):
        for path in sorted(root.glob("*/rubric.json")):
            found.setdefault(path.parent.name, path)
    return [found[name] for name in sorted(found)]
