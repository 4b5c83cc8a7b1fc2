"""A container's processes and memory events as the host sees them.

When the harness runs as root on the engine's machine it can find a container's cgroup from the
host (through ``/proc/<init pid>/cgroup``) and act on it without running anything inside the
container: list the container's processes, kill those of one command (by the marker variable
every command carries), and read the cgroup's out-of-memory kill count. A root agent can replace
every binary in its container (``sh``, ``kill``, ``cat``...); nothing here depends on them.

Elsewhere (a remote engine, a harness that is not root) :meth:`HostView.find` returns None and
the backend falls back to asking inside the container, which the module docstring of
:mod:`paperbench.sandbox.docker_backend` describes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: How much of a process's environment is read to look for the marker.
ENVIRON_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class HostView:
    """Host-side handles on one running container's cgroup."""

    container_id: str
    procs: Path
    memory: Path | None

    @classmethod
    def find(cls, container_id: str, init_pid: int) -> HostView | None:
        """The view of the container whose init process has host pid ``init_pid``, or None
        when this process cannot act on it from the host."""
        if os.geteuid() != 0 or init_pid <= 0:
            return None
        try:
            table = Path(f"/proc/{init_pid}/cgroup").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if container_id not in table:
            return None  # another pid namespace or another machine: pids mean nothing here
        unified: Path | None = None
        pids: Path | None = None
        memory: Path | None = None
        for line in table.splitlines():
            _, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            folder = path.lstrip("/")
            if controllers == "":
                unified = CGROUP_ROOT / folder
            for name in controllers.split(","):
                if name == "pids":
                    pids = CGROUP_ROOT / "pids" / folder
                elif name == "memory":
                    memory = CGROUP_ROOT / "memory" / folder
        if pids is not None and (pids / "cgroup.procs").is_file():
            return cls(container_id, pids / "cgroup.procs", memory)
        if unified is not None and (unified / "cgroup.procs").is_file():
            return cls(container_id, unified / "cgroup.procs", unified)
        return None

    def pids(self) -> list[int]:
        """Every process in the container's cgroup (empty once it has stopped)."""
        try:
            text = self.procs.read_text(encoding="ascii", errors="replace")
        except OSError:
            return []
        return [int(word) for word in text.split() if word.isdigit()]

    def kill_marked(self, marker: bytes) -> int:
        """SIGKILL every process of the container whose environment holds ``marker``
        (``NAME=value``); returns how many were signalled. A process is held by a pidfd from
        before its environment is read, so a recycled pid is never signalled."""
        killed = 0
        for pid in self.pids():
            try:
                handle = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                if marker in _environment(pid):
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
                    killed += 1
            except OSError:
                continue
            finally:
                os.close(handle)
        return killed

    def oom_kills(self) -> int | None:
        """The cgroup's out-of-memory kill count (cgroup v1 ``memory.oom_control``, v2
        ``memory.events``), or None when it cannot be read."""
        if self.memory is None:
            return None
        for name in ("memory.events", "memory.oom_control"):
            with contextlib.suppress(OSError):
                text = (self.memory / name).read_text(encoding="ascii", errors="replace")
                match = re.search(r"^oom_kill (\d+)", text, re.MULTILINE)
                if match is not None:
                    return int(match.group(1))
        return None


def _environment(pid: int) -> list[bytes]:
    with open(f"/proc/{pid}/environ", "rb") as stream:
        return stream.read(ENVIRON_LIMIT).split(b"\0")
