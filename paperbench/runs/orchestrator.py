"""The eval pipeline: for every (paper, seed), the stages of :data:`~paperbench.runs.layout.STAGES`
in order — agent (which ends with the capture), reproduction, grading — over one run directory.

The orchestrator is a loop over the stages. For each, it resolves the stage's Inputs
(:mod:`paperbench.contracts`) from the settings, the paper and the results before it, and
compares their hash with the fingerprint ``state.json`` recorded when the stage was done:

* done under the same inputs, and complete: the saved result is loaded, nothing runs;
* anything else (never run, interrupted, done under other inputs — a changed ``config.yaml``,
  rubric, prompt template, image id or option — or a grade with invalid leaves): the stage's
  folder and those of the stages after it are removed, and the stage runs again. A stage that
  was interrupted (Ctrl-C, SIGKILL, a crash) left no ``done`` mark; containers a killed process
  left behind are found by the run's label and removed first.

Failures come from the results themselves (``Result.failures()``) in one vocabulary
(:data:`paperbench.contracts.FAILURES`). A failure whose stage is not done (Docker died, the
judge could not be reached) ends the run there: it is recorded, and the same command redoes it.
One run's failure never stops the others; a problem the user must fix before any run can work
(a malformed rubric, a missing key, an unknown agent) is found by :meth:`Orchestrator.preflight`
before any container starts.

With a URL run root (``--runs-dir s3://...``) the stages still write local paths, in a staging
folder (:mod:`paperbench.runs.remote_root`): a run's folder is pulled from the URL before its
stages and pushed after every ``state.json`` change and when its record is written.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paperbench.agents.container import ContainerAgent
from paperbench.agents.loop import ModelAgent
from paperbench.agents.protocol import Agent
from paperbench.agents.specs import AgentSpec, build_agent, load_agent_spec
from paperbench.agents.stage import (
    AgentInputs,
    AgentStageResult,
    code_dev_instructions_template,
    run_agent_stage,
)
from paperbench.contracts import FAILURES, Failure, ResultFileError, StageInputs, StageResult
from paperbench.errors import DockerUnavailableError, PaperbenchError, RubricError
from paperbench.files import write_json_atomic
from paperbench.grading.grade import GradeInputs, GradeResult, grade, judge_spec, rule_summary
from paperbench.grading.overrides import OVERRIDES_FILE
from paperbench.llm.errors import ProviderSetupError
from paperbench.llm.keys import require_key
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle
from paperbench.reproduction import ReproductionInputs, ReproductionResult, reproduce
from paperbench.rubric import validate_file
from paperbench.runs.conditions import require_devices
from paperbench.runs.executors import Executor, LocalExecutor
from paperbench.runs.layout import STAGES, RunPaths, Stage, slug
from paperbench.runs.record import CategoryResult, RunRecord, TimePoint
from paperbench.runs.remote_root import RemoteRoot
from paperbench.runs.settings import RunSettings
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.errors import ArchiveError, SandboxError
from paperbench.sandbox.images import AGENT_IMAGE

SandboxFactory = Callable[[SandboxSpec], Sandbox]
INFRASTRUCTURE = (SandboxError, DockerUnavailableError, OSError)
#: Files in a stage's folder that are not the stage's output and outlive its redoing: reviewers'
#: overrides are keyed by rubric path and still apply to a new grade of the same run.
KEPT_ON_REDO: dict[Stage, tuple[str, ...]] = {"grading": (OVERRIDES_FILE,)}


@dataclass
class RunStatus:
    """What the live view and the progress lines show of one run."""

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
    node: str = ""

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


@dataclass
class RunContext:
    """One (paper, seed) as the stages of its run see it."""

    paper: PaperBundle
    status: RunStatus
    run_id: str
    results: dict[Stage, StageResult] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> RunPaths:
        return self.status.paths


class StageFailed(Exception):
    """A stage could not finish for a reason that is not the submission's (Docker, the judge):
    the stage is left not done so that running the command again redoes it."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


@dataclass
class Step:
    """How the orchestrator runs one stage: resolve its inputs, then run it."""

    name: Stage
    result: type[StageResult]
    inputs: Callable[[RunContext], StageInputs | None]
    run: Callable[[StageInputs, Path, RunContext], Awaitable[StageResult]]


