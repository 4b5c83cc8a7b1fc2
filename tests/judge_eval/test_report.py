"""judge_eval.json against its committed JSON Schema, and the page a reader sees."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from paperbench.judge_eval.page import html, markdown
from paperbench.judge_eval.result import JudgeEvalReport, judge_eval_schema
from paperbench.papers import PaperBundle
from tests.support.judge_eval import GoldJudge, evaluate_sets, golds_of, o3_mini
from tests.support.llm_server import ScriptedLLMServer
from tests.support.paths import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "grader" / "judge_eval.schema.json"
HOSTILE = 'evil <script>alert(1)</script> | "quoted" & more'


@pytest.fixture
def report(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> JudgeEvalReport:
    folders = sorted((gold_root / "toy-optimizers").iterdir())
    server.default = GoldJudge(golds_of(*folders))
    configs = [
        o3_mini(server.openai_url, tmp_path / "out", label=HOSTILE),
        o3_mini(server.openai_url, tmp_path / "out", batch=8),
    ]
    return evaluate_sets(folders, paper, server.openai_url, tmp_path / "out", configs=configs)


def test_the_committed_schema_equals_the_generated_one() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == judge_eval_schema(), (
        "run `paperbench judge-eval schema --out grader/judge_eval.schema.json`"
    )


def test_the_output_validates_against_the_committed_schema(report: JudgeEvalReport) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(report.model_dump_json()))


def test_the_schema_rejects_output_that_lost_a_figure(report: JudgeEvalReport) -> None:
    data = json.loads(report.model_dump_json())
    del data["configurations"][0]["metrics"]["overall"]["macro_f1"]
    with pytest.raises(jsonschema.ValidationError, match="macro_f1"):
        jsonschema.Draft202012Validator(judge_eval_schema()).validate(data)


def test_the_markdown_has_every_section_and_paperbenchs_figures(report: JudgeEvalReport) -> None:
    text = markdown(report)
    for heading in (
        "## Agreement with the human grades",
        "## Macro-F1 per task category, with PaperBench's published figures",
        "## Root score: judge (error) against the gold",
        "## Self-consistency across repeats",
        "## Cost per graded submission",
        "## Gold sets",
    ):
        assert heading in text
    assert "| PaperBench: o3-mini (high) | 0.83 | 0.72 |" in text
    assert "| PaperBench: random | 0.50 |" in text
    assert "| openai/o3-mini, batch 8 | 16 | 1.000 |" in text
    assert "| toy-optimizers/partial | 0.458 |" in text


def test_a_hostile_label_cannot_break_a_markdown_table_or_become_markup(
    report: JudgeEvalReport,
) -> None:
    text = markdown(report)
    row = next(line for line in text.splitlines() if line.startswith("| evil"))
    assert row.count(" | ") == 8 and "\\|" in row
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in row


def test_the_html_page_is_self_contained_and_escapes_everything(report: JudgeEvalReport) -> None:
    page = html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; | &quot;quoted" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count("<svg") == 1 and "PaperBench: o1 (high)" in page
    assert "<h2>Cost per graded submission</h2>" in page and "<table>" in page


def test_a_root_error_over_fewer_leaves_shows_the_gold_it_was_measured_against(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    folders = sorted((gold_root / "toy-optimizers").iterdir())
    server.default = GoldJudge(golds_of(*folders))
    configs = [
        o3_mini(server.openai_url, tmp_path / "out"),
        o3_mini(server.openai_url, tmp_path / "out", code_dev=True),
    ]
    text = markdown(
        evaluate_sets(folders, paper, server.openai_url, tmp_path / "out", configs=configs)
    )
    # partial: whole tree 11/24; its Code Development leaves 1 1 0 weigh 1 1 2, so 2/4.
    assert "| toy-optimizers/partial | 0.458 | 0.458 (+0.000) | 0.500 vs 0.500 (+0.000) |" in text
