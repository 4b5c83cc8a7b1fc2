"""Large and growing text files are read a page at a time and searched within bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.view import lines as lines_module
from paperbench.view.lines import LineIndex


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 64 bytes, so that small files cross many chunk boundaries."""
    monkeypatch.setattr(lines_module, "CHUNK", 64)


def numbered(count: int) -> str:
    return "".join(f"line {i} {'x' * (i % 37)}\n" for i in range(1, count + 1))


def test_a_page_holds_the_lines_asked_for_and_says_where_the_next_starts(
    tmp_path: Path, small_chunks: None
) -> None:
    path = tmp_path / "log"
    path.write_text(numbered(1000))
    page = LineIndex(path).read(500, 3)
    assert [(line.number, line.text.split()[1]) for line in page.lines] == [
        (500, "500"),
        (501, "501"),
        (502, "502"),
    ]
    assert page.next == 503


def test_the_last_page_ends_with_no_next_and_keeps_a_last_line_without_newline(
    tmp_path: Path, small_chunks: None
) -> None:
    path = tmp_path / "log"
    path.write_text(numbered(10) + "unfinished")
    index = LineIndex(path)
    page = index.read(9, 10)
    assert [line.text for line in page.lines][-1] == "unfinished"
    assert page.next is None
    assert index.line_count()[0] == 11
    assert index.read(12, 5).lines == []


def test_a_long_line_is_cut_and_the_cut_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text("short\n" + "y" * 100_000 + "\nafter\n")
    page = LineIndex(path).read(1, 3, max_line_bytes=1000)
    assert [(len(line.text), line.cut) for line in page.lines] == [(5, 0), (1000, 99_000), (5, 0)]


def test_the_first_page_of_a_huge_file_reads_only_its_beginning(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with path.open("wb") as stream:
        stream.write(b"first\nsecond\n")
        stream.truncate(4 * 1024**3)  # 4 GB, sparse: nothing below the first lines
    index = LineIndex(path)
    assert [line.text for line in index.read(1, 2).lines] == ["first", "second"]
    assert index._scanned <= lines_module.CHUNK


def test_a_growing_file_is_followed_and_a_replaced_one_reread(
    tmp_path: Path, small_chunks: None
) -> None:
    path = tmp_path / "transcript.jsonl"
    path.write_text(numbered(100))
    index = LineIndex(path)
    assert index.line_count()[0] == 100
    with path.open("a") as stream:
        stream.write("appended\n")
    assert index.line_count()[0] == 101
    assert index.read(101, 1).lines[0].text == "appended"
    replacement = tmp_path / "new"
    replacement.write_text("only\n")
    replacement.replace(path)
    assert index.line_count()[0] == 1
    assert index.read(1, 5).lines[0].text == "only"


def test_search_finds_lines_in_either_case_and_numbers_them(
    tmp_path: Path, small_chunks: None
) -> None:
    path = tmp_path / "log"
    path.write_text("alpha\nTraceback (most recent call last)\nbeta\nan error: traceback\n")
    found = LineIndex(path).search("TRACEBACK")
    assert [(hit.number, hit.text) for hit in found.hits] == [
        (2, "Traceback (most recent call last)"),
        (4, "an error: traceback"),
    ]
    assert found.next is None


def test_search_stops_at_its_hit_limit_and_continues_from_where_it_stopped(
    tmp_path: Path, small_chunks: None
) -> None:
    path = tmp_path / "log"
    path.write_text(numbered(300))
    index = LineIndex(path)
    first = index.search("line 1", max_hits=5)
    assert [hit.number for hit in first.hits] == [1, 10, 11, 12, 13]
    second = index.search("line 1", first.next or 0, max_hits=5)
    assert [hit.number for hit in second.hits] == [14, 15, 16, 17, 18]


def test_search_scans_no_more_than_its_byte_budget(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text(numbered(200_000))
    found = LineIndex(path).search("no such text", max_scan_bytes=2 * 1024 * 1024)
    assert found.hits == []
    assert found.next is not None and 1 < found.next < 200_000
    assert found.scanned_bytes <= 2 * 1024 * 1024 + lines_module.CHUNK
