"""`paperbench judge-eval` as a user runs it: a new process, the scripted judge on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import typer

from paperbench.cli.app import app
from paperbench.cli.options import flag
from paperbench.grading.options import JudgeOptions
from paperbench.judge_eval.result import judge_eval_schema
from paperbench.papers import PaperBundle
from tests.support.cli import paperbench
from tests.support.judge_eval import REQUIREMENT_OF, GoldJudge, golds_of
from tests.support.llm_server import ScriptedLLMServer


@pytest.fixture
def judged(gold_root: Path, server: ScriptedLLMServer) -> ScriptedLLMServer:
    server.default = GoldJudge(golds_of(*sorted((gold_root / "toy-optimizers").iterdir())))
    return server


def judge_eval(paper: PaperBundle, *args: str) -> list[str]:
    return ["judge-eval", "--papers-dir", str(paper.root.parent), *args]


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    done = paperbench(*args, home=tmp_path / "home", timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_one_judge_prints_its_tables_and_writes_json_markdown_and_html(
    gold_root: Path, paper: PaperBundle, judged: ScriptedLLMServer, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "models": {
                    "openai-compatible/o3-mini": {
                        "input": 1.1,
                        "cached_input": 0.55,
                        "output": 4.4,
                        "context_window": 200000,
                    }
                }
            }
        )
    )
    out = tmp_path / "out"
    code, stdout, stderr = run(
        tmp_path,
        *judge_eval(paper, "--gold", str(gold_root)),
        "--judge",
        f"openai-compatible/o3-mini@{judged.openai_url}",
        "--prices",
        str(prices),
        "--out",
        str(out),
    )
    assert code == 0, stderr
    assert "2 gold sets, 1 configurations, 1 repeats" in stdout
    assert "Agreement with the gold" in stdout and "Result Analysis" in stdout
    assert "PaperBench's published figures" in stdout and "o3-mini (high)" in stdout
    report = json.loads((out / "judge_eval.json").read_text())
    jsonschema.Draft202012Validator(judge_eval_schema()).validate(report)
    [config] = report["configurations"]
    assert config["metrics"]["overall"]["macro_f1"] == 1.0
    assert config["cost"]["calls"] == 16 and config["cost"]["cost_usd"] > 0
    assert (out / "judge_eval.md").read_text().startswith("# paperbench judge evaluation")
    assert "<svg" in (out / "judge_eval.html").read_text()
    assert len(list(out.glob("grades/*/toy-optimizers/*/repeat-1/graded_tree.json"))) == 2


def test_a_configurations_file_compares_judges_in_one_run(
    gold_root: Path, paper: PaperBundle, judged: ScriptedLLMServer, tmp_path: Path
) -> None:
    configs = tmp_path / "judges.toml"
    configs.write_text(
        f'judge = "openai-compatible/o3-mini@{judged.openai_url}"\n'
        "judge-context-window = 32000\n"
        '[[config]]\nlabel = "leaf by leaf"\n'
        '[[config]]\nlabel = "batch of 4"\nbatch = 4\n'
    )
    out = tmp_path / "out"
    code, stdout, stderr = run(
        tmp_path,
        *judge_eval(paper, "--gold", str(gold_root)),
        "--configs",
        str(configs),
        "--out",
        str(out),
    )
    assert code == 0, stderr
    assert "leaf by leaf" in stdout and "batch of 4" in stdout
    report = json.loads((out / "judge_eval.json").read_text())
    assert [c["label"] for c in report["configurations"]] == ["leaf by leaf", "batch of 4"]
    assert report["configurations"][1]["options"]["batch"] == 4
    assert report["configurations"][0]["options"]["judge_context_window"] == 32000


def test_leaves_left_invalid_make_the_exit_status_1_with_the_figures_still_written(
    gold_root: Path, paper: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    server.default = GoldJudge(
        golds_of(*sorted((gold_root / "toy-optimizers").iterdir())),
        fail=frozenset({REQUIREMENT_OF["2/2"]}),
    )
    out = tmp_path / "out"
    code, _stdout, stderr = run(
        tmp_path,
        *judge_eval(paper, "--gold", str(gold_root / "toy-optimizers" / "partial")),
        "--judge",
        f"openai-compatible/j@{server.openai_url}",
        "--judge-context-window",
        "32000",
        "--out",
        str(out),
    )
    assert code == 1, stderr
    report = json.loads((out / "judge_eval.json").read_text())
    assert report["configurations"][0]["metrics"]["overall"]["invalid"] == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--judge", "x", "--repeats", "0"), "error: --repeats: Input should be greater than"),
        (("--judge", "x", "--batch", "0"), "error: --batch: Input should be greater than"),
        (("--configs", "{tmp}/judges.toml"), "judges.toml: [[config]] #1: batchsize: not a judge"),
        (("--judge", "x", "--gold", "{tmp}/nowhere"), "nowhere: no such folder"),
    ],
)
def test_a_user_error_is_one_line_and_exit_status_2(
    gold_root: Path, paper: PaperBundle, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    (tmp_path / "judges.toml").write_text('[[config]]\njudge = "x"\nbatchsize = 2\n')
    args = [item.replace("{tmp}", str(tmp_path)) for item in extra]
    if "--gold" not in args:
        args += ["--gold", str(gold_root)]
    code, _stdout, stderr = run(tmp_path, *judge_eval(paper, *args))
    assert code == 2 and message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_a_gold_set_of_an_unknown_paper_names_the_set_and_how_to_add_the_paper(
    gold_root: Path, tmp_path: Path
) -> None:
    code, _, stderr = run(tmp_path, "judge-eval", "--gold", str(gold_root), "--judge", "x")
    assert code == 2 and "gold set toy-optimizers/mostly" in stderr
    assert "paperbench papers import" in stderr


def test_compare_prints_a_graded_trees_agreement_with_a_gold_set(
    gold_root: Path, paper: PaperBundle, judged: ScriptedLLMServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(
        tmp_path,
        *judge_eval(paper, "--gold", str(gold_root / "toy-optimizers" / "partial")),
        "--judge",
        f"openai-compatible/j@{judged.openai_url}",
        "--judge-context-window",
        "32000",
        "--out",
        str(out),
    )
    [tree] = out.glob("grades/*/toy-optimizers/partial/repeat-1/graded_tree.json")
    code, stdout, stderr = run(
        tmp_path, "judge-eval", "compare", str(tree), str(gold_root / "toy-optimizers" / "mostly")
    )
    assert code == 0, stderr
    # partial's grades against mostly's gold: 0/2, 1/1 and 2/0, 2/1 differ.
    assert (
        "4 leaves disagree with the gold" in stdout and "Agreement with the gold grades" in stdout
    )


def test_check_passes_a_clean_set_and_lists_the_problems_of_another(
    gold_root: Path, paper: PaperBundle, tmp_path: Path
) -> None:
    check = ("judge-eval", "check", str(gold_root), "--papers-dir", str(paper.root.parent))
    code, stdout, stderr = run(tmp_path, *check)
    assert code == 0, stderr
    assert "ok toy-optimizers/mostly" in stdout and "ok toy-optimizers/partial" in stdout
    meta = gold_root / "toy-optimizers" / "partial" / "gold.json"
    meta.write_text(meta.read_text().replace('"rubric_sha256": "', '"rubric_sha256": "0'))
    code, stdout, _ = run(tmp_path, *check)
    assert code == 1 and "1 problems toy-optimizers/partial" in stdout


def test_schema_prints_the_json_schema(tmp_path: Path) -> None:
    code, stdout, _ = run(tmp_path, "judge-eval", "schema")
    assert code == 0 and json.loads(stdout) == judge_eval_schema()


def test_judge_eval_has_every_judge_option_grade_has_under_the_same_flag() -> None:
    command = typer.main.get_command(app)
    judge_eval = command.commands["judge-eval"]  # type: ignore[attr-defined]
    grade = command.commands["grade"]  # type: ignore[attr-defined]
    flags = {flag for param in judge_eval.params for flag in param.opts}
    wanted = {flag(name) for name in JudgeOptions.model_fields}
    assert wanted <= flags, sorted(wanted - flags)
    grade_flags = {flag for param in grade.params for flag in param.opts}
    assert wanted <= grade_flags


def test_judge_options_come_from_the_environment_and_a_config_file_as_for_grade(
    gold_root: Path, paper: PaperBundle, judged: ScriptedLLMServer, tmp_path: Path
) -> None:
    config = tmp_path / "paperbench.toml"
    config.write_text("batch = 4\n[judge-eval]\njudge-context-window = 32000\nrepeats = 2\n")
    out = tmp_path / "out"
    done = paperbench(
        *judge_eval(paper, "--gold", str(gold_root / "toy-optimizers" / "partial")),
        "--config",
        str(config),
        "--out",
        str(out),
        home=tmp_path / "home",
        timeout=300,
        PAPERBENCH_JUDGE=f"openai-compatible/j@{judged.openai_url}",
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads((out / "judge_eval.json").read_text())["configurations"]
    assert result["options"]["judge"] == f"openai-compatible/j@{judged.openai_url}"
    assert (result["options"]["batch"], result["options"]["judge_context_window"]) == (4, 32000)
    assert result["repeats"] == 2 and result["cache_used"] is False
