"""When the context fills up, the oldest turns are dropped whole and the task is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.agents import AgentLimits
from paperbench.agents.context import Context
from paperbench.llm.tokens import count_tokens
from paperbench.llm.types import Message, TextPart, ToolCall
from paperbench.papers import PaperBundle
from tests.support.agents import bash, events, model_agent, stage
from tests.support.llm_server import Reply, ScriptedLLMServer

TASK = "TASK: replicate the paper."


def turn(n: int, words: int) -> list[Message]:
    call = ToolCall(id=f"c{n}", name="bash", arguments={"command": f"step {n}"})
    return [
        Message(role="assistant", tool_calls=(call,)),
        Message(
            role="tool",
            content=(TextPart(text=f"OUT-{n} " + "word " * words),),
            tool_call_id=f"c{n}",
        ),
    ]


def context_with(turns: int, words: int, window: int) -> Context:
    context = Context(
        [Message.text("system", "SYSTEM"), Message.text("user", TASK)],
        window=window,
        reply_tokens=100,
        counter=count_tokens,
    )
    for n in range(1, turns + 1):
        first, *rest = turn(n, words)
        context.start_turn(first)
        for message in rest:
            context.add(message)
    return context


def test_oldest_turns_are_dropped_until_the_estimate_fits() -> None:
    context = context_with(turns=6, words=200, window=1000)

    dropped = context.fit()

    assert dropped > 0
    assert context.tokens() <= context.budget
    texts = [m.joined_text for m in context.messages()]
    assert texts[:2] == ["SYSTEM", TASK]
    assert "earlier turn(s)" in texts[2]
    assert not any("OUT-1 " in text for text in texts)
    assert any("OUT-6 " in text for text in texts)


def test_turns_are_dropped_whole_so_no_tool_result_loses_its_call() -> None:
    context = context_with(turns=6, words=200, window=1000)

    context.fit()

    messages = context.messages()
    asked = {call.id for m in messages for call in m.tool_calls}
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    assert answered <= asked
    assert messages[3].role == "assistant", "the kept turns start with the model's reply"


def test_nothing_is_dropped_while_the_context_fits() -> None:
    context = context_with(turns=3, words=10, window=100_000)

    assert context.fit() == 0
    assert len(context.messages()) == 2 + 3 * 2


def test_drop_half_removes_the_older_half_of_the_turns() -> None:
    context = context_with(turns=6, words=10, window=100_000)

    assert context.drop_half() == 3
    assert "OUT-4 " in context.messages()[4].joined_text


@pytest.mark.docker
def test_a_long_run_keeps_the_task_and_stays_inside_the_window(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(*(bash(f"echo MARK-{n}; seq 1 600") for n in range(1, 7)))
    llm_server.default = bash("echo done")
    window = 4500

    stage(
        model_agent(llm_server, context_window=window, max_output_tokens=300),
        tiny_paper,
        tmp_path,
        run_id,
        limits=AgentLimits(max_steps=8),
    )

    requests = llm_server.requests
    assert all("A Tiny Paper for Agent Tests" in r.text for r in requests)
    assert all(r.input_tokens <= window for r in requests)
    assert "MARK-1" not in requests[-1].text
    assert "MARK-6" in requests[-1].text
    assert "earlier turn(s) of this conversation were removed" in requests[-1].text
    assert events(tmp_path, "trim")


@pytest.mark.docker
def test_a_request_the_provider_refuses_as_too_long_is_retried_with_half_the_turns(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    too_long = "prompt is too long: 210000 tokens > 200000 maximum"
    llm_server.push(
        *(bash(f"echo MARK-{n}") for n in range(1, 5)),
        Reply(status=400, error_message=too_long),
    )
    llm_server.default = bash("echo after")

    result = stage(
        model_agent(llm_server, "anthropic"),
        tiny_paper,
        tmp_path,
        run_id,
        limits=AgentLimits(max_steps=5),
    )

    assert result.agent.end_reason == "step_limit"
    retried = llm_server.requests[5]
    assert "MARK-1" not in retried.text and "MARK-4" in retried.text
    assert too_long in events(tmp_path, "trim")[0]["why"]
