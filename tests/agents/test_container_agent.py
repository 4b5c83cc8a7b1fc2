"""Bring-your-own agents, end to end on a real Docker engine: the bundled examples run in their
own containers and call their model through the run's gateway (to the scripted server, and to
the real local model); no key is anywhere in the container or the submission; a limit ends the
run with its reason and kills everything the command started; a filtered run records the
fetches its proxy refused."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import docker
import pytest

from paperbench.agents import AgentStageResult, run_agent_stage
from paperbench.llm.local import INSTALL_HINT, smollm2_available
from paperbench.papers import PaperBundle, load_bundle
from paperbench.sandbox import DockerSandbox
from paperbench.secrets import redact_text
from tests.support.agents import OPENAI_KEY, archive_files, events, run
from tests.support.byo import EXAMPLES, byo_inputs, derived_agent, stage_in_open_sandbox
from tests.support.llm_server import Reply, ScriptedLLMServer, ScriptedToolCall
from tests.support.paths import IN_CI

pytestmark = pytest.mark.docker

WRITE_SCRIPT = "printf '#!/bin/bash\\necho replicated\\n' > /home/submission/reproduce.sh"


def bash_then_done(command: str) -> object:
    """A model that asks for ``command`` once, then answers in text."""

    def respond(request: object) -> Reply:
        if any(segment.role == "tool" for segment in request.segments):  # type: ignore[attr-defined]
            return Reply(content="Finished: the submission has its reproduce.sh.")
        return Reply(tool_calls=[ScriptedToolCall("bash", {"command": command})])

    return respond


def stage(
    paper: PaperBundle, agent: Path | str, out: Path, run_id: str, **options: object
) -> AgentStageResult:
    inputs = byo_inputs(paper, agent, run_id, **options)
    return run(run_agent_stage(inputs, out, DockerSandbox))


def test_the_python_example_works_through_the_gateway_on_the_scripted_server(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = bash_then_done(WRITE_SCRIPT)
    out = tmp_path / "agent"
    result = stage(
        tiny_paper,
        "python-openai",
        out,
        run_id,
        agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url,
    )
    agent = result.agent
    assert agent.end_reason == "finished" and agent.steps == 2
    assert agent.usage.output_tokens > 0 and agent.cost_usd and agent.cost_usd > 0
    assert result.network is not None and result.network.policy == "gateway"
    files = archive_files(out / "submission.tar")
    assert files["submission/reproduce.sh"] == b"#!/bin/bash\necho replicated\n"
    assert b"Finished" in files["submission/AGENT_NOTES.md"]
    tool = events(out, "tool_call")[0]
    assert tool["via"] == "gateway" and tool["arguments"] == {"command": WRITE_SCRIPT}
    assert events(out, "end")[0]["reason"] == "finished"
    assert "[step 0] $ printf" in (out / "agent-output.log").read_text()
    assert [r.headers["authorization"] for r in llm_server.requests] == [f"Bearer {OPENAI_KEY}"] * 2


def test_the_shell_example_ends_on_its_end_file_speaking_anthropic_to_an_openai_model(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = Reply(content="#!/bin/bash\necho from the shell agent")
    out = tmp_path / "agent"
    result = stage(
        tiny_paper,
        EXAMPLES / "shell-curl",
        out,
        run_id,
        agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url,
    )
    assert result.agent.end_reason == "submitted"
    assert result.agent.submit_message == "wrote reproduce.sh with the model's script"
    files = archive_files(out / "submission.tar")
    assert files["submission/reproduce.sh"] == b"#!/bin/bash\necho from the shell agent\n"
    assert llm_server.requests[0].api == "chat"  # the agent spoke Messages; the model, Chat


def test_an_agent_on_the_bridge_policy_still_reaches_its_gateway(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = Reply(content="#!/bin/bash\necho over the bridge")
    out = tmp_path / "agent"
    result = stage(
        tiny_paper, "shell-curl", out, run_id, agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url, agent_network="bridge",
    )  # fmt: skip
    assert result.agent.end_reason == "submitted" and result.network is not None
    assert result.network.policy == "bridge"
    files = archive_files(out / "submission.tar")
    assert files["submission/reproduce.sh"] == b"#!/bin/bash\necho over the bridge\n"


def test_the_shell_example_runs_on_the_real_local_model(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    if not smollm2_available():
        reason = f"the local model extra is not installed: {INSTALL_HINT}"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    agent = derived_agent(tmp_path / "short", "shell-curl", env={"AGENT_MAX_TOKENS": "48"})
    out = tmp_path / "agent"
    result = stage(tiny_paper, agent, out, run_id, agent_model="local/smollm2")
    assert result.agent.end_reason == "submitted"
    reply = events(out, "model_reply")[0]
    assert reply["usage"]["output_tokens"] > 0 and reply["text"].strip()
    script = archive_files(out / "submission.tar")["submission/reproduce.sh"].decode()
    # the transcript is written redacted (a URL's userinfo the model happened to invent, say)
    assert redact_text(script).strip() == reply["text"].strip()


def test_no_key_is_in_the_containers_environment_filesystem_or_submission(
    llm_server: ScriptedLLMServer,
    tiny_paper: PaperBundle,
    tmp_path: Path,
    run_id: str,
    docker_engine: docker.DockerClient,
) -> None:
    look = (
        "env > /home/submission/env.txt; "
        "cat /proc/[0-9]*/environ > /home/submission/environ.txt 2>/dev/null; true"
    )
    llm_server.default = bash_then_done(look)
    inputs = byo_inputs(
        tiny_paper,
        "python-openai",
        run_id,
        agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url,
    )
    out = tmp_path / "agent"

    async def scenario() -> dict[str, str]:
        async with stage_in_open_sandbox(inputs, tiny_paper, out) as (result, sandbox, env):
            grep = await sandbox.exec(
                [
                    "sh",
                    "-c",
                    "grep -rlsF -f /dev/stdin / --exclude-dir=proc --exclude-dir=sys; true",
                ],
                input=OPENAI_KEY + "\n",
                user="root",
                timeout=300,
            )
            container = docker_engine.api.inspect_container(sandbox.describe()["container_id"])
            assert env.network is not None and env.network.egress_id is not None
            egress = docker_engine.api.inspect_container(env.network.egress_id)
            return {
                "found": grep.stdout.strip(),
                "config": json.dumps(container["Config"]) + json.dumps(egress["Config"]),
                "token": env.gateway.token if env.gateway else "",
                "end": result.agent.end_reason,
            }

    seen = run(scenario())
    assert seen["end"] == "finished"
    assert seen["found"] == ""
    assert OPENAI_KEY not in seen["config"]
    with tarfile.open(out / "submission.tar") as tar:
        names = tar.getnames()
    files = archive_files(out / "submission.tar")
    assert "submission/env.txt" in names and seen["token"] in files["submission/env.txt"].decode()
    assert all(OPENAI_KEY.encode() not in content for content in files.values())
    for kept in out.iterdir():
        if kept.is_file():
            assert OPENAI_KEY.encode() not in kept.read_bytes(), kept.name


def test_going_over_the_token_budget_ends_the_run_with_token_limit(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.default = Reply(tool_calls=[ScriptedToolCall("bash", {"command": "echo again"})])
    agent = derived_agent(tmp_path / "budget", "python-openai", limits={"max_tokens": 3000})
    out = tmp_path / "agent"
    result = stage(
        tiny_paper, agent, out, run_id, agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url,
    )  # fmt: skip
    agent_result = result.agent
    assert agent_result.end_reason == "token_limit"
    assert agent_result.usage.input_tokens + agent_result.usage.output_tokens >= 3000
    assert events(out, "end")[0]["reason"] == "token_limit"
    assert "token limit is reached" in (out / "agent-output.log").read_text()
    assert result.failures() == []  # a limit is how a run ends, not an agent error


def test_the_working_time_limit_kills_the_command_and_every_process_it_started(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    agent = derived_agent(
        tmp_path / "sleeper",
        "python-openai",
        command=["sh", "-c", "setsid sleep 997 & nohup sleep 998 & sleep 999"],
        limits={"working_time_seconds": 3},
    )
    inputs = byo_inputs(
        tiny_paper, agent, run_id, agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url,
    )  # fmt: skip

    async def scenario() -> tuple[str, float, str]:
        async with stage_in_open_sandbox(inputs, tiny_paper, tmp_path / "agent") as (
            result,
            sandbox,
            _,
        ):
            left = await sandbox.exec(
                ["sh", "-c", "ps -eo args | grep '^sleep 99' || true"], timeout=30
            )
            return result.agent.end_reason, result.agent.wall_seconds, left.stdout

    reason, wall, left = run(scenario())
    assert reason == "working_time_limit" and wall < 60
    assert left == ""


def test_an_agent_command_that_fails_is_an_agent_error(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    agent = derived_agent(tmp_path / "crash", "python-openai", command=["sh", "-c", "exit 3"])
    result = stage(
        tiny_paper, agent, tmp_path / "agent", run_id, agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url,
    )  # fmt: skip
    assert result.agent.end_reason == "error"
    assert [failure.kind for failure in result.failures()] == ["agent_error"]


def test_a_filtered_run_records_what_its_proxy_refused(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    root = tmp_path / "paper"
    shutil.copytree(tiny_paper.root, root)
    (root / "blacklist.txt").write_text("https://code.test/owner/blocked\n")
    paper = load_bundle(root)
    fetch = (
        "curl -s -o /dev/null -w '%{http_code}' https://code.test/owner/blocked/archive.zip "
        "> /home/submission/status.txt"
    )
    agent = derived_agent(tmp_path / "fetcher", "shell-curl", command=["sh", "-c", fetch],
                          end={"when": "exit"})  # fmt: skip
    out = tmp_path / "agent"
    result = stage(
        paper, agent, out, run_id, agent_model="openai/gpt-4o-mini",
        agent_base_url=llm_server.openai_url, agent_network="filtered",
    )  # fmt: skip
    assert archive_files(out / "submission.tar")["submission/status.txt"] == b"403"
    assert result.network is not None and result.network.policy == "filtered"
    assert result.network.refused == 1
    assert result.network.refused_urls == ["https://code.test/owner/blocked/archive.zip"]
    logged = [json.loads(line) for line in (out / "egress.jsonl").read_text().splitlines()]
    assert logged == [
        {
            "method": "GET",
            "url": "https://code.test/owner/blocked/archive.zip",
            "status": 403,
            "bytes": logged[0]["bytes"],
            "refused": "blacklist: https://code.test/owner/blocked",
        }
    ]
