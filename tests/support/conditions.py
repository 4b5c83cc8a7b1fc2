"""Material for the run-condition tests: an agent that looks at its environment, and a finished
agent stage with snapshots taken at known times (for ``--grade-at``)."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paperbench.agents.monitor import MonitorReport
from paperbench.agents.protocol import AgentContext, AgentResult, Snapshot
from paperbench.agents.stage import AgentStageResult
from paperbench.runs.layout import RunPaths
from paperbench.runs.orchestrator import Orchestrator, RunContext

ENV_PROBE = """\
#!/usr/bin/env bash
mkdir -p results
if [ -n "${HF_TOKEN:-}" ]; then echo "HF_TOKEN is set" > results/env.txt
else echo "HF_TOKEN is unset" > results/env.txt; fi
"""


def _result(name: str) -> AgentResult:
    now = datetime.now(UTC)
    return AgentResult(
        agent=name,
        end_reason="submitted",
        started_at=now,
        ended_at=now,
        wall_seconds=0.0,
        working_seconds=0.0,
        api_wait_seconds=0.0,
        transcript="transcript.jsonl",
    )


@dataclass
class EnvProbingAgent:
    """Reports, in its submission, whether ``HF_TOKEN`` is set in its container and how long
    it is (never its value), and submits a reproduce.sh that reports the same of the
    reproduction's container."""

    name: str = "env-prober"

    async def run(self, context: AgentContext) -> AgentResult:
        seen = await context.sandbox.exec(
            ["bash", "-c", 'echo "HF_TOKEN: ${HF_TOKEN:+set, ${#HF_TOKEN} characters}"']
        )
        await context.sandbox.write_file(f"{context.submission_dir}/agent-saw.txt", seen.stdout)
        await context.sandbox.write_file(f"{context.submission_dir}/reproduce.sh", ENV_PROBE)
        return _result(self.name)


def submission_tar(path: Path, files: dict[str, str]) -> Path:
    """A captured submission: ``files`` under ``submission/`` in a tar archive at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as archive:
        folder = tarfile.TarInfo("submission")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"submission/{name}")
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
    return path


def finished_agent_stage(
    orchestrator: Orchestrator,
    seed: int,
    versions: list[tuple[float, dict[str, str]]],
) -> RunPaths:
    """Leave the agent stage of the orchestrator's first paper's run ``seed`` done, as if the
    agent had worked: one periodic snapshot per ``(working seconds, files)`` of ``versions``
    but the last, which is the final submission. Running the orchestrator then resumes after
    the agent stage."""
    paper = orchestrator.papers[0]
    status = next(s for s in orchestrator.statuses if s.seed == seed and s.paper_id == paper.id)
    paths = status.paths
    run = RunContext(paper, status, orchestrator.run_id(paper, seed))
    stage_dir = paths.stage_dir("agent")
    snapshots = []
    for index, (seconds, files) in enumerate(versions, start=1):
        final = index == len(versions)
        folder = Path() if final else Path("snapshots") / f"{index:03d}"
        submission_tar(stage_dir / folder / "submission.tar", files)
        snapshots.append(
            Snapshot(
                index=index,
                kind="final" if final else "periodic",
                taken_at=datetime.now(UTC),
                wall_seconds=seconds,
                working_seconds=seconds,
                archive=str(folder / "submission.tar"),
            )
        )
    result = AgentStageResult(
        paper_id=paper.id,
        agent=_result("scripted").model_copy(update={"snapshots": snapshots}),
        submission="submission.tar",
        monitor=MonitorReport(
            transcript="transcript.jsonl",
            blacklist=[],
            tool_calls_checked=0,
            violations=[],
            mentions=[],
        ),
        disqualified=False,
    )
    result.save(stage_dir)
    inputs = orchestrator.steps["agent"].inputs(run)
    assert inputs is not None
    paths.mark("agent", "running", fingerprint=inputs.fingerprint())
    paths.mark("agent", "done", fingerprint=inputs.fingerprint())
    return paths


@dataclass
class LeakingAgent:
    """An agent that puts ``HF_TOKEN``'s value wherever it can: its transcript, a file of its
    submission, a file name, and a reproduce.sh that prints the file."""

    name: str = "leaker"

    async def run(self, context: AgentContext) -> AgentResult:
        token = await context.sandbox.exec(["printenv", "HF_TOKEN"])
        value = token.stdout.strip()
        context.transcript.write("note", text=f"my token is {value}")
        folder = context.submission_dir
        await context.sandbox.write_file(f"{folder}/token.txt", f"token={value}\n")
        await context.sandbox.write_file(f"{folder}/{value}.txt", "named after it\n")
        await context.sandbox.write_file(
            f"{folder}/reproduce.sh", "mkdir -p results\ncat token.txt | tee results/out.txt\n"
        )
        return _result(self.name)
