"""Secrets by value (issue #12, item 5): a canary secret given to the harness in each way it
takes secrets, and leaked back at it by the agent and the judge, is found in no file of the run
directory, the judge's cache, the leaderboard or the report."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from paperbench.secrets import REDACTED
from tests.support.canaries import CANARIES, canary_run, files_holding
from tests.support.cli import paperbench


def test_no_canary_secret_is_written_to_the_run_the_cache_the_leaderboard_or_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with canary_run(tmp_path, monkeypatch) as run:
        sent = run.server.requests[0].headers.get("authorization", "")
        credentials = base64.b64decode(sent.removeprefix("Basic ")).decode()
        assert credentials == f"bench:{CANARIES['password in the judge URL']}", "in use"
        assert run.record.graded and run.record.failures[0].kind == "agent_error"
        [run_dir] = [p.parent for p in run.runs_dir.rglob("run.json")]
        tree = (run_dir / "grading" / "graded_tree.json").read_text()
        assert tree.count(REDACTED) >= len(CANARIES), "the judge's echo reached the tree"
        assert REDACTED in (run_dir / "agent" / "agent.json").read_text()

    board = tmp_path / "leaderboard.json"
    report = tmp_path / "report"
    for args in (
        ["leaderboard", str(run.runs_dir), "--out", str(board)],
        ["report", str(run.runs_dir), "--out", str(report)],
    ):
        result = paperbench(*args, home=run.home)
        assert result.returncode == 0, result.stderr
        assert not any(value in result.stdout + result.stderr for value in CANARIES.values())
    assert json.loads(board.read_text())["entries"], "the leaderboard has the run"

    everything = [run.runs_dir, run.home, board, report]
    leaks = {how: files_holding(everything, value) for how, value in CANARIES.items()}
    assert leaks == {how: [] for how in CANARIES}
