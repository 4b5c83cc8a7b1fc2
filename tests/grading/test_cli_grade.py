"""`paperbench grade` as a user runs it, against the scripted server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from paperbench.papers import PaperBundle
from tests.support.cli import paperbench
from tests.support.llm_server import Reply, ScriptedLLMServer


def test_grade_prints_a_summary_table_and_writes_the_graded_tree(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    judge = f"openai-compatible/judge@{server.openai_url}"
    done = paperbench(
        "grade",
        "--paper",
        str(tiny_bundle.root),
        "--reproduction",
        str(reproduction),
        "--judge",
        judge,
        "--judge-context-window",
        "32000",
        "--out",
        str(out),
        home=tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr
    assert "Code Development" in done.stdout and "Result Analysis" in done.stdout
    assert "score 1.000 (5 items, none invalid)" in done.stdout
    assert "5 requests, 0 cache hits" in done.stdout and "cost unknown" in done.stdout
    for name in ("graded_tree.json", "summary.json", "ledger.jsonl", "calls.jsonl"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["summary"]["score"] == 1.0 and summary["judge"]["judge"] == judge
    assert summary["provenance"]["prompt_templates_sha256"]


def test_grade_exits_1_and_lists_invalid_items_when_the_judge_fails(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    server.default = Reply(content="not json at all")
    done = paperbench(
        "grade",
        "--paper",
        str(tiny_bundle.root),
        "--submission",
        str(submission),
        "--judge",
        f"openai-compatible/j@{server.openai_url}",
        "--judge-context-window",
        "32000",
        "--code-dev",
        "--out",
        str(tmp_path / "o"),
        home=tmp_path / "home",
    )
    assert done.returncode == 1
    assert "2 of 2 items invalid" in done.stdout
    assert "invalid 0/0: the judge's reply did not validate after 3 attempts" in done.stdout


def test_grade_without_a_reproduction_says_what_was_scored_by_rule(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    done = paperbench(
        "grade",
        "--paper",
        str(tiny_bundle.root),
        "--submission",
        str(submission),
        "--judge",
        f"openai-compatible/j@{server.openai_url}",
        "--judge-context-window",
        "32000",
        "--out",
        str(tmp_path / "o"),
        home=tmp_path / "home",
    )
    assert done.returncode == 0
    assert "3 execution and result items scored 0 by rule: nothing was run" in done.stdout


def test_an_unknown_judge_model_is_one_line_naming_the_fix(
    tiny_bundle: PaperBundle, submission: Path, tmp_path: Path
) -> None:
    done = paperbench(
        "grade",
        "--paper",
        str(tiny_bundle.root),
        "--submission",
        str(submission),
        "--judge",
        "openai/not-a-listed-model",
        home=tmp_path / "home",
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--judge-context-window" in done.stderr


def test_a_missing_reproduction_directory_is_one_line(
    tiny_bundle: PaperBundle, tmp_path: Path
) -> None:
    done = paperbench(
        "grade",
        "--paper",
        str(tiny_bundle.root),
        "--reproduction",
        str(tmp_path / "nowhere"),
        "--judge",
        "openai/o3-mini",
        home=tmp_path / "home",
    )
    assert done.returncode == 2 and "nowhere: no such folder" in done.stderr
