"""`paperbench grade --gold SET`: one submission graded, then its agreement with the hand grades.

Gold of the toy set "partial" (CD CD CD | CE CE | RA RA RA): 1 1 0 | 1 0 | 1 0 0, root 11/24.
A judge that passes everything: tp 4, fp 4, so accuracy 1/2, four leaves disagree, root 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from paperbench.papers import PaperBundle
from tests.support.cli import paperbench
from tests.support.judge_eval import GoldJudge, constant_answer, expected_tree, golds_of
from tests.support.llm_server import ScriptedLLMServer


def grade(paper: PaperBundle, tmp_path: Path, judge_url: str, *args: str) -> tuple[int, str, str]:
    done = paperbench(
        "grade",
        "--paper",
        paper.id,
        "--papers-dir",
        str(paper.root.parent),
        "--judge",
        f"openai-compatible/j@{judge_url}",
        "--judge-context-window",
        "32000",
        "--out",
        str(tmp_path / "grade"),
        *args,
        home=tmp_path / "home",
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def test_grade_with_gold_prints_the_agreement_after_grading(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    partial = gold_root / "toy-optimizers" / "partial"
    server.default = GoldJudge(golds_of(partial), constant_answer(1))
    code, stdout, stderr = grade(
        paper,
        tmp_path,
        server.openai_url,
        "--reproduction",
        str(partial / "reproduction"),
        "--gold",
        str(partial),
    )
    assert code == 0, stderr
    assert stdout.index("score 1.000") < stdout.index("Agreement with the gold grades")
    assert "root score: judge 1.000, gold 0.458 (error +0.542" in stdout
    assert "4 leaves disagree with the gold" in stdout
    all_row = next(line for line in stdout.splitlines() if "│ all" in line)
    assert [cell.strip() for cell in all_row.split("│")[2:4]] == ["8", "0.500"]
    assert len(server.requests) == 8


def test_grade_with_gold_takes_the_expected_result_file_too(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    partial = gold_root / "toy-optimizers" / "partial"
    server.default = GoldJudge(golds_of(partial))
    code, stdout, stderr = grade(
        paper,
        tmp_path,
        server.openai_url,
        "--reproduction",
        str(partial / "reproduction"),
        "--gold",
        str(partial / "grading" / "expected_result.json"),
    )
    assert code == 0, stderr
    assert "root score: judge 0.458, gold 0.458 (error +0.000" in stdout
    assert "disagree" not in stdout


def test_a_gold_tree_of_another_rubric_is_refused_before_any_judge_call(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    tree = expected_tree((1, 1, 0, 1, 0, 1, 0, 0))
    tree["sub_tasks"][2]["sub_tasks"][2]["requirements"] = "Final test accuracy is 0.5."
    other = tmp_path / "other.json"
    other.write_text(json.dumps(tree))
    partial = gold_root / "toy-optimizers" / "partial"
    code, _, stderr = grade(
        paper,
        tmp_path,
        server.openai_url,
        "--submission",
        str(partial / "submission"),
        "--gold",
        str(other),
    )
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"--gold {other}: not a grade of toy-optimizers's rubric" in stderr
    assert "2/2: requirements is 'Final test accuracy is 0.5.' in the gold tree" in stderr
    assert server.requests == []


def test_a_missing_gold_file_is_one_line_before_any_judge_call(
    paper: PaperBundle, gold_root: Path, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    partial = gold_root / "toy-optimizers" / "partial"
    code, _, stderr = grade(
        paper,
        tmp_path,
        server.openai_url,
        "--submission",
        str(partial / "submission"),
        "--gold",
        str(tmp_path / "nowhere.json"),
    )
    assert code == 2 and "nowhere.json: no such file" in stderr
    assert server.requests == []
