"""Grading through the scripted server: a tiny rubric and a one-call grade helper."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from paperbench.grading import GradeOptions, GradeResult, grade_submission_async
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle
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
    """Grade through the scripted server with the real OpenAI client and no real waiting."""
    judge = options.pop("judge", JUDGE)
    settings = GradeOptions(
        judge=judge,
        base_url=server.url if judge.startswith("anthropic/") else server.openai_url,
        cache_path=out.parent / "cache.sqlite",
        **options,
    )
    return asyncio.run(
        grade_submission_async(
            bundle,
            out_dir=out,
            options=settings,
            submission=submission,
            reproduction=reproduction,
            retry=retry or RetryPolicy(sleep=NoSleep()),
        )
    )
