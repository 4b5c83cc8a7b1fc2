"""Importing a PaperBench checkout: its papers under the ids its splits use, its split files,
rubrics unchanged, and a config.yaml that leaves the run conditions to the run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paperbench.errors import PaperError
from paperbench.papers import PaperRegistry, load_bundle
from paperbench.rubric import load_rubric
from paperbench.runs.pipeline import resolve_papers
from paperbench.runs.record import RunRecord
from paperbench.runs.settings import RunOptions
from paperbench.splits import find_split, paper_selection
from tests.support.cli import paperbench
from tests.support.paperbench_data import paperbench_checkout
from tests.support.runs import run_settings


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paperbench home into which a PaperBench checkout was imported with the CLI (once
    for the module; the tests only read it)."""
    root = tmp_path_factory.mktemp("imported")
    project = paperbench_checkout(root / "checkout")
    home = root / "home"
    done = paperbench("papers", "import", str(project), home=home)
    assert done.returncode == 0, done.stderr
    assert "split dev.txt: copied: 3 papers" in done.stdout
    return home


def registry(home: Path, monkeypatch: pytest.MonkeyPatch) -> PaperRegistry:
    monkeypatch.setenv("PAPERBENCH_HOME", str(home))
    monkeypatch.delenv("PAPERBENCH_PAPERS_DIR", raising=False)
    return PaperRegistry.from_environment()


def test_the_import_brings_paperbench_split_files_that_split_reads_back(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = find_split("dev", registry(home, monkeypatch))
    assert split.paper_ids == (
        "semantic-self-consistency",
        "self-expansion",
        "self-composing-policies",
    )
    assert split.path == home / "papers" / "_splits" / "dev.txt"


def test_a_paper_is_imported_under_its_folder_name_which_splits_use(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PaperBench's stochastic-interpolants/config.yaml declares id "stochastic-interpolant".
    found = registry(home, monkeypatch)
    assert found.get("stochastic-interpolants").root.name == "stochastic-interpolants"
    names, _ = paper_selection([], "debug", found)
    assert [found.get(name).id for name in names] == names


def test_imported_rubrics_are_byte_for_byte_paperbench_s(home: Path) -> None:
    checkout = home.parent / "checkout" / "project" / "paperbench" / "data" / "papers"
    imported = sorted((home / "papers").glob("*/rubric.json"))
    assert len(imported) >= 2
    for path in imported:
        original = checkout / path.parent.name / "rubric.json"
        assert path.read_bytes() == original.read_bytes()
        assert load_rubric(path).to_json() == json.loads(original.read_text())


def test_the_imported_config_sets_no_run_condition_and_says_where_they_come_from(
    home: Path,
) -> None:
    config = home / "papers" / "semantic-self-consistency" / "config.yaml"
    bundle = load_bundle(config.parent)
    assert bundle.config.agent.model_fields_set == set()
    assert bundle.config.reproduction.model_fields_set == set()
    assert bundle.config.resources.model_fields_set == set()
    assert "--preset paperbench" in config.read_text()


def test_a_split_naming_papers_that_were_not_imported_says_which(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registry(home, monkeypatch)
    settings = run_settings(tmp_path / "runs", "http://127.0.0.1:9/v1").model_copy(
        update={"run": RunOptions(split="dev", runs_dir=tmp_path / "runs")}
    )
    with pytest.raises(PaperError, match=r"--split dev .* names self-expansion, "):
        resolve_papers(settings)


def test_split_and_papers_combine_each_paper_once(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = registry(home, monkeypatch)
    names, split = paper_selection(["spiral-optimizers", "semantic-self-consistency"], "dev", found)
    assert split is not None
    assert names == [*split.paper_ids, "spiral-optimizers"]


def test_an_unknown_split_says_how_to_bring_paperbench_s(tmp_path: Path) -> None:
    empty = PaperRegistry(user_dirs=[tmp_path], include_bundled=False, include_imported=False)
    with pytest.raises(PaperError, match=r"--split lite: no split file lite\.txt .*papers import"):
        find_split("lite", empty)


def test_naming_no_paper_at_all_is_one_clear_error(tmp_path: Path) -> None:
    done = paperbench("run", "--agent", "reference", home=tmp_path / "home")
    assert done.returncode == 2
    assert "no papers: give --papers A,B or --split NAME" in done.stderr


def test_the_leaderboard_takes_a_split_s_papers(home: Path, tmp_path: Path) -> None:
    debug = (home / "papers" / "_splits" / "debug.txt").read_text().split()
    for paper in [*debug, "spiral-optimizers"]:
        RunRecord(
            run_id=paper,
            agent="basic",
            judge="openai/o3-mini",
            paper_id=paper,
            seed=0,
            finished_at=datetime.now(UTC),
            score=0.5,
            score_if_invalid_passed=0.5,
            graded=True,
        ).save(tmp_path / "runs" / paper)
    out = tmp_path / "board.json"
    done = paperbench(
        "leaderboard", str(tmp_path / "runs"), "--split", "debug", "--out", str(out), home=home
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["papers"] == debug
