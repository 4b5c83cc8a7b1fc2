"""Material for end-to-end runs: tiny paper bundles, a replay script, a scripted judge, a
`paperbench` process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from paperbench.agents.options import AgentOptions
from paperbench.grading.options import JudgeOptions
from paperbench.runs.settings import RunOptions, RunSettings
from tests.support.llm_server import RecordedRequest, Reply, fill_schema


def leaf(node_id: str, weight: int, category: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "requirements": f"{node_id} is done",
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
        "finegrained_task_category": None,
    }


def rubric(weights: tuple[int, int, int]) -> dict[str, Any]:
    """Root → one node per category → one leaf: the category's share is its weight's share."""
    development, execution, analysis = weights
    return {
        "id": "root",
        "requirements": "The paper is reproduced",
        "weight": 1,
        "task_category": None,
        "finegrained_task_category": None,
        "sub_tasks": [
            {
                "id": "code",
                "requirements": "code",
                "weight": development,
                "task_category": None,
                "finegrained_task_category": None,
                "sub_tasks": [leaf("impl", 1, "Code Development")],
            },
            {
                "id": "run",
                "requirements": "run",
                "weight": execution,
                "task_category": None,
                "finegrained_task_category": None,
                "sub_tasks": [leaf("runs", 1, "Code Execution")],
            },
            {
                "id": "results",
                "requirements": "results",
                "weight": analysis,
                "task_category": None,
                "finegrained_task_category": None,
                "sub_tasks": [leaf("matches", 1, "Result Analysis")],
            },
        ],
    }


def write_paper(root: Path, paper_id: str, weights: tuple[int, int, int]) -> Path:
    folder = root / paper_id
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(
        f"id: {paper_id}\ntitle: Toy paper {paper_id}\n"
        "reproduction:\n  time_limit_seconds: 120\nresources:\n  cpus: 1\n  memory_mb: 512\n"
    )
    (folder / "paper.md").write_text(f"# Toy paper {paper_id}\n\nWe print a number.\n")
    (folder / "blacklist.txt").write_text("https://github.com/forbidden/solution\n")
    (folder / "rubric.json").write_text(json.dumps(rubric(weights)))
    return folder


REPLAY = """\
- bash: |
    mkdir -p /home/submission
    cat > /home/submission/reproduce.sh <<'SCRIPT'
    #!/usr/bin/env bash
    set -euo pipefail
    sleep "${{PAPERBENCH_TEST_SLEEP:-0}}"
    {sleep}
    mkdir -p results
    python3 -c 'print(0.5)' | tee results/value.txt
    SCRIPT
- submit: done
"""


def replay_script(folder: Path, sleep_seconds: int = 0) -> Path:
    path = folder / "replay.yaml"
    path.write_text(REPLAY.format(sleep=f"sleep {sleep_seconds}" if sleep_seconds else ":"))
    return path


def score_development_only(request: RecordedRequest) -> Reply:
    """Grade 1 for Code Development requirements, 0 for the others."""
    categories = re.findall(r"Requirement `[^`]*` \(([^)]*)\)", request.text)
    score = 1 if categories and categories[-1] == "Code Development" else 0
    schema = request.schema or {}
    return Reply(json=fill_schema(schema, {"score": score}))


def paperbench_process(
    *args: str, home: Path, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "PAPERBENCH_HOME": str(home),
        "COLUMNS": "200",
        "NO_COLOR": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "paperbench", *args],
        env=environment,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kwargs,
    )


def run_settings(
    runs_dir: Path | str,
    judge_url: str,
    *,
    agent: str = "replay",
    replay: Path | None = None,
    **judge: Any,
) -> RunSettings:
    """Settings of an in-process run: ``agent`` (replayed from ``replay``), judged by the
    scripted server at ``judge_url``; ``judge`` sets other :class:`JudgeOptions` fields."""
    return RunSettings(
        run=RunOptions(papers=["unused"], runs_dir=runs_dir),
        agent=AgentOptions(agent=agent, replay_script=replay),
        judge=JudgeOptions(
            judge=f"openai-compatible/judge@{judge_url}",
            judge_context_window=32000,
            **judge,
        ),
    )
