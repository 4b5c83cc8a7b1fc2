"""Shared fixtures.

Tests marked ``docker`` need a running engine. Under ``CI=true`` a missing engine is a failure
(CI installs and starts one, so its absence is a broken setup, not a reason to skip); elsewhere
such tests skip with the reason and the way to start an engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from paperbench.errors import DockerUnavailableError, ImageMissingError
from paperbench.sandbox.engine import docker_client
from paperbench.sandbox.images import AGENT_IMAGE, BASE_IMAGE, REPRODUCER_IMAGE, require_image
from tests.support.paths import IN_CI, SHARED_DATA


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    """A client for a running engine (fails under CI=true when none answers)."""
    try:
        client = docker_client()
    except DockerUnavailableError as error:
        _unavailable(str(error))
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_engine: docker.DockerClient) -> str:
    """The base image's name, after checking it is built."""
    return _built(docker_engine, BASE_IMAGE)


def _built(client: docker.DockerClient, name: str) -> str:
    try:
        require_image(client, name)
    except ImageMissingError as error:
        _unavailable(str(error))
    return name


@pytest.fixture(scope="session")
def reproducer_image(docker_engine: docker.DockerClient) -> str:
    """The reproducer image's name, after checking it is built."""
    return _built(docker_engine, REPRODUCER_IMAGE)


@pytest.fixture(scope="session")
def agent_image(docker_engine: docker.DockerClient) -> str:
    """The agent image's name, after checking it is built."""
    return _built(docker_engine, AGENT_IMAGE)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """PaperBench's reference data, laid beside the repository (../shared/data)."""
    if not SHARED_DATA.is_dir():
        _unavailable(f"PaperBench reference data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test marked ``docker`` gets the engine check, even without asking for the client."""
    for item in items:
        needs_engine = item.get_closest_marker("docker") and isinstance(item, pytest.Function)
        if needs_engine and "docker_engine" not in item.fixturenames:
            item.fixturenames.insert(0, "docker_engine")
