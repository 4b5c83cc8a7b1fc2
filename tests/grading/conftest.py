"""Fixtures for the judge: a tiny paper bundle, submissions, reproductions, the scripted server.

``tiny_bundle`` has a rubric of five leaves over the three categories, small enough that a test
can say exactly which call graded which leaf.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperbench.papers import PaperBundle, PaperRegistry, load_bundle
from tests.support.grading import TINY_RUBRIC, reproduction_record
from tests.support.llm_server import ScriptedLLMServer, schema_responder


@pytest.fixture
def tiny_bundle(tmp_path: Path) -> PaperBundle:
    root = tmp_path / "paper"
    root.mkdir()
    (root / "config.yaml").write_text("id: tiny\ntitle: Tiny optimizer paper\n")
    (root / "paper.md").write_text("# Tiny\n\nWe compare SGD and Adam (PAPER-TEXT-MARKER).\n")
    (root / "addendum.md").write_text("Use numpy only (ADDENDUM-MARKER).\n")
    (root / "judge.addendum.md").write_text("Accuracy above 0.98 is fine (JUDGE-NOTE-MARKER).\n")
    (root / "rubric.json").write_text(json.dumps(TINY_RUBRIC))
    return load_bundle(root)


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    root.mkdir()
    (root / "optim.py").write_text("def sgd_step(w, g, eta):\n    return w - eta * g  # SOURCE\n")
    (root / "README.md").write_text("Run reproduce.sh (README-MARKER).\n")
    (root / "reproduce.sh").write_text("#!/bin/bash\npython optim.py  # SCRIPT-MARKER\n")
    (root / "weights.npy").write_bytes(b"\x93NUMPY\x00\x01" + bytes(100))
    return root


@pytest.fixture
def reproduction(tmp_path: Path, submission: Path) -> Path:
    """A reproduction directory as the reproduction stage leaves it."""
    root = tmp_path / "reproduction"
    shutil.copytree(submission, root / "submission")
    results = root / "submission" / "results"
    results.mkdir()
    (results / "table.md").write_text("| adam | 0.01 |\n| sgd | 0.40 |  OUTPUT-MARKER\n")
    (root / "reproduce.log").write_text("training sgd\ntraining adam\nLOG-MARKER done\n")
    reproduction_record("succeeded", exit_code=0, duration=12.5, created=["results/table.md"]).save(
        root
    )
    return root


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(default=schema_responder(score=1)) as running:
        yield running


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture
def spiral() -> PaperBundle:
    return PaperRegistry(include_imported=False).get("spiral-optimizers")
