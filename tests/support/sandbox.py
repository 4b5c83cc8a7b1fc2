"""Helpers for the sandbox tests: run a coroutine, make specs, ask Docker and the host what is
left."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import docker

from paperbench.sandbox import SandboxSpec
from paperbench.sandbox.cleanup import Leftover, find_leftovers
from paperbench.sandbox.disks import disks_root
from paperbench.sandbox.labels import RUN_ID

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


def leftover_disks(run_id: str) -> list[str]:
    """Loop disks of ``run_id`` still on this machine (their folders under the disks root)."""
    root = disks_root()
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        try:
            record = json.loads((folder / "disk.json").read_text())
        except (OSError, ValueError):
            continue
        if (record.get("labels") or {}).get(RUN_ID) == run_id:
            found.append(folder.name)
    return found


def host_processes(token: str) -> list[int]:
    """Live processes on this machine (zombies excluded) whose command line holds ``token``:
    how a test sees, from the host, processes that a sandbox started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if token.encode() not in (entry / "cmdline").read_bytes():
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        if "\nState:\tZ" not in status and "\nState:\tX" not in status:
            found.append(int(entry.name))
    return found


def host_free_bytes(client: docker.DockerClient) -> int:
    """The least free space of the filesystems that hold the engine's data and the loop disks
    (what a sandbox that escaped its quota would fill)."""
    places = [Path(client.info().get("DockerRootDir") or "/var/lib/docker"), disks_root()]
    free = []
    for place in places:
        while not place.exists():
            place = place.parent
        info = os.statvfs(place)
        free.append(info.f_bavail * info.f_frsize)
    return min(free)
