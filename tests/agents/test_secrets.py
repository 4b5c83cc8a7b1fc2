"""API keys stay on the host: the agent loop holds them, the sandbox only sees tool calls.

The fake keys of the ``llm_server`` fixture are set in the harness's environment; the agent
looks for them everywhere it can inside its container, and we grep for them in the container's
configuration, its processes, its files, the submission, the snapshots and the transcript."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from paperbench.agents import AgentLimits, agent_sandbox_spec, run_agent_in
from paperbench.papers import PaperBundle
from paperbench.sandbox import DockerSandbox
from tests.support.agents import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    Api,
    agent_inputs,
    bash,
    events,
    model_agent,
    run,
    submit,
    tool_reply,
)
from tests.support.llm_server import ScriptedLLMServer

pytestmark = pytest.mark.docker

LOOK_FOR_KEYS = (
    "env > env.txt; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done >> env.txt; "
    "cat env.txt; sleep 1"  # the agent works a second, so periodic snapshots are taken too
)
PRINT_ENVIRON = "import os, json; print(json.dumps(dict(os.environ)))"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_no_api_key_reaches_the_container_the_submission_or_the_transcript(
    api: Api,
    llm_server: ScriptedLLMServer,
    tiny_paper: PaperBundle,
    tmp_path: Path,
    run_id: str,
    docker_engine: docker.DockerClient,
) -> None:
    key = ANTHROPIC_KEY if api == "anthropic" else OPENAI_KEY
    llm_server.push(bash(LOOK_FOR_KEYS), tool_reply("python", code=PRINT_ENVIRON), submit())
    out_dir = tmp_path / "stage"
    options = agent_inputs(
        tiny_paper, limits=AgentLimits(max_steps=10), run_id=run_id, snapshot_interval_seconds=0.2
    )

    async def scenario() -> tuple[int, str, list[str]]:
        spec = agent_sandbox_spec(tiny_paper, run_id=run_id)
        async with DockerSandbox(spec) as sandbox:
            await run_agent_in(model_agent(llm_server, api), tiny_paper, sandbox, out_dir, options)
            everywhere = await sandbox.exec(
                ["grep", "-rl", "--exclude-dir=proc", "--exclude-dir=sys", key, "/"], timeout=120
            )
            processes = await sandbox.exec(["sh", "-c", "cat /proc/[0-9]*/environ"], timeout=60)
            assert sandbox.container_id is not None
            config = docker_engine.api.inspect_container(sandbox.container_id)["Config"]["Env"]
            return everywhere.exit_code, everywhere.stdout + processes.stdout, config

    grep_status, inside, container_env = run(scenario())

    sent = llm_server.requests[0].headers
    assert key in (sent.get("authorization", "") + sent.get("x-api-key", "")), "key was in use"
    assert grep_status == 1, "grep searched the whole file system and found nothing"
    assert key not in inside
    dumped = [e["output"] for e in events(out_dir, "tool_result")[:2]]
    assert "HOSTNAME=sandbox" in dumped[0] and '"PATH"' in dumped[1], "the agent looked"
    assert not any(key in variable for variable in container_env)
    leaked = [p for p in out_dir.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaked == []
    assert (out_dir / "submission.tar").is_file() and list(out_dir.glob("snapshots/*/*.tar"))


def test_the_agent_sandbox_gets_an_empty_environment(tiny_paper: PaperBundle) -> None:
    spec = agent_sandbox_spec(tiny_paper, run_id="r1")

    assert spec.env == {}
