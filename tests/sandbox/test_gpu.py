"""A GPU in a sandbox, for real: runs only where the host has an NVIDIA GPU and the NVIDIA
Container Toolkit; elsewhere it skips and says why."""

from __future__ import annotations

import docker
import pytest

from paperbench.sandbox import DockerSandbox
from paperbench.sandbox.gpus import host_gpus
from tests.support.sandbox import leftovers, new_run_id, run, spec

pytestmark = [pytest.mark.gpu, pytest.mark.docker]


def test_nvidia_smi_in_the_container_sees_the_device_it_was_given(
    docker_engine: docker.DockerClient, agent_image: str
) -> None:
    host = host_gpus()
    if not host.devices:
        pytest.skip(f"no GPU on this host: {host.note}")
    device = host.devices[0]
    run_id = new_run_id("gpu")
    sandbox = DockerSandbox(spec(agent_image, run_id, gpus=(device.index,)))

    async def smi() -> str:
        async with sandbox:
            listed = await sandbox.exec(
                ["nvidia-smi", "--query-gpu=uuid,name", "--format=csv,noheader"], timeout=60
            )
            return listed.check().stdout

    listed = run(smi())
    assert listed.strip().splitlines() == [f"{device.uuid}, {device.name}"]
    assert leftovers(docker_engine, run_id) == []
