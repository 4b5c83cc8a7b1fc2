"""The agent is an adversary: the gateway answers a wrong token, malformed or unsupported
requests, huge bodies, floods and clients that vanish mid-stream with a clear error (or by
carrying on), and keeps serving the run afterwards."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import openai
import pytest

from tests.support.gateway import raw_post, run, serving
from tests.support.llm_server import Reply, ScriptedLLMServer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_a_wrong_or_missing_token_is_refused_before_the_provider_is_called(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    async def scenario() -> list[int]:
        async with serving(llm_server, tmp_path) as served:
            url = f"{served.gateway.url}/v1/chat/completions"
            body = json.dumps(CHAT).encode()
            wrong = await raw_post(url, body, {"authorization": "Bearer sk-guess"})
            missing = await raw_post(url, body)
            prefix = await raw_post(url, body, {"x-api-key": served.gateway.token[:-1]})
            return [wrong[0], missing[0], prefix[0]]

    assert run(scenario()) == [401, 401, 401]
    assert llm_server.requests == []


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/v1/chat/completions", b"{not json", "not valid JSON"),
        ("/v1/chat/completions", b"[1, 2]", "must be a JSON object"),
        ("/v1/chat/completions", b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        ("/v1/chat/completions", b'{"messages": "hi"}', "messages: expected an array"),
        ("/v1/chat/completions", b'{"messages": [{"role": "wizard"}]}', "messages[0].role"),
        (
            "/v1/chat/completions",
            b'{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
            "text only",
        ),
        ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x"}], "n": 3}', "n:"),
        ("/v1/responses", b'{"input": "x", "previous_response_id": "resp_1"}', "no conversation"),
        ("/v1/responses", b'{"input": "x", "tools": [{"type": "web_search"}]}', "only function"),
        ("/v1/messages", b'{"messages": [{"role": "user", "content": "x"}]}', "max_tokens"),
        (
            "/v1/messages",
            b'{"max_tokens": 5, "messages": [{"role": "user", "content": "x"}], '
            b'"tools": [{"type": "web_search_20250305", "name": "web_search"}]}',
            "server tools",
        ),
    ],
)
def test_a_malformed_or_unsupported_request_is_a_400_naming_what_is_wrong(
    path: str, body: bytes, says: str, llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(Reply(content="still here"))

    async def scenario() -> tuple[int, str, str]:
        async with serving(llm_server, tmp_path) as served:
            headers = {"authorization": f"Bearer {served.gateway.token}"}
            status, reply = await raw_post(served.gateway.url + path, body, headers)
            after = await served.openai().chat.completions.create(**CHAT)  # type: ignore[call-overload]
            return status, json.dumps(reply), str(after.choices[0].message.content)

    status, reply, after = run(scenario())
    assert status == 400 and says in reply
    assert after == "still here"


def test_a_body_over_the_limit_is_a_413_and_never_reaches_the_provider(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    async def scenario() -> tuple[int, str]:
        async with serving(llm_server, tmp_path, max_body_bytes=64 * 1024) as served:
            huge = {"model": "m", "messages": [{"role": "user", "content": "x" * 200_000}]}
            headers = {"authorization": f"Bearer {served.gateway.token}"}
            url = f"{served.gateway.url}/v1/chat/completions"
            status, reply = await raw_post(url, json.dumps(huge).encode(), headers)
            return status, json.dumps(reply)

    status, reply = run(scenario())
    assert status == 413 and "over 65536 bytes" in reply
    assert llm_server.requests == []


def test_many_concurrent_streams_all_complete_and_are_all_metered(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="streamed", delay=0.05)
    calls = 40

    async def one(client: openai.AsyncOpenAI) -> str:
        stream = await client.chat.completions.create(**CHAT, stream=True)  # type: ignore[call-overload]
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        return "".join(parts)

    async def scenario() -> tuple[list[str], int, float, float]:
        async with serving(llm_server, tmp_path) as served:
            client = served.openai()
            texts = await asyncio.gather(*(one(client) for _ in range(calls)))
            wall, working = served.clock.read()
            return list(texts), served.session.tracker.steps, wall, working

    texts, steps, wall, working = run(scenario())
    assert texts == ["streamed"] * calls and steps == calls
    assert llm_server.max_in_flight > 1  # they really overlapped
    assert working <= wall - 0.05  # overlapping waits count once, and are left out


def test_requests_beyond_the_concurrency_bound_are_told_the_gateway_is_overloaded(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="slow", delay=0.5)

    async def scenario() -> list[int]:
        async with serving(llm_server, tmp_path, max_active=2) as served:
            headers = {"authorization": f"Bearer {served.gateway.token}"}
            url = f"{served.gateway.url}/v1/chat/completions"
            results = await asyncio.gather(
                *(raw_post(url, json.dumps(CHAT).encode(), headers) for _ in range(6))
            )
            return sorted(status for status, _ in results)

    statuses = run(scenario())
    assert statuses.count(200) == 2 and statuses.count(503) == 4


def test_a_client_that_leaves_mid_stream_costs_only_its_own_reply(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.default = Reply(content="x" * 50_000)

    async def scenario() -> tuple[int, str]:
        async with serving(llm_server, tmp_path) as served:
            headers = {"authorization": f"Bearer {served.gateway.token}"}
            url = f"{served.gateway.url}/v1/chat/completions"
            async with (
                aiohttp.ClientSession() as client,
                client.post(url, json={**CHAT, "stream": True}, headers=headers) as response,
            ):
                await response.content.read(10)  # then drop the connection
            after = await served.openai().chat.completions.create(**CHAT)  # type: ignore[call-overload]
            return served.session.tracker.steps, str(after.choices[0].message.content)

    steps, after = run(scenario())
    assert steps == 2 and after.startswith("xxx")


def test_unknown_paths_and_methods_get_a_404_or_405_not_a_crash(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    async def scenario() -> list[int]:
        async with serving(llm_server, tmp_path) as served:
            async with aiohttp.ClientSession() as client:
                missing = await client.post(f"{served.gateway.url}/v1/embeddings", json={})
                method = await client.get(f"{served.gateway.url}/v1/chat/completions")
            return [missing.status, method.status]

    assert run(scenario()) == [404, 405]
