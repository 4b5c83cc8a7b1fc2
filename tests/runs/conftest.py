"""Fixtures for the run tests: the scripted judge, an S3-compatible server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import score_development_only
from tests.support.s3 import moto_endpoint, s3

__all__ = ["judge_server", "moto_endpoint", "s3"]


@pytest.fixture
def judge_server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(default=score_development_only) as server:
        yield server
