"""Judge configurations from a TOML file: defaults, option names, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.judge_eval.config import (
    ConfigFileError,
    JudgeConfig,
    RunSettings,
    build_config,
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
    first, second, third = load_configs(path, {"batch": 2, "seed": 5, "judge": None})
    assert first == JudgeConfig(
        judge="openai/o3-mini", label="one leaf", reasoning_effort="high", batch=2, seed=5
    )
    assert (second.batch, second.max_depth, second.name) == (
        8,
        2,
        "openai/o3-mini, batch 8, max-depth 2, effort high",
    )
    assert third.judge == "anthropic/claude-sonnet-4-5" and third.context_window == 150000


def test_an_unknown_key_names_the_file_the_table_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[[config]]\njudge = "openai/o3-mini"\nbatchsize = 4\n')
    with pytest.raises(ConfigFileError) as error:
        load_configs(path)
    assert str(error.value).startswith(f"{path}: [[config]] #1: batchsize: not a judge setting")
    assert "max-depth" in str(error.value)


def test_a_bad_value_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[[config]]\njudge = "openai/o3-mini"\n[[config]]\nbatch = 0\n')
    with pytest.raises(ConfigFileError, match=r"\[\[config\]\] #2: judge: Field required"):
        load_configs(path)
    path = write(tmp_path, '[[config]]\njudge = "x"\nreasoning_effort = "huge"\n')
    with pytest.raises(ConfigFileError, match="#1: reasoning-effort: Input should be"):
        load_configs(path)


def test_a_file_without_config_tables_or_with_an_unknown_top_level_key_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigFileError, match=r"no \[\[config\]\] tables"):
        load_configs(write(tmp_path, 'judge = "openai/o3-mini"\n'))
    with pytest.raises(ConfigFileError, match="top level: repeats: not a judge setting"):
        load_configs(write(tmp_path, 'repeats = 3\n[[config]]\njudge = "x"\n'))
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_configs(write(tmp_path, "[[config]\n"))
    with pytest.raises(ConfigFileError, match="no such configurations file"):
        load_configs(tmp_path / "missing.toml")


def test_two_configurations_with_one_name_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'judge = "openai/o3-mini"\n[[config]]\n[[config]]\n')
    with pytest.raises(ConfigFileError, match="both named 'openai/o3-mini, batch 1'"):
        load_configs(path)


def test_options_build_one_configuration_and_unset_ones_keep_the_defaults() -> None:
    config = build_config({"judge": "local/smollm2", "batch": None, "max_depth": 1})
    assert config == JudgeConfig(judge="local/smollm2", max_depth=1)


def test_the_judge_cache_is_used_only_for_a_single_repeat() -> None:
    assert RunSettings().cache_applies
    assert not RunSettings(repeats=3).cache_applies
    assert not RunSettings(use_cache=False).cache_applies
