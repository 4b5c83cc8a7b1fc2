"""Each hard limit stops the agent with its own reason. Time passes in the sandbox or in the
scripted server's delays; the tests themselves never sleep."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.agents import AgentLimits
from paperbench.errors import PaperbenchError
from paperbench.llm import parse_model_name
from paperbench.papers import PaperBundle
from tests.support.agents import bash, events, model_agent, stage, submit
from tests.support.llm_server import Reply, ScriptedLLMServer

pytestmark = pytest.mark.docker


def test_step_limit_ends_the_run_after_that_many_model_calls(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = bash("echo working")

    result = stage(model_agent(llm_server), tiny_paper, tmp_path, run_id, AgentLimits(max_steps=3))

    assert result.agent.end_reason == "step_limit"
    assert result.agent.steps == 3
    assert len(llm_server.requests) == 3
    assert result.agent.tool_calls == 3, "the last call's tool calls still run"


def test_token_limit_ends_the_run_once_reported_tokens_reach_it(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = bash("echo working")
    first_call_tokens = 1  # any call reports more than one token

    result = stage(
        model_agent(llm_server),
        tiny_paper,
        tmp_path,
        run_id,
        AgentLimits(max_tokens=first_call_tokens),
    )

    assert result.agent.end_reason == "token_limit"
    assert result.agent.steps == 1
    assert result.agent.usage.input_tokens + result.agent.usage.output_tokens >= first_call_tokens


def test_cost_limit_ends_the_run_once_the_priced_usage_reaches_it(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = bash("echo working")
    # gpt-4o costs $2.50 per million input tokens: two calls of ~1k tokens pass half a cent.
    limit = 0.003

    result = stage(
        model_agent(llm_server), tiny_paper, tmp_path, run_id, AgentLimits(max_cost_usd=limit)
    )

    assert result.agent.end_reason == "cost_limit"
    assert result.agent.cost_usd is not None and result.agent.cost_usd >= limit
    assert 1 <= result.agent.steps < 10


def test_a_cost_limit_on_a_model_without_a_price_is_refused_before_any_call(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    agent = model_agent(llm_server)
    agent.model = parse_model_name(
        f"openai-compatible/unpriced@{llm_server.openai_url}", context_window=8000
    )

    with pytest.raises(PaperbenchError, match="no price"):
        stage(agent, tiny_paper, tmp_path, run_id, AgentLimits(max_cost_usd=1.0))
    assert llm_server.requests == []


def test_wall_time_limit_ends_the_run_while_waiting_for_the_model(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("echo quick"), Reply(content="too slow", delay=20))

    result = stage(
        model_agent(llm_server), tiny_paper, tmp_path, run_id, AgentLimits(wall_time_seconds=1.5)
    )

    assert result.agent.end_reason == "wall_time_limit"
    assert 1.5 <= result.agent.wall_seconds < 10
    assert events(tmp_path, "model_error")[-1]["error"] == "the wall-time limit ran out"


def test_working_time_limit_kills_a_command_that_would_outlast_it(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("sleep 60"))

    result = stage(
        model_agent(llm_server), tiny_paper, tmp_path, run_id, AgentLimits(working_time_seconds=2)
    )

    assert result.agent.end_reason == "working_time_limit"
    assert 2 <= result.agent.working_seconds < 10
    output = events(tmp_path, "tool_result")[0]["output"]
    assert "the run's time limit was reached" in output


def test_working_time_leaves_out_api_waits_and_retries(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(
        bash("echo one", delay=0.8),
        Reply(status=500, delay=0.8),
        bash("echo two", delay=0.8),
        submit(delay=0.8),
    )

    result = stage(
        model_agent(llm_server), tiny_paper, tmp_path, run_id, AgentLimits(working_time_seconds=3)
    )

    agent = result.agent
    assert agent.end_reason == "submitted", "3.2 s of API waits do not count against 3 s"
    assert agent.api_wait_seconds >= 3.2
    assert agent.working_seconds < 3
    assert agent.wall_seconds >= agent.api_wait_seconds
    assert agent.failed_api_attempts == 1


def test_the_model_is_reminded_of_the_time_left_every_few_steps(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = bash("echo working")

    stage(
        model_agent(llm_server, reminder_every_steps=2),
        tiny_paper,
        tmp_path,
        run_id,
        AgentLimits(max_steps=5, working_time_seconds=3600),
    )

    reminded = ["Reminder" in request.text for request in llm_server.requests]
    assert reminded == [False, False, True, True, True]
    reminders = [e["text"] for e in events(tmp_path, "message") if e.get("kind") == "reminder"]
    assert len(reminders) == 2
    assert "left: 59m" in reminders[0] and "steps used: 2 of 5" in reminders[0]


def test_iterative_agent_has_no_submit_and_runs_until_a_limit(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(Reply(content="I am done."), submit(), bash("echo more"))

    result = stage(
        model_agent(llm_server, iterative=True, continue_prompt="CONTINUE please"),
        tiny_paper,
        tmp_path,
        run_id,
        AgentLimits(max_steps=3),
    )

    assert result.agent.end_reason == "step_limit"
    tools = {tool["function"]["name"] for tool in llm_server.requests[0].body["tools"]}
    assert "submit" not in tools
    assert all("CONTINUE please" in r.text for r in llm_server.requests[1:])
    assert events(tmp_path, "tool_result")[0]["output"].startswith("error: unknown tool 'submit'")
