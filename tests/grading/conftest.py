"""Fixtures for the judge: a tiny paper bundle, submissions, reproductions, the scripted server.

``tiny_bundle`` has a rubric of five leaves over the three categories, small enough that a test
can say exactly which call graded which leaf.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperbench.grading import GradeOptions, GradeResult, grade_submission_async
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle, PaperRegistry, load_bundle
from tests.support.llm_server import ScriptedLLMServer, schema_responder

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


@pytest.fixture
def tiny_bundle(tmp_path: Path) -> PaperBundle:
    root = tmp_path / "paper"
    root.mkdir()
    (root / "config.yaml").write_text("id: tiny\ntitle: Tiny optimizer paper\n")
    (root / "paper.md").write_text("# Tiny\n\nWe compare SGD and Adam (PAPER-TEXT-MARKER).\n")
    (root / "addendum.md").write_text("Use numpy only (ADDENDUM-MARKER).\n")
    (root / "judge.addendum.md").write_text("Accuracy above 0.98 is fine (JUDGE-NOTE-MARKER).\n")
    (root / "rubric.json").write_text(json.dumps(TINY_RUBRIC))
    return load_bundle(root)


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    root.mkdir()
    (root / "optim.py").write_text("def sgd_step(w, g, eta):\n    return w - eta * g  # SOURCE\n")
    (root / "README.md").write_text("Run reproduce.sh (README-MARKER).\n")
    (root / "reproduce.sh").write_text("#!/bin/bash\npython optim.py  # SCRIPT-MARKER\n")
    (root / "weights.npy").write_bytes(b"\x93NUMPY\x00\x01" + bytes(100))
    return root


@pytest.fixture
def reproduction(tmp_path: Path, submission: Path) -> Path:
    """A reproduction directory as the reproduction stage leaves it."""
    root = tmp_path / "reproduction"
    shutil.copytree(submission, root / "submission")
    results = root / "submission" / "results"
    results.mkdir()
    (results / "table.md").write_text("| adam | 0.01 |\n| sgd | 0.40 |  OUTPUT-MARKER\n")
    (root / "reproduce.log").write_text("training sgd\ntraining adam\nLOG-MARKER done\n")
    record = {
        "exit_code": 0,
        "timed_out": False,
        "oom_killed": False,
        "duration_seconds": 12.5,
        "files_created": [{"path": "results/table.md", "size": 40, "sha256": "x"}],
        "image": "paperbench/reproducer:1",
    }
    (root / "reproduction.json").write_text(json.dumps(record))
    return root


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(default=schema_responder(score=1)) as running:
        yield running


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture
def spiral() -> PaperBundle:
    return PaperRegistry(include_imported=False).get("spiral-optimizers")


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
