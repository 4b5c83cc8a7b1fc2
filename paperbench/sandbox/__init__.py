"""Sandboxes that hold untrusted code.

The contract is :class:`Sandbox` (``base``, data in ``models``); backends are
:class:`DockerSandbox` (hardened containers, the default: ``docker_backend``, ``docker_config``,
``docker_exec``, ``disks`` for its disk quota, ``hostview`` for acting on it from the host) and
:class:`LocalSandbox` (no isolation, opt-in). Around them: ``tarcheck``, ``beneath`` and
``archives`` (reading, writing and extracting untrusted tar streams), ``names`` (showing names
that came out of a sandbox), ``output`` (capped buffers), ``cleanup`` (signals, leftovers),
``labels``, ``images``.
"""

from __future__ import annotations

from typing import Literal

from paperbench.sandbox.base import Sandbox
from paperbench.sandbox.docker_backend import DockerSandbox
from paperbench.sandbox.local_backend import LocalSandbox
from paperbench.sandbox.models import ExecResult, SandboxSpec

Backend = Literal["docker", "local"]


def make_sandbox(spec: SandboxSpec, backend: Backend = "docker") -> Sandbox:
    """A not-yet-started sandbox of ``backend``; enter it with ``async with``.

    Raises:
        UnsafeLocalSandboxError: ``backend="local"`` without the explicit opt-in.
    """
    if backend == "local":
        return LocalSandbox(spec)
    return DockerSandbox(spec)


__all__ = [
    "Backend",
    "DockerSandbox",
    "ExecResult",
    "LocalSandbox",
    "Sandbox",
    "SandboxSpec",
    "make_sandbox",
]
