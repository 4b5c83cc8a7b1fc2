"""Fixtures for the gateway suite: the scripted LLM server, with recognisable fake keys for
both providers in the harness's environment (they must reach the server and nothing else)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.agents import ANTHROPIC_KEY, OPENAI_KEY
from tests.support.llm_server import ScriptedLLMServer


@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLMServer]:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", OPENAI_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with ScriptedLLMServer() as server:
        yield server
