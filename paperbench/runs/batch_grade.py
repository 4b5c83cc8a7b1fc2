"""Grading many existing submissions at once: ``paperbench grade --submissions DIR``.

Two layouts are recognised:

* **ours** — run directories (``<label>/<paper>/seed-<n>/``, see the README) anywhere under
  ``DIR``: each is graded from its captured submission and, unless ``--code-dev``, its
  reproduction (``reproduction/``) when it has one;
* **PaperBench's** (its ``PBDirectSubmissionSolver``) — ``DIR/<paper-id>/<submission>/``: each
  folder under a paper is one try, taken in name order as seeds 0, 1, ...; graded without a
  reproduction (execution and result leaves score 0 by rule unless ``--code-dev``).

Every grade goes into ``OUT/<label>/<paper>/seed-<n>/`` (the grading stage's files) with the
same judge options, so they share one reply cache; a re-run grades again only what is not in
the cache. ``OUT/summary.json`` (:class:`BatchSummary`) aggregates them as PaperBench does: a
seed's score is the mean over the papers, the score the mean over seeds ± its standard error.
A paper of ``--split`` with no submission, or a try a paper lacks, counts 0, as in PaperBench.
A submission that cannot be graded (a malformed folder) is listed with the reason and counts
0, as does a run of ours that the blacklist monitor disqualified; a judge that cannot be used
at all stops the whole batch.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from pydantic import BaseModel, ConfigDict, Field

from paperbench.agents.stage import AgentStageResult
from paperbench.contracts import ResultFileError
from paperbench.errors import PaperbenchError, PaperError
from paperbench.grading.grade import GradeInputs, GradeResult, grade
from paperbench.grading.inputs import InputError
from paperbench.grading.options import JudgeOptions
from paperbench.papers import PaperBundle, PaperRegistry
from paperbench.reproduction.result import RESULT_FILE
from paperbench.runs.layout import slug
from paperbench.runs.leaderboard import Estimate, estimate
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.errors import ArchiveError

_SEED = re.compile(r"^seed-(\d+)$")
PAPERBENCH_LABEL = "submissions"


@dataclass(frozen=True)
class FoundSubmission:
    """One submission to grade, where it is, and what it stands for."""

    label: str
    paper_id: str
    seed: int
    submission: Path | None
    archive: Path | None = None
    reproduction: Path | None = None
    disqualified: str | None = None


class GradedSubmission(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    paper_id: str
    seed: int
    source: str
    score: float
    invalid_leaves: int = 0
    judge_cost_usd: float | None = 0.0
    out_dir: str | None = None
    error: str | None = Field(None, description="why it could not be graded (it counts 0)")


class LabelSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    score: Estimate
    per_paper: dict[str, Estimate]
    seeds: int
    missing: list[str] = Field(description="paper/seed without a submission, counted 0")


class BatchSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    layout: str
    papers: list[str]
    judge: str
    graded: list[GradedSubmission]
    summaries: list[LabelSummary]
    judge_cost_usd: float | None


def _run_dirs(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("seed-*")
        if path.is_dir()
        and _SEED.fullmatch(path.name)
        and any((path / marker).exists() for marker in ("agent", "submission", "reproduction"))
    )


def find_submissions(root: Path) -> tuple[str, list[FoundSubmission]]:
    """The layout of ``root`` (``ours`` or ``paperbench``) and every submission in it.

    Raises:
        PaperbenchError: ``root`` is not a folder or holds no submission.
    """
    if not root.is_dir():
        raise PaperbenchError(f"--submissions {root}: no such folder")
    runs = _run_dirs(root)
    found: list[FoundSubmission] = []
    if runs:
        for run in runs:
            match = _SEED.fullmatch(run.name)
            assert match is not None
            label = run.parent.parent.relative_to(root).as_posix()
            submission = run / "submission"
            archive = run / "agent" / "submission.tar"
            reproduction = run / "reproduction"
            found.append(
                FoundSubmission(
                    label=label if label != "." else PAPERBENCH_LABEL,
                    paper_id=run.parent.name,
                    seed=int(match.group(1)),
                    submission=submission if submission.is_dir() else None,
                    archive=archive if archive.is_file() else None,
                    reproduction=reproduction if (reproduction / RESULT_FILE).is_file() else None,
                    disqualified=_disqualified(run / "agent"),
                )
            )
        return "ours", found
    for paper in sorted(child for child in root.iterdir() if child.is_dir()):
        tries = sorted(child for child in paper.iterdir() if child.is_dir())
        for seed, folder in enumerate(tries):
            found.append(FoundSubmission(PAPERBENCH_LABEL, paper.name, seed, folder))
    if not found:
        raise PaperbenchError(
            f"--submissions {root}: no submissions (run directories, or PaperBench's "
            "PAPER-ID/SUBMISSION/ folders)"
        )
    return "paperbench", found


def _disqualified(agent_dir: Path) -> str | None:
    """Why the run's agent was disqualified by the blacklist monitor, if it was."""
    try:
        agent = AgentStageResult.load(agent_dir)
    except ResultFileError:
        return None
    for failure in agent.failures():
        if failure.kind == "disqualified":
            return f"disqualified: {failure.reason}"
    return None


