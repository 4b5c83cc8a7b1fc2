"""The run directory: one folder per (agent configuration, paper, seed), one file per stage.

::

    RUNS_DIR/<agent-slug>/<paper-id>/seed-<n>/
        provenance.json        versions, git SHA, image ids, hashes, models, options (redacted)
        state.json             each stage's status: done stages are never redone
        agent/                 agent.json, transcript.jsonl, instructions.md, monitor.json,
                               snapshots/, submission.tar and manifest.json (the capture)
        reproduction/          reproduction.json, reproduce.log, executed submission
        submission/            the captured submission, extracted (Code-Dev grading reads it)
        grading/               graded_tree.json, summary.json, ledger.jsonl, prompts
        run.json               the run's record for the leaderboard

A stage's folder is complete only once ``state.json`` says the stage is ``done``; a folder of a
stage that is not done is the debris of an interrupted attempt and is removed before the stage
runs again.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from paperbench.secrets import redact_text

Stage = Literal["agent", "reproduction", "grading"]
StageStatus = Literal["done", "running", "failed"]
STAGES: tuple[Stage, ...] = ("agent", "reproduction", "grading")


def slug(text: str) -> str:
    """A folder name for a label such as ``basic/openai/gpt-4o``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text.replace("/", "__")).strip("._")
    return cleaned[:120] or "run"


class StageState(BaseModel):
    status: StageStatus
    started_at: datetime
    finished_at: datetime | None = None
    attempts: int = 1
    error: str | None = None
    fingerprint: str = Field("", description="hash of the settings the stage ran under")


class RunState(BaseModel):
    stages: dict[str, StageState] = Field(default_factory=dict)


def write_json_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of either (even after SIGKILL).

    Every secret the harness knows is replaced first (:func:`paperbench.secrets.redact_text`):
    this is the one door through which the run directory's JSON records are written.
    """
    text = redact_text(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
