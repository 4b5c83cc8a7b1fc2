"""Runs of the whole pipeline in the test's own process, on the local sandbox backend: the
orchestration is what these tests are about; the sandbox contract has its own suite against
Docker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from paperbench.agents.protocol import AgentContext, AgentResult
from paperbench.agents.specs import AgentSpec
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle
from paperbench.runs.orchestrator import Orchestrator
from paperbench.runs.record import RunRecord
from paperbench.runs.settings import RunSettings
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.local_backend import LocalSandbox
from tests.support.grading import NoSleep

WORKING_SCRIPT = "mkdir -p results\necho 1 > results/x\n"


def local(spec: SandboxSpec) -> Sandbox:
    return LocalSandbox(spec.model_copy(update={"allow_unsafe_local": True}))


@dataclass
class WritingAgent:
    """Writes ``files`` into the submission and submits: a scripted agent for the local
    backend (whose submission folder is a private one, not /home/submission)."""

    files: dict[str, str] = field(default_factory=lambda: {"reproduce.sh": WORKING_SCRIPT})
    name: str = "writer"

    async def run(self, context: AgentContext) -> AgentResult:
        for name, text in self.files.items():
            await context.sandbox.write_file(f"{context.submission_dir}/{name}", text)
        now = datetime.now(UTC)
        return AgentResult(
            agent=self.name,
            end_reason="submitted",
            started_at=now,
            ended_at=now,
            wall_seconds=0.0,
            working_seconds=0.0,
            api_wait_seconds=0.0,
            transcript="transcript.jsonl",
        )


def orchestrate(
    settings: RunSettings,
    papers: list[PaperBundle],
    *,
    agent: WritingAgent | None = None,
    factory: Callable[[SandboxSpec], Sandbox] = local,
) -> tuple[Orchestrator, list[RunRecord]]:
    """Run every (paper, seed) in-process with ``agent`` (a working submission by default);
    the judge's retries wait for nothing."""
    chosen = agent or WritingAgent()

    def make(spec: AgentSpec, paper: PaperBundle) -> WritingAgent:
        return chosen

    orchestrator = Orchestrator(
        settings, papers, factory, agent_factory=make, judge_retry=RetryPolicy(sleep=NoSleep())
    )
    return orchestrator, asyncio.run(orchestrator.run_all())


def attempts(run_dir: Path) -> dict[str, int]:
    """How many times each stage has started, from ``state.json``."""
    stages = json.loads((run_dir / "state.json").read_text())["stages"]
    return {name: entry["attempts"] for name, entry in stages.items()}
