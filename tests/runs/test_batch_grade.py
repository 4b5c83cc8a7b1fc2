"""``paperbench grade --submissions DIR``: many existing submissions, PaperBench's layout or
ours, graded with one shared cache into one summary."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from paperbench.agents.stage import AgentStageResult
from paperbench.grading.options import JudgeOptions
from paperbench.papers import PaperRegistry, load_bundle
from paperbench.runs.batch_grade import find_submissions, grade_submissions
from tests.support.cli import paperbench
from tests.support.inprocess import orchestrate
from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import run_settings, write_paper


def paperbench_layout(root: Path) -> Path:
    """PaperBench's direct-submission folders: two tries of paper toy."""
    for name in ("try-a", "try-b"):
        folder = root / "toy" / name
        folder.mkdir(parents=True)
        (folder / "model.py").write_text(f"print('{name}')\n")
        (folder / "reproduce.sh").write_text("python3 model.py\n")
    return root


def test_paperbench_s_layout_is_graded_into_one_summary_with_one_cache(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    write_paper(tmp_path / "papers", "toy", (1, 1, 1))
    args = [
        "grade",
        "--submissions",
        str(paperbench_layout(tmp_path / "submissions")),
        "--papers-dir",
        str(tmp_path / "papers"),
        "--judge",
        f"openai-compatible/judge@{judge_server.openai_url}",
        "--judge-context-window",
        "32000",
        "--cache-path",
        str(tmp_path / "cache.sqlite"),
        "--out",
        str(tmp_path / "out"),
    ]
    done = paperbench(*args, home=tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["layout"] == "paperbench"
    assert [(g["paper_id"], g["seed"]) for g in summary["graded"]] == [("toy", 0), ("toy", 1)]
    # no reproduction: execution and result leaves score 0 by rule, Code Development passes
    [entry] = summary["summaries"]
    assert entry["score"]["mean"] == pytest.approx(1 / 3) and entry["seeds"] == 2
    assert len(judge_server.requests) == 2
    assert (
        tmp_path / "out" / "submissions" / "toy" / "seed-1" / "grading" / "summary.json"
    ).is_file()
    again = paperbench(*args, home=tmp_path / "home")
    assert again.returncode == 0 and len(judge_server.requests) == 2  # all from the cache


def test_a_split_paper_without_submissions_counts_0_as_in_paperbench(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    write_paper(tmp_path / "papers", "toy", (1, 1, 1))
    splits = tmp_path / "home" / "papers" / "_splits"
    splits.mkdir(parents=True)
    (splits / "debug.txt").write_text("toy\nmissing-paper\n")
    done = paperbench(
        "grade",
        "--submissions",
        str(paperbench_layout(tmp_path / "submissions")),
        "--split",
        "debug",
        "--papers-dir",
        str(tmp_path / "papers"),
        "--judge",
        f"openai-compatible/judge@{judge_server.openai_url}",
        "--judge-context-window",
        "32000",
        "--out",
        str(tmp_path / "out"),
        home=tmp_path / "home",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [entry] = json.loads((tmp_path / "out" / "summary.json").read_text())["summaries"]
    assert entry["per_paper"]["missing-paper"]["mean"] == 0
    assert entry["score"]["mean"] == pytest.approx((1 / 3 + 0) / 2)
    assert entry["missing"] == ["missing-paper/seed-0", "missing-paper/seed-1"]


def test_our_run_directories_are_graded_with_their_reproduction_and_disqualification(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    settings = settings.model_copy(update={"run": settings.run.model_copy(update={"seeds": 2})})
    orchestrate(settings, [paper])
    agent_dir = next((tmp_path / "runs").rglob("seed-1")) / "agent"
    banned = AgentStageResult.load(agent_dir).model_copy(update={"disqualified": True})
    banned.save(agent_dir)
    layout, found = find_submissions(tmp_path / "runs")
    assert layout == "ours" and [(f.label, f.seed) for f in found] == [("replay", 0), ("replay", 1)]
    assert found[0].reproduction is not None and found[1].disqualified
    summary = asyncio.run(
        grade_submissions(
            found,
            PaperRegistry(user_dirs=[tmp_path / "papers"], include_imported=False),
            JudgeOptions(
                judge=f"openai-compatible/judge@{judge_server.openai_url}",
                judge_context_window=32000,
                cache_path=tmp_path / "cache.sqlite",
            ),
            tmp_path / "out",
        )
    )
    first, second = summary.graded
    assert first.score == pytest.approx(1 / 3) and first.error is None
    grade = json.loads(Path(first.out_dir or "", "grading", "summary.json").read_text())
    assert grade["mode"]["reproduction"].endswith("seed-0/reproduction")
    assert second.score == 0 and (second.error or "").startswith("disqualified")


def test_grade_needs_a_paper_or_submissions_and_not_both(tmp_path: Path) -> None:
    done = paperbench("grade", "--judge", "local/smollm2", home=tmp_path)
    assert done.returncode == 2 and "--paper: give the paper graded" in done.stderr
    both = paperbench(
        "grade",
        "--paper",
        "x",
        "--submissions",
        str(tmp_path),
        "--judge",
        "local/smollm2",
        home=tmp_path,
    )
    assert both.returncode == 2 and "drop --paper" in both.stderr
