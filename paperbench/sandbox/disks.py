"""A disk quota for every Docker sandbox, so that ``fallocate -l 2T`` fills the sandbox's own
disk and nothing else.

Docker's own quota (``--storage-opt size``) needs the engine's data folder on XFS mounted with
``pquota``; the machines this project runs on keep it on ext4, so we build the quota ourselves.
Two ways, chosen per process (:func:`plan_disk`), the first that this machine allows:

``loop`` (the harness is root on the engine's machine, the storage driver is overlay2)
    Each sandbox gets a sparse file of ``disk_mb`` MiB formatted as ext4 (no journal, no
    reserved blocks) and loop-mounted on the host, ``nodev,nosuid``, in a root-only folder. Both
    places a sandbox can write go onto it: the work volume is a folder of it (a ``local`` volume
    bound there), and so is the container's writable layer — its overlay ``diff`` and ``work``
    folders are bound onto it between ``create`` and ``start``, so every write to ``/``, ``/tmp``
    or ``/root`` lands on the quota too. The host's disk pays only for what the sandbox really
    writes (``fallocate`` on the inner ext4 allocates nothing in the sparse file), and gets it
    back when the sandbox closes.
``memory`` (anything else)
    The root filesystem is read-only and the writable places are size-capped memory: the work
    volume is a ``tmpfs`` volume of ``disk_mb`` MiB and ``/tmp`` a small tmpfs. Nothing the
    sandbox does reaches the host's disk; what it writes counts against its memory limit, and
    installing packages into the image's folders fails.

A disk that fills up is seen from the host (``statvfs`` of the mount) while a command runs; the
backend then stops that command and reports ``disk_limit_exceeded``. Folders of disks a killed
harness left behind are found and released by :func:`release_leftover_disks`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from paperbench.sandbox.errors import SandboxStartError

DiskMode = Literal["loop", "memory"]
DISK_DIR_ENV = "PAPERBENCH_DISK_DIR"
MiB = 1024 * 1024
#: A disk with less than this free (or no free inode) counts as full.
FULL_BELOW = 1 * MiB
_TOOLS = ("mkfs.ext4", "mount", "umount")
_plan_lock = threading.Lock()
_loop_refused: str | None = None
_loop_checked = False


def disks_root() -> Path:
    """Where loop disks live: ``$PAPERBENCH_DISK_DIR``, else ``$PAPERBENCH_HOME/sandbox-disks``
    (``~/.paperbench/sandbox-disks``)."""
    if os.environ.get(DISK_DIR_ENV):
        return Path(os.environ[DISK_DIR_ENV])
    home = Path(os.environ.get("PAPERBENCH_HOME") or Path.home() / ".paperbench")
    return home / "sandbox-disks"


def loop_refusal(engine_info: dict[str, Any]) -> str | None:
    """Why loop disks cannot be used with this engine from this process, or None."""
    if sys.platform != "linux":
        return "the harness is not on Linux"
    if os.geteuid() != 0:
        return "the harness does not run as root"
    driver = engine_info.get("Driver")
    if driver != "overlay2":
        return f"the engine's storage driver is {driver}, not overlay2"
    root = engine_info.get("DockerRootDir") or "/var/lib/docker"
    if not Path(root, "overlay2").is_dir():
        return f"the engine's data folder {root} is not on this machine"
    for tool in _TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/dev/loop-control").exists():
        return "this machine has no loop devices"
    return None


def plan_disk(requested: str, engine_info: dict[str, Any]) -> tuple[DiskMode, str]:
    """The mode for a new sandbox and, for ``memory``, why loop disks are not used.

    Raises:
        SandboxStartError: ``loop`` was asked for and cannot be had here.
    """
    global _loop_refused, _loop_checked
    with _plan_lock:
        if not _loop_checked:
            _loop_refused = loop_refusal(engine_info)
            _loop_checked = True
        refused = _loop_refused
    if requested == "memory":
        return "memory", "asked for in the spec"
    if refused is None:
        return "loop", ""
    if requested == "loop":
        raise SandboxStartError(f"a loop disk was asked for (spec.disk_quota) but {refused}")
    return "memory", refused


def refuse_loop(reason: str) -> None:
    """Remember for this process that loop disks failed (the next sandboxes use memory)."""
    global _loop_refused, _loop_checked
    with _plan_lock:
        _loop_refused, _loop_checked = reason, True


def _host(*argv: str) -> None:
    """Run one of the host's own tools (never a sandbox's), bounded in time.

    Raises:
        OSError: it failed; the message carries its error output.
    """
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            timeout=120,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise OSError(f"{argv[0]}: {error}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[:300]
        raise OSError(f"{' '.join(argv[:2])} failed: {detail}")


def _is_mount(path: Path) -> bool:
    target = str(path).replace("\\", "\\134").replace(" ", "\\040").replace("\n", "\\012")
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as table:
            return any(line.split(" ")[4] == target for line in table if line.count(" ") > 4)
    except OSError:
        return False


def _unmount(path: Path) -> None:
    """Unmount ``path`` if it is a mount point, lazily when it is busy."""
    if not _is_mount(path):
        return
    try:
        _host("umount", str(path))
    except OSError:
        with contextlib.suppress(OSError):
            _host("umount", "-l", str(path))


@dataclass
class LoopDisk:
    """One sandbox's loop disk: ``folder/disk.img`` mounted at ``folder/mnt``, holding
    ``work/`` (the work volume) and ``layer/`` (the container's writable layer)."""

    folder: Path
    size_mb: int
    layer: Path | None = None

    @property
    def image(self) -> Path:
        return self.folder / "disk.img"

    @property
    def mount(self) -> Path:
        return self.folder / "mnt"

    @property
    def work(self) -> Path:
        return self.mount / "work"

    @classmethod
    def create(cls, name: str, size_mb: int, labels: dict[str, str]) -> LoopDisk:
        """Make, format and mount a disk of ``size_mb`` MiB for sandbox ``name``.

        Raises:
            OSError: a step failed (what was made is released again).
        """
        root = disks_root()
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        disk = cls(root / name, size_mb)
        try:
            disk.folder.mkdir(mode=0o700)
            disk._record(labels)
            with disk.image.open("wb") as image:
                image.truncate(size_mb * MiB)
            _host("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
                  "-E", "lazy_itable_init=1,nodiscard", str(disk.image))  # fmt: skip
            disk.mount.mkdir()
            _host("mount", "-o", "loop,nodev,nosuid,noinit_itable", str(disk.image),
                  str(disk.mount))  # fmt: skip
            disk.work.mkdir(mode=0o755)
            (disk.mount / "layer").mkdir(mode=0o700)
            (disk.mount / "lost+found").rmdir()
        except OSError:
            disk.release()
            raise
        return disk

    def _record(self, labels: dict[str, str], **extra: str) -> None:
        record = {"labels": labels, **extra}
        (self.folder / "disk.json").write_text(json.dumps(record), encoding="utf-8")

    def bind_layer(self, upper_dir: str, labels: dict[str, str]) -> None:
        """Put the container's writable layer (the folder holding overlay's ``diff`` and
        ``work``, i.e. the parent of ``upper_dir``) onto this disk, before the container starts.

        Raises:
            OSError: the layer folder is not visible here, or the bind failed.
        """
        layer = Path(upper_dir).parent
        if not Path(upper_dir).is_dir() or Path(upper_dir).is_symlink():
            raise OSError(f"the container's layer {upper_dir} is not visible from the harness")
        copy = self.mount / "layer"
        for entry in os.scandir(layer):
            source = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(source, copy / entry.name, symlinks=True)
            else:
                shutil.copy2(source, copy / entry.name, follow_symlinks=False)
        shutil.copystat(layer, copy)
        self._record(labels, layer=str(layer))
        _host("mount", "--bind", str(copy), str(layer))
        self.layer = layer

    def full(self) -> bool:
        """Whether the disk has (almost) no space or no inodes left."""
        return is_full(self.mount)

    def release_layer(self) -> None:
        """Take the layer back off this disk (the container must be stopped)."""
        if self.layer is not None:
            _unmount(self.layer)

    def release(self) -> None:
        """Unmount everything of this disk and delete it; tolerates parts already gone."""
        self.release_layer()
        _unmount(self.mount)
        shutil.rmtree(self.folder, ignore_errors=True)


def is_full(path: Path) -> bool:
    """Whether the filesystem at ``path`` has less than :data:`FULL_BELOW` or no inode free
    (False when it cannot be looked at)."""
    try:
        info = os.statvfs(path)
    except OSError:
        return False
    free = info.f_bavail * info.f_frsize
    return free < FULL_BELOW or (info.f_files > 0 and info.f_favail == 0)


def release_leftover_disks(selector: dict[str, str], keep: Collection[str] = ()) -> list[str]:
    """Release the loop disks whose labels include every ``selector`` item (e.g. a run id),
    except those of the sandboxes named in ``keep`` (still in use); returns the names of those
    released. Their containers must be gone or stopped first."""
    root = disks_root()
    released: list[str] = []
    if not root.is_dir():
        return released
    for folder in sorted(root.iterdir()):
        try:
            record = json.loads((folder / "disk.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        labels = record.get("labels") or {}
        if folder.name in keep or any(labels.get(k) != v for k, v in selector.items()):
            continue
        disk = LoopDisk(folder, 0, Path(record["layer"]) if record.get("layer") else None)
        disk.release()
        released.append(folder.name)
    return released
