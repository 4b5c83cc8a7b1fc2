"""Fixtures for judge evaluation: the toy paper, two gold sets graded by hand, a scripted
server, and a home folder and keys of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperbench.papers import PaperBundle
from tests.support.judge_eval import make_gold_set, make_paper
from tests.support.llm_server import ScriptedLLMServer

#: Hand grades, in rubric order (CD CD CD | CE CE | RA RA RA).
PARTIAL = (1, 1, 0, 1, 0, 1, 0, 0)
MOSTLY = (1, 1, 1, 1, 1, 0, 1, 0)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERBENCH_PAPERS_DIR", raising=False)


@pytest.fixture
def paper(tmp_path: Path) -> PaperBundle:
    return make_paper(tmp_path / "papers" / "toy-optimizers")


@pytest.fixture
def gold_root(tmp_path: Path, paper: PaperBundle) -> Path:
    root = tmp_path / "gold"
    make_gold_set(root, "partial", PARTIAL, bundle=paper)
    make_gold_set(root, "mostly", MOSTLY, bundle=paper, kind="complete")
    return root


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as running:
        yield running
