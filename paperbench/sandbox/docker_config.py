"""How a sandbox's container is configured: hardened by default, and nothing implicit.

Kept apart from the backend as plain data so the hardening can be read in one place and
checked without an engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docker.types import DeviceRequest, LogConfig

if TYPE_CHECKING:
    from paperbench.sandbox.models import SandboxSpec

MiB = 1024 * 1024

#: The capabilities root keeps inside a sandbox; everything else is dropped. Agents and
#: reproduction scripts install packages as root, and that is all these are for:
#:
#: - ``CHOWN``, ``FOWNER``: dpkg and pip set owners and modes on files they unpack; the
#:   harness also hands the work folder to a non-root sandbox user with ``chown``.
#: - ``DAC_OVERRIDE``: root writes into folders owned by other users (``/home/<user>``,
#:   package caches) as it would on any machine.
#: - ``SETUID``, ``SETGID``: apt drops to its ``_apt`` user to download, and ``su``/``runuser``
#:   switch users; with ``no-new-privileges`` a setuid binary still gains nothing.
#:
#: Not kept, among others: ``NET_RAW`` (no raw sockets, even on a bridge),
#: ``NET_BIND_SERVICE``, ``MKNOD`` (no device files), ``SYS_CHROOT``, ``SETFCAP``, ``AUDIT_WRITE``
#: and ``KILL`` (root cannot signal other users' processes; the harness kills a command's tree
#: as the user who started it).
#: A non-root sandbox user has no capabilities at all.
KEPT_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID")

#: Size of the ``/tmp`` tmpfs when the root filesystem is read-only.
TMP_SIZE = "512m"


def volume_options(disk_mode: str, spec: SandboxSpec, work_folder: str | None) -> dict[str, str]:
    """``driver_opts`` of the work volume (Docker's ``local`` driver): a folder of the sandbox's
    loop disk, or a size-capped tmpfs (see :mod:`paperbench.sandbox.disks`)."""
    if disk_mode == "loop":
        if work_folder is None:
            raise ValueError("a loop-disk volume needs the disk's work folder")
        return {"type": "none", "o": "bind", "device": work_folder}
    return {"type": "tmpfs", "device": "tmpfs", "o": f"size={spec.disk_mb}m,mode=755,nodev,nosuid"}


def host_config_kwargs(spec: SandboxSpec, volume: str, disk_mode: str = "loop") -> dict[str, Any]:
    """Arguments for ``APIClient.create_host_config``: the sandbox's limits and privileges.

    The only mount is the sandbox's own named volume at ``spec.work_dir``: no bind mount of a
    host folder, hence no Docker socket. Memory and memory+swap are equal, so no swap is used.
    GPUs are passed by explicit device id, never as a count (``-1`` would mean all of them).
    The container's log is discarded (``none``): the harness never reads it, and a root process
    writing to ``/proc/1/fd/1`` would otherwise grow a file on the host without bound. With a
    ``memory`` disk the root filesystem is read-only, so nothing lands on the host's disk.
    """
    memory = spec.memory_mb * MiB
    read_only = spec.read_only_root or disk_mode == "memory"
    kwargs: dict[str, Any] = {
        "network_mode": spec.network,
        "cap_drop": ["ALL"],
        "cap_add": list(KEPT_CAPABILITIES),
        "security_opt": ["no-new-privileges:true"],
        "pids_limit": spec.pids_limit,
        "mem_limit": memory,
        "memswap_limit": memory,
        "init": True,
        "ipc_mode": "private",
        "privileged": False,
        "binds": {volume: {"bind": spec.work_dir, "mode": "rw"}},
        "read_only": read_only,
        "log_config": LogConfig(type=LogConfig.types.NONE),
    }
    if read_only:
        kwargs["tmpfs"] = {"/tmp": f"rw,nosuid,nodev,size={TMP_SIZE}"}
    if spec.cpus is not None:
        kwargs["nano_cpus"] = int(spec.cpus * 1e9)
    if spec.gpus:
        kwargs["device_requests"] = [
            DeviceRequest(driver="nvidia", device_ids=list(spec.gpus), capabilities=[["gpu"]])
        ]
    return kwargs


def container_kwargs(spec: SandboxSpec, name: str, labels: dict[str, str]) -> dict[str, Any]:
    """Arguments for ``APIClient.create_container`` (besides the host config).

    The container's own process is ``sleep infinity`` under Docker's init (which reaps the
    orphans a killed process tree leaves); commands run beside it with ``exec``, as
    ``spec.user``.
    """
    return {
        "image": spec.image,
        "entrypoint": ["sleep"],
        "command": ["infinity"],
        "name": name,
        "hostname": "sandbox",
        "labels": labels,
        "environment": dict(spec.env),
        "working_dir": spec.work_dir,
        # The container's own user stays the image's: Docker gives an exec as root the
        # capabilities of the container's user, and root must keep KEPT_CAPABILITIES.
        # Commands run as spec.user (the backend passes it to every exec).
        "detach": True,
    }
