"""Each provider, through the real openai / anthropic clients, against the scripted server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from paperbench.llm import (
    CallTimeout,
    GenerateRequest,
    GenerateSettings,
    Message,
    OutputSchema,
    ProviderSetupError,
    RequestRejected,
    RetryPolicy,
    ServerError,
    TextPart,
    ToolCall,
    ToolSpec,
    open_provider,
    parse_model_name,
)
from paperbench.llm.errors import ConnectFailed
from paperbench.llm.provider import Provider
from paperbench.llm.types import Completion
from tests.support.llm_server import Reply, ScriptedLLMServer, ScriptedToolCall

MODELS = ["openai/o3-mini", "openai-responses/o3-mini", "anthropic/claude-sonnet-4-6"]
SCHEMA = OutputSchema(
    name="grade",
    json_schema={
        "type": "object",
        "properties": {"score": {"type": "integer", "enum": [0, 1]}},
        "required": ["score"],
        "additionalProperties": False,
    },
)


class FakeSleep:
    """Records the waits a retry policy asks for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def provider_for(name: str, server: ScriptedLLMServer, **retry: Any) -> Provider:
    base = server.url if name.startswith("anthropic") else server.openai_url
    return open_provider(parse_model_name(name, base_url=base), retry=RetryPolicy(**retry))


def request(**settings: Any) -> GenerateRequest:
    prefix = TextPart(text="You grade code. " * 40, cache=True)
    return GenerateRequest(
        messages=(Message(role="system", content=(prefix,)), Message.text("user", "Grade it.")),
        output_schema=SCHEMA,
        settings=GenerateSettings(**settings),
    )


def generate(provider: Provider, req: GenerateRequest) -> Any:
    async def run() -> Any:
        async with provider:
            return await provider.generate(req)

    return asyncio.run(run())


@pytest.mark.parametrize("name", MODELS)
def test_a_structured_reply_comes_back_with_usage_and_model_version(
    name: str, server: ScriptedLLMServer
) -> None:
    server.model_version = "snapshot-2025-01-31"
    server.push(Reply(json={"score": 1}))
    completion = generate(provider_for(name, server), request())
    assert json.loads(completion.text) == {"score": 1}
    assert completion.model_version == "snapshot-2025-01-31"
    assert completion.usage.input_tokens == server.requests[0].input_tokens > 0
    assert completion.usage.output_tokens > 0


@pytest.mark.parametrize("name", MODELS)
def test_the_second_call_with_the_same_prefix_reports_cached_tokens(
    name: str, server: ScriptedLLMServer
) -> None:
    server.push(Reply(json={"score": 1}), Reply(json={"score": 0}))
    provider = provider_for(name, server)

    async def twice() -> Any:
        async with provider:
            await provider.generate(request())
            return await provider.generate(request())

    second = asyncio.run(twice())
    assert second.usage.cached_input_tokens >= server.requests[0].segments[0].tokens


def test_chat_completions_sends_the_schema_temperature_seed_and_effort(
    server: ScriptedLLMServer,
) -> None:
    server.push(Reply(json={"score": 1}))
    generate(
        provider_for("openai/o3-mini", server),
        request(temperature=0.2, seed=7, reasoning_effort="high", max_output_tokens=99),
    )
    body = server.requests[0].body
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA.json_schema
    assert body["response_format"]["json_schema"]["strict"] is True
    assert (body["temperature"], body["seed"], body["reasoning_effort"]) == (0.2, 7, "high")
    assert body["max_completion_tokens"] == 99


def test_openai_compatible_servers_get_max_tokens(server: ScriptedLLMServer) -> None:
    server.push(Reply(json={"score": 1}))
    spec = parse_model_name(f"openai-compatible/llama3@{server.openai_url}", context_window=8192)
    generate(open_provider(spec), request(max_output_tokens=55))
    assert server.requests[0].body["max_tokens"] == 55
    assert server.requests[0].body["model"] == "llama3"


def test_responses_sends_text_format_reasoning_effort_and_does_not_store(
    server: ScriptedLLMServer,
) -> None:
    server.push(Reply(json={"score": 1}))
    generate(provider_for("openai-responses/o3-mini", server), request(reasoning_effort="low"))
    body = server.requests[0].body
    assert body["text"]["format"]["schema"] == SCHEMA.json_schema
    assert body["reasoning"] == {"effort": "low"}
    assert body["store"] is False


def test_anthropic_marks_the_stable_prefix_for_caching_and_uses_json_output(
    server: ScriptedLLMServer,
) -> None:
    server.push(Reply(json={"score": 1}))
    generate(provider_for("anthropic/claude-sonnet-4-6", server), request())
    body = server.requests[0].body
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][0]["content"][0]
    assert body["output_config"]["format"]["schema"] == SCHEMA.json_schema


def test_anthropic_counts_cache_reads_and_writes_into_input_tokens(
    server: ScriptedLLMServer,
) -> None:
    server.push(Reply(json={"score": 1}), Reply(json={"score": 1}))
    provider = provider_for("anthropic/claude-sonnet-4-6", server)

    async def twice() -> Any:
        async with provider:
            return [await provider.generate(request()) for _ in range(2)]

    first, second = asyncio.run(twice())
    assert first.usage.cache_write_tokens > 0 and first.usage.cached_input_tokens == 0
    assert second.usage.cached_input_tokens >= first.usage.cache_write_tokens
    assert first.usage.input_tokens == second.usage.input_tokens


TOOL = ToolSpec(
    name="read_file",
    description="Read a file",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}},
)


