"""Limits are enforced at the gateway: a call over a token, dollar, step or time limit is
refused with an API error the SDKs do not retry, and the run is ended with that limit as its
reason; provider failures come back as the API's errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anthropic
import openai
import pytest

from paperbench.agents.protocol import AgentLimits
from tests.support.gateway import run, serving
from tests.support.llm_server import Reply, ScriptedLLMServer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_the_call_over_the_token_limit_is_refused_and_ends_the_run_with_token_limit(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="word " * 40)

    async def scenario() -> tuple[str, int | None, str | None, int]:
        async with serving(llm_server, tmp_path, limits=AgentLimits(max_tokens=30)) as served:
            client = served.openai()  # the SDK's default retries stay on: none may happen
            await client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            with pytest.raises(openai.RateLimitError) as refused:
                await client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            return (
                str(refused.value),
                refused.value.status_code,
                served.session.end_reason,
                served.session.tracker.steps,
            )

    message, status, reason, steps = run(scenario())
    assert status == 429 and "token limit is reached" in message
    assert reason == "token_limit" and steps == 1
    assert len(llm_server.requests) == 1


def test_a_dollar_limit_is_priced_with_the_model_table(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="word " * 200)
    limits = AgentLimits(max_cost_usd=0.0002)  # gpt-4o-mini: $0.60 per million output tokens

    async def scenario() -> tuple[float | None, str | None, int]:
        async with serving(llm_server, tmp_path, upstream="openai", limits=limits) as served:
            client = served.openai(max_retries=0)
            calls = 0
            while calls < 50:
                try:
                    await client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
                except openai.RateLimitError:
                    break
                calls += 1
            return served.session.tracker.cost_usd, served.session.end_reason, calls

    cost, reason, calls = run(scenario())
    assert reason == "cost_limit" and cost is not None and cost >= 0.0002
    assert 1 < calls < 50  # several calls fitted under the limit, then it held


def test_the_anthropic_client_gets_a_non_retried_error_over_the_step_limit(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="ok")

    async def scenario() -> tuple[str | None, int]:
        async with serving(llm_server, tmp_path, limits=AgentLimits(max_steps=2)) as served:
            client = served.anthropic()
            for _ in range(2):
                await client.messages.create(
                    model="c", max_tokens=10, messages=[{"role": "user", "content": "x"}]
                )
            with pytest.raises(anthropic.RateLimitError):
                await client.messages.create(
                    model="c", max_tokens=10, messages=[{"role": "user", "content": "x"}]
                )
            return served.session.end_reason, len(llm_server.requests)

    assert run(scenario()) == ("step_limit", 2)


def test_a_call_still_waiting_when_the_wall_time_runs_out_ends_the_run(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="late", delay=3.0)

    async def scenario() -> tuple[int, str | None]:
        limits = AgentLimits(wall_time_seconds=0.5)
        async with serving(llm_server, tmp_path, limits=limits) as served:
            with pytest.raises(openai.RateLimitError) as refused:
                await served.openai(max_retries=0).chat.completions.create(**CHAT)  # type: ignore[call-overload]
            return refused.value.status_code, served.session.end_reason

    assert run(scenario()) == (429, "wall_time_limit")


def test_a_provider_rejection_is_passed_on_as_a_400_and_the_run_goes_on(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(Reply(status=400, error_message="prompt is too long"), Reply(content="ok"))

    async def scenario() -> tuple[str, str, str | None]:
        async with serving(llm_server, tmp_path) as served:
            client = served.openai(max_retries=0)
            with pytest.raises(openai.BadRequestError) as rejected:
                await client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            after = await client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            return (
                str(rejected.value),
                str(after.choices[0].message.content),
                served.session.end_reason,
            )

    message, after, reason = run(scenario())
    assert "prompt is too long" in message and after == "ok" and reason is None
    assert [event["type"] for event in _events(tmp_path)][:3] == [
        "model_call",
        "model_error",
        "model_call",
    ]


def test_a_provider_that_refuses_the_key_ends_the_run_as_a_model_error(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(status=401, error_message="invalid api key")

    async def scenario() -> tuple[int, str | None, bool]:
        async with serving(llm_server, tmp_path) as served:
            with pytest.raises(openai.APIStatusError) as failed:
                await served.openai(max_retries=0).chat.completions.create(**CHAT)  # type: ignore[call-overload]
            await asyncio.wait_for(served.session.ended.wait(), timeout=5)
            return (
                failed.value.status_code,
                served.session.end_reason,
                served.session.setup_error is not None,
            )

    assert run(scenario()) == (502, "model_error", True)


def _events(folder: Path) -> list[dict[str, object]]:
    import json

    return [json.loads(line) for line in (folder / "transcript.jsonl").read_text().splitlines()]
