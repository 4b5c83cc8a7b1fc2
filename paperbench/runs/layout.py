"""The run directory: one folder per (agent configuration, paper, seed), one folder per stage.

What each file holds is described once, in the README ("The run directory"); each stage's
Result names its own file (:mod:`paperbench.contracts`). This module knows the folders, the
order of the stages (:data:`STAGES`, the one place it is written) and ``state.json``: a stage's
folder is complete only once ``state.json`` says the stage is ``done`` under the fingerprint of
the inputs it ran under; anything else is redone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from paperbench.files import write_json_atomic

Stage = Literal["agent", "reproduction", "grading"]
StageStatus = Literal["done", "running", "failed", "stale"]
STAGES: tuple[Stage, ...] = ("agent", "reproduction", "grading")


def slug(text: str) -> str:
    """A folder name for a label such as ``basic/openai/gpt-4o``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text.replace("/", "__")).strip("._")
    return cleaned[:120] or "run"


class StageState(BaseModel):
    """One stage in ``state.json``. ``stale``: a stage before it was redone, so it must run
    again; ``attempts`` counts every start, across redos."""

    status: StageStatus
    started_at: datetime
    finished_at: datetime | None = None
    attempts: int = 1
    error: str | None = None
    fingerprint: str = Field("", description="hash of the settings the stage ran under")


class RunState(BaseModel):
    stages: dict[str, StageState] = Field(default_factory=dict)


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @classmethod
    def of(cls, runs_dir: Path, agent_label: str, paper_id: str, seed: int) -> RunPaths:
        return cls(runs_dir / slug(agent_label) / paper_id / f"seed-{seed}")

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def provenance(self) -> Path:
        return self.root / "provenance.json"

    @property
    def record(self) -> Path:
        return self.root / "run.json"

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    def stage_dir(self, stage: Stage) -> Path:
        return self.root / stage

    def load_state(self) -> RunState:
        if not self.state_file.is_file():
            return RunState()
        return RunState.model_validate(json.loads(self.state_file.read_text(encoding="utf-8")))

    def save_state(self, state: RunState) -> None:
        write_json_atomic(self.state_file, state.model_dump_json(indent=2))

    def is_done(self, stage: Stage) -> bool:
        entry = self.load_state().stages.get(stage)
        return entry is not None and entry.status == "done"

    def mark(
        self, stage: Stage, status: StageStatus, *, error: str | None = None, fingerprint: str = ""
    ) -> None:
        state = self.load_state()
        previous = state.stages.get(stage)
        now = datetime.now(UTC)
        if status == "running":
            attempts = previous.attempts + 1 if previous else 1
            state.stages[stage] = StageState(
                status="running", started_at=now, attempts=attempts, fingerprint=fingerprint
            )
        else:
            started = previous.started_at if previous else now
            attempts = previous.attempts if previous else 1
            state.stages[stage] = StageState(
                status=status,
                started_at=started,
                finished_at=now,
                attempts=attempts,
                error=error,
                fingerprint=fingerprint or (previous.fingerprint if previous else ""),
            )
        self.save_state(state)
