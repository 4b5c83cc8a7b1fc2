"""Helpers for the agents suite: build model agents that talk to the scripted server, run the
agent stage on Docker, and read what a run left behind."""

from __future__ import annotations

import asyncio
import json
import tarfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Literal, TypeVar

from paperbench.agents import (
    Agent,
    AgentInputs,
    AgentLimits,
    AgentOptions,
    AgentStageResult,
    LoopSettings,
    ModelAgent,
    run_agent_stage,
)
from paperbench.llm import RetryPolicy, parse_model_name
from paperbench.papers import PaperBundle
from paperbench.sandbox import DockerSandbox
from tests.support.llm_server import Reply, ScriptedLLMServer, ScriptedToolCall

T = TypeVar("T")
Api = Literal["openai", "openai-responses", "anthropic"]
MODELS: dict[Api, str] = {
    "openai": "openai/gpt-4o",
    "openai-responses": "openai-responses/gpt-4o",
    "anthropic": "anthropic/claude-sonnet-4",
}
#: Recognisable fake API keys: they must never show up in a sandbox, submission or transcript.
OPENAI_KEY = "sk-paperbench-canary-openai-6c1e0f9b2d"
ANTHROPIC_KEY = "sk-ant-paperbench-canary-anthropic-93ab7d"
BLACKLISTED = "https://github.com/paper-authors/spiral-code"
RUBRIC_CANARY = "RUBRIC-CANARY-71f2"
JUDGE_CANARY = "JUDGE-CANARY-0c9d"
SOLUTION_CANARY = "SOLUTION-CANARY-5e3a"

CONFIG = """\
id: tiny-paper
title: "A Tiny Paper for Agent Tests"
agent:
  network: none
  time_limit_seconds: 1800
reproduction:
  network: none
  time_limit_seconds: 300
resources:
  cpus: 1
  memory_mb: 1024
  gpus: 0
"""

FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05, min_rate_limit_wait=0.01, jitter=0)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def base_url(server: ScriptedLLMServer, api: Api) -> str:
    return server.url if api == "anthropic" else server.openai_url


def model_agent(
    server: ScriptedLLMServer,
    api: Api = "openai",
    *,
    iterative: bool = False,
    context_window: int | None = None,
    **loop: Any,
) -> ModelAgent:
    """A model agent on ``api`` pointed at the scripted server (retries fast)."""
    spec = parse_model_name(
        MODELS[api], base_url=base_url(server, api), context_window=context_window
    )
    settings = LoopSettings(system_prompt="You are a test agent. Use your tools.", **loop)
    name = "iterative" if iterative else "basic"
    return ModelAgent(name, spec, settings, iterative=iterative, retry=FAST_RETRY)


def tool_reply(name: str, delay: float = 0.0, **arguments: Any) -> Reply:
    return Reply(tool_calls=[ScriptedToolCall(name, arguments)], delay=delay)


def bash(command: str, delay: float = 0.0) -> Reply:
    return tool_reply("bash", delay=delay, command=command)


def submit(message: str = "done", delay: float = 0.0) -> Reply:
    return tool_reply("submit", delay=delay, message=message)


def stage(
    agent: Agent,
    paper: PaperBundle,
    out_dir: Path,
    run_id: str,
    limits: AgentLimits | None = None,
    **options: Any,
) -> AgentStageResult:
    """The whole agent stage in a fresh Docker sandbox."""
    inputs = agent_inputs(paper, run_id, limits, **options)
    return run(run_agent_stage(inputs, out_dir, DockerSandbox, agent=agent))


def agent_inputs(
    paper: PaperBundle, run_id: str = "adhoc", limits: AgentLimits | None = None, **fields: Any
) -> AgentInputs:
    """The agent stage's inputs for ``paper``, with ``limits`` (none by default) and any other
    field replaced; the agent itself is passed to the stage directly."""
    resolved = AgentInputs.resolve(paper, AgentOptions(agent="reference"), run_id=run_id)
    return resolved.model_copy(update={"limits": limits or AgentLimits(), **fields})


def events(out_dir: Path, type: str | None = None) -> list[dict[str, Any]]:
    lines = (out_dir / "transcript.jsonl").read_text().splitlines()
    found = [json.loads(line) for line in lines]
    return [e for e in found if type is None or e["type"] == type]


def archive_files(archive: Path) -> dict[str, bytes]:
    """Regular files of an archive by member name."""
    with tarfile.open(archive) as tar:
        return {
            member.name: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isreg()
        }