async def grade_submissions(
    found: list[FoundSubmission],
    registry: PaperRegistry,
    judge: JudgeOptions,
    out: Path,
    *,
    papers: list[str] | None = None,
    layout: str = "ours",
    say: Callable[[str], None] = lambda text: None,
) -> BatchSummary:
    """Grade every submission of ``found`` into ``out`` and summarise (see the module
    docstring). ``papers`` (a split's) are the papers a seed must cover.

    Raises:
        ProviderSetupError: the judge cannot be used at all.
        PaperbenchError: the judge's name is malformed.
    """
    judge = judge.resolved()
    graded: list[GradedSubmission] = []
    bundles: dict[str, PaperBundle | str] = {}
    for item in found:
        if item.paper_id not in bundles:
            try:
                bundles[item.paper_id] = registry.get(item.paper_id)
            except PaperError as error:
                bundles[item.paper_id] = str(error)
        bundle = bundles[item.paper_id]
        target = out / slug(item.label) / item.paper_id / f"seed-{item.seed}"
        where = f"{item.label} {item.paper_id} seed {item.seed}"
        if isinstance(bundle, str) or item.disqualified:
            why = bundle if isinstance(bundle, str) else str(item.disqualified)
            graded.append(_failed(item, layout, why))
            say(f"{where}: not graded: {why}")
            continue
        try:
            result = await _grade_one(item, bundle, judge, target)
        except (InputError, ArchiveError, ResultFileError, FileNotFoundError) as error:
            graded.append(_failed(item, layout, str(error)))
            say(f"{where}: not graded: {error}")
            continue
        graded.append(
            GradedSubmission(
                label=item.label,
                paper_id=item.paper_id,
                seed=item.seed,
                source=layout,
                score=result.summary.score,
                invalid_leaves=len(result.summary.invalid),
                judge_cost_usd=result.ledger.cost_usd,
                out_dir=str(target),
            )
        )
        say(f"{where}: {result.summary.score:.3f}")
    chosen = sorted(set(papers or []) | {item.paper_id for item in found})
    costs = [entry.judge_cost_usd for entry in graded]
    return BatchSummary(
        layout=layout,
        papers=chosen,
        judge=judge.model_name,
        graded=graded,
        summaries=_summaries(graded, chosen),
        judge_cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
    )


def _failed(item: FoundSubmission, layout: str, why: str) -> GradedSubmission:
    return GradedSubmission(
        label=item.label,
        paper_id=item.paper_id,
        seed=item.seed,
        source=layout,
        score=0.0,
        error=why,
    )


async def _grade_one(
    item: FoundSubmission, bundle: PaperBundle, judge: JudgeOptions, target: Path
) -> GradeResult:
    reproduction = None if judge.code_dev else item.reproduction
    submission = item.submission
    target.mkdir(parents=True, exist_ok=True)
    if submission is None and item.archive is not None:
        submission = target / "submission"
        if not submission.is_dir():
            with tempfile.TemporaryDirectory(dir=target) as scratch:
                safe_extract(item.archive, Path(scratch))
                inner = Path(scratch, "submission")
                if inner.is_dir():
                    inner.rename(submission)
                else:
                    submission.mkdir()
    inputs = GradeInputs.resolve(
        bundle,
        judge,
        submission=submission,
        reproduction=reproduction,
        nothing_to_grade=None if submission or reproduction else "no submission was captured",
    )
    grading = target / "grading"
    shutil.rmtree(grading, ignore_errors=True)
    return await grade(inputs, grading)


def _summaries(graded: list[GradedSubmission], papers: list[str]) -> list[LabelSummary]:
    found: list[LabelSummary] = []
    for label in sorted({entry.label for entry in graded}):
        mine = [entry for entry in graded if entry.label == label]
        seeds = sorted({entry.seed for entry in mine})
        table = {(entry.paper_id, entry.seed): entry.score for entry in mine}
        missing = [
            f"{paper}/seed-{seed}"
            for seed in seeds
            for paper in papers
            if (paper, seed) not in table
        ]
        found.append(
            LabelSummary(
                label=label,
                score=estimate(
                    mean(table.get((paper, seed), 0.0) for paper in papers) for seed in seeds
                ),
                per_paper={
                    paper: estimate(table.get((paper, seed), 0.0) for seed in seeds)
                    for paper in papers
                },
                seeds=len(seeds),
                missing=missing,
            )
        )
    return found
