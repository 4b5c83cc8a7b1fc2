"""Score against time: the submission as it was at each ``--grade-at`` time, reproduced and
graded like the final one.

For each time ``T`` (:mod:`paperbench.grading.snapshots` says which snapshot that is), the run
gets a folder of its own, laid out like a run directory's stage folders and resumed the same
way (each stage's inputs hashed into its own ``state.json``)::

    RUN/at/<T>/
        state.json, submission/ (the snapshot, extracted)
        reproduction/        as RUN/reproduction, for the snapshot (not in Code-Dev mode)
        grading/             as RUN/grading: graded_tree.json, summary.json, ...

A time at or after the end of the agent's run is the final submission, whose grade the run
already has: it is reused, not paid for twice. A time before the first snapshot scores 0 and
says so. A run that was disqualified, or whose stages could not finish, scores 0 at every time
with the same failure, so every time has the same runs in its denominator.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from paperbench.agents.stage import AgentStageResult
from paperbench.contracts import FAILURES, Failure
from paperbench.grading.grade import GradeInputs, GradeResult
from paperbench.grading.snapshots import grade_times, snapshot_at
from paperbench.reproduction import ReproductionInputs, ReproductionResult
from paperbench.runs.layout import RunPaths, slug
from paperbench.runs.record import TimePoint
from paperbench.sandbox.errors import ArchiveError

if TYPE_CHECKING:
    from paperbench.runs.orchestrator import Orchestrator, RunContext

AT_DIR = "at"


async def grade_timeline(
    orchestrator: Orchestrator, run: RunContext, failures: list[Failure]
) -> list[TimePoint]:
    """The run's score at each ``--grade-at`` time (see the module docstring)."""
    from paperbench.runs.orchestrator import RunContext, RunStatus, StageFailed

    judge = orchestrator.judge
    times = grade_times(judge.grade_at or [])
    stopped = [failure for failure in failures if not FAILURES[failure.kind].graded]
    agent = run.results.get("agent")
    main_grade = run.results.get("grading")
    points: list[TimePoint] = []
    for label, seconds in times:
        if stopped or not isinstance(agent, AgentStageResult):
            points.append(
                TimePoint(label=label, seconds=seconds, snapshot=None, score=0.0, failures=stopped)
            )
            continue
        snapshot = snapshot_at(agent.agent.snapshots, seconds)
        if snapshot is None or snapshot.archive is None:
            why = f"no snapshot of the submission was taken by {label} of working time"
            points.append(
                TimePoint(
                    label=label,
                    seconds=seconds,
                    snapshot=None,
                    score=0.0,
                    failures=[Failure(kind="empty_submission", stage="agent", reason=why)],
                )
            )
            continue
        if snapshot.kind == "final" and isinstance(main_grade, GradeResult):
            earlier = [failure for failure in failures if failure.stage != "grading"]
            point = _point(label, seconds, snapshot.working_seconds, main_grade, earlier)
            points.append(
                point.model_copy(update={"snapshot": snapshot.index, "judge_cost_usd": 0.0})
            )
            continue
        paths = RunPaths(run.paths.root / AT_DIR / slug(label))
        paths.root.mkdir(parents=True, exist_ok=True)
        status = RunStatus(f"{run.paper.id} at {label}", run.status.seed, paths)
        at = RunContext(run.paper, status, f"{run.run_id}.at-{slug(label)}"[:100])
        archive = run.paths.stage_dir("agent") / snapshot.archive
        found: list[Failure] = []
        try:
            reproduction = None
            if not judge.code_dev:
                options = orchestrator.settings.reproduction
                inputs = ReproductionInputs.resolve(
                    run.paper,
                    archive,
                    options,
                    image_id=orchestrator.images.get(options.reproducer_image, ""),
                    run_id=at.run_id,
                    gpus=orchestrator.gpus.get(run.paper.id, ()),
                )
                result = await orchestrator.run_stage(
                    at, orchestrator.steps["reproduction"], inputs, ("grading",)
                )
                assert isinstance(result, ReproductionResult)
                found += result.failures()
                reproduction = paths.stage_dir("reproduction")
            submission, nothing = _snapshot_folder(archive, paths)
            grade_inputs = GradeInputs.resolve(
                run.paper,
                judge,
                submission=submission,
                reproduction=reproduction,
                nothing_to_grade=None if submission or reproduction else nothing,
            )
            graded = await orchestrator.run_stage(
                at, orchestrator.steps["grading"], grade_inputs, ()
            )
        except StageFailed as failed:
            points.append(
                TimePoint(
                    label=label,
                    seconds=seconds,
                    snapshot=snapshot.index,
                    snapshot_seconds=snapshot.working_seconds,
                    score=0.0,
                    failures=[*found, failed.failure],
                )
            )
            continue
        assert isinstance(graded, GradeResult)
        point = _point(label, seconds, snapshot.working_seconds, graded, found)
        points.append(point.model_copy(update={"snapshot": snapshot.index}))
    return points


def _point(
    label: str, seconds: float, taken: float, graded: GradeResult, failures: list[Failure]
) -> TimePoint:
    return TimePoint(
        label=label,
        seconds=seconds,
        snapshot=None,
        snapshot_seconds=taken,
        score=graded.summary.score,
        invalid_leaves=len(graded.summary.invalid),
        failures=[*failures, *graded.failures()],
        judge_cost_usd=graded.ledger.cost_usd,
    )


def _snapshot_folder(archive: Path, paths: RunPaths) -> tuple[Path | None, str | None]:
    """The snapshot extracted as ``AT/submission`` (once), or None with why."""
    from paperbench.runs.orchestrator import _extract_submission

    target = paths.submission
    if not target.is_dir():
        try:
            _extract_submission(archive, target)
        except ArchiveError as error:
            return None, f"the snapshot was refused: {error}"
    return target, None
