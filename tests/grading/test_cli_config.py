"""Options of `paperbench grade` (and the other configurable commands) from PAPERBENCH_*
environment variables and a TOML config file: the command line wins, then the environment,
then the file."""

from __future__ import annotations

import json
from pathlib import Path

from paperbench.papers import PaperBundle
from tests.support.cli import paperbench
from tests.support.llm_server import ScriptedLLMServer


def test_grade_takes_options_from_config_and_environment(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    config = tmp_path / "paperbench.toml"
    config.write_text(
        f'judge = "openai-compatible/judge@{server.openai_url}"\n'
        "[grade]\njudge-context-window = 32000\nbatch = 4\n"
    )
    done = paperbench(
        "grade",
        "--submission",
        str(submission),
        "--config",
        str(config),
        "--batch",
        "2",
        "--out",
        str(tmp_path / "out"),
        home=tmp_path / "home",
        PAPERBENCH_PAPER=str(tiny_bundle.root),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["mode"]["batch"] == 2  # the command line beats the file's 4
    assert summary["judge"]["context_window"] == 32000  # from the file's [grade] table
    assert summary["paper_id"] == "tiny"  # from PAPERBENCH_PAPER


def test_an_unknown_key_in_a_command_table_is_one_line_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "paperbench.toml"
    config.write_text("[run]\nseedz = 3\n")
    done = paperbench(
        "run",
        "--papers",
        "x",
        "--agent",
        "reference",
        "--config",
        str(config),
        home=tmp_path / "home",
    )
    assert done.returncode == 2
    assert "[run] seedz: no such option of `paperbench run`" in done.stderr
    assert "Traceback" not in done.stderr


def test_malformed_toml_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "paperbench.toml"
    config.write_text("judge = \n")
    done = paperbench("leaderboard", str(tmp_path), "--config", str(config), home=tmp_path / "home")
    assert done.returncode == 2
    assert f"{config}: not valid TOML" in done.stderr
