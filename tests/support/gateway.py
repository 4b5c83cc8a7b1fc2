"""Helpers for the gateway suite: a run's gateway on loopback in front of the scripted server,
with the real ``openai`` and ``anthropic`` clients pointed at it as an agent would point them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai

from paperbench.agents.clock import RunClock
from paperbench.agents.protocol import AgentLimits
from paperbench.agents.transcript import Transcript
from paperbench.gateway import GatewaySession, ModelGateway
from paperbench.llm import RetryPolicy, open_provider, parse_model_name
from tests.support.llm_server import ScriptedLLMServer

FAST_RETRY = RetryPolicy(
    max_attempts=2, base_delay=0.01, max_delay=0.05, min_rate_limit_wait=0.01, jitter=0
)
#: Upstream models by provider: each reaches the scripted server in its own API.
UPSTREAM = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-sonnet-4",
    "compatible": "openai-compatible/scripted",
}


@dataclass
class Served:
    """A gateway serving one run, and what it writes."""

    gateway: ModelGateway
    session: GatewaySession
    clock: RunClock
    transcript: Path

    def openai(self, **options: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=f"{self.gateway.url}/v1", api_key=self.gateway.token, **options
        )

    def anthropic(self, **options: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            base_url=self.gateway.url, api_key=self.gateway.token, **options
        )

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.transcript.read_text().splitlines()]
        return [event for event in found if type is None or event["type"] == type]


@asynccontextmanager
async def serving(
    server: ScriptedLLMServer,
    folder: Path,
    *,
    upstream: str = "compatible",
    limits: AgentLimits | None = None,
    **gateway_options: Any,
) -> AsyncIterator[Served]:
    """A started, armed gateway whose provider is the scripted server in ``upstream``'s API."""
    name = UPSTREAM[upstream]
    if upstream == "compatible":
        spec = parse_model_name(f"{name}@{server.openai_url}", context_window=16_000)
    else:
        url = server.url if upstream == "anthropic" else server.openai_url
        spec = parse_model_name(name, base_url=url)
    clock = RunClock()
    clock.start()
    path = folder / "transcript.jsonl"
    with Transcript(path, clock) as transcript:
        async with open_provider(spec, retry=FAST_RETRY) as provider:
            gateway = ModelGateway(**gateway_options)
            await gateway.start("127.0.0.1")
            session = GatewaySession(provider, limits or AgentLimits(), clock, transcript)
            gateway.arm(session)
            try:
                yield Served(gateway, session, clock, path)
            finally:
                await gateway.close()


async def raw_post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST raw bytes (what no SDK would send); returns the status and the JSON reply."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as client,
        client.post(url, data=body, headers=headers or {}) as response,
    ):
        text = await response.text()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {"raw": text}
        return response.status, parsed


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
