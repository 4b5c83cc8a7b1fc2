"""The shipped folders are found both in a checkout and in an installed wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from paperbench.resources import resource_dir

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ("papers", "rubrics", "agents", "grader", "sandbox")


def test_in_a_checkout_the_top_level_folders_are_used() -> None:
    for name in SHIPPED:
        assert resource_dir(name) == REPO / name  # type: ignore[arg-type]


def test_a_built_wheel_carries_the_folders_and_finds_them(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("paperbench-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    for name in SHIPPED:
        assert any(entry.startswith(f"paperbench/_data/{name}/") for entry in names), name
    assert "paperbench/_data/rubrics/rubric.schema.json" in names
    assert "paperbench/_data/sandbox/base/packages.txt" in names

    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "PAPERBENCH_HOME": str(tmp_path)}
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import paperbench.resources as r; print(r.__file__); print(r.resource_dir('papers'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.splitlines()
    assert found == [
        str(tmp_path / "site/paperbench/resources.py"),
        str(tmp_path / "site/paperbench/_data/papers"),
    ]
    listed = subprocess.run(
        [sys.executable, "-m", "paperbench", "papers", "list"],
        check=True,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        cwd=tmp_path,
    ).stdout
    assert "spiral-optimizers" in listed
