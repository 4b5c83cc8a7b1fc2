"""The host's NVIDIA GPUs, as ``nvidia-smi`` lists them, so a run that needs one can be refused
before any container starts instead of running silently on the CPU.

Containers get GPUs through the Docker SDK's device requests (driver ``nvidia``, one device id
each, see :func:`paperbench.sandbox.docker_config.host_config_kwargs`), which needs the NVIDIA
driver and the NVIDIA Container Toolkit on the host. We ask ``nvidia-smi`` (part of the driver)
which devices there are; no ``nvidia-smi`` on ``PATH`` means no GPU.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

QUERY = ("--query-gpu=index,uuid,name", "--format=csv,noheader")


@dataclass(frozen=True)
class HostGpu:
    """One device: its index and UUID (what a device request names) and its model name."""

    index: str
    uuid: str
    name: str

    def matches(self, device: str) -> bool:
        return device in (self.index, self.uuid)


@dataclass(frozen=True)
class HostGpus:
    """What the host has, and why the list is empty when it is."""

    devices: tuple[HostGpu, ...]
    note: str = ""


def parse_listing(text: str) -> tuple[HostGpu, ...]:
    """Devices from ``nvidia-smi --query-gpu=index,uuid,name --format=csv,noheader``; lines
    that are not three comma-separated fields are skipped."""
    found = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",", 2)]
        if len(parts) == 3 and parts[0].isdigit() and parts[1]:
            found.append(HostGpu(index=parts[0], uuid=parts[1], name=parts[2]))
    return tuple(found)


def host_gpus(timeout: float = 30.0) -> HostGpus:
    """The host's NVIDIA GPUs (none, with the reason, when ``nvidia-smi`` is missing or fails)."""
    program = shutil.which("nvidia-smi")
    if program is None:
        return HostGpus((), "no NVIDIA GPU found (nvidia-smi is not on PATH)")
    try:
        done = subprocess.run(
            [program, *QUERY], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return HostGpus((), f"nvidia-smi could not run ({error})")
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return HostGpus((), f"nvidia-smi failed with status {done.returncode}: {tail[0][:200]}")
    devices = parse_listing(done.stdout)
    return HostGpus(devices, "" if devices else "nvidia-smi lists no GPU")
