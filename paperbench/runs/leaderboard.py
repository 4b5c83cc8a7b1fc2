"""The leaderboard: per agent configuration, mean score ± standard error over seeds.

Rules, chosen so that numbers from different agents can be compared honestly:

- The papers of the leaderboard are every paper seen in the given runs (or the ones the user
  names). A seed of an agent configuration *counts* only when it has a run of every one of
  those papers; incomplete seeds are listed with the papers they lack, and never mixed into
  the mean.
- A seed's score is the mean of its runs' scores over the papers (PaperBench's aggregate); the
  configuration's score is the mean of its counted seeds' scores, with the standard error of
  that mean (sample standard deviation / sqrt(seeds); none for a single seed).
- Failed and disqualified runs count with score 0 and are reported by kind. Invalid leaves
  count 0 in the score; the leaderboard gives their total and the score had they all passed.
- When one (configuration, paper, seed) has several records (re-runs into another runs
  folder), the latest one is used and the others are reported as superseded.
- Where reviewers overrode some of the judge's grades (``paperbench view``), ``reviewed`` gives
  the same estimate with their scores, beside the judge-only ``score``; a run without overrides
  counts with its judge score there, and a disqualified run stays at 0.
- Runs of PaperBench's Code-Dev variant (``--code-dev``: only Code Development leaves, no
  reproduction) and runs graded with ``--resources-provided`` are other measurements than full
  runs: each such variant of a configuration is an entry of its own (``variant``), never mixed
  with the others.
- With ``--grade-at``, each run also has its score at earlier times of the agent's work;
  ``score_at`` gives, per time, the mean over the counted seeds of the seed's mean over the
  papers (times some run lacks are left out).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean, stdev

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench import __version__
from paperbench.errors import PaperbenchError
from paperbench.grading.overrides import OVERRIDES_FILE, OverrideError, reviewed_score
from paperbench.rubric import TASK_CATEGORIES
from paperbench.runs.record import RUN_RECORD_FILE, RunRecord

SCHEMA_ID = "https://paperbench.dev/schemas/leaderboard.schema.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Estimate(_Frozen):
    """A mean over seeds and its standard error (``None`` with fewer than two seeds)."""

    mean: float | None
    stderr: float | None
    n: int


class IncompleteSeed(_Frozen):
    seed: int
    missing_papers: list[str]


class FailureCount(_Frozen):
    kind: str
    runs: int


class Costs(_Frozen):
    """US dollars; ``None`` where some run's model had no price in the price table."""

    agent_usd: float | None
    judge_usd: float | None
    agent_usd_per_run: float | None
    judge_usd_per_run: float | None


class Times(_Frozen):
    """Mean seconds per run, by stage."""

    agent: float
    reproduction: float
    grading: float
    total: float


class AgentEntry(_Frozen):
    agent: str
    variant: str = Field(
        default="full",
        description="full, code-dev, or either with +resources-provided: entries of different "
        "variants are different measurements",
    )
    judges: list[str]
    score: Estimate
    score_if_invalid_passed: Estimate
    per_paper: dict[str, Estimate]
    per_category: dict[str, Estimate]
    score_at: dict[str, Estimate] = Field(
        default_factory=dict, description="score against the agent's working time (--grade-at)"
    )
    seeds_counted: list[int]
    incomplete_seeds: list[IncompleteSeed]
    runs: int
    invalid_leaves: int
    runs_with_invalid_leaves: int
    disqualified_runs: int
    failures: list[FailureCount]
    cost: Costs
    time: Times
    reviewed: Estimate | None = Field(
        default=None, description="score with reviewers' overrides; None when nobody reviewed"
    )
    reviewed_runs: int = Field(default=0, description="counted runs with some override")


class Leaderboard(_Frozen):
    schema_version: int = 1
    generated_at: datetime
    paperbench_version: str
    papers: list[str]
    entries: list[AgentEntry] = Field(description="best mean score first")
    superseded_records: list[str] = Field(default_factory=list)


