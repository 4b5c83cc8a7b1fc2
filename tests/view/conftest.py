"""Fixtures for the viewer tests: one real run directory made once per session and copied for
each test that writes into it; a headless Chromium per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, missing
from tests.support.paths import IN_CI
from tests.support.view import generate_run


@pytest.fixture(scope="session")
def pristine_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder holding one finished run of the replay agent (never written to)."""
    folder = tmp_path_factory.mktemp("generated")
    generate_run(folder)
    return folder / "runs"


@pytest.fixture
def runs(tmp_path: Path, pristine_runs: Path) -> Path:
    """A copy of the generated runs folder that a test may change."""
    return Path(shutil.copytree(pristine_runs, tmp_path / "runs", symlinks=True))


@pytest.fixture
def run_dir(runs: Path) -> Path:
    [state] = runs.rglob("state.json")
    return state.parent


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    with chromium() as driver:
        yield driver
