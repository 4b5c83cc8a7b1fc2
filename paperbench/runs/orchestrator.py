"""The eval pipeline: agent → capture → reproduction → grading, for every (paper, seed).

Each run is a chain of stages over its run directory (:mod:`paperbench.runs.layout`). A stage
is *done* once ``state.json`` says so, and is then never redone by a later invocation of the
same command; a stage that was interrupted (Ctrl-C, SIGKILL, a crashed machine) left no
``done`` mark, so its folder is removed and the stage runs again from its start. Containers a
killed process left behind are found by the run's label and removed before that.

Changing what a stage depends on (the judge, Code-Dev mode, the reproduction time limit) changes
the stage's *fingerprint*; a done stage whose fingerprint differs is redone, with the stages
after it, so a result always matches the settings it is reported under.

Failures are classified (:mod:`paperbench.runs.record`) and kept in the run's record. A problem
the user must fix first (a missing API key, an unknown agent) stops the command instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from paperbench.agents.protocol import Agent
from paperbench.agents.specs import AgentSpec, build_agent, limits_for, load_agent_spec
from paperbench.agents.stage import AgentStageOptions, AgentStageResult, run_agent_stage
from paperbench.errors import DockerUnavailableError, PaperbenchError
from paperbench.grading import GradeOptions, GradeResult, grade_submission_async
from paperbench.papers import PaperBundle
from paperbench.reproduction import ReproductionOptions, ReproductionResult, reproduce
from paperbench.reproduction.result import RESULT_FILE as REPRODUCTION_FILE
from paperbench.runs.layout import RunPaths, Stage, slug, write_json_atomic
from paperbench.runs.record import CategoryResult, Failure, RunRecord
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.errors import ArchiveError, SandboxError
from paperbench.sandbox.images import REPRODUCER_IMAGE

SandboxFactory = Callable[[SandboxSpec], Sandbox]
INFRASTRUCTURE = (SandboxError, DockerUnavailableError, OSError)
#: How an agent run can end that makes it an ``agent_error``: the agent crashed, or its model's
#: API kept failing after the provider's retries. The submission it left is still graded.
AGENT_ERRORS = frozenset({"error", "model_error"})


class RunSettings(BaseModel):
    """Everything one ``paperbench run`` asks for, as the orchestrator needs it."""

    agent: str
    agent_model: str | None = None
    replay_script: Path | None = None
    judge: str
    seeds: int = Field(default=1, ge=1)
    first_seed: int = 0
    concurrency: int = Field(default=1, ge=1)
    code_dev: bool = False
    runs_dir: Path
    batch: int = Field(default=1, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    judge_context_window: int | None = None
    judge_concurrency: int | None = None
    reproduction_timeout: float | None = Field(default=None, gt=0)
    reproduction_retries: int = Field(default=0, ge=0)
    snapshot_interval: float | None = Field(default=None, gt=0)
    agent_time_limit: float | None = Field(default=None, gt=0)
    reproducer_image: str = REPRODUCER_IMAGE

    def agent_label(self) -> str:
        model = self.agent_model or load_agent_spec(self.agent).model
        kind = load_agent_spec(self.agent).kind
        return f"{self.agent}/{model}" if model and kind in ("basic", "iterative") else self.agent


@dataclass
class RunStatus:
    """What the live view shows of one run."""

    paper_id: str
    seed: int
    paths: RunPaths
    stage: str = "waiting"
    started: float | None = None
    agent_cost: float | None = None
    judge_cost: float | None = None
    score: float | None = None
    note: str = ""
    finished: bool = False

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def cost_so_far(self) -> float | None:
        """Agent cost read live from the transcript's last model reply, plus the judge's."""
        agent = self.agent_cost
        if agent is None:
            agent = _last_transcript_cost(self.paths.stage_dir("agent") / "transcript.jsonl")
        if agent is None and self.judge_cost is None:
            return None
        return (agent or 0.0) + (self.judge_cost or 0.0)


def _last_transcript_cost(path: Path) -> float | None:
    try:
        with path.open("rb") as stream:
            stream.seek(0, 2)
            stream.seek(max(0, stream.tell() - 65536))
            lines = stream.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if '"cost_usd"' in line:
            try:
                value = json.loads(line).get("cost_usd")
            except ValueError:
                continue
            return float(value) if isinstance(value, int | float) else None
    return None


def fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Orchestrator:
    settings: RunSettings
    papers: list[PaperBundle]
    factory: SandboxFactory
    provenance: Callable[[PaperBundle], dict[str, Any]] = lambda paper: {}
    cleanup: Callable[[str], None] = lambda run_id: None
    agent_factory: Callable[[AgentSpec, PaperBundle], Agent] | None = None
    statuses: list[RunStatus] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.label = self.settings.agent_label()
        for seed in range(self.settings.first_seed, self.settings.first_seed + self.settings.seeds):
            for paper in self.papers:
                paths = RunPaths.of(self.settings.runs_dir, self.label, paper.id, seed)
                self.statuses.append(RunStatus(paper.id, seed, paths))

    async def run_all(self) -> list[RunRecord]:
        """Run every (paper, seed) with at most ``concurrency`` at once; records in order."""
        gate = asyncio.Semaphore(self.settings.concurrency)
        by_id = {paper.id: paper for paper in self.papers}

        async def one(status: RunStatus) -> RunRecord:
            async with gate:
                return await self.run_one(by_id[status.paper_id], status)

        return list(await asyncio.gather(*(one(status) for status in self.statuses)))

    def make_agent(self, spec: AgentSpec, paper: PaperBundle) -> Agent:
        """The agent for one run: from its spec, unless the embedder supplied a factory."""
        if self.agent_factory is not None:
            return self.agent_factory(spec, paper)
        return build_agent(
            spec, paper, model=self.settings.agent_model, script=self.settings.replay_script
        )

    def run_id(self, paper: PaperBundle, seed: int) -> str:
        return slug(f"{self.label}.{paper.id}.seed{seed}")[:100]

    async def run_one(self, paper: PaperBundle, status: RunStatus) -> RunRecord:
        paths, seed = status.paths, status.seed
        status.started = time.monotonic()
        paths.root.mkdir(parents=True, exist_ok=True)
        run_id = self.run_id(paper, seed)
        self.cleanup(run_id)
        self._write_provenance(paper, paths)
        failures: list[Failure] = []

        agent = await self._agent_stage(paper, status, run_id, failures)
        if agent is None:
            return self._finish(paper, status, failures, None, None, None)
        submission = paths.stage_dir("agent") / agent.submission if agent.submission else None
        if agent.disqualified:
            found = agent.monitor.violations[0] if agent.monitor.violations else None
            reason = f"blacklisted {found.url} at transcript line {found.line}" if found else ""
            failures.append(Failure(kind="disqualified", stage="agent", reason=reason))
            return self._finish(paper, status, failures, agent, None, None)
        if submission is None:
            failures.append(
                Failure(
                    kind="agent_error",
                    stage="capture",
                    reason=agent.capture_error or "no submission captured",
                )
            )
            return self._finish(paper, status, failures, agent, None, None)

        reproduction = None
        if not self.settings.code_dev:
            reproduction = await self._reproduction_stage(
                paper, status, run_id, submission, failures
            )
            if reproduction is None:
                return self._finish(paper, status, failures, agent, None, None)
        grade = await self._grading_stage(paper, status, submission, reproduction, failures)
        return self._finish(paper, status, failures, agent, reproduction, grade)

    # -- stages --------------------------------------------------------------------------------

    def _begin(self, paths: RunPaths, stage: Stage, inputs: dict[str, Any]) -> str | None:
        """The stage's fingerprint when it must run (not done, or done under other settings);
        None when its done result stands. Clears the debris of an interrupted attempt and the
        results of the stages after it."""
        wanted = fingerprint(inputs)
        state = paths.load_state().stages.get(stage)
        if state is not None and state.status == "done" and state.fingerprint == wanted:
            return None
        shutil.rmtree(paths.stage_dir(stage), ignore_errors=True)
        later: dict[Stage, tuple[Stage, ...]] = {
            "agent": ("reproduction", "grading"),
            "reproduction": ("grading",),
        }
        for after in later.get(stage, ()):
            shutil.rmtree(paths.stage_dir(after), ignore_errors=True)
            current = paths.load_state()
            current.stages.pop(after, None)
            paths.save_state(current)
        paths.mark(stage, "running", fingerprint=wanted)
        return wanted

    async def _agent_stage(
        self, paper: PaperBundle, status: RunStatus, run_id: str, failures: list[Failure]
    ) -> AgentStageResult | None:
        paths, out = status.paths, status.paths.stage_dir("agent")
        spec = load_agent_spec(self.settings.agent)
        limits = limits_for(paper, spec, working_time_seconds=self.settings.agent_time_limit)
        inputs = {
            "agent": self.label,
            "limits": limits.model_dump(),
            "script": str(self.settings.replay_script or ""),
        }
        if (print_ := self._begin(paths, "agent", inputs)) is not None:
            status.stage = "agent"
            agent = self.make_agent(spec, paper)
            options = AgentStageOptions(
                limits=limits,
                run_id=run_id,
                snapshot_interval_seconds=self.settings.snapshot_interval,
            )
            reason: str | None = None
            try:
                stage = await run_agent_stage(agent, paper, out, options, self.factory)
                if stage.agent.end_reason == "sandbox_error":
                    reason = f"the sandbox failed during the agent's run: {stage.agent.detail}"
            except INFRASTRUCTURE as error:
                reason = str(error)
            if reason is not None:
                # Not the agent's doing: the stage is not done, so re-running redoes it.
                paths.mark("agent", "failed", error=reason)
                failures.append(Failure(kind="infrastructure_error", stage="agent", reason=reason))
                return None
            paths.mark("agent", "done", fingerprint=print_)
            shutil.rmtree(paths.submission, ignore_errors=True)
        result = AgentStageResult.model_validate_json((out / "agent.json").read_text())
        status.agent_cost = result.agent.cost_usd
        if result.agent.end_reason in AGENT_ERRORS:
            why = result.agent.error or result.agent.detail or result.agent.end_reason
            failures.append(Failure(kind="agent_error", stage="agent", reason=why))
        if result.submission and not paths.submission.exists():
            _extract_submission(out / result.submission, paths.submission)
        return result

    async def _reproduction_stage(
        self,
        paper: PaperBundle,
        status: RunStatus,
        run_id: str,
        submission: Path,
        failures: list[Failure],
    ) -> ReproductionResult | None:
        paths, out = status.paths, status.paths.stage_dir("reproduction")
        options = ReproductionOptions(
            image=self.settings.reproducer_image,
            timeout_seconds=self.settings.reproduction_timeout,
            retries=self.settings.reproduction_retries,
            run_id=run_id,
        )
        inputs = {
            "image": options.image,
            "timeout": options.timeout_seconds,
            "retries": options.retries,
        }
        if (print_ := self._begin(paths, "reproduction", inputs)) is not None:
            status.stage = "reproduction"
            result = await reproduce(submission, paper, out, options, self.factory)
            if result.status == "infrastructure_error":
                reason = result.attempts[-1].error or "the sandbox failed"
                paths.mark("reproduction", "failed", error=reason)
                failures.append(
                    Failure(kind="infrastructure_error", stage="reproduction", reason=reason)
                )
                return None
            paths.mark("reproduction", "done", fingerprint=print_)
        result = ReproductionResult.model_validate_json((out / REPRODUCTION_FILE).read_text())
        if result.timed_out:
            failures.append(
                Failure(
                    kind="timeout",
                    stage="reproduction",
                    reason=f"reproduce.sh ran past {result.timeout_seconds:g} s",
                )
            )
        return result

    async def _grading_stage(
        self,
        paper: PaperBundle,
        status: RunStatus,
        submission: Path,
        reproduction: ReproductionResult | None,
        failures: list[Failure],
    ) -> GradeResult:
        paths, out = status.paths, status.paths.stage_dir("grading")
        options = GradeOptions(
            judge=self.settings.judge,
            code_dev=self.settings.code_dev,
            max_depth=self.settings.max_depth,
            batch=self.settings.batch,
            context_window=self.settings.judge_context_window,
            concurrency=self.settings.judge_concurrency,
        )
        if (print_ := self._begin(paths, "grading", options.model_dump(mode="json"))) is not None:
            status.stage = "grading"
            if reproduction is not None:
                await grade_submission_async(
                    paper,
                    out_dir=out,
                    options=options,
                    reproduction=paths.stage_dir("reproduction"),
                )
            else:
                await grade_submission_async(
                    paper, out_dir=out, options=options, submission=paths.submission
                )
            paths.mark("grading", "done", fingerprint=print_)
        result = GradeResult.model_validate_json((out / "summary.json").read_text())
        status.judge_cost = result.ledger.cost_usd
        if result.summary.invalid:
            failures.append(
                Failure(
                    kind="judge_invalid",
                    stage="grading",
                    reason=f"{len(result.summary.invalid)} of {result.summary.items} items invalid",
                )
            )
        return result

    # -- records -------------------------------------------------------------------------------

    def _write_provenance(self, paper: PaperBundle, paths: RunPaths) -> None:
        history: list[dict[str, Any]] = []
        if paths.provenance.is_file():
            history = json.loads(paths.provenance.read_text()).get("invocations", [])
        history.append(self.provenance(paper))
        write_json_atomic(
            paths.provenance, json.dumps({"invocations": history}, indent=2, default=str)
        )

    def _finish(
        self,
        paper: PaperBundle,
        status: RunStatus,
        failures: list[Failure],
        agent: AgentStageResult | None,
        reproduction: ReproductionResult | None,
        grade: GradeResult | None,
    ) -> RunRecord:
        summary = grade.summary if grade else None
        disqualified = any(failure.kind == "disqualified" for failure in failures)
        score = 0.0 if disqualified or summary is None else summary.score
        upper = 0.0 if disqualified or summary is None else summary.score_if_invalid_passed
        state = status.paths.load_state().stages
        total = sum(
            ((entry.finished_at or entry.started_at) - entry.started_at).total_seconds()
            for entry in state.values()
        )
        record = RunRecord(
            run_id=self.run_id(paper, status.seed),
            agent=self.label,
            judge=self.settings.judge,
            paper_id=paper.id,
            seed=status.seed,
            finished_at=datetime.now(UTC),
            score=score,
            score_if_invalid_passed=upper,
            graded=summary is not None and not disqualified,
            invalid_leaves=len(summary.invalid) if summary else 0,
            graded_items=summary.items if summary else 0,
            per_category={
                name: CategoryResult(score=entry.score, items=entry.items, invalid=entry.invalid)
                for name, entry in (summary.per_category.items() if summary else [])
            },
            failures=failures,
            agent_cost_usd=agent.agent.cost_usd if agent else None,
            judge_cost_usd=grade.ledger.cost_usd if grade else None,
            agent_seconds=agent.agent.wall_seconds if agent else 0.0,
            reproduction_seconds=sum(a.duration_seconds for a in reproduction.attempts)
            if reproduction
            else 0.0,
            grading_seconds=grade.seconds if grade else 0.0,
            total_seconds=round(total, 3),
        )
        write_json_atomic(status.paths.record, record.model_dump_json(indent=2))
        status.stage, status.finished, status.score = "finished", True, score
        status.note = ", ".join(sorted({failure.kind for failure in failures}))
        return record


def _extract_submission(archive: Path, target: Path) -> None:
    """The captured archive (members under ``submission/``) as the folder ``target``."""
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        try:
            safe_extract(archive, Path(scratch))
        except ArchiveError as error:
            raise PaperbenchError(
                f"{archive}: the captured submission is unreadable: {error}"
            ) from None
        Path(scratch, "submission").rename(target)