@pytest.mark.parametrize("name", MODELS)
def test_tool_calls_come_back_parsed_and_tool_results_go_back(
    name: str, server: ScriptedLLMServer
) -> None:
    server.push(
        Reply(tool_calls=[ScriptedToolCall("read_file", {"path": "a.py"}, id="call_1")]),
        Reply(content="done"),
    )
    provider = provider_for(name, server)
    first_turn = (Message.text("user", "look at a.py"),)

    async def loop() -> Any:
        async with provider:
            first = await provider.generate(GenerateRequest(messages=first_turn, tools=(TOOL,)))
            follow = (
                *first_turn,
                Message(role="assistant", tool_calls=first.tool_calls),
                Message(role="tool", tool_call_id="call_1", content=(TextPart(text="print(1)"),)),
            )
            second = await provider.generate(GenerateRequest(messages=follow, tools=(TOOL,)))
            return first, second

    first, second = asyncio.run(loop())
    assert first.tool_calls == (
        ToolCall(
            id="call_1",
            name="read_file",
            arguments={"path": "a.py"},
            raw_arguments='{"path": "a.py"}',
        ),
    )
    assert second.text == "done"
    assert "print(1)" in server.requests[1].text


def test_a_429_waits_the_retry_after_then_succeeds(server: ScriptedLLMServer) -> None:
    sleep = FakeSleep()
    server.push(Reply(status=429, headers={"retry-after": "7"}), Reply(json={"score": 1}))
    completion = generate(provider_for("openai/o3-mini", server, sleep=sleep), request())
    assert json.loads(completion.text) == {"score": 1}
    assert sleep.waits == [pytest.approx(7.0, abs=0.1)]
    assert len(completion.failed_attempts) == 1
    assert completion.failed_attempts[0].startswith("RateLimited: HTTP 429")


def test_a_rate_limit_storm_is_outwaited_rather_than_failed(server: ScriptedLLMServer) -> None:
    sleep = FakeSleep()
    storm = [Reply(status=429, headers={"retry-after": "2"}) for _ in range(30)]
    server.push(*storm, Reply(json={"score": 1}))
    completion = generate(provider_for("openai/o3-mini", server, sleep=sleep), request())
    assert json.loads(completion.text) == {"score": 1}
    assert len(completion.failed_attempts) == 30


def test_server_errors_are_retried_with_backoff_until_the_attempts_run_out(
    server: ScriptedLLMServer,
) -> None:
    sleep = FakeSleep()
    server.default = Reply(status=500)
    with pytest.raises(ServerError) as caught:
        generate(
            provider_for("anthropic/claude-sonnet-4-6", server, sleep=sleep, max_attempts=4),
            request(),
        )
    assert len(server.requests) == 4
    assert len(caught.value.attempts) == 4
    assert sleep.waits == sorted(sleep.waits) and len(sleep.waits) == 3


def test_a_slow_reply_is_a_timeout(server: ScriptedLLMServer) -> None:
    server.push(Reply(json={"score": 1}, delay=3.0))
    provider = provider_for("openai/o3-mini", server, max_attempts=1)
    with pytest.raises(CallTimeout):
        generate(provider, request(timeout_seconds=0.3))


def test_a_slow_reply_is_retried_and_the_next_one_is_used(server: ScriptedLLMServer) -> None:
    server.push(Reply(json={"score": 0}, delay=3.0), Reply(json={"score": 1}))
    provider = provider_for("openai/o3-mini", server, sleep=FakeSleep())
    completion = generate(provider, request(timeout_seconds=1.0))
    assert json.loads(completion.text) == {"score": 1}
    assert completion.failed_attempts[0].startswith("CallTimeout")


def test_a_refused_key_stops_at_once_with_a_setup_error(server: ScriptedLLMServer) -> None:
    server.push(Reply(status=401))
    with pytest.raises(ProviderSetupError, match="OPENAI_API_KEY"):
        generate(provider_for("openai/o3-mini", server), request())
    assert len(server.requests) == 1


def test_a_rejected_request_is_not_retried(server: ScriptedLLMServer) -> None:
    server.push(Reply(status=400, error_message="prompt is too long"))
    with pytest.raises(RequestRejected, match="too long"):
        generate(provider_for("openai/o3-mini", server), request())
    assert len(server.requests) == 1


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ProviderSetupError, match="OPENAI_API_KEY"):
        open_provider(parse_model_name("openai/o3-mini"))


@pytest.mark.parametrize("name", MODELS)
def test_a_server_that_never_answered_and_refuses_connections_is_not_retried(name: str) -> None:
    with ScriptedLLMServer() as server:
        base = server.url if name.startswith("anthropic") else server.openai_url
    sleep = FakeSleep()
    spec = parse_model_name(name, base_url=base)
    provider = open_provider(spec, retry=RetryPolicy(sleep=sleep))
    with pytest.raises(ProviderSetupError, match="cannot reach model"):
        asyncio.run(provider.generate(request()))
    assert sleep.waits == []


class FlakyConnection(Provider):
    """Answers once, then cannot connect: the retry decision around the SDKs, alone."""

    async def _attempt(self, request: GenerateRequest) -> Completion:
        if self.answered:
            raise ConnectFailed("connection failed: [Errno 111] Connection refused")
        return Completion(text="first")


def test_a_server_that_answered_before_and_then_refuses_is_retried() -> None:
    sleep = FakeSleep()
    spec = parse_model_name("openai-compatible/m@http://127.0.0.1:9/v1", context_window=8000)
    provider = FlakyConnection(spec, retry=RetryPolicy(sleep=sleep, max_attempts=3))
    assert asyncio.run(provider.generate(request())).text == "first"
    with pytest.raises(ServerError, match="Connection refused"):
        asyncio.run(provider.generate(request()))
    assert len(sleep.waits) == 2, "a blip in a long run is retried with backoff"
