"""Connect to the Docker engine, or say in one line how to start one."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from paperbench.errors import DockerUnavailableError

START_HINT = (
    "start one with `bash sandbox/host-setup.sh` from a paperbench checkout "
    "(installs Debian's docker.io and starts dockerd), or `sudo dockerd &`, "
    "or point DOCKER_HOST at a running engine"
)


def docker_client(timeout: int = 60) -> docker.DockerClient:
    """Return a client whose engine has answered a ping.

    Raises:
        DockerUnavailableError: no engine answers at DOCKER_HOST or the default socket.
    """
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DockerUnavailableError(
            f"no Docker engine answers ({reason[:160]}); {START_HINT}"
        ) from None
    return client
