"""The Docker path works on this machine: the engine answers and the base image runs Python."""

from __future__ import annotations

import docker
import pytest

from paperbench.sandbox.images import RECIPE_LABEL, recipe_hash


@pytest.mark.docker
def test_base_image_runs_python_without_network(
    docker_engine: docker.DockerClient, base_image: str
) -> None:
    container = docker_engine.containers.run(
        base_image,
        [
            "python3",
            "-c",
            "import numpy, socket; print(numpy.__version__); "
            "print(sorted(name for _, name in socket.if_nameindex()))",
        ],
        network_mode="none",
        detach=True,
        labels={"org.paperbench.stage": "test"},
    )
    try:
        status = container.wait(timeout=60)
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, output
    version, interfaces = output.strip().splitlines()
    assert version.startswith("1.")
    assert interfaces == "['lo']"
    with pytest.raises(docker.errors.NotFound):
        docker_engine.containers.get(container.id)


@pytest.mark.docker
def test_base_image_is_built_from_the_current_recipe(
    docker_engine: docker.DockerClient, base_image: str
) -> None:
    assert docker_engine.images.get(base_image).labels[RECIPE_LABEL] == recipe_hash()
