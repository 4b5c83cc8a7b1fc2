"""The agent stage as the orchestrator calls it: everything a run leaves in its folder, and
what happens when the agent cannot start or fails."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from paperbench.agents import (
    AgentContext,
    AgentLimits,
    AgentResult,
    AgentStageResult,
    ReplayAgent,
    agent_sandbox_spec,
    load_script,
    run_agent_in,
)
from paperbench.llm import ProviderSetupError
from paperbench.papers import PaperBundle
from paperbench.sandbox import DockerSandbox, LocalSandbox, SandboxSpec
from tests.support.agents import (
    agent_inputs,
    archive_files,
    bash,
    model_agent,
    run,
    stage,
    submit,
)
from tests.support.llm_server import ScriptedLLMServer


class CrashingAgent:
    """A user's agent that writes a file, then fails."""

    name = "crashing"

    async def run(self, context: AgentContext) -> AgentResult:
        await context.sandbox.write_file(f"{context.submission_dir}/partial.py", "x = 1\n")
        raise RuntimeError("the agent fell over")


@pytest.mark.docker
def test_a_stage_leaves_a_self_describing_folder(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("echo hi > main.py"), submit())
    out_dir = tmp_path / "stage"

    result = stage(model_agent(llm_server), tiny_paper, out_dir, run_id)

    names = {p.name for p in out_dir.iterdir()}
    assert names == {
        "agent.json",
        "instructions.md",
        "manifest.json",
        "monitor.json",
        "submission.tar",
        "transcript.jsonl",
    }
    saved = json.loads((out_dir / "agent.json").read_text())
    assert saved["paper_id"] == "tiny-paper"
    assert saved["submission"] == "submission.tar" and saved["disqualified"] is False
    assert saved["agent"]["transcript"] == "transcript.jsonl"
    assert saved["sandbox"]["image"] == "paperbench/agent:bookworm"
    assert result.agent.snapshots[-1].kind == "final"


@pytest.mark.docker
def test_a_missing_api_key_fails_before_the_agent_starts(
    llm_server: ScriptedLLMServer,
    tiny_paper: PaperBundle,
    tmp_path: Path,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")

    with pytest.raises(ProviderSetupError, match="needs OPENAI_API_KEY"):
        stage(model_agent(llm_server), tiny_paper, tmp_path, run_id)
    assert llm_server.requests == []


@pytest.mark.docker
def test_an_agent_that_raises_is_recorded_and_its_work_still_captured(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    result = stage(CrashingAgent(), tiny_paper, tmp_path, run_id, AgentLimits())

    assert result.agent.end_reason == "error"
    assert result.agent.error == "RuntimeError: the agent fell over"
    assert result.submission == "submission.tar"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["partial.py"]
    logged = [json.loads(x) for x in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    (error,) = [e for e in logged if e["type"] == "error"]
    assert "RuntimeError: the agent fell over" in error["traceback"]


@pytest.mark.docker
def test_the_transcript_is_on_disk_while_the_tool_call_runs(
    llm_server: ScriptedLLMServer, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    llm_server.push(bash("sleep 3"), submit())
    transcript = tmp_path / "transcript.jsonl"
    options = agent_inputs(tiny_paper, run_id)

    async def scenario() -> list[str]:
        async with DockerSandbox(agent_sandbox_spec(tiny_paper, run_id=run_id)) as sandbox:
            task = asyncio.create_task(
                run_agent_in(model_agent(llm_server), tiny_paper, sandbox, tmp_path, options)
            )
            seen: list[str] = []
            while not task.done() and "tool_call" not in seen:
                await asyncio.sleep(0.05)  # polling the file, not waiting for a duration
                if transcript.exists():
                    seen = [json.loads(x)["type"] for x in transcript.read_text().splitlines()]
            await task
            return seen

    seen = run(scenario())

    assert seen[-2:] == ["model_reply", "tool_call"], "the call was logged before it finished"


def test_on_the_local_backend_the_agent_works_in_the_sandboxs_own_folders(
    tiny_paper: PaperBundle, tmp_path: Path
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- bash: cp ../paper/addendum.md notes.md && pwd\n")
    options = agent_inputs(tiny_paper)
    out_dir = tmp_path / "stage"

    async def scenario() -> str:
        spec = SandboxSpec(run_id="local-agent", stage="agent", allow_unsafe_local=True)
        async with LocalSandbox(spec) as sandbox:
            await run_agent_in(
                ReplayAgent(load_script(script)), tiny_paper, sandbox, out_dir, options
            )
            return sandbox.work_dir

    work_dir = run(scenario())

    instructions = (out_dir / "instructions.md").read_text()
    assert f"{work_dir}/submission/reproduce.sh" in instructions
    assert "/home/submission" not in instructions
    files = archive_files(out_dir / "submission.tar")
    assert files["submission/notes.md"] == (tiny_paper.root / "addendum.md").read_bytes()


@pytest.mark.docker
def test_a_sandbox_that_goes_away_ends_the_run_with_a_sandbox_error(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- bash: sleep 30\n- bash: echo never\n")
    transcript = tmp_path / "stage" / "transcript.jsonl"
    options = agent_inputs(tiny_paper, run_id)

    async def scenario() -> AgentStageResult:
        async with DockerSandbox(agent_sandbox_spec(tiny_paper, run_id=run_id)) as sandbox:
            agent = ReplayAgent(load_script(script))
            task = asyncio.create_task(
                run_agent_in(agent, tiny_paper, sandbox, tmp_path / "stage", options)
            )
            while not (transcript.exists() and '"tool_call"' in transcript.read_text()):
                await asyncio.sleep(0.05)  # polling the file, not waiting for a duration
            await sandbox.close()
            return await task

    result = run(scenario())

    assert result.agent.end_reason == "sandbox_error"
    assert result.submission is None and result.capture_error
    assert (tmp_path / "stage" / "agent.json").is_file()
