"""Paper bundles: loading, clear errors for bad bundles, the registry, and the import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paperbench.errors import PaperError
from paperbench.paper_import import find_paper_folders, import_paper
from paperbench.papers import PaperRegistry, load_bundle, parse_blacklist
from tests.support.nodes import inner, leaf
from tests.support.papers import CONFIG, make_bundle
from tests.support.paths import paperbench_rubrics


def test_a_minimal_bundle_loads_with_default_settings(tmp_path: Path) -> None:
    bundle = load_bundle(make_bundle(tmp_path / "toy"))
    assert (bundle.id, bundle.title) == ("toy", "A toy paper")
    assert bundle.config.reproduction.network == "none"
    assert bundle.rubric.node_at("0").id == "a"
    assert bundle.solution_dir is None


def test_our_settings_are_read_from_config(tmp_path: Path) -> None:
    config = CONFIG + "reproduction:\n  network: bridge\n  time_limit_seconds: 90\n"
    bundle = load_bundle(make_bundle(tmp_path / "toy", config=config))
    assert bundle.config.reproduction.network == "bridge"
    assert bundle.config.reproduction.time_limit_seconds == 90


def test_missing_paper_md_names_the_file(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "toy", paper=None)
    with pytest.raises(PaperError, match=r"toy/paper\.md: missing; every paper bundle needs"):
        load_bundle(root)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "toy", config="id: toy\ntitle: [unclosed\n")
    with pytest.raises(PaperError, match=r"config\.yaml:\d+:\d+: not valid YAML"):
        load_bundle(root)


def test_a_bad_setting_names_the_field(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "toy", config=CONFIG + "agent:\n  network: host\n")
    with pytest.raises(PaperError, match=r"config\.yaml: agent\.network: Input should be"):
        load_bundle(root)


def test_an_unknown_setting_is_rejected_by_name(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "toy", config=CONFIG + "reproduction:\n  timeout: 5\n")
    with pytest.raises(PaperError, match=r"reproduction\.timeout: Extra inputs"):
        load_bundle(root)


def test_blacklist_none_means_empty() -> None:
    assert parse_blacklist("none\n") == []
    assert parse_blacklist("# comment\nhttps://a.example/x\n\nhttps://b.example\n") == [
        "https://a.example/x",
        "https://b.example",
    ]


def test_agent_visible_files_never_include_rubric_judge_addendum_or_solution(
    tmp_path: Path,
) -> None:
    root = make_bundle(tmp_path / "toy")
    for name in ("addendum.md", "judge.addendum.md", "blacklist.txt"):
        (root / name).write_text("x")
    (root / "solution").mkdir()
    (root / "assets").mkdir()
    names = {path.name for path in load_bundle(root).agent_files()}
    assert names == {"paper.md", "addendum.md", "blacklist.txt", "assets"}


def test_registry_finds_user_papers_and_reports_broken_ones(tmp_path: Path) -> None:
    make_bundle(tmp_path / "papers" / "toy")
    make_bundle(tmp_path / "papers" / "broken", config="id: broken\ntitle: B\n", paper=None)
    registry = PaperRegistry(
        user_dirs=[tmp_path / "papers"], include_bundled=False, include_imported=False
    )
    entries = {entry.id: entry for entry in registry.entries()}
    assert entries["toy"].bundle is not None and entries["toy"].source == "user"
    assert entries["broken"].bundle is None and "paper.md: missing" in (
        entries["broken"].error or ""
    )
    assert registry.get("toy").title == "A toy paper"
    with pytest.raises(PaperError, match=r"paper\.md: missing"):
        registry.get("broken")


def test_registry_unknown_id_lists_the_known_ones(tmp_path: Path) -> None:
    make_bundle(tmp_path / "papers" / "toy")
    registry = PaperRegistry(
        user_dirs=[tmp_path / "papers"], include_bundled=False, include_imported=False
    )
    with pytest.raises(PaperError, match=r"unknown paper 'nope'; known: toy"):
        registry.get("nope")


def test_registry_reads_the_papers_dir_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bundle(tmp_path / "mine" / "toy")
    monkeypatch.setenv("PAPERBENCH_PAPERS_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    assert PaperRegistry.from_environment().get("toy").root == tmp_path / "mine" / "toy"


def test_import_reports_lfs_pointers_and_missing_texts(tmp_path: Path) -> None:
    source = tmp_path / "data" / "papers" / "lfs-paper"
    source.mkdir(parents=True)
    (source / "config.yaml").write_text('id: lfs-paper\ntitle: "LFS"\n')
    (source / "paper.md").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    )
    (source / "rubric.json").write_text(json.dumps(inner("r", [leaf("a")])))
    (source / "blacklist.txt").write_text("none\n")
    (source / "judge_eval").mkdir()
    [folder] = find_paper_folders(tmp_path / "data")
    report = import_paper(folder, tmp_path / "dest")
    assert not report.usable
    assert "Git LFS pointer" in report.not_brought["paper.md"]
    assert report.not_brought["judge_eval"] == "not part of a paper bundle"
    assert not (tmp_path / "dest" / "lfs-paper" / "paper.md").exists()
    assert sorted(report.copied) == ["blacklist.txt", "rubric.json"]


def test_import_of_a_complete_paper_gives_a_loadable_bundle(tmp_path: Path) -> None:
    source = make_bundle(tmp_path / "src" / "toy")
    report = import_paper(source, tmp_path / "dest")
    assert report.usable
    bundle = load_bundle(tmp_path / "dest" / "toy")
    assert bundle.config.agent.network == "none"
    with pytest.raises(PaperError, match="already exists; pass --overwrite"):
        import_paper(source, tmp_path / "dest")
    assert import_paper(source, tmp_path / "dest", overwrite=True).usable


def test_import_brings_every_real_paperbench_rubric_at_hand(tmp_path: Path) -> None:
    source = tmp_path / "copy"
    rubrics = paperbench_rubrics()
    for path in rubrics:
        shutil.copytree(path.parent, source / path.parent.name)
    reports = [import_paper(folder, tmp_path / "dest") for folder in find_paper_folders(source)]
    assert len(reports) == len(rubrics) >= 2
    for report in reports:
        assert "rubric.json" in report.copied and "blacklist.txt" in report.copied
        assert report.not_brought["paper.md"] == "not in the source folder"
        assert "rubric.json (validity)" not in report.not_brought