def variant_of(record: RunRecord) -> str:
    """Which measurement a run is: ``full`` or ``code-dev``, ``+resources-provided``."""
    name = "code-dev" if record.code_dev else "full"
    return name + ("+resources-provided" if record.resources_provided else "")


def estimate(values: Iterable[float]) -> Estimate:
    numbers = list(values)
    if not numbers:
        return Estimate(mean=None, stderr=None, n=0)
    spread = stdev(numbers) / math.sqrt(len(numbers)) if len(numbers) > 1 else None
    return Estimate(mean=mean(numbers), stderr=spread, n=len(numbers))


def find_records(roots: Iterable[Path]) -> tuple[list[RunRecord], list[str]]:
    """Every ``run.json`` under ``roots``, latest first wins per (agent, paper, seed).

    Raises:
        PaperbenchError: a root does not exist, or a record is malformed (named).
    """
    chosen: dict[tuple[str, str, str, int], tuple[RunRecord, Path]] = {}
    superseded: list[str] = []
    for root in roots:
        if not root.exists():
            raise PaperbenchError(f"{root}: no such runs folder")
        paths = [root] if root.is_file() else sorted(root.rglob(RUN_RECORD_FILE))
        for path in paths:
            try:
                record = RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
            except (ValidationError, ValueError) as error:
                first = str(error).splitlines()[:3]
                raise PaperbenchError(f"{path}: not a run record: {' '.join(first)}") from None
            record = with_review(record, path.parent)
            key = (record.agent, variant_of(record), record.paper_id, record.seed)
            if key in chosen:
                older, newer = sorted(
                    [chosen[key], (record, path)], key=lambda pair: pair[0].finished_at
                )
                superseded.append(str(older[1]))
                chosen[key] = newer
            else:
                chosen[key] = (record, path)
    return [record for record, _ in chosen.values()], sorted(superseded)


def with_review(record: RunRecord, run_dir: Path) -> RunRecord:
    """``record`` with its reviewed score when ``run_dir`` has overrides (see the module doc).

    Raises:
        PaperbenchError: the overrides file or the graded tree is malformed (named).
    """
    if record.disqualified or not record.graded:
        return record
    if not (run_dir / "grading" / OVERRIDES_FILE).is_file():
        return record
    try:
        review = reviewed_score(run_dir)
    except OverrideError as error:
        raise PaperbenchError(f"{run_dir}: cannot compute the reviewed score: {error}") from None
    return record.model_copy(update={"reviewed": review}) if review else record


def _sum_or_none(values: list[float | None]) -> float | None:
    return None if any(value is None for value in values) else sum(v or 0.0 for v in values)


def _score_at(
    by_seed: dict[int, dict[str, RunRecord]], counted: list[int], papers: list[str]
) -> dict[str, Estimate]:
    labels: dict[str, float] = {}
    for seed in counted:
        for paper in papers:
            for point in by_seed[seed][paper].timeline:
                labels.setdefault(point.label, point.seconds)
    found: dict[str, Estimate] = {}
    for label in sorted(labels, key=labels.__getitem__):
        seed_means = []
        for seed in counted:
            scores = [
                point.score
                for paper in papers
                for point in by_seed[seed][paper].timeline
                if point.label == label
            ]
            if len(scores) != len(papers):
                break
            seed_means.append(mean(scores))
        else:
            if seed_means:
                found[label] = estimate(seed_means)
    return found


