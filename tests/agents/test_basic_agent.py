"""The ``basic`` agent completes a small task on Docker through real tool calls, scripted by a
local server that speaks the OpenAI and Anthropic APIs to the real client libraries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperbench.agents import build_agent, load_agent_spec
from paperbench.papers import PaperBundle
from tests.support.agents import (
    MODELS,
    Api,
    archive_files,
    base_url,
    bash,
    events,
    model_agent,
    stage,
    submit,
    tool_reply,
)
from tests.support.llm_server import Reply, ScriptedLLMServer

pytestmark = pytest.mark.docker

WRITE_MAIN = "from pathlib import Path\nPath('main.py').write_text('print(6 * 7)\\n')\n"
REPRODUCE = "printf '#!/bin/bash\\nset -e\\npython3 main.py\\n' > reproduce.sh && bash reproduce.sh"


@pytest.mark.parametrize("api", ["openai", "openai-responses", "anthropic"])
def test_basic_writes_files_runs_bash_and_submits(
    api: Api, llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(
        tool_reply("python", code=WRITE_MAIN),
        bash(REPRODUCE),
        tool_reply("read_file_chunk", file="/home/paper/paper.md", start_line=3, max_lines=2),
        submit("main.py prints the answer"),
    )
    agent = build_agent(
        load_agent_spec("basic"), tiny_paper, model=MODELS[api], base_url=base_url(llm_server, api)
    )

    result = stage(agent, tiny_paper, tmp_path, run_id)

    assert result.agent.end_reason == "submitted"
    assert result.agent.submit_message == "main.py prints the answer"
    assert (result.agent.steps, result.agent.tool_calls) == (4, 4)
    files = archive_files(tmp_path / "submission.tar")
    assert files["submission/main.py"] == b"print(6 * 7)\n"
    assert b"python3 main.py" in files["submission/reproduce.sh"]
    outputs = [e["output"] for e in events(tmp_path, "tool_result")]
    assert "42" in outputs[1]
    assert "3: Line 1: the paper studies experiment number 1." in outputs[2]


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_tool_results_go_back_to_the_model_in_the_api_shape(
    api: Api, llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("echo tool-output-$((40 + 2))"), submit())

    stage(model_agent(llm_server, api), tiny_paper, tmp_path, run_id)

    first, second = llm_server.requests
    offered = {tool.get("name") or tool["function"]["name"] for tool in first.body["tools"]}
    assert offered == {"bash", "python", "read_file_chunk", "search_file", "submit"}
    assert "tool-output-42" in second.text
    assert "A Tiny Paper for Agent Tests" in first.text


def test_every_model_call_and_tool_call_is_in_the_transcript_in_order(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("echo hello"), submit())

    stage(model_agent(llm_server), tiny_paper, tmp_path, run_id)

    kinds = [e["type"] for e in events(tmp_path) if e["type"] != "snapshot"]
    assert kinds == [
        "start",
        "message",
        "message",
        "model_call",
        "model_reply",
        "tool_call",
        "tool_result",
        "model_call",
        "model_reply",
        "tool_call",
        "tool_result",
        "end",
    ]
    reply = events(tmp_path, "model_reply")[0]
    assert reply["tool_calls"][0]["arguments"] == {"command": "echo hello"}
    assert reply["usage"]["input_tokens"] > 0
    assert [e["seq"] for e in events(tmp_path)] == list(range(1, len(events(tmp_path)) + 1))


def test_usage_and_cost_add_up_over_the_calls(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("true"), submit())

    result = stage(model_agent(llm_server), tiny_paper, tmp_path, run_id).agent

    assert result.usage.input_tokens == sum(r.usage["input"] for r in llm_server.requests)
    assert result.usage.output_tokens == sum(r.usage["output"] for r in llm_server.requests)
    assert result.cost_usd is not None and result.cost_usd > 0
    assert result.model_versions == ["gpt-4o"]
    saved = json.loads((tmp_path / "agent.json").read_text())
    assert saved["agent"]["usage"] == result.usage.model_dump()


def test_a_reply_without_tool_calls_is_nudged_to_continue(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(Reply(content="Let me think about this."), submit())

    result = stage(
        model_agent(llm_server, nudge_prompt="NUDGE: use a tool"), tiny_paper, tmp_path, run_id
    )

    assert result.agent.end_reason == "submitted"
    assert "NUDGE: use a tool" in llm_server.requests[1].text


def test_tool_errors_are_results_the_model_can_read(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(
        tool_reply("read_file_chunk", file="missing.txt"),
        tool_reply("fly", to="the moon"),
        tool_reply("bash"),
        submit(),
    )

    result = stage(model_agent(llm_server), tiny_paper, tmp_path, run_id)

    outputs = [e["output"] for e in events(tmp_path, "tool_result")]
    assert outputs[0].startswith("error:") and "missing.txt" in outputs[0]
    assert outputs[1].startswith("error: unknown tool 'fly'")
    assert outputs[2] == "error: missing argument 'command'"
    assert result.agent.end_reason == "submitted"


def test_the_model_is_called_with_the_spec_settings(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(submit())

    stage(
        model_agent(llm_server, max_output_tokens=1234, temperature=0.5),
        tiny_paper,
        tmp_path,
        run_id,
    )

    body = llm_server.requests[0].body
    assert body["max_completion_tokens"] == 1234
    assert body["temperature"] == 0.5
