"""Fixtures for the agents suite: a small paper bundle with canaries in what agents must not
see, Docker sandboxes made from the agent image, and the scripted LLM server with fake keys."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from paperbench.papers import PaperBundle, load_bundle
from paperbench.sandbox.cleanup import find_leftovers
from tests.support.agents import (
    ANTHROPIC_KEY,
    BLACKLISTED,
    CONFIG,
    JUDGE_CANARY,
    OPENAI_KEY,
    RUBRIC_CANARY,
    SOLUTION_CANARY,
)
from tests.support.llm_server import ScriptedLLMServer
from tests.support.paths import REPO_ROOT


@pytest.fixture
def tiny_paper(tmp_path: Path) -> PaperBundle:
    """A bundle with every kind of file: agent-visible ones, and a rubric, judge addendum and
    solution each carrying a canary string that must never reach the agent's sandbox."""
    root = tmp_path / "tiny-paper"
    (root / "assets").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    lines = [f"Line {n}: the paper studies experiment number {n}." for n in range(1, 121)]
    (root / "paper.md").write_text("# A Tiny Paper\n\n" + "\n".join(lines) + "\n")
    (root / "addendum.md").write_text("# Addendum\n\nUse numpy only.\n")
    (root / "paper.pdf").write_bytes(b"%PDF-1.4 tiny\n")
    (root / "blacklist.txt").write_text(f"# the authors' code\n{BLACKLISTED}\n")
    (root / "assets" / "figure1.txt").write_text("a figure\n")
    rubric = {"id": "root", "requirements": f"{RUBRIC_CANARY} replicate", "weight": 1}
    (root / "rubric.json").write_text(json.dumps({**rubric, "sub_tasks": []}))
    (root / "judge.addendum.md").write_text(f"{JUDGE_CANARY}: grade strictly.\n")
    (root / "solution").mkdir()
    (root / "solution" / "reproduce.sh").write_text(f"#!/bin/bash\necho {SOLUTION_CANARY}\n")
    return load_bundle(root)


@pytest.fixture
def smoothing_paper(tmp_path: Path) -> PaperBundle:
    """The bundled label-smoothing-calibration paper (its solution reproduces in seconds)."""
    root = tmp_path / "label-smoothing-calibration"
    shutil.copytree(REPO_ROOT / "papers" / "label-smoothing-calibration", root)
    return load_bundle(root)


@pytest.fixture
def run_id(docker_engine: docker.DockerClient) -> Iterator[str]:
    """A run id for one test's sandboxes; none of them may be left behind."""
    value = f"agents-{uuid.uuid4().hex[:10]}"
    yield value
    assert find_leftovers(docker_engine, value) == [], "the test left containers or volumes"


@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLMServer]:
    """The scripted server, with fake keys for both providers in the harness's environment."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with ScriptedLLMServer() as server:
        yield server
