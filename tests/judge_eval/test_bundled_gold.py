"""The gold sets shipped under grader/judge_eval/: enough of them, clean, and run end to end with
the embedded local model.

Each bundled paper needs at least four hand-graded submissions that span the score range: the
kinds complete, partial, wrong-results and does-not-run must be there (other kinds, such as
over-claims, may be added). The end-to-end run grades the smallest set of each paper (its
does-not-run set) with SmolLM2-135M, offline: its figures are what they are (a 135M model judges
poorly), so the test checks the pipeline and the report — every gold leaf accounted for as
judged, invalid or not judged, the JSON valid against its schema, the page written — not the
model. ``--code-dev --max-depth 1`` makes it four calls in all (three top-level parts of one
paper sharing one prefix, one of the other), and the local model's prompt prefill, not its
short replies, is what takes the time; the full sweep is in the README's "Evaluating the
judge", and what configurations cost in ``benchmarks/judge_eval.py``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jsonschema
import pytest

from paperbench.judge_eval.gold import check_gold_set, find_gold_sets, is_gold_set, load_gold_set
from paperbench.judge_eval.result import judge_eval_schema
from paperbench.llm.local import INSTALL_HINT, smollm2_available
from paperbench.papers import PaperRegistry
from tests.support.cli import paperbench
from tests.support.paths import IN_CI, REPO_ROOT

GOLD_ROOT = REPO_ROOT / "grader" / "judge_eval"
SPAN = {"complete", "partial", "wrong-results", "does-not-run"}
#: The smallest run that goes through every part: one call per top-level part with Code
#: Development leaves (four in all), any leaves left over batched eight to a call.
LOCAL_JUDGE_ARGS = ("--judge", "local/smollm2", "--code-dev", "--max-depth", "1", "--batch", "8")
BUNDLED_PAPERS = sorted(
    path.name for path in (REPO_ROOT / "papers").iterdir() if (path / "rubric.json").is_file()
)


def bundled_sets() -> list[Path]:
    if not GOLD_ROOT.is_dir():
        return []
    return [
        folder
        for paper in sorted(GOLD_ROOT.iterdir())
        if paper.is_dir()
        for folder in sorted(paper.iterdir())
        if is_gold_set(folder)
    ]


@pytest.mark.parametrize("paper", BUNDLED_PAPERS)
def test_each_bundled_paper_has_four_gold_sets_spanning_the_score_range(paper: str) -> None:
    sets = [load_gold_set(folder) for folder in bundled_sets() if folder.parent.name == paper]
    assert len(sets) >= 4, (
        f"{paper}: {len(sets)} gold sets under {GOLD_ROOT / paper}; at least 4 are needed"
    )
    kinds = {gold.meta.kind for gold in sets}
    assert kinds >= SPAN, f"{paper}: gold sets lack the kinds {sorted(SPAN - kinds)}"
    assert all(gold.paper_id == paper for gold in sets)


@pytest.mark.parametrize("folder", bundled_sets(), ids=lambda f: f"{f.parent.name}/{f.name}")
def test_each_bundled_gold_set_checks_clean_against_its_papers_rubric(folder: Path) -> None:
    gold = load_gold_set(folder)
    bundle = PaperRegistry(include_imported=False).get(gold.paper_id)
    assert check_gold_set(gold, bundle.rubric, bundle.rubric_path) == []


def test_judge_eval_check_passes_every_bundled_set(tmp_path: Path) -> None:
    done = paperbench("judge-eval", "check", str(GOLD_ROOT), home=tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    checked = [line for line in done.stdout.splitlines() if line.startswith("ok ")]
    assert len(checked) == len(bundled_sets()) >= 4 * len(BUNDLED_PAPERS)


def test_the_local_model_evaluates_one_bundled_set_per_paper_end_to_end(tmp_path: Path) -> None:
    if not smollm2_available():
        reason = f"the local model extra is not installed: {INSTALL_HINT}"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    chosen = {
        folder.parent.name: folder
        for folder in bundled_sets()
        if load_gold_set(folder).meta.kind == "does-not-run"
    }
    missing = [paper for paper in BUNDLED_PAPERS if paper not in chosen]
    assert not missing, f"no bundled does-not-run gold set for {missing} under {GOLD_ROOT}"
    out = tmp_path / "out"
    args = ["judge-eval", *LOCAL_JUDGE_ARGS]
    for folder in chosen.values():
        args += ["--gold", str(folder)]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    started = time.monotonic()
    done = paperbench(*args, "--out", str(out), home=tmp_path / "home", timeout=1800, **env)
    print(f"local judge-eval over {len(chosen)} sets: {time.monotonic() - started:.1f} s")
    assert done.returncode in (0, 1), done.stderr
    assert "Agreement with the gold" in done.stdout
    report = json.loads((out / "judge_eval.json").read_text())
    jsonschema.Draft202012Validator(judge_eval_schema()).validate(report)
    [config] = report["configurations"]
    assert config["options"]["judge"] == "local/smollm2" and config["cost"]["calls"] > 0
    development = sum(
        summary["per_category"].get("Code Development", {}).get("leaves", 0)
        for summary in report["gold_sets"]
    )
    overall = config["metrics"]["overall"]
    assert overall["leaves"] + overall["invalid"] + overall["not_judged"] == development
    assert "PaperBench: o3-mini (high)" in (out / "judge_eval.html").read_text()
    assert {run["set"] for run in config["runs"]} == {
        load_gold_set(folder).id for folder in chosen.values()
    }
    assert find_gold_sets(list(chosen.values())) == list(chosen.values())
