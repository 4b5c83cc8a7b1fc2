"""The agent stage: one agent, one paper, one sandbox, from an empty container to a captured
submission with its transcript, snapshots and blacklist verdict.

:func:`run_agent_stage` makes the sandbox from :func:`~paperbench.agents.prepare.agent_sandbox_spec`
and closes it whatever happens; :func:`run_agent_in` does the work in a sandbox the caller
started. In order:

1. upload the agent-visible paper files and write the instructions (``instructions.md``);
2. start the clock, the transcript (``transcript.jsonl``) and periodic snapshots;
3. run the agent; an exception from the agent is recorded as ``end_reason="error"`` and the
   stage goes on, except a :class:`~paperbench.errors.PaperbenchError` (a setup problem such as
   a missing API key), which is re-raised once the transcript is closed;
4. capture the final submission (``submission.tar``, ``manifest.json``), which is also the last
   snapshot;
5. run the blacklist monitor on the transcript (``monitor.json``); any violation marks the
   stage ``disqualified``;
6. write the whole record as ``agent.json``.

Everything is written inside ``out_dir``; paths in the record are relative to it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from paperbench import __version__
from paperbench.agents.capture import ARCHIVE_NAME, MANIFEST_NAME, MiB
from paperbench.agents.clock import RunClock
from paperbench.agents.monitor import MONITOR_FILE, MonitorReport, monitor_transcript
from paperbench.agents.prepare import (
    agent_sandbox_spec,
    prepare_agent_sandbox,
    render_instructions,
    sandbox_dirs,
)
from paperbench.agents.protocol import Agent, AgentContext, AgentLimits, AgentResult
from paperbench.agents.snapshots import Snapshotter
from paperbench.agents.transcript import Transcript
from paperbench.errors import PaperbenchError
from paperbench.papers import PaperBundle
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.errors import SandboxError
from paperbench.sandbox.images import AGENT_IMAGE
from paperbench.secrets import redact_text

RESULT_FILE = "agent.json"
TRANSCRIPT_FILE = "transcript.jsonl"
INSTRUCTIONS_FILE = "instructions.md"
SandboxFactory = Callable[[SandboxSpec], Sandbox]


class AgentStageOptions(BaseModel):
    """How to run the agent stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: AgentLimits
    snapshot_interval_seconds: float | None = Field(default=None, gt=0)
    max_file_bytes: int = Field(default=100 * MiB, gt=0)
    max_total_bytes: int = Field(default=1024 * MiB, gt=0)
    instructions_template: Path | None = None
    run_id: str = "adhoc"
    image: str = AGENT_IMAGE
    gpus: tuple[str, ...] = ()


class AgentStageResult(BaseModel):
    """The record of one agent stage (``agent.json``)."""

    harness_version: str = __version__
    paper_id: str
    agent: AgentResult
    sandbox: dict[str, str] = Field(default_factory=dict)
    instructions: str = INSTRUCTIONS_FILE
    submission: str | None = Field(description="the final archive, or None if capture failed")
    manifest: str | None = None
    capture_error: str | None = None
    excluded_files: int = 0
    monitor: MonitorReport
    disqualified: bool


async def run_agent_stage(
    agent: Agent,
    paper: PaperBundle,
    out_dir: Path,
    options: AgentStageOptions,
    factory: SandboxFactory,
) -> AgentStageResult:
    """Run ``agent`` on ``paper`` in a new sandbox made by ``factory`` (e.g.
    :class:`~paperbench.sandbox.DockerSandbox`); see the module docstring.

    Raises:
        DockerUnavailableError, ImageMissingError, SandboxStartError: no sandbox could start.
        PaperbenchError: the agent cannot run as configured (e.g. a missing API key).
    """
    spec = agent_sandbox_spec(paper, run_id=options.run_id, image=options.image, gpus=options.gpus)
    async with factory(spec) as sandbox:
        return await run_agent_in(agent, paper, sandbox, out_dir, options)


async def run_agent_in(
    agent: Agent,
    paper: PaperBundle,
    sandbox: Sandbox,
    out_dir: Path,
    options: AgentStageOptions,
) -> AgentStageResult:
    """Run ``agent`` on ``paper`` in ``sandbox``, which the caller started and will close.

    Raises:
        PaperbenchError: the agent cannot run as configured, or the paper cannot be shown.
        SandboxGoneError: the sandbox was gone before the agent started.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    view = await prepare_agent_sandbox(sandbox, paper)
    _, submission_dir = sandbox_dirs(sandbox)
    instructions = render_instructions(
        paper,
        options.limits,
        max_file_bytes=options.max_file_bytes,
        gpus=len(options.gpus),
        template=options.instructions_template,
        paper_dir=view.paper_dir,
        submission_dir=submission_dir,
    )
    (out_dir / INSTRUCTIONS_FILE).write_text(instructions, encoding="utf-8")
    clock = RunClock()
    transcript = Transcript(out_dir / TRANSCRIPT_FILE, clock)
    snapshots = Snapshotter(
        sandbox,
        out_dir,
        clock,
        interval_seconds=options.snapshot_interval_seconds,
        source=submission_dir,
        max_file_bytes=options.max_file_bytes,
        max_total_bytes=options.max_total_bytes,
        transcript=transcript,
    )
    context = AgentContext(
        sandbox=sandbox,
        paper=view,
        instructions=instructions,
        limits=options.limits,
        transcript=transcript,
        clock=clock,
        submission_dir=submission_dir,
    )
    clock.start()
    started_at = datetime.now(UTC)
    try:
        snapshots.start()
        try:
            result = await agent.run(context)
        except PaperbenchError:
            raise
        except Exception as error:
            transcript.write("error", error=repr(error), traceback=traceback.format_exc())
            result = _failed(agent, context, error, started_at)
        finally:
            await snapshots.stop()
        submission: str | None = ARCHIVE_NAME
        manifest_name: str | None = MANIFEST_NAME
        capture_error = None
        excluded = 0
        try:
            excluded = (await snapshots.take("final")).excluded
        except (SandboxError, OSError) as error:
            submission = manifest_name = None
            capture_error = str(error)
    finally:
        transcript.close()
    report = monitor_transcript(transcript.path, list(view.blacklist))
    (out_dir / MONITOR_FILE).write_text(
        redact_text(report.model_dump_json(indent=2)), encoding="utf-8"
    )
    stage = AgentStageResult(
        paper_id=paper.id,
        agent=result.model_copy(
            update={"snapshots": snapshots.snapshots, "transcript": TRANSCRIPT_FILE}
        ),
        sandbox=sandbox.describe(),
        submission=submission,
        manifest=manifest_name,
        capture_error=capture_error,
        excluded_files=excluded,
        monitor=report,
        disqualified=report.disqualified,
    )
    (out_dir / RESULT_FILE).write_text(
        redact_text(stage.model_dump_json(indent=2)), encoding="utf-8"
    )
    return stage


def _failed(
    agent: Agent, context: AgentContext, error: Exception, started_at: datetime
) -> AgentResult:
    clock = context.clock
    wall, working = clock.read()
    return AgentResult(
        agent=getattr(agent, "name", type(agent).__name__),
        end_reason="error",
        error=f"{type(error).__name__}: {error}",
        started_at=started_at,
        ended_at=datetime.now(UTC),
        wall_seconds=round(wall, 3),
        working_seconds=round(working, 3),
        api_wait_seconds=round(clock.api_wait(), 3),
        transcript=TRANSCRIPT_FILE,
    )
