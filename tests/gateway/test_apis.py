"""The gateway speaks each API an agent may use, through the real SDKs, whatever provider is
behind it: replies, tool calls, usage and streams come back in the agent's API, and every call
is written to the transcript as our own loops write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.agents import ANTHROPIC_KEY, OPENAI_KEY
from tests.support.gateway import run, serving
from tests.support.llm_server import Reply, ScriptedLLMServer, ScriptedToolCall

BASH = {
    "type": "function",
    "function": {
        "name": "bash",
        "description": "run a command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
    },
}


def tool_call(command: str = "ls /home/paper") -> Reply:
    return Reply(
        content="Let me look.", tool_calls=[ScriptedToolCall("bash", {"command": command})]
    )


@pytest.mark.parametrize("upstream", ["compatible", "openai", "anthropic"])
def test_chat_completions_returns_text_tool_calls_and_usage_from_any_provider(
    upstream: str, llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(tool_call())

    async def scenario() -> None:
        async with serving(llm_server, tmp_path, upstream=upstream) as served:
            reply = await served.openai().chat.completions.create(
                model="anything", messages=[{"role": "user", "content": "go"}], tools=[BASH]
            )
            message = reply.choices[0].message
            assert message.content == "Let me look."
            assert message.tool_calls and message.tool_calls[0].function.name == "bash"
            assert '"ls /home/paper"' in message.tool_calls[0].function.arguments
            assert reply.choices[0].finish_reason == "tool_calls"
            assert reply.usage and reply.usage.completion_tokens > 0

    run(scenario())
    assert llm_server.requests[0].api == ("messages" if upstream == "anthropic" else "chat")


def test_a_streamed_chat_completion_assembles_to_the_same_reply_with_a_usage_chunk(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(tool_call("echo hi"))

    async def scenario() -> tuple[str, str, int]:
        async with serving(llm_server, tmp_path) as served:
            stream = await served.openai().chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "go"}],
                tools=[BASH],
                stream=True,
                stream_options={"include_usage": True},
            )
            text, arguments, usage = "", "", 0
            async for chunk in stream:
                if chunk.usage:
                    usage = chunk.usage.total_tokens
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                    for call in choice.delta.tool_calls or []:
                        arguments += call.function.arguments or "" if call.function else ""
            return text, arguments, usage

    text, arguments, usage = run(scenario())
    assert text == "Let me look."
    assert "echo hi" in arguments
    assert usage > 0


def test_responses_api_answers_and_streams_with_function_calls(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(tool_call("pwd"), tool_call("pwd"))
    tools = [{"type": "function", "name": "bash", "parameters": BASH["function"]["parameters"]}]

    async def scenario() -> None:
        async with serving(llm_server, tmp_path, upstream="openai") as served:
            client = served.openai()
            reply = await client.responses.create(model="m", input="go", tools=tools)  # type: ignore[arg-type]
            calls = [item for item in reply.output if item.type == "function_call"]
            assert reply.output_text == "Let me look." and calls[0].name == "bash"
            async with client.responses.stream(model="m", input="go", tools=tools) as stream:  # type: ignore[arg-type]
                final = await stream.get_final_response()
            streamed = [item for item in final.output if item.type == "function_call"]
            assert final.output_text == "Let me look." and '"pwd"' in streamed[0].arguments
            assert final.usage and final.usage.output_tokens > 0

    run(scenario())


def test_anthropic_messages_answer_and_stream_with_tool_use(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(tool_call("whoami"), tool_call("whoami"))
    tools = [{"name": "bash", "description": "run", "input_schema": BASH["function"]["parameters"]}]

    async def scenario() -> None:
        async with serving(llm_server, tmp_path) as served:
            client = served.anthropic()
            message = await client.messages.create(
                model="claude", max_tokens=200, tools=tools,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": "go"}],
            )  # fmt: skip
            assert message.stop_reason == "tool_use"
            assert [block.type for block in message.content] == ["text", "tool_use"]
            async with client.messages.stream(
                model="claude", max_tokens=200, tools=tools,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": "go"}],
            ) as stream:  # fmt: skip
                final = await stream.get_final_message()
            used = [block for block in final.content if block.type == "tool_use"]
            assert used[0].input == {"command": "whoami"} and final.stop_reason == "tool_use"

    run(scenario())


def test_a_multi_turn_conversation_with_tool_results_reaches_the_provider_in_its_api(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(Reply(content="fine"))

    async def scenario() -> None:
        async with serving(llm_server, tmp_path, upstream="anthropic") as served:
            await served.openai().chat.completions.create(
                model="m",
                tools=[BASH],
                messages=[
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "go"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_7",
                                "type": "function",
                                "function": {"name": "bash", "arguments": '{"command": "ls"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_7", "content": "paper.md"},
                ],
            )

    run(scenario())
    body = llm_server.requests[0].body
    assert body["system"][0]["text"] == "be brief"
    assert body["messages"][1]["content"][0] == {
        "type": "tool_use", "id": "call_7", "name": "bash", "input": {"command": "ls"},
    }  # fmt: skip
    assert body["messages"][2]["content"][0]["tool_use_id"] == "call_7"
    assert body["messages"][2]["content"][0]["content"] == "paper.md"


def test_every_call_is_in_the_transcript_as_our_loops_write_it(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(tool_call("curl https://example.org/x"))

    async def scenario() -> list[dict[str, object]]:
        async with serving(llm_server, tmp_path, upstream="openai") as served:
            await served.openai().chat.completions.create(
                model="m", messages=[{"role": "user", "content": "start here"}], tools=[BASH]
            )
            return served.events()

    events = run(scenario())
    assert [event["type"] for event in events] == ["model_call", "model_reply", "tool_call"]
    call, reply, tool = events
    assert call["step"] == 1 and call["api"] == "chat"
    assert call["input"] == [{"role": "user", "text": "start here"}]
    assert reply["usage"]["output_tokens"] > 0  # type: ignore[index]
    assert isinstance(reply["cost_usd"], float) and reply["cost_usd"] > 0
    assert tool == {**tool, "name": "bash", "via": "gateway"}
    assert tool["arguments"] == {"command": "curl https://example.org/x"}


def test_the_real_key_goes_only_to_the_provider_and_the_token_is_not_a_key(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(Reply(content="ok"), Reply(content="ok"))

    async def scenario() -> tuple[str, str]:
        async with serving(llm_server, tmp_path, upstream="openai") as served:
            reply = await served.openai().chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
            return served.gateway.token, reply.model_dump_json()

    token, reply = run(scenario())
    assert llm_server.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert token not in (OPENAI_KEY, ANTHROPIC_KEY) and OPENAI_KEY not in reply
    transcript = (tmp_path / "transcript.jsonl").read_text()
    assert OPENAI_KEY not in transcript and token not in transcript


def test_the_run_model_answers_whatever_model_the_agent_names(
    llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_server.push(Reply(content="ok"))

    async def scenario() -> None:
        async with serving(llm_server, tmp_path, upstream="openai") as served:
            await served.openai().chat.completions.create(
                model="gpt-5-pro-expensive", messages=[{"role": "user", "content": "hi"}]
            )

    run(scenario())
    assert llm_server.requests[0].body["model"] == "gpt-4o-mini"
