"""How the orchestrator classifies an agent that crashes, shown in-process on the local
sandbox backend (no Docker needed): the run keeps its place with the reason, and what the
agent left is still reproduced and graded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paperbench.agents.protocol import AgentContext, AgentResult
from paperbench.agents.specs import AgentSpec
from paperbench.papers import PaperBundle, load_bundle
from paperbench.runs.orchestrator import Orchestrator
from tests.support.inprocess import local
from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import run_settings, write_paper


class CrashingAgent:
    """Writes a working reproduce.sh, then fails as a buggy agent would."""

    name = "crashing"

    async def run(self, context: AgentContext) -> AgentResult:
        await context.sandbox.write_file(
            f"{context.submission_dir}/reproduce.sh", "mkdir -p results\necho 1 > results/x\n"
        )
        raise RuntimeError("the agent tripped over its own feet")


def test_a_crashing_agent_is_an_agent_error_and_its_submission_is_still_graded(
    tmp_path: Path, judge_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    paper = load_bundle(write_paper(tmp_path / "papers", "toy-a", (1, 1, 1)))
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)

    def crashing(spec: AgentSpec, bundle: PaperBundle) -> CrashingAgent:
        return CrashingAgent()

    orchestrator = Orchestrator(settings, [paper], local, agent_factory=crashing)
    [record] = asyncio.run(orchestrator.run_all())
    [failure] = record.failures
    assert (failure.kind, failure.stage) == ("agent_error", "agent")
    assert "tripped over its own feet" in failure.reason
    assert record.graded and record.score == pytest.approx(1 / 3)
    run_dir = orchestrator.statuses[0].paths.root
    assert (run_dir / "reproduction" / "submission" / "results" / "x").read_text() == "1\n"
