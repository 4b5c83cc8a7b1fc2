"""Files of a run are opened only inside the run, never through a link; evidence the judge
cites resolves only to the submission and the reproduction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperbench.view.files import (
    FileMissing,
    FileRefused,
    listing,
    locate,
    read_json,
    resolve_evidence,
)
from tests.support.view import HOSTILE_FILE


@pytest.mark.parametrize(
    "relative",
    ["../run.json", "a/../../run.json", "/etc/passwd", "train.py\x00.txt", "bad\nname"],
)
def test_a_path_that_leaves_its_area_is_refused(run_dir: Path, relative: str) -> None:
    with pytest.raises(FileRefused):
        locate(run_dir, "submission", relative)


def test_a_link_in_the_submission_is_never_followed(run_dir: Path) -> None:
    os.symlink("/etc/hostname", run_dir / "submission" / "leak.txt")
    os.symlink("/etc", run_dir / "submission" / "etc")
    with pytest.raises(FileRefused, match=r"leak\.txt is a link"):
        locate(run_dir, "submission", "leak.txt")
    with pytest.raises(FileRefused, match="etc is a link"):
        locate(run_dir, "submission", "etc/hostname")


def test_a_link_in_place_of_a_whole_area_is_refused(run_dir: Path, tmp_path: Path) -> None:
    (run_dir / "reproduction" / "submission").rename(tmp_path / "moved")
    os.symlink("/etc", run_dir / "reproduction" / "submission")
    with pytest.raises(FileRefused, match="the executed folder is a link"):
        locate(run_dir, "executed", "hostname")


def test_a_fifo_is_not_opened(run_dir: Path) -> None:
    os.mkfifo(run_dir / "submission" / "pipe")
    with pytest.raises(FileRefused, match="not a regular file"):
        locate(run_dir, "submission", "pipe")


def test_a_file_inside_its_area_is_found_with_its_size(run_dir: Path) -> None:
    found = locate(run_dir, "executed", "results/accuracy.txt")
    assert (found.relative, found.size) == ("results/accuracy.txt", 14)
    with pytest.raises(FileMissing):
        locate(run_dir, "executed", "results/none.txt")


def test_an_unknown_area_is_refused(run_dir: Path) -> None:
    with pytest.raises(FileRefused, match="unknown area"):
        locate(run_dir, "home", "x")


def test_a_listing_names_links_without_following_them_and_stops_at_its_limit(
    run_dir: Path,
) -> None:
    os.symlink("/etc", run_dir / "submission" / "etc")
    found = listing(run_dir, "submission")
    kinds = {entry["path"]: entry["kind"] for entry in found["entries"]}
    assert kinds == {
        HOSTILE_FILE: "file",
        "reproduce.sh": "file",
        "train.py": "file",
        "etc": "link",
    }
    assert listing(run_dir, "submission", limit=2)["truncated"] is True


@pytest.mark.parametrize(
    ("reference", "area", "relative", "lines"),
    [
        ("train.py:4-5", "executed", "train.py", (4, 5)),
        ("/home/submission/train.py#L2-L3", "executed", "train.py", (2, 3)),
        ("submission/results/accuracy.txt", "executed", "results/accuracy.txt", (None, None)),
        ("reproduce.log:2", "reproduction", "reproduce.log", (2, 2)),
        ("train.py:9-4", "executed", "train.py", (4, 9)),
    ],
)
def test_evidence_resolves_to_the_submission_or_the_log_at_its_lines(
    run_dir: Path, reference: str, area: str, relative: str, lines: tuple[int, int]
) -> None:
    found = resolve_evidence(run_dir, reference)
    assert found.located is not None, found.problem
    assert (found.located.area, found.located.relative) == (area, relative)
    assert (found.start, found.end) == lines


def test_evidence_falls_back_to_the_captured_submission(run_dir: Path) -> None:
    (run_dir / "submission" / "notes.md").write_text("only in the capture\n")
    found = resolve_evidence(run_dir, "notes.md")
    assert found.located is not None and found.located.area == "submission"


@pytest.mark.parametrize(
    "reference", ["../../../../etc/passwd", "/etc/passwd", "../run.json", "provenance.json"]
)
def test_evidence_outside_the_submission_and_log_resolves_to_nothing(
    run_dir: Path, reference: str
) -> None:
    found = resolve_evidence(run_dir, reference)
    assert found.located is None and found.problem


def test_evidence_through_a_link_is_refused_with_the_reason(run_dir: Path) -> None:
    os.symlink("/etc/hostname", run_dir / "reproduction" / "submission" / "host.txt")
    found = resolve_evidence(run_dir, "host.txt")
    assert found.located is None
    assert found.problem == "host.txt is a link; links are not followed"


def test_json_records_are_read_within_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text('{"a": 1}')
    assert read_json(path) == ({"a": 1}, None)
    assert read_json(path, limit=3)[1] == "8 bytes, over the 3-byte limit"
    assert read_json(tmp_path / "none.json") == (None, "missing")
    path.write_text("{oops")
    assert str(read_json(path)[1]).startswith("not JSON")
