"""Helpers for the sandbox tests: run a coroutine, make specs, ask Docker what is left."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import docker

from paperbench.sandbox import SandboxSpec
from paperbench.sandbox.cleanup import Leftover, find_leftovers

T = TypeVar("T")
IS_ROOT = os.geteuid() == 0


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one step of a test. Sandboxes hold no event-loop state, so a session-scoped sandbox
    can be used from a fresh loop in every test."""
    return asyncio.run(coroutine)


def new_run_id(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def spec(image: str, run_id: str, **overrides: Any) -> SandboxSpec:
    """A small sandbox: 512 MB, 256 processes, 4 KiB of output per stream."""
    settings: dict[str, Any] = {
        "image": image,
        "run_id": run_id,
        "stage": "test",
        "memory_mb": 512,
        "pids_limit": 256,
        "output_limit_bytes": 4096,
        "read_limit_bytes": 6 * 1024 * 1024,
        "allow_unsafe_local": True,
    }
    settings.update(overrides)
    return SandboxSpec(**settings)


def leftovers(client: docker.DockerClient, run_id: str) -> list[Leftover]:
    return find_leftovers(client, run_id)


#: Prints the name of every ``*.pid`` file (in the cwd) whose process is still alive (zombies
#: count as dead: they hold no resources and their parent has not reaped them yet).
ALIVE_SCRIPT = """
for f in *.pid; do
  [ -e "$f" ] || continue
  p=$(cat "$f")
  if [ -d "/proc/$p" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; then
    echo "$f"
  fi
done
"""
