"""``paperbench run --dry-run``: every (paper, seed) with what it would get, and the judge's
estimated cost, printed before anything starts — no engine, no run directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperbench.grading.options import JudgeOptions
from paperbench.llm.catalog import load_price_table
from paperbench.papers import load_bundle
from paperbench.runs.dry_run import estimate_judge
from tests.support.cli import paperbench
from tests.support.paperbench_data import paperbench_checkout
from tests.support.runs import write_paper

FAKE_KEY = "sk-test-dry-run-0123456789abcdef"


def fake_nvidia_smi(folder: Path) -> str:
    """A PATH whose ``nvidia-smi`` lists one A10, as the driver's tool prints it."""
    folder.mkdir()
    tool = folder / "nvidia-smi"
    tool.write_text('#!/bin/sh\necho "0, GPU-5e1f-a10, NVIDIA A10"\n')
    tool.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_a_dry_run_of_paperbench_s_conditions_from_a_config_file_shows_every_run_and_starts_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    project = paperbench_checkout(tmp_path / "checkout")
    assert paperbench("papers", "import", str(project), home=home).returncode == 0
    runs = tmp_path / "runs"
    config = tmp_path / "paperbench.toml"
    config.write_text('[run]\nsplit = "all"\npreset = "paperbench"\n')
    done = paperbench(
        "run",
        "--config",
        str(config),
        "--agent",
        "basic",
        "--seeds",
        "2",
        "--judge",
        "openai/o3-mini",
        "--reasoning-effort",
        "high",
        "--grade-at",
        "1h,3h",
        "--runs-dir",
        str(runs),
        "--dry-run",
        home=home,
        OPENAI_API_KEY=FAKE_KEY,
        PATH=fake_nvidia_smi(tmp_path / "bin"),
        DOCKER_HOST="unix:///nonexistent/docker.sock",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    papers = sorted(path.parent.name for path in (home / "papers").glob("*/rubric.json"))
    for paper in papers:
        assert out.count(f"│ {paper} ") == 2  # one row per seed
    assert "conditions: preset paperbench" in out
    assert "agent filtered network, 12 h [preset paperbench]" in out
    assert "1 GPU -> device 0 [preset paperbench]" in out
    assert "paperbench/agent:bookworm" in out and "paperbench/reproducer:bookworm" in out
    assert "repro 100 h" in out and "1 GPU -> 0" in out
    assert "openai/o3-mini (reasoning high)" in out and "x 3 grades" in out
    assert "estimated judge cost of the whole run: $" in out
    assert not runs.exists()


def test_on_a_host_without_a_gpu_the_dry_run_is_refused_like_the_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    project = paperbench_checkout(tmp_path / "checkout", papers=("stochastic-interpolants",))
    assert paperbench("papers", "import", str(project), home=home).returncode == 0
    no_tools = tmp_path / "no-tools"  # a PATH without nvidia-smi, GPU host or not
    no_tools.mkdir()
    done = paperbench(
        "run",
        "--papers",
        "stochastic-interpolants",
        "--preset",
        "paperbench",
        "--agent",
        "replay",
        "--judge",
        "local/smollm2",
        "--dry-run",
        home=home,
        PATH=str(no_tools),
    )
    assert done.returncode == 2
    assert "paper stochastic-interpolants needs 1 GPU" in done.stderr
    assert "nvidia-smi is not on PATH" in done.stderr
    assert "--allow-cpu-fallback" in done.stderr and "Traceback" not in done.stderr


def test_the_high_estimate_fills_every_call_s_context_and_output_at_table_prices(
    tmp_path: Path,
) -> None:
    paper = load_bundle(write_paper(tmp_path, "toy", (1, 1, 1)))
    judge = JudgeOptions(judge="openai/o3-mini")
    price = load_price_table().lookup("openai/o3-mini")
    assert price is not None and price.context_window == 200_000
    estimate = estimate_judge(paper, judge)
    assert (estimate.items, estimate.calls) == (3, 3)
    high = (3 * 200_000 * price.input + 3 * 8192 * price.output) / 1e6
    assert estimate.cost_high_usd == pytest.approx(high)
    assert estimate.cost_low_usd is not None
    assert 3 * 10_000 * price.input / 1e6 < estimate.cost_low_usd < high


def test_code_dev_batches_and_grade_at_change_the_calls_as_the_judge_would(
    tmp_path: Path,
) -> None:
    paper = load_bundle(write_paper(tmp_path, "toy", (1, 1, 1)))
    one = estimate_judge(paper, JudgeOptions(judge="openai/o3-mini", code_dev=True))
    assert (one.items, one.calls) == (1, 1)
    three = estimate_judge(paper, JudgeOptions(judge="openai/o3-mini", code_dev=True), grades=3)
    assert three.cost_high_usd == pytest.approx(3 * (one.cost_high_usd or 0))
    unpriced = estimate_judge(
        paper,
        JudgeOptions(judge="openai-compatible/m@http://127.0.0.1:9/v1", judge_context_window=4096),
    )
    assert unpriced.cost_low_usd is None and unpriced.cost_high_usd is None
