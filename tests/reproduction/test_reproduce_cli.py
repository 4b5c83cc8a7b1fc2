"""`paperbench reproduce` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import paperbench
from tests.support.papers import make_bundle

pytestmark = pytest.mark.docker


def test_reproduce_prints_a_summary_and_exits_by_the_script_s_status(
    tmp_path: Path, reproducer_image: str
) -> None:
    make_bundle(tmp_path / "papers" / "toy")
    good = tmp_path / "good"
    good.mkdir()
    (good / "reproduce.sh").write_text("mkdir -p results\necho 0.93 > results/acc.txt\necho done\n")
    result = paperbench(
        "reproduce",
        str(good),
        "--paper",
        "toy",
        "--papers-dir",
        str(tmp_path / "papers"),
        "--out",
        str(tmp_path / "out"),
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "1 files created, 0 changed, 0 left out of the archive" in result.stdout
    assert "succeeded: record in" in result.stdout
    record = json.loads((tmp_path / "out" / "reproduction.json").read_text())
    assert record["files_created"][0]["path"] == "results/acc.txt"

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "reproduce.sh").write_text("echo failing >&2\nexit 7\n")
    result = paperbench(
        "reproduce",
        str(bad),
        "--paper",
        "toy",
        "--papers-dir",
        str(tmp_path / "papers"),
        "--out",
        str(tmp_path / "out2"),
        home=tmp_path,
    )
    assert result.returncode == 1
    assert "failed: record in" in result.stdout and "failing" in result.stdout


def test_reproduce_with_an_unknown_paper_is_one_line(tmp_path: Path) -> None:
    result = paperbench("reproduce", str(tmp_path), "--paper", "nope", home=tmp_path)
    assert result.returncode == 2
    assert "unknown paper 'nope'" in result.stderr
