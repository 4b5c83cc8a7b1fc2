"""A submission of any size is read within a budget tied to the judge's context (issue #12,
item 6): every file is listed, the best-ranked text is read, the rest is listed as not read.
Memory is measured by `benchmarks/grading.py` (the 2 GiB case), not here."""

from __future__ import annotations

from pathlib import Path

from paperbench.grading.inputs import (
    MAX_READ_BYTES,
    MIN_READ_BYTES,
    read_submission,
    reading_budget,
)
from paperbench.grading.prompts import PromptBuilder, Templates

KB = 1000


def filler(size: int) -> str:
    return ("x = 1  # filler line\n" * (size // 21 + 1))[:size]


def test_the_budget_is_a_few_contexts_of_text_within_fixed_bounds() -> None:
    assert reading_budget(128_000) == 4 * 4 * 128_000
    assert reading_budget(2_000) == MIN_READ_BYTES
    assert reading_budget(10_000_000) == MAX_READ_BYTES


def test_over_the_budget_the_script_and_best_named_files_are_read_and_the_rest_listed(
    tmp_path: Path,
) -> None:
    (tmp_path / "reproduce.sh").write_text("python train.py\n")
    (tmp_path / "adam_optimizer.py").write_text(filler(40 * KB))
    for index in range(20):
        (tmp_path / f"unrelated_{index:02}.py").write_text(filler(40 * KB))
    files = read_submission(tmp_path, max_total_bytes=100 * KB, query="Adam optimizer with bias")
    read = {item.path for item in files.files if item.text is not None}
    assert {"reproduce.sh", "adam_optimizer.py"} <= read
    assert len(files.files) == 22 and len(read) == 3
    assert files.bytes_read <= 100 * KB
    unread = [item for item in files.files if item.text is None]
    assert all(item.note.startswith("not read: over the 100,000-byte") for item in unread)


def test_files_the_run_created_keep_a_share_of_the_budget(tmp_path: Path) -> None:
    for index in range(10):
        (tmp_path / f"source_{index}.py").write_text(filler(30 * KB))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.md").write_text(filler(10 * KB))
    files = read_submission(
        tmp_path, created={"results/table.md"}, max_total_bytes=100 * KB, query="table"
    )
    [table] = [item for item in files.files if item.kind == "output"]
    assert table.text is not None
    assert files.bytes_read <= 100 * KB


def test_unread_files_are_listed_to_the_judge_as_not_read(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(filler(30 * KB))
    (tmp_path / "other.py").write_text(filler(30 * KB))
    files = read_submission(tmp_path, max_total_bytes=40 * KB)
    builder = PromptBuilder(
        paper="paper",
        addendum="",
        judge_addendum="",
        submission=files,
        reproduction=None,
        templates=Templates(),
        prefix_budget=50_000,
    )
    text = builder.prefix(("Code Development",)).blocks[3].text
    assert "other.py (source, 30000 bytes, not shown: not read: over the 40,000-byte" in text
