"""Paper bundles written on the fly: the smallest bundle that loads."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.nodes import inner, leaf

CONFIG = "id: toy\ntitle: A toy paper\n"


def make_bundle(root: Path, config: str = CONFIG, paper: str | None = "# Toy\n") -> Path:
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(config)
    if paper is not None:
        (root / "paper.md").write_text(paper)
    (root / "rubric.json").write_text(json.dumps(inner("r", [leaf("a")])))
    return root
