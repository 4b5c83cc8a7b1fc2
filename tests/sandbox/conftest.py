"""Fixtures for the sandbox suite.

``sandbox`` is the conformance fixture: one sandbox per backend for the whole session (starting
one per test would cost more than the tests), running as an unprivileged user so that
permission errors are real. Tests that change a sandbox's state for good (signals, OOM, fork
bombs) make their own with ``fresh_run`` and check that nothing of it is left.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from paperbench.sandbox import DockerSandbox, LocalSandbox, Sandbox
from tests.support.sandbox import IS_ROOT, leftover_disks, leftovers, new_run_id, run, spec

BACKENDS = [pytest.param("local"), pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="session", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A started sandbox of each backend, running commands as ``nobody`` (or, for the local
    backend without root, as the current user, who cannot switch)."""
    run_id = new_run_id("conformance")
    backend: Sandbox
    if request.param == "docker":
        image = request.getfixturevalue("base_image")
        backend = DockerSandbox(spec(image, run_id, user="nobody", env={"FROM_SPEC": "spec"}))
    else:
        user = "nobody" if IS_ROOT else None
        backend = LocalSandbox(spec("unused", run_id, user=user, env={"FROM_SPEC": "spec"}))
    run(backend.start())
    yield backend
    run(backend.close())
    if request.param == "docker":
        assert leftovers(request.getfixturevalue("docker_engine"), run_id) == []
        assert leftover_disks(run_id) == []


@pytest.fixture
def fresh_run(docker_engine: docker.DockerClient) -> Iterator[str]:
    """A run id for sandboxes made by one test; afterwards no container or volume of it may
    remain."""
    run_id = new_run_id()
    yield run_id
    assert leftovers(docker_engine, run_id) == [], "the test left labelled containers/volumes"
    assert leftover_disks(run_id) == [], "the test left loop disks"


@pytest.fixture
def scratch(sandbox: Sandbox) -> str:
    """A new folder (relative to the work folder) for one test's files."""
    name = new_run_id("scratch")
    run(sandbox.exec(["mkdir", name])).check()
    return name