@dataclass
class Orchestrator:
    settings: RunSettings
    papers: list[PaperBundle]
    factory: SandboxFactory
    provenance: Callable[[PaperBundle], dict[str, Any]] = lambda paper: {}
    cleanup: Callable[[str], None] = lambda run_id: None
    agent_factory: Callable[[AgentSpec, PaperBundle], Agent] | None = None
    images: dict[str, str] = field(default_factory=dict)
    on_change: Callable[[RunStatus], None] = lambda status: None
    judge_retry: RetryPolicy | None = None
    statuses: list[RunStatus] = field(default_factory=list)
    #: Host GPU devices each paper's containers get (paper id -> device ids), as resolved by
    #: :func:`paperbench.runs.conditions.resolve_conditions`; none when absent.
    gpus: dict[str, tuple[str, ...]] = field(default_factory=dict)
    executor: Executor = field(default_factory=LocalExecutor)

    def __post_init__(self) -> None:
        self.label = self.settings.agent_label()
        self.judge = self.settings.judge.resolved()
        run = self.settings.run
        url = run.runs_url()
        #: With a URL run root, the stages write a local staging folder that mirrors it.
        self.mirror = RemoteRoot.open(url) if url else None
        self.root = self.mirror.staging if self.mirror else Path(run.runs_dir)
        for seed in range(run.first_seed, run.first_seed + run.seeds):
            for paper in self.papers:
                paths = RunPaths.of(self.root, self.label, paper.id, seed)
                self.statuses.append(RunStatus(paper.id, seed, paths))
        self.steps: dict[Stage, Step] = {
            "agent": Step("agent", AgentStageResult, self._agent_inputs, self._run_agent),
            "reproduction": Step(
                "reproduction",
                ReproductionResult,
                self._reproduction_inputs,
                self._run_reproduction,
            ),
            "grading": Step("grading", GradeResult, self._grade_inputs, self._run_grading),
        }

    # -- before anything runs ----------------------------------------------------------------

    def preflight(self) -> None:
        """Check what would fail every run, before any container starts: the runs folder, every
        paper's rubric (as ``paperbench rubric validate`` does), that a paper needing GPUs was
        given devices, the agent and its model's key, the judge's name, context window and key.

        Raises:
            PaperbenchError: the first problem found, in one line naming the file or setting.
        """
        runs_dir = self.root
        if self.mirror is not None:
            self.mirror.check()
        elif runs_dir.exists() and not runs_dir.is_dir():
            raise PaperbenchError(f"--runs-dir {runs_dir}: exists and is not a folder")
        for paper in self.papers:
            _, problems = validate_file(paper.rubric_path)
            errors = [problem for problem in problems if problem.severity == "error"]
            if errors:
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                raise RubricError(
                    f"paper {paper.id}: invalid rubric: {errors[0].describe()}{more}; "
                    f"`paperbench rubric validate {paper.rubric_path}` lists every problem"
                )
        require_devices(self.papers, self.gpus)
        spec = load_agent_spec(self.settings.agent.agent)
        if self.agent_factory is None:
            for paper in self.papers:
                agent = build_agent(
                    spec,
                    paper,
                    model=self.settings.agent.agent_model,
                    script=self.settings.agent.replay_script,
                    context_window=self.settings.agent.agent_context_window,
                    base_url=self.settings.agent.agent_base_url,
                )
                if isinstance(agent, ModelAgent | ContainerAgent):
                    require_key(agent.model)
        require_key(judge_spec(self.judge))

    # -- running -----------------------------------------------------------------------------

    async def run_all(self) -> list[RunRecord]:
        """Run every (paper, seed) on the executor (:mod:`paperbench.runs.executors`); one
        record per run, in the order of :attr:`statuses`."""
        try:
            return await self.executor.run_all(self)
        finally:
            self.close()

    def close(self) -> None:
        """Remove the staging folder of a URL run root (everything in it was pushed)."""
        if self.mirror is not None:
            self.mirror.close()

    def pull(self, paths: RunPaths) -> None:
        """With a URL run root: the run's folder as the URL holds it, in staging."""
        if self.mirror is not None:
            self.mirror.pull(paths.root)

    def push(self, paths: RunPaths) -> None:
        """With a URL run root: the run's folder to the URL, ``state.json`` after the files it
        speaks of (:meth:`RemoteRoot.push <paperbench.runs.remote_root.RemoteRoot.push>`)."""
        if self.mirror is not None:
            self.mirror.push(paths.root)

    async def _push(self, paths: RunPaths) -> None:
        if self.mirror is not None:
            await asyncio.to_thread(self.mirror.push, paths.root)

    def paper(self, paper_id: str) -> PaperBundle:
        return next(paper for paper in self.papers if paper.id == paper_id)

    def make_agent(self, spec: AgentSpec, paper: PaperBundle) -> Agent | None:
        """The embedder's agent for one run, or None for the one the spec names."""
        return self.agent_factory(spec, paper) if self.agent_factory is not None else None

    def run_id(self, paper: PaperBundle, seed: int) -> str:
        return slug(f"{self.label}.{paper.id}.seed{seed}")[:100]

    def _set(self, status: RunStatus, stage: str) -> None:
        status.stage = stage
        self.on_change(status)

    async def run_one(self, paper: PaperBundle, status: RunStatus) -> RunRecord:
        status.started = time.monotonic()
        if self.mirror is not None:
            await asyncio.to_thread(self.mirror.pull, status.paths.root)
        status.paths.root.mkdir(parents=True, exist_ok=True)
        run = RunContext(paper, status, self.run_id(paper, status.seed))
        self.cleanup(run.run_id)
        self._write_provenance(paper, status.paths)
        failures: list[Failure] = []
        for index, name in enumerate(STAGES):
            step = self.steps[name]
            inputs = step.inputs(run)
            if inputs is None:
                self._forget(status.paths, STAGES[index : index + 1], drop=True)
                continue
            try:
                result = await self._stage(run, step, inputs, STAGES[index + 1 :])
            except StageFailed as stopped:
                failures.append(stopped.failure)
                break
            run.results[name] = result
            found = result.failures()
            failures += found
            if any(not FAILURES[f.kind].graded for f in found):
                break
        timeline: list[TimePoint] = []
        if self.judge.grade_at:
            from paperbench.runs.timeline import grade_timeline

            timeline = await grade_timeline(self, run, failures)
        record = self._finish(run, failures, timeline)
        await self._push(status.paths)
        return record

    async def run_stage(
        self, run: RunContext, step: Step, inputs: StageInputs, later: tuple[Stage, ...]
    ) -> StageResult:
        """One stage of ``run`` under ``inputs``, resumed as the run's own stages are (for the
        grades of earlier snapshots, :mod:`paperbench.runs.timeline`).

        Raises:
            StageFailed: the stage could not finish for a reason that is not the submission's.
        """
        return await self._stage(run, step, inputs, later)

    async def _stage(
        self, run: RunContext, step: Step, inputs: StageInputs, later: tuple[Stage, ...]
    ) -> StageResult:
        """The stage's result: the saved one when it stands, else a fresh one (see the module
        docstring). Raises :class:`StageFailed` when the stage could not finish."""
        paths, folder = run.paths, run.paths.stage_dir(step.name)
        wanted = inputs.fingerprint()
        entry = paths.load_state().stages.get(step.name)
        if entry is not None and entry.status == "done" and entry.fingerprint == wanted:
            try:
                saved = step.result.load(folder)
            except ResultFileError:
                saved = None
            if saved is not None and saved.complete():
                return saved
        _clear(folder, KEPT_ON_REDO.get(step.name, ()))
        self._forget(paths, later)
        paths.mark(step.name, "running", fingerprint=wanted)
        await self._push(paths)
        write_json_atomic(folder / "inputs.json", inputs.model_dump_json(indent=2))
        self._set(run.status, step.name)
        try:
            result = await step.run(inputs, folder, run)
        except StageFailed as failed:
            paths.mark(step.name, "failed", error=failed.failure.reason)
            await self._push(paths)
            raise
        unfinished = [f for f in result.failures() if not FAILURES[f.kind].stage_done]
        if unfinished:
            paths.mark(step.name, "failed", error=unfinished[0].reason)
            await self._push(paths)
            raise StageFailed(unfinished[0])
        paths.mark(step.name, "done", fingerprint=wanted)
        await self._push(paths)
        return result

    def _forget(self, paths: RunPaths, stages: tuple[Stage, ...], *, drop: bool = False) -> None:
        """Remove the folders of ``stages`` and mark them ``stale`` in the state (``drop``:
        remove their entries, for a stage this run skips)."""
        state = paths.load_state()
        for stage in stages:
            _clear(paths.stage_dir(stage), () if drop else KEPT_ON_REDO.get(stage, ()))
            entry = state.stages.get(stage)
            if drop or entry is None:
                state.stages.pop(stage, None)
            else:
                state.stages[stage] = entry.model_copy(update={"status": "stale"})
        paths.save_state(state)

    # -- the stages --------------------------------------------------------------------------

    def _agent_inputs(self, run: RunContext) -> StageInputs:
        return AgentInputs.resolve(
            run.paper,
            self.settings.agent,
            image=AGENT_IMAGE,
            image_id=self.images.get(AGENT_IMAGE, ""),
            run_id=run.run_id,
            gpus=self.gpus.get(run.paper.id, ()),
            instructions_template=code_dev_instructions_template() if self.judge.code_dev else None,
        )

    async def _run_agent(self, inputs: StageInputs, out: Path, run: RunContext) -> StageResult:
        assert isinstance(inputs, AgentInputs)
        shutil.rmtree(run.paths.submission, ignore_errors=True)
        agent = self.make_agent(inputs.spec, run.paper)
        try:
            return await run_agent_stage(inputs, out, self.factory, agent=agent)
        except INFRASTRUCTURE as error:
            raise StageFailed(
                Failure(kind="infrastructure_error", stage="agent", reason=str(error))
            ) from None

    def _captured(self, run: RunContext) -> Path | None:
        """The captured submission as a folder (``RUN/submission``), extracted once; None
        when nothing was captured or the archive was refused (the reason goes in notes)."""
        agent = run.results.get("agent")
        assert isinstance(agent, AgentStageResult)
        archive = agent.submission_archive(run.paths.stage_dir("agent"))
        if archive is None:
            run.notes["nothing"] = f"no submission was captured ({agent.capture_error})"
            return None
        target = run.paths.submission
        if not target.is_dir():
            try:
                _extract_submission(archive, target)
            except ArchiveError as error:
                run.notes["nothing"] = f"the captured submission was refused: {error}"
                return None
        return target

    def _reproduction_inputs(self, run: RunContext) -> StageInputs | None:
        if self.judge.code_dev:
            return None
        agent = run.results.get("agent")
        assert isinstance(agent, AgentStageResult)
        archive = agent.submission_archive(run.paths.stage_dir("agent"))
        if archive is None:
            return None
        options = self.settings.reproduction
        return ReproductionInputs.resolve(
            run.paper,
            archive,
            options,
            image_id=self.images.get(options.reproducer_image, ""),
            run_id=run.run_id,
            gpus=self.gpus.get(run.paper.id, ()),
        )

    async def _run_reproduction(
        self, inputs: StageInputs, out: Path, run: RunContext
    ) -> StageResult:
        assert isinstance(inputs, ReproductionInputs)
        try:
            return await reproduce(inputs, out, self.factory)
        except INFRASTRUCTURE as error:
            raise StageFailed(
                Failure(kind="infrastructure_error", stage="reproduction", reason=str(error))
            ) from None

    def _grade_inputs(self, run: RunContext) -> StageInputs:
        submission = self._captured(run)
        reproduction = (
            run.paths.stage_dir("reproduction") if "reproduction" in run.results else None
        )
        return GradeInputs.resolve(
            run.paper,
            self.judge,
            submission=submission,
            reproduction=reproduction,
            nothing_to_grade=None if submission or reproduction else run.notes.get("nothing"),
        )

    async def _run_grading(self, inputs: StageInputs, out: Path, run: RunContext) -> StageResult:
        assert isinstance(inputs, GradeInputs)
        try:
            return await grade(inputs, out, retry=self.judge_retry)
        except ProviderSetupError as error:
            raise StageFailed(
                Failure(kind="judge_error", stage="grading", reason=str(error))
            ) from None

    # -- records -------------------------------------------------------------------------------

    def record_lost_run(self, status: RunStatus, reason: str) -> RunRecord:
        """The record of a run whose process was lost mid-way (a node or worker that died): the
        stage it was in is marked ``failed`` so that the same command redoes it, the stages it
        had finished keep their results, and the run counts as an ``infrastructure_error``."""
        paper = self.paper(status.paper_id)
        run = RunContext(paper, status, self.run_id(paper, status.seed))
        self.pull(status.paths)
        state = status.paths.load_state().stages
        unfinished = [name for name in STAGES if name in state and state[name].status != "done"]
        never = [name for name in STAGES if name not in state]
        stage = (unfinished or never or [STAGES[-1]])[0]
        for name in STAGES:
            entry = state.get(name)
            if entry is not None and entry.status == "done" and name != stage:
                try:
                    run.results[name] = self.steps[name].result.load(status.paths.stage_dir(name))
                except ResultFileError:
                    continue
        if stage in state and state[stage].status == "running":
            status.paths.mark(stage, "failed", error=reason)
        failure = Failure(kind="infrastructure_error", stage=stage, reason=reason)
        record = self._finish(run, [failure])
        self.push(status.paths)
        return record

    def _write_provenance(self, paper: PaperBundle, paths: RunPaths) -> None:
        history: list[dict[str, Any]] = []
        if paths.provenance.is_file():
            history = json.loads(paths.provenance.read_text()).get("invocations", [])
        history.append(self.provenance(paper))
        write_json_atomic(
            paths.provenance, json.dumps({"invocations": history}, indent=2, default=str)
        )

    def _finish(
        self, run: RunContext, failures: list[Failure], timeline: list[TimePoint] | None = None
    ) -> RunRecord:
        status = run.status
        agent = run.results.get("agent")
        reproduction = run.results.get("reproduction")
        grade_result = run.results.get("grading")
        assert agent is None or isinstance(agent, AgentStageResult)
        assert reproduction is None or isinstance(reproduction, ReproductionResult)
        assert grade_result is None or isinstance(grade_result, GradeResult)
        disqualified = any(failure.kind == "disqualified" for failure in failures)
        graded = grade_result is not None and not disqualified
        if grade_result is not None and graded:
            summary = grade_result.summary
        else:
            why = failures[0].reason if failures else "not graded"
            summary = rule_summary(run.paper, self.judge, why)
        state = status.paths.load_state().stages
        total = sum(
            ((entry.finished_at or entry.started_at) - entry.started_at).total_seconds()
            for entry in state.values()
        )
        score = summary.score if graded else 0.0
        record = RunRecord(
            run_id=run.run_id,
            agent=self.label,
            judge=self.judge.model_name,
            paper_id=run.paper.id,
            seed=status.seed,
            finished_at=datetime.now(UTC),
            score=score,
            score_if_invalid_passed=summary.score_if_invalid_passed if graded else 0.0,
            graded=graded,
            code_dev=self.judge.code_dev,
            resources_provided=self.judge.resources_provided,
            invalid_leaves=len(summary.invalid) if graded else 0,
            graded_items=summary.items,
            per_category={
                name: CategoryResult(
                    score=entry.score if graded else 0.0, items=entry.items, invalid=entry.invalid
                )
                for name, entry in summary.per_category.items()
            },
            failures=failures,
            timeline=timeline or [],
            agent_cost_usd=agent.agent.cost_usd if agent else 0.0,
            judge_cost_usd=_judge_cost(grade_result, timeline or []),
            agent_seconds=agent.agent.wall_seconds if agent else 0.0,
            reproduction_seconds=sum(a.duration_seconds for a in reproduction.attempts)
            if reproduction
            else 0.0,
            grading_seconds=grade_result.seconds if grade_result else 0.0,
            total_seconds=round(total, 3),
        )
        record.save(status.paths.root)
        status.agent_cost = record.agent_cost_usd
        status.judge_cost = record.judge_cost_usd
        status.finished, status.score = True, score
        status.note = ", ".join(sorted({failure.kind for failure in failures}))
        self._set(status, "finished")
        return record


def _clear(folder: Path, keep: tuple[str, ...]) -> None:
    """Remove ``folder``, all but the files named in ``keep``."""
    kept = {name: (folder / name).read_bytes() for name in keep if (folder / name).is_file()}
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in kept.items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def _judge_cost(grade_result: GradeResult | None, timeline: list[TimePoint]) -> float | None:
    """The judge's cost for the run: its grade and the grades of earlier snapshots (None when
    some grade had no price)."""
    costs = [grade_result.ledger.cost_usd if grade_result else 0.0]
    costs += [point.judge_cost_usd for point in timeline]
    return None if any(cost is None for cost in costs) else sum(cost or 0.0 for cost in costs)


def _extract_submission(archive: Path, target: Path) -> None:
    """The captured archive (members under ``submission/``) as the folder ``target``.

    Raises:
        ArchiveError: the archive is unreadable or unsafe.
    """
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        safe_extract(archive, Path(scratch))
        extracted = Path(scratch, "submission")
        if extracted.is_dir():
            extracted.rename(target)
        else:
            target.mkdir()
