"""The command line as a user runs it: exit statuses and the lines it prints."""

from __future__ import annotations

import json
from pathlib import Path

from paperbench.rubric.schema import schema_text
from tests.support.cli import paperbench
from tests.support.nodes import inner, leaf


def test_validate_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(inner("r", [leaf("a", -2), {**leaf("b"), "task_category": None}])))
    result = paperbench("rubric", "validate", str(bad), home=tmp_path)
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(problems) == 2
    assert problems[0].startswith(f"{bad}: error: node 0")


def test_validate_passes_a_good_rubric(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(inner("r", [leaf("a")])))
    result = paperbench("rubric", "validate", str(good), home=tmp_path)
    assert result.returncode == 0, result.stdout
    assert f"{good}: valid (1 leaves, 0 warnings)" in result.stdout


def test_show_prints_weights_and_shares_from_a_node(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(inner("r", [inner("a", [leaf("a1", 1), leaf("a2", 3)]), leaf("b", 1)]))
    )
    result = paperbench("rubric", "show", str(path), "--node", "0", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 w=1 50.00% a holds" in result.stdout
    assert "0/1 w=3 37.50% · Code Development a2 holds" in result.stdout
    assert "b holds" not in result.stdout


def test_show_with_a_bad_node_path_is_one_line_of_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(inner("r", [leaf("a")])))
    result = paperbench("rubric", "show", str(path), "--node", "3", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: --node: no node '3'")
    assert "Traceback" not in result.stderr


def test_stats_json_counts_categories(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(inner("r", [leaf("a"), leaf("b", 1, "Result Analysis")])))
    result = paperbench("rubric", "stats", str(path), "--json", home=tmp_path)
    stats = json.loads(result.stdout)
    assert stats["leaves_per_category"] == {"Code Development": 1, "Result Analysis": 1}
    assert stats["share_per_category"]["Result Analysis"] == 0.5


def test_schema_command_prints_the_generated_schema(tmp_path: Path) -> None:
    assert paperbench("rubric", "schema", home=tmp_path).stdout == schema_text()


def test_papers_list_shows_the_bundled_papers(tmp_path: Path) -> None:
    result = paperbench("papers", "list", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "spiral-optimizers" in result.stdout
    assert "label-smoothing-calibration" in result.stdout


def test_unknown_paper_is_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    result = paperbench("papers", "show", "no-such-paper", home=tmp_path)
    assert result.returncode == 2
    assert "unknown paper 'no-such-paper'; known: " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_papers_import_reports_what_it_could_not_bring(tmp_path: Path) -> None:
    source = tmp_path / "src" / "p1"
    source.mkdir(parents=True)
    (source / "config.yaml").write_text("id: p1\ntitle: P1\n")
    (source / "rubric.json").write_text(json.dumps(inner("r", [leaf("a")])))
    result = paperbench("papers", "import", str(tmp_path / "src"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "p1: incomplete" in result.stdout
    assert "not brought: paper.md: not in the source folder" in result.stdout
    assert (tmp_path / "papers" / "p1" / "rubric.json").is_file()
