"""Fixtures for the run tests: the scripted judge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import score_development_only


@pytest.fixture
def judge_server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(default=score_development_only) as server:
        yield server
