"""Resume is keyed on the hash of each stage's Inputs: a change redoes exactly the stages it
reaches, shown from ``state.json`` (each stage's ``attempts`` counts its starts)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from paperbench.grading import verdicts
from paperbench.grading.overrides import load_overrides, set_override
from paperbench.papers import load_bundle
from paperbench.resources import resource_dir
from paperbench.runs.settings import RunSettings
from tests.support.inprocess import attempts, orchestrate
from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import run_settings, write_paper

UNCHANGED = {"agent": 1, "reproduction": 1, "grading": 1}


@pytest.fixture
def paper_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    return write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))


def run_twice(
    first: RunSettings, second: RunSettings, paper_dir: Path, change: object = None
) -> dict[str, int]:
    """Run, apply ``change`` (a callable), run again; the attempts of each stage after."""
    orchestrator, _ = orchestrate(first, [load_bundle(paper_dir)])
    run_dir = orchestrator.statuses[0].paths.root
    assert attempts(run_dir) == UNCHANGED
    if callable(change):
        change()
    orchestrate(second, [load_bundle(paper_dir)])
    return attempts(run_dir)


def test_an_unchanged_run_redoes_nothing(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    assert run_twice(settings, settings, paper_dir) == UNCHANGED


def test_an_edited_rubric_redoes_only_the_grading(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)

    def edit() -> None:
        rubric = json.loads((paper_dir / "rubric.json").read_text())
        rubric["sub_tasks"][0]["sub_tasks"][0]["requirements"] = "impl is done, with tests"
        (paper_dir / "rubric.json").write_text(json.dumps(rubric))

    assert run_twice(settings, settings, paper_dir, edit) == {**UNCHANGED, "grading": 2}


def test_a_longer_reproduction_limit_in_config_redoes_reproduction_and_grading(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)

    def edit() -> None:
        config = paper_dir / "config.yaml"
        config.write_text(
            config.read_text().replace("time_limit_seconds: 120", "time_limit_seconds: 240")
        )

    assert run_twice(settings, settings, paper_dir, edit) == {
        "agent": 1,
        "reproduction": 2,
        "grading": 2,
    }


def test_other_resources_in_config_redo_every_stage(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)

    def edit() -> None:
        config = paper_dir / "config.yaml"
        config.write_text(config.read_text().replace("memory_mb: 512", "memory_mb: 768"))

    assert run_twice(settings, settings, paper_dir, edit) == {
        "agent": 2,
        "reproduction": 2,
        "grading": 2,
    }


def test_an_edited_prompt_template_redoes_only_the_grading(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(resource_dir("grader") / "prompts", prompts)
    settings = run_settings(tmp_path / "runs", judge_server.openai_url, judge_prompts=prompts)

    def edit() -> None:
        template = sorted(prompts.glob("*.md"))[0]
        template.write_text(template.read_text() + "\nBe strict.\n")

    assert run_twice(settings, settings, paper_dir, edit) == {**UNCHANGED, "grading": 2}


def test_a_changed_reply_format_redoes_only_the_grading(
    paper_dir: Path,
    tmp_path: Path,
    judge_server: ScriptedLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The verdict schemas live in code, not in a template file: a release that changes them
    (a bound on explanations, say) must not keep grades made under the old ones."""
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    original = verdicts._verdict_schema

    def bounded_explanations(continuous: bool, bounded: bool = False) -> dict[str, Any]:
        schema = original(continuous, bounded)
        schema["properties"]["explanation"]["maxLength"] = 500
        return schema

    def change() -> None:
        monkeypatch.setattr(verdicts, "_verdict_schema", bounded_explanations)

    assert run_twice(settings, settings, paper_dir, change) == {**UNCHANGED, "grading": 2}


def test_a_judge_option_redoes_only_the_grading_and_a_speed_option_nothing(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    faster = settings.model_copy(
        update={"judge": settings.judge.model_copy(update={"judge_concurrency": 7})}
    )
    assert run_twice(settings, faster, paper_dir) == UNCHANGED
    batched = settings.model_copy(update={"judge": settings.judge.model_copy(update={"batch": 3})})
    orchestrator, _ = orchestrate(batched, [load_bundle(paper_dir)])
    assert attempts(orchestrator.statuses[0].paths.root) == {**UNCHANGED, "grading": 2}


def test_a_reproduction_option_redoes_reproduction_and_grading(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    longer = settings.model_copy(
        update={
            "reproduction": settings.reproduction.model_copy(update={"reproduction_timeout": 99.0})
        }
    )
    assert run_twice(settings, longer, paper_dir) == {"agent": 1, "reproduction": 2, "grading": 2}


def test_an_agent_option_redoes_every_stage(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    longer = settings.model_copy(
        update={"agent": settings.agent.model_copy(update={"agent_time_limit": 60.0})}
    )
    assert run_twice(settings, longer, paper_dir) == {"agent": 2, "reproduction": 2, "grading": 2}


def test_a_stage_file_edited_behind_its_back_is_redone_with_what_follows(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    orchestrator, _ = orchestrate(settings, [load_bundle(paper_dir)])
    run_dir = orchestrator.statuses[0].paths.root
    (run_dir / "reproduction" / "reproduction.json").write_text("{}")
    orchestrate(settings, [load_bundle(paper_dir)])
    assert attempts(run_dir) == {"agent": 1, "reproduction": 2, "grading": 2}


def test_a_reviewer_s_overrides_outlive_a_regrade(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    orchestrator, _ = orchestrate(settings, [load_bundle(paper_dir)])
    run_dir = orchestrator.statuses[0].paths.root
    set_override(run_dir, "1/0", 1.0, "the run did execute", "ada")
    batched = settings.model_copy(update={"judge": settings.judge.model_copy(update={"batch": 2})})
    orchestrate(batched, [load_bundle(paper_dir)])
    assert attempts(run_dir) == {**UNCHANGED, "grading": 2}
    [override] = load_overrides(run_dir / "grading").overrides.values()
    assert override.reason == "the run did execute" and override.reviewer == "ada"
