"""Mistakes a user can make with `paperbench run` and `grade` end in one line on stderr and exit
status 2, before any container starts (no Docker needed to show it)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.support.cli import paperbench
from tests.support.runs import write_paper


def run_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--papers",
        "toy-a",
        "--agent",
        "reference",
        "--papers-dir",
        str(tmp_path / "papers"),
        "--judge",
        "openai-compatible/judge@http://127.0.0.1:9/v1",
        "--judge-context-window",
        "8000",
        *extra,
    ]


def test_a_rubric_that_validate_rejects_stops_run_before_anything_starts(tmp_path: Path) -> None:
    folder = write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))
    rubric = json.loads((folder / "rubric.json").read_text())
    del rubric["sub_tasks"][1]["sub_tasks"][0]["task_category"]
    (folder / "rubric.json").write_text(json.dumps(rubric))
    done = paperbench(*run_args(tmp_path, "--runs-dir", str(tmp_path / "runs")), home=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1
    assert "paper toy-a: invalid rubric" in done.stderr and "1/0" in done.stderr
    assert "task_category" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_a_runs_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))
    (tmp_path / "runs").write_text("not a folder")
    done = paperbench(*run_args(tmp_path, "--runs-dir", str(tmp_path / "runs")), home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "is not a folder" in done.stderr


def test_an_agent_model_on_a_server_that_reports_nothing_names_the_run_flag(
    tmp_path: Path,
) -> None:
    write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))
    args = run_args(tmp_path, "--runs-dir", str(tmp_path / "runs"))
    args[args.index("reference")] = "basic"
    done = paperbench(
        *args, "--agent-model", "openai-compatible/m@http://127.0.0.1:9/v1", home=tmp_path
    )
    assert done.returncode == 2
    assert "--agent-context-window" in done.stderr and "--context-window " not in done.stderr


def test_grade_with_a_judge_on_a_dead_port_stops_at_once(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "main.py").write_text("print(1)\n")
    done = paperbench(
        "grade",
        "--paper",
        str(folder),
        "--submission",
        str(submission),
        "--judge",
        f"openai-compatible/judge@http://127.0.0.1:{port}/v1",
        "--judge-context-window",
        "8000",
        "--out",
        str(tmp_path / "out"),
        home=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot reach model" in done.stderr
