"""``--salvage``: PaperBench's second chance for a reproduction that failed quickly, off by
default, each attempt recorded with its variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.papers import PaperBundle, load_bundle
from paperbench.sandbox.docker_backend import DockerSandbox
from tests.support.inprocess import local
from tests.support.papers import make_bundle
from tests.support.reproduction import reproduce_with

NEEDS_VENV = """\
#!/usr/bin/env bash
echo "python: $(command -v python3)"
[ -n "${VIRTUAL_ENV:-}" ] || { echo "this script needs an active venv"; exit 3; }
mkdir -p results && echo ok > results/done.txt
"""


@pytest.fixture
def paper(tmp_path: Path) -> PaperBundle:
    config = "id: toy\ntitle: Toy\nresources:\n  cpus: 1\n  memory_mb: 512\n"
    return load_bundle(make_bundle(tmp_path / "paper", config=config))


def submission(tmp_path: Path, script: str) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "reproduce.sh").write_text(script)
    return folder


@pytest.mark.docker
def test_a_quick_failure_is_salvaged_with_paperbench_s_variants_in_its_order(
    tmp_path: Path, paper: PaperBundle, reproducer_image: str
) -> None:
    result = reproduce_with(
        submission(tmp_path, NEEDS_VENV),
        paper,
        tmp_path / "out",
        DockerSandbox,
        image=reproducer_image,
        salvage=True,
        timeout_seconds=900,
    )
    assert [(a.status, a.variant) for a in result.attempts] == [
        ("failed", None),
        ("failed", "python3.11"),
        ("succeeded", "venv"),
    ]
    assert result.status == "succeeded" and result.graded_attempt == 3
    assert result.salvage and result.salvaged
    assert "ok" in (tmp_path / "out" / "submission" / "results" / "done.txt").read_text()
    first = (tmp_path / "out" / "reproduce.attempt-1.log").read_text()
    assert "this script needs an active venv" in first


def test_salvaging_is_off_by_default(tmp_path: Path, paper: PaperBundle) -> None:
    result = reproduce_with(
        submission(tmp_path, "exit 1\n"),
        paper,
        tmp_path / "out",
        local,
        image="unused",
        timeout_seconds=900,
    )
    assert [a.variant for a in result.attempts] == [None]
    assert not result.salvage and not result.salvaged


def test_a_failure_that_ran_past_the_threshold_is_not_salvaged(
    tmp_path: Path, paper: PaperBundle
) -> None:
    result = reproduce_with(
        submission(tmp_path, "sleep 1\nexit 1\n"),
        paper,
        tmp_path / "out",
        local,
        image="unused",
        salvage=True,
        salvage_threshold_seconds=0.5,
        timeout_seconds=900,
    )
    assert len(result.attempts) == 1 and result.status == "failed" and not result.salvaged


def test_no_salvage_when_the_time_limit_is_below_the_threshold_as_in_paperbench(
    tmp_path: Path, paper: PaperBundle
) -> None:
    result = reproduce_with(
        submission(tmp_path, "exit 1\n"),
        paper,
        tmp_path / "out",
        local,
        image="unused",
        salvage=True,
        timeout_seconds=60,
    )
    assert len(result.attempts) == 1


def test_a_quick_success_is_never_re_run(tmp_path: Path, paper: PaperBundle) -> None:
    result = reproduce_with(
        submission(tmp_path, "mkdir -p results\n"),
        paper,
        tmp_path / "out",
        local,
        image="unused",
        salvage=True,
        timeout_seconds=900,
    )
    assert [(a.status, a.variant) for a in result.attempts] == [("succeeded", None)]
