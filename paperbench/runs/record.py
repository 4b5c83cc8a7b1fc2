"""What one finished (or failed) run leaves for the leaderboard: ``run.json``.

A run is one (paper, agent configuration, seed). Its record says how it ended, its score, and
what it cost. A run that failed keeps its place in the denominator: dropping failed runs would
reward agents that crash on hard papers. Which failures are still graded and which score 0 is
:data:`paperbench.contracts.FAILURES`; a run that could not be graded at all scores 0 in every
category its rubric has, so every aggregate (overall, per paper, per category) counts the same
runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from paperbench.contracts import Failure, FailureKind, RecordFile
from paperbench.grading.overrides import ReviewedScore

RUN_RECORD_FILE = "run.json"

__all__ = [
    "RUN_RECORD_FILE",
    "CategoryResult",
    "Failure",
    "FailureKind",
    "RunRecord",
    "TimePoint",
]


class CategoryResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float | None
    items: int
    invalid: int


class TimePoint(BaseModel):
    """The run's submission as it was at one time of the agent's work (``--grade-at``),
    reproduced and graded like the final one."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(description="the time as given, e.g. 3h")
    seconds: float = Field(ge=0, description="of the agent's working time")
    snapshot: int | None = Field(
        description="index of the snapshot graded: the last one taken by then; None: none was"
    )
    snapshot_seconds: float | None = None
    score: float = Field(ge=0, le=1)
    invalid_leaves: int = 0
    failures: list[Failure] = Field(default_factory=list)
    judge_cost_usd: float | None = 0.0


class RunRecord(RecordFile):
    """The outcome of one run, as the leaderboard reads it."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    FILE: ClassVar[str] = RUN_RECORD_FILE

    schema_version: Literal[1] = 1
    run_id: str
    agent: str = Field(description="the agent configuration's label, e.g. basic/openai/o3-mini")
    judge: str
    paper_id: str
    seed: int
    finished_at: datetime
    score: float = Field(ge=0, le=1, description="0 when the run was disqualified or not graded")
    score_if_invalid_passed: float = Field(ge=0, le=1)
    graded: bool = Field(description="False when no grade could be computed at all")
    code_dev: bool = Field(default=False, description="graded in Code-Dev mode")
    resources_provided: bool = Field(
        default=False, description="Dataset and Model Acquisition leaves weighed 0"
    )
    timeline: list[TimePoint] = Field(
        default_factory=list, description="the score at earlier times (--grade-at)"
    )
    invalid_leaves: int = 0
    graded_items: int = 0
    per_category: dict[str, CategoryResult] = Field(default_factory=dict)
    failures: list[Failure] = Field(default_factory=list)
    agent_cost_usd: float | None = Field(
        default=None, description="None only when the agent's model has no price"
    )
    judge_cost_usd: float | None = Field(
        default=None, description="None only when the judge's model has no price"
    )
    agent_seconds: float = 0.0
    reproduction_seconds: float = 0.0
    grading_seconds: float = 0.0
    total_seconds: float = 0.0
    reviewed: ReviewedScore | None = Field(
        default=None,
        description="the score with reviewers' overrides (grading/overrides.json), beside the "
        "judge's; filled in when records are read (paperbench.runs.leaderboard.find_records)",
    )

    @property
    def disqualified(self) -> bool:
        return any(failure.kind == "disqualified" for failure in self.failures)
