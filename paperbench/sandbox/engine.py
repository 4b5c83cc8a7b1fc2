"""Connect to the Docker engine, or say in one line how to start one."""

from __future__ import annotations

import threading
from typing import Any

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


_shared_client: docker.DockerClient | None = None
_client_lock = threading.Lock()
_engine_info: dict[str, Any] | None = None


def shared_client() -> docker.DockerClient:
    """One engine connection per process (the SDK's pool is thread-safe).

    Raises:
        DockerUnavailableError: no engine answers.
    """
    global _shared_client
    with _client_lock:
        if _shared_client is None:
            _shared_client = docker_client()
        return _shared_client


def engine_info(client: docker.DockerClient) -> dict[str, Any]:
    """The engine's ``info`` (storage driver, data folder), asked once per process.

    Raises:
        docker.errors.DockerException: the engine did not answer.
    """
    global _engine_info
    if _engine_info is None:
        _engine_info = dict(client.api.info())
    return _engine_info
