"""The agent and reproducer images: built offline on the same base by default, so a script that
works in one works in the other, with their ids and bases recorded."""

from __future__ import annotations

import json
import subprocess
import sys

import docker
import pytest

from paperbench.sandbox import DockerSandbox
from paperbench.sandbox.egress_image import EGRESS_IMAGE
from paperbench.sandbox.images import (
    AGENT_IMAGE,
    BASE_ID_LABEL,
    BASE_IMAGE,
    REPRODUCER_IMAGE,
    build_stage_image,
    image_provenance,
)
from tests.support.sandbox import run, spec

pytestmark = pytest.mark.docker

INVENTORY = "dpkg-query -W -f '${Package} ${Version}\\n'; python3 -m pip list --format=freeze"


@pytest.fixture(scope="module")
def stage_images(docker_engine: docker.DockerClient, base_image: str) -> list[str]:
    """The agent and reproducer images on the base as it is (a few seconds when missing; the
    base itself is never rebuilt here, that is host-setup's job)."""
    build_stage_image(docker_engine, "agent", base=base_image)
    build_stage_image(docker_engine, "reproducer", base=base_image)
    return [AGENT_IMAGE, REPRODUCER_IMAGE]


def test_agent_and_reproducer_images_hold_the_same_software(
    stage_images: list[str], fresh_run: str
) -> None:
    async def inventory(image: str) -> str:
        async with DockerSandbox(spec(image, fresh_run)) as sandbox:
            return (await sandbox.exec(["sh", "-c", INVENTORY])).check().stdout

    agent, reproducer = (run(inventory(image)) for image in stage_images)
    assert "python3-numpy" in agent
    assert agent == reproducer


def test_both_images_record_the_same_base(
    docker_engine: docker.DockerClient, stage_images: list[str]
) -> None:
    base_id = docker_engine.images.get(BASE_IMAGE).id
    for image in stage_images:
        assert docker_engine.images.get(image).labels[BASE_ID_LABEL] == base_id


def test_images_build_says_what_it_did_and_prints_the_ids(
    docker_engine: docker.DockerClient, stage_images: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paperbench", "images", "build", "--base", BASE_IMAGE, "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    built = json.loads(result.stdout)
    assert {name: entry["method"] for name, entry in built.items()} == {
        BASE_IMAGE: "given",
        AGENT_IMAGE: "reused",
        REPRODUCER_IMAGE: "reused",
        EGRESS_IMAGE: "reused",
    }
    recorded = image_provenance(docker_engine, list(built))
    assert {name: entry["image_id"] for name, entry in built.items()} == recorded
