"""What one finished (or failed) run leaves for the leaderboard: ``run.json``.

A run is one (paper, agent configuration, seed). Its record says how it ended, its score, and
what it cost. A run that failed keeps its place in the denominator with score 0 and the reason:
dropping failed runs would reward agents that crash on hard papers.

Failure kinds:

``agent_error``
    the agent loop crashed (the submission it left, if any, is still graded).
``infrastructure_error``
    the harness could not do its part (Docker died, an image was missing); re-running the same
    command redoes the stage.
``timeout``
    a stage hit its time limit (the agent's, or the reproduction's); the run is still graded.
``disqualified``
    the blacklist monitor found a violation; score 0 whatever the judge said.
``judge_invalid``
    some leaves could not be graded after retries; they count 0 in ``score`` and the record
    says how many (``score_if_invalid_passed`` bounds what they could have added).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paperbench.grading.overrides import ReviewedScore

FailureKind = Literal[
    "agent_error", "infrastructure_error", "timeout", "disqualified", "judge_invalid"
]
RUN_RECORD_FILE = "run.json"


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    stage: str
    reason: str


class CategoryResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float | None
    items: int
    invalid: int


class RunRecord(BaseModel):
    """The outcome of one run, as the leaderboard reads it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = 1
    run_id: str
    agent: str = Field(description="the agent configuration's label, e.g. basic/openai/o3-mini")
    judge: str
    paper_id: str
    seed: int
    finished_at: datetime
    score: float = Field(ge=0, le=1, description="0 when the run was disqualified or failed")
    score_if_invalid_passed: float = Field(ge=0, le=1)
    graded: bool = Field(description="False when no grade could be computed at all")
    invalid_leaves: int = 0
    graded_items: int = 0
    per_category: dict[str, CategoryResult] = Field(default_factory=dict)
    failures: list[Failure] = Field(default_factory=list)
    agent_cost_usd: float | None = None
    judge_cost_usd: float | None = None
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
