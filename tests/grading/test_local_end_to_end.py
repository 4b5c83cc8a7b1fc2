"""End to end with the embedded local model: `paperbench grade` on a bundled paper's reference
submission, offline, with no API key.

SmolLM2-135M judges poorly, so the score is not asserted; the plumbing is: the real server
starts in a child process, every item gets a validated grade or an invalid with its reason, the
graded tree, ledger and prompts are written, the server is gone afterwards, and a second run
comes entirely from the cache. Code-Dev with ``--max-depth 1`` keeps it to a handful of calls:
on 2 cores the one cold ~5k-token prefix dominates (about a minute), and every later call reuses
it from llama.cpp's cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperbench.llm.local import INSTALL_HINT, smollm2_available
from paperbench.papers import PaperBundle


def test_the_local_model_grades_a_reference_submission_offline(
    spiral: PaperBundle, tmp_path: Path
) -> None:
    if not smollm2_available():
        reason = f"the local model extra is not installed: {INSTALL_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    assert spiral.solution_dir is not None
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"PAPERBENCH_HOME": str(tmp_path / "home"), "COLUMNS": "200", "NO_COLOR": "1"}
    args = [
        sys.executable,
        "-m",
        "paperbench",
        "grade",
        "--paper",
        "spiral-optimizers",
        "--submission",
        str(spiral.solution_dir),
        "--judge",
        "local/smollm2",
        "--code-dev",
        "--max-depth",
        "1",
        "--out",
        str(tmp_path / "out"),
    ]
    started = time.monotonic()
    first = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900, check=False)
    seconds = time.monotonic() - started
    print(f"local end-to-end grade: {seconds:.1f} s")
    assert first.returncode in (0, 1), first.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["judge"]["provider"] == "local" and summary["summary"]["items"] >= 2
    assert summary["ledger"]["requests_sent"] >= summary["summary"]["items"]
    assert summary["ledger"]["cached_input_tokens"] > 0
    tree = json.loads((tmp_path / "out" / "graded_tree.json").read_text())
    for item in tree["sub_tasks"]:
        assert 0.0 <= item["score"] <= 1.0
        assert item["explanation"] and item["judge_metadata"]["judged_by"] == "judge"
    log = (tmp_path / "out" / "local-model-server.log").read_text()
    assert "listening on" in log and "listening on" not in first.stdout + first.stderr

    second = subprocess.run(
        [*args[:-1], str(tmp_path / "again")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    if summary["summary"]["invalid"]:
        return
    assert second.returncode == 0 and again["ledger"]["requests_sent"] == 0
    assert again["summary"]["score"] == summary["summary"]["score"]