def _entry(agent: str, runs: list[RunRecord], papers: list[str]) -> AgentEntry:
    by_seed: dict[int, dict[str, RunRecord]] = defaultdict(dict)
    for run in runs:
        by_seed[run.seed][run.paper_id] = run
    counted = sorted(seed for seed, got in by_seed.items() if set(papers) <= set(got))
    incomplete = [
        IncompleteSeed(seed=seed, missing_papers=sorted(set(papers) - set(got)))
        for seed, got in sorted(by_seed.items())
        if seed not in counted
    ]
    used = [by_seed[seed][paper] for seed in counted for paper in papers]

    def per_seed(value: str) -> Estimate:
        return estimate(
            mean(getattr(by_seed[seed][paper], value) for paper in papers) for seed in counted
        )

    per_category: dict[str, Estimate] = {}
    for category in TASK_CATEGORIES:
        seed_means = []
        for seed in counted:
            scores = [
                result.score
                for paper in papers
                if (result := by_seed[seed][paper].per_category.get(category)) is not None
                and result.score is not None
            ]
            if scores:
                seed_means.append(mean(scores))
        if seed_means:
            per_category[category] = estimate(seed_means)

    failures: dict[str, int] = defaultdict(int)
    for run in used:
        for kind in {failure.kind for failure in run.failures}:
            failures[kind] += 1
    n = len(used) or 1
    reviewed_runs = sum(run.reviewed is not None for run in used)
    reviewed = None
    if reviewed_runs:
        reviewed = estimate(
            mean(
                run.reviewed.score if (run := by_seed[seed][paper]).reviewed else run.score
                for paper in papers
            )
            for seed in counted
        )
    agent_cost = _sum_or_none([run.agent_cost_usd for run in used])
    judge_cost = _sum_or_none([run.judge_cost_usd for run in used])
    return AgentEntry(
        agent=agent,
        variant=variant_of(runs[0]),
        judges=sorted({run.judge for run in runs}),
        score=per_seed("score"),
        score_if_invalid_passed=per_seed("score_if_invalid_passed"),
        per_paper={
            paper: estimate(by_seed[seed][paper].score for seed in counted) for paper in papers
        },
        per_category=per_category,
        score_at=_score_at(by_seed, counted, papers),
        seeds_counted=counted,
        incomplete_seeds=incomplete,
        runs=len(used),
        invalid_leaves=sum(run.invalid_leaves for run in used),
        runs_with_invalid_leaves=sum(run.invalid_leaves > 0 for run in used),
        disqualified_runs=sum(run.disqualified for run in used),
        failures=[FailureCount(kind=k, runs=v) for k, v in sorted(failures.items())],
        cost=Costs(
            agent_usd=agent_cost,
            judge_usd=judge_cost,
            agent_usd_per_run=None if agent_cost is None or not used else agent_cost / n,
            judge_usd_per_run=None if judge_cost is None or not used else judge_cost / n,
        ),
        time=Times(
            agent=sum(run.agent_seconds for run in used) / n,
            reproduction=sum(run.reproduction_seconds for run in used) / n,
            grading=sum(run.grading_seconds for run in used) / n,
            total=sum(run.total_seconds for run in used) / n,
        ),
        reviewed=reviewed,
        reviewed_runs=reviewed_runs,
    )


def build_leaderboard(
    records: list[RunRecord],
    *,
    papers: list[str] | None = None,
    superseded: Sequence[str] = (),
) -> Leaderboard:
    """Aggregate run records into a leaderboard (see the module docstring for the rules)."""
    chosen_papers = sorted(papers or {record.paper_id for record in records})
    by_agent: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        if record.paper_id in chosen_papers:
            by_agent[(record.agent, variant_of(record))].append(record)
    entries = [_entry(agent, runs, chosen_papers) for (agent, _), runs in by_agent.items()]
    entries.sort(key=lambda entry: (entry.score.mean is None, -(entry.score.mean or 0.0)))
    return Leaderboard(
        generated_at=datetime.now(UTC),
        paperbench_version=__version__,
        papers=chosen_papers,
        entries=entries,
        superseded_records=list(superseded),
    )


def leaderboard_schema() -> dict[str, object]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **Leaderboard.model_json_schema(mode="serialization"),
    }
