"""Grading through the scripted server: a tiny rubric and a one-call grade helper."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paperbench.grading import GradeInputs, GradeResult, JudgeOptions, grade
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle
from paperbench.reproduction.result import (
    DID_NOT_RUN,
    Attempt,
    AttemptStatus,
    FileRecord,
    ReproductionResult,
)
from tests.support.llm_server import ScriptedLLMServer

JUDGE = "openai/o3-mini"


def leaf(rid: str, text: str, category: str, weight: int = 1) -> dict[str, Any]:
    return {
        "id": rid,
        "requirements": text,
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
    }


TINY_RUBRIC = {
    "id": "root",
    "requirements": "The paper's optimizer comparison has been reproduced.",
    "weight": 1,
    "sub_tasks": [
        {
            "id": "impl",
            "requirements": "The optimizers are implemented.",
            "weight": 2,
            "sub_tasks": [
                leaf("sgd", "SGD with learning rate eta is implemented.", "Code Development"),
                leaf("adam", "Adam with bias correction is implemented.", "Code Development", 3),
            ],
        },
        {
            "id": "run",
            "requirements": "The experiments have been run and analysed.",
            "weight": 1,
            "sub_tasks": [
                leaf("exec", "reproduce.sh trains every optimizer.", "Code Execution"),
                leaf("table", "Adam reaches lower loss than SGD at step 500.", "Result Analysis"),
                leaf("acc", "Test accuracy is at least 0.98.", "Result Analysis"),
            ],
        },
    ],
}


class NoSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run_grade(
    bundle: PaperBundle,
    server: ScriptedLLMServer,
    out: Path,
    *,
    submission: Path | None = None,
    reproduction: Path | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> GradeResult:
    """Grade through the scripted server with the real OpenAI client and no real waiting;
    ``options`` are :class:`JudgeOptions` fields."""
    judge = options.pop("judge", JUDGE)
    settings = JudgeOptions(
        judge=judge,
        judge_base_url=server.url if judge.startswith("anthropic/") else server.openai_url,
        cache_path=out.parent / "cache.sqlite",
        **options,
    )
    inputs = GradeInputs.resolve(bundle, settings, submission=submission, reproduction=reproduction)
    return asyncio.run(grade(inputs, out, retry=retry or RetryPolicy(sleep=NoSleep())))


def reproduction_record(
    status: AttemptStatus,
    *,
    exit_code: int | None = None,
    duration: float = 1.0,
    created: list[str] | None = None,
    error: str | None = None,
    executed: bool = True,
) -> ReproductionResult:
    """A reproduction record as the reproduction stage writes it (the stage's own model), for
    a reproduction directory written by hand."""
    started = datetime(2026, 1, 1, tzinfo=UTC)
    ran = status not in DID_NOT_RUN
    attempt = Attempt(
        number=1,
        status=status,
        exit_code=exit_code,
        duration_seconds=duration,
        timed_out=status == "timed_out",
        oom_killed=status == "oom_killed",
        log_file="reproduce.attempt-1.log" if ran else None,
        started_at=started,
        error=error,
    )
    return ReproductionResult(
        paper_id="tiny",
        submission="submission.tar",
        image="paperbench/reproducer:bookworm",
        image_id="sha256:test",
        timeout_seconds=600,
        network="none",
        cpus=1,
        memory_mb=1024,
        status=status,
        exit_code=exit_code,
        timed_out=attempt.timed_out,
        oom_killed=attempt.oom_killed,
        duration_seconds=duration,
        attempts=[attempt],
        graded_attempt=1,
        files_created=[FileRecord(path=path, size=40, sha256="0" * 64) for path in created or []],
        executed_dir="submission" if ran and executed else None,
        paperbench_version="test",
    )
