"""Judge configurations are the grading stage's JudgeOptions: a TOML file's keys are its field
names, the command line's options are the defaults, and errors name the file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.grading.options import LOCAL_JUDGE, JudgeOptions
from paperbench.judge_eval.config import (
    ConfigFileError,
    JudgeConfig,
    for_repeats,
    from_options,
    load_configs,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "judges.toml"
    path.write_text(text)
    return path


def test_tables_take_the_top_level_keys_and_the_command_line_as_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'judge = "openai/o3-mini"\nreasoning-effort = "high"\n'
        '[[config]]\nlabel = "one leaf"\n'
        "[[config]]\nbatch = 8\nmax_depth = 2\n"
        '[[config]]\njudge = "anthropic/claude-sonnet-4-5"\njudge-context-window = 150000\n',
    )
    command_line = JudgeOptions(batch=2, judge_seed=5, judge_concurrency=3)
    first, second, third = load_configs(path, command_line)
    assert first == JudgeConfig(
        label="one leaf",
        options=JudgeOptions(
            judge="openai/o3-mini",
            reasoning_effort="high",
            batch=2,
            judge_seed=5,
            judge_concurrency=3,
        ),
    )
    assert (second.options.batch, second.options.max_depth, second.name) == (
        8,
        2,
        "openai/o3-mini, batch 8, max-depth 2, effort high",
    )
    assert third.options.judge == "anthropic/claude-sonnet-4-5"
    assert third.options.judge_context_window == 150000


def test_every_judge_option_of_grade_is_a_key_by_its_own_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[config]]\njudge = "openai/o3-mini"\njudge-temperature = 0.5\njudge_seed = 9\n'
        'judge-max-output-tokens = 100\njudge-base-url = "http://127.0.0.1:9/v1"\n'
        'code-dev = true\ncache = false\nprices = "my-prices.json"\njudge-prompts = "p2"\n',
    )
    [config] = load_configs(path)
    assert config.options == JudgeOptions(
        judge="openai/o3-mini",
        judge_temperature=0.5,
        judge_seed=9,
        judge_max_output_tokens=100,
        judge_base_url="http://127.0.0.1:9/v1",
        code_dev=True,
        cache=False,
        prices=Path("my-prices.json"),
        judge_prompts=Path("p2"),
        batch=1,
    )
    assert config.name == "openai/o3-mini, batch 1, code-dev, temperature 0.5, prompts p2"


def test_an_unknown_key_names_the_file_the_table_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[[config]]\njudge = "openai/o3-mini"\nbatchsize = 4\n')
    with pytest.raises(ConfigFileError) as error:
        load_configs(path)
    assert str(error.value).startswith(f"{path}: [[config]] #1: batchsize: not a judge option")
    assert "max-depth" in str(error.value) and "judge-context-window" in str(error.value)


def test_the_old_short_names_are_not_judge_options(tmp_path: Path) -> None:
    # One name per option: `temperature` is `judge-temperature` everywhere.
    path = write(tmp_path, '[[config]]\njudge = "openai/o3-mini"\ntemperature = 0.2\n')
    with pytest.raises(ConfigFileError, match="#1: temperature: not a judge option"):
        load_configs(path)


def test_a_bad_value_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[[config]]\njudge = "openai/o3-mini"\n[[config]]\nbatch = 0\n')
    with pytest.raises(ConfigFileError, match=r"\[\[config\]\] #2: batch: Input should be"):
        load_configs(path)
    path = write(tmp_path, '[[config]]\njudge = "x"\nreasoning_effort = "huge"\n')
    with pytest.raises(ConfigFileError, match="#1: reasoning-effort: Input should be"):
        load_configs(path)


def test_a_file_without_config_tables_or_with_an_unknown_top_level_key_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigFileError, match=r"no \[\[config\]\] tables"):
        load_configs(write(tmp_path, 'judge = "openai/o3-mini"\n'))
    with pytest.raises(ConfigFileError, match="top level: repeats: not a judge option"):
        load_configs(write(tmp_path, 'repeats = 3\n[[config]]\njudge = "x"\n'))
    with pytest.raises(ConfigFileError, match="top level: label: not a judge option"):
        load_configs(write(tmp_path, 'label = "all"\n[[config]]\njudge = "x"\n'))
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_configs(write(tmp_path, "[[config]\n"))
    with pytest.raises(ConfigFileError, match="no such configurations file"):
        load_configs(tmp_path / "missing.toml")


def test_two_configurations_with_one_name_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'judge = "openai/o3-mini"\n[[config]]\n[[config]]\n')
    with pytest.raises(ConfigFileError, match="both named 'openai/o3-mini, batch 1'"):
        load_configs(path)


def test_an_unnamed_judge_is_resolved_as_grade_resolves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert from_options(JudgeOptions(max_depth=1)).options.judge == LOCAL_JUDGE
    [config] = load_configs(write(tmp_path, "[[config]]\nbatch = 4\n"))
    assert config.options.judge == LOCAL_JUDGE and config.name == "local/smollm2, batch 4"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    assert from_options(JudgeOptions()).options.judge == "openai/o3-mini"


def test_the_judge_cache_is_used_only_for_a_single_repeat() -> None:
    options = JudgeOptions(judge="openai/o3-mini")
    assert for_repeats(options, 1).cache
    assert not for_repeats(options, 3).cache
    assert for_repeats(options, 3).model_copy(update={"cache": True}) == options
    assert not for_repeats(options.model_copy(update={"cache": False}), 1).cache
