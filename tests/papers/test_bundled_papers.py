"""The bundled papers meet the bar they are shipped for: demo and end-to-end test material."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import docker
import pytest

from paperbench.llm.tokens import count_tokens
from paperbench.papers import PaperBundle, PaperRegistry
from paperbench.rubric import rubric_stats, validate_file

BUNDLED = [
    entry.bundle
    for entry in PaperRegistry(include_imported=False).entries()
    if entry.bundle is not None and entry.source == "bundled"
]
IDS = [bundle.id for bundle in BUNDLED]


def test_two_papers_are_bundled() -> None:
    assert sorted(IDS) == ["label-smoothing-calibration", "spiral-optimizers"]


@pytest.mark.parametrize("bundle", BUNDLED, ids=IDS)
def test_rubric_is_valid_broad_and_deep(bundle: PaperBundle) -> None:
    _, problems = validate_file(bundle.rubric_path)
    assert problems == []
    stats = rubric_stats(bundle.rubric)
    assert stats.leaves >= 25
    assert stats.depth >= 3
    assert all(
        stats.leaves_per_category.get(category, 0) > 0
        for category in ("Code Development", "Code Execution", "Result Analysis")
    )


@pytest.mark.parametrize("bundle", BUNDLED, ids=IDS)
def test_weights_express_importance(bundle: PaperBundle) -> None:
    weights = {node.weight for _, node in bundle.rubric.walk()}
    assert len(weights) >= 3


@pytest.mark.parametrize("bundle", BUNDLED, ids=IDS)
def test_paper_and_solution_fit_a_small_judge_context(bundle: PaperBundle) -> None:
    # "about 2,500 tokens" each (cl100k), so the 8k-context local judge sees a submission whole
    assert count_tokens(bundle.paper_md.read_text()) <= 2_650
    assert bundle.solution_dir is not None
    solution = "".join(p.read_text() for p in sorted(bundle.solution_dir.rglob("*")) if p.is_file())
    assert count_tokens(solution) <= 2_500


@pytest.mark.parametrize("bundle", BUNDLED, ids=IDS)
def test_agent_never_sees_the_solution_rubric_or_judge_notes(bundle: PaperBundle) -> None:
    visible = {path.name for path in bundle.agent_files()}
    assert "paper.md" in visible
    assert visible.isdisjoint({"solution", "rubric.json", "judge.addendum.md", "config.yaml"})


@pytest.mark.parametrize("bundle", BUNDLED, ids=IDS)
def test_reproduce_script_is_strict_bash(bundle: PaperBundle) -> None:
    assert bundle.solution_dir is not None
    script = (bundle.solution_dir / "reproduce.sh").read_text()
    assert script.startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -euo pipefail$", script, re.MULTILINE)


def _tar_of(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname="submission")
    return buffer.getvalue()


@pytest.mark.docker
@pytest.mark.parametrize("bundle", BUNDLED, ids=IDS)
def test_reference_solution_reproduces_in_the_base_image(
    bundle: PaperBundle, docker_engine: docker.DockerClient, base_image: str
) -> None:
    assert bundle.solution_dir is not None
    container = docker_engine.containers.create(
        base_image,
        ["bash", "-c", "cd /submission && bash reproduce.sh"],
        network_mode="none",
        mem_limit="2g",
        nano_cpus=2_000_000_000,
        labels={"org.paperbench.stage": "test-reference-solution"},
    )
    try:
        container.put_archive("/", _tar_of(bundle.solution_dir))
        container.start()
        status = container.wait(timeout=300)
        log = container.logs().decode()
        stream, _ = container.get_archive("/submission/results")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            results = archive.extractfile("results/results.json")
            assert results is not None
            parsed = json.loads(results.read())
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, log
    assert parsed
