"""The Docker backend, on the Docker SDK (never the docker command line).

A sandbox is one container running ``sleep infinity`` under Docker's init, plus one named
volume mounted at the work folder (``put_archive`` cannot write into a tmpfs on a read-only
container; a volume works either way), both on the sandbox's disk quota
(:mod:`paperbench.sandbox.disks`). Both carry the labels of :mod:`paperbench.sandbox.labels`.
Hardening is in :mod:`paperbench.sandbox.docker_config`.

The agent in the container is root and can replace any binary there, so nothing the harness
relies on runs the container's programs where it can be helped:

- Every exec is read on a raw socket in bounded memory against a host-side deadline
  (:mod:`paperbench.sandbox.docker_exec`). The command also runs under the container's
  ``timeout -s KILL`` (a first, cheap wall); the host deadline, two seconds later, does not
  depend on it.
- Killing a command's processes (at its timeout, on abort, when the disk fills) is done from the
  host through the container's cgroup (:mod:`paperbench.sandbox.hostview`): every process that
  carries the command's marker variable is killed, whatever its session or user. Only when the
  harness cannot see the cgroup (not root on the engine's machine) is the sweep run inside the
  container with its own ``sh``. Processes that dropped the marker (``env -i``) die with the
  sandbox: :meth:`Sandbox.stop` kills the container, and stages stop it before their final
  capture.
- Out-of-memory kills are read from the cgroup's ``oom_kill`` counter on the host (an OOM kill
  of an exec does not set the container's ``State.OOMKilled``).
- Archives come out through ``get_archive``, which the daemon builds from outside the
  container, and go in through ``put_archive``.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, cast

import docker
from docker.errors import APIError, DockerException, NotFound

from paperbench.sandbox import disks
from paperbench.sandbox import labels as sandbox_labels
from paperbench.sandbox.archives import limited_archive, pack_for_upload, safe_extract
from paperbench.sandbox.base import LimitedReader, Sandbox
from paperbench.sandbox.docker_config import container_kwargs, host_config_kwargs, volume_options
from paperbench.sandbox.docker_exec import (
    Bounded,
    Demuxer,
    Pump,
    exit_code,
    first_line,
    open_exec,
    run_bounded,
)
from paperbench.sandbox.engine import engine_info, shared_client
from paperbench.sandbox.errors import (
    ArchiveError,
    SandboxError,
    SandboxGoneError,
    SandboxStartError,
    UnknownUserError,
)
from paperbench.sandbox.hostview import HostView
from paperbench.sandbox.images import require_image
from paperbench.sandbox.models import ExecRequest, RawResult, SandboxSpec
from paperbench.sandbox.output import CappedBuffer

__all__ = ["DRAIN", "EXEC_TAG", "HOST_GRACE", "DockerSandbox", "shared_client"]

#: Environment variable that marks every process of one command, for the kill sweep.
EXEC_TAG = "PAPERBENCH_EXEC_ID"
#: The host gives ``timeout`` this long to act before it kills the command itself. It covers
#: the time ``runc`` takes to start the command after the start request, so that a loaded
#: machine never cuts a command short of its timeout.
HOST_GRACE = 2.0
#: After killing a command, how long to read what it wrote before it died.
DRAIN = 2.0
_ROOT_USERS = {None, "", "root", "0", "0:0"}
_SWEEP = f"""
for d in /proc/[0-9]*; do
  if grep -qzx "{EXEC_TAG}=$1" "$d/environ" 2>/dev/null; then
    kill -9 "${{d#/proc/}}" 2>/dev/null
  fi
done
true
"""
_OOM_COUNT = (
    "cat /sys/fs/cgroup/memory.events 2>/dev/null"  # cgroup v2
    " || cat /sys/fs/cgroup/memory/memory.oom_control"  # cgroup v1
)


class _LoopFailed(Exception):
    """A loop disk could not be set up with this engine; the sandbox falls back to memory."""


class DockerSandbox(Sandbox):
    """A sandbox in a hardened Docker container (see the module docstring)."""

    backend = "docker"

    def __init__(self, spec: SandboxSpec, client: docker.DockerClient | None = None) -> None:
        super().__init__(spec)
        self._client = client
        self.name = f"paperbench-{spec.run_id}-{spec.stage}-{uuid.uuid4().hex[:8]}"
        self.volume = f"{self.name}-work"
        self.container_id: str | None = None
        self.image_id: str | None = None
        self.disk_mode: disks.DiskMode | None = None
        self.disk_note = ""
        self.disk: disks.LoopDisk | None = None
        self.host: HostView | None = None
        self._watched: Path | None = None
        self._ids: tuple[int, int] | None = None
        self._oom_seen = 0
        self._oom_lock = threading.Lock()

    @property
    def work_dir(self) -> str:
        return self.spec.work_dir

    @property
    def api(self) -> docker.APIClient:
        if self._client is None:
            self._client = shared_client()
        return self._client.api

    def describe(self) -> dict[str, str]:
        disk = f"{self.disk_mode or '?'} {self.spec.disk_mb} MB"
        return {
            **super().describe(),
            "image_id": self.image_id or "",
            "container": self.name,
            "container_id": self.container_id or "",
            "disk": disk + (f" ({self.disk_note})" if self.disk_note else ""),
            "host_view": "cgroup" if self.host is not None else "none",
        }

    # -- lifecycle -------------------------------------------------------------------------------

    def _start_sync(self) -> None:
        if self._client is None:
            self._client = shared_client()
        self.image_id = require_image(self._client, self.spec.image)
        tags = sandbox_labels.sandbox_labels(self.spec.run_id, self.spec.stage, self.spec.labels)
        mode, self.disk_note = disks.plan_disk(self.spec.disk_quota, engine_info(self._client))
        try:
            try:
                self._create(mode, tags)
            except _LoopFailed as failure:
                if self.spec.disk_quota == "loop":
                    raise SandboxStartError(f"cannot make a loop disk: {failure}") from None
                disks.refuse_loop(str(failure))
                self._teardown_sync()
                self.container_id, self.disk = None, None
                mode, self.disk_note = "memory", str(failure)
                self._create(mode, tags)
            if self._closing.is_set():
                raise SandboxGoneError("the sandbox was closed while it was starting")
            self.api.start(self._container())
            self._watch(mode)
            if mode == "memory":
                self._seed_work_dir(tags)
        except (DockerException, SandboxError) as error:
            self._teardown_sync()
            if isinstance(error, SandboxError):
                raise
            raise SandboxStartError(
                f"cannot start a {self.spec.image} sandbox: {first_line(error)}"
            ) from None
        if self.spec.user not in _ROOT_USERS:
            self._give_work_dir_to_user()

    def _create(self, mode: disks.DiskMode, tags: dict[str, str]) -> None:
        """Create the disk, the volume and the container (not started)."""
        self.disk_mode = mode
        work: str | None = None
        if mode == "loop":
            try:
                self.disk = disks.LoopDisk.create(self.name, self.spec.disk_mb, tags)
            except OSError as error:
                raise _LoopFailed(str(error)) from None
            work = str(self.disk.work)
        self.api.create_volume(
            self.volume,
            driver="local",
            driver_opts=volume_options(mode, self.spec, work),
            labels=tags,
        )
        host_config = self.api.create_host_config(
            **host_config_kwargs(self.spec, self.volume, mode)
        )
        created = self.api.create_container(
            host_config=host_config, **container_kwargs(self.spec, self.name, tags)
        )
        self.container_id = str(created["Id"])
        if self.disk is not None:
            driver = self.api.inspect_container(self.container_id).get("GraphDriver") or {}
            upper = (driver.get("Data") or {}).get("UpperDir")
            try:
                if driver.get("Name") != "overlay2" or not upper:
                    raise OSError(f"the container's storage is {driver.get('Name')}, not overlay2")
                self.disk.bind_layer(str(upper), tags)
            except OSError as error:
                raise _LoopFailed(str(error)) from None

    def _watch(self, mode: disks.DiskMode) -> None:
        """Find what the host can watch of the running container: its cgroup, and the
        filesystem its disk usage shows on."""
        state = self.api.inspect_container(self._container()).get("State") or {}
        self.host = HostView.find(self._container(), int(state.get("Pid") or 0))
        if mode == "loop" and self.disk is not None:
            self._watched = self.disk.mount
        elif self.host is not None:
            with contextlib.suppress(DockerException, OSError):
                mountpoint = Path(self.api.inspect_volume(self.volume)["Mountpoint"])
                if mountpoint.is_dir():
                    self._watched = mountpoint

    def _seed_work_dir(self, tags: dict[str, str]) -> None:
        """Copy the image's own work folder into a ``memory`` work volume, which starts empty
        (Docker copies an image's files into a volume only when the volume is on disk): read it
        from a container of the image that never starts, check it on the host, put it back."""
        helper = str(
            self.api.create_container(
                self.spec.image, command=["true"], labels=tags, network_disabled=True
            )["Id"]
        )
        try:
            with tempfile.TemporaryDirectory(prefix="paperbench-seed-") as scratch:
                archive = Path(scratch) / "seed.tar"
                with self._archive_of(helper, self.work_dir) as stream:
                    limit = 256 * 1024 * 1024
                    with limited_archive(archive, limit, self.work_dir) as writer:
                        shutil.copyfileobj(LimitedReader(stream, limit, self.work_dir), writer)
                folder = Path(scratch) / "seed"
                safe_extract(archive, folder)
                inside = folder / posixpath.basename(self.work_dir)
                with tempfile.TemporaryFile() as packed:
                    pack_for_upload(inside, packed, uid=0, gid=0)
                    packed.seek(0)
                    self.api.put_archive(self._container(), self.work_dir, packed)
        except (FileNotFoundError, ArchiveError) as error:
            raise SandboxStartError(
                f"cannot copy {self.work_dir} of {self.spec.image} into the sandbox: {error}"
            ) from None
        finally:
            with contextlib.suppress(DockerException):
                self.api.remove_container(helper, force=True)

    def _give_work_dir_to_user(self) -> None:
        """Hand the work folder to a non-root spec user (as root, which keeps CAP_CHOWN: the
        container's own user stays root so that root commands keep their capabilities)."""
        user = str(self.spec.user)
        if ":" in user:
            script = 'chown "$1" "$2"'
        else:
            script = (
                'id -u "$1" >/dev/null 2>&1 || exit 3; chown "$(id -u "$1"):$(id -g "$1")" "$2"'
            )
        done = self._bounded(["sh", "-c", script, "sh", user, self.work_dir], user="0")
        if done.exit_code == 0:
            return
        self._teardown_sync()
        if done.exit_code == 3:
            raise UnknownUserError(f"user {user!r} (spec.user) does not exist in {self.spec.image}")
        raise SandboxStartError(
            f"cannot give {self.work_dir} to user {user!r} in {self.spec.image}: "
            f"{done.output.strip()[:200]}"
        )

    def _stop_sync(self) -> None:
        try:
            self.api.kill(self._container(), signal="SIGKILL")
        except NotFound:
            raise SandboxGoneError(f"sandbox {self.name}: its container is gone") from None
        except APIError as error:
            if error.status_code != 409:  # 409: it was not running
                raise SandboxError(
                    f"cannot stop sandbox {self.name}: {first_line(error)}"
                ) from None
        try:
            self.api.wait(self._container(), timeout=60)
        except (DockerException, OSError) as error:
            raise SandboxError(f"sandbox {self.name} did not stop: {first_line(error)}") from None

    def _freeze_sync(self, frozen: bool) -> None:
        try:
            if frozen:
                self.api.pause(self._container())
            else:
                self.api.unpause(self._container())
        except NotFound:
            raise SandboxGoneError(f"sandbox {self.name}: its container is gone") from None
        except APIError as error:
            doing = "freeze" if frozen else "thaw"
            raise SandboxError(f"cannot {doing} sandbox {self.name}: {first_line(error)}") from None

    def _teardown_sync(self) -> None:
        if self._client is None:
            return  # never reached an engine: nothing was created
        api = self.api
        problems = []
        if self.container_id is not None:
            if self.disk is not None and self.disk.layer is not None:
                with contextlib.suppress(DockerException, OSError):
                    api.kill(self.container_id, signal="SIGKILL")
                    api.wait(self.container_id, timeout=30)
                self.disk.release_layer()
            try:
                api.remove_container(self.container_id, force=True, v=True)
            except NotFound:
                pass
            except DockerException as error:
                problems.append(f"container {self.name}: {first_line(error)}")
        try:
            api.remove_volume(self.volume, force=True)
        except NotFound:
            pass
        except DockerException as error:
            problems.append(f"volume {self.volume}: {first_line(error)}")
        if self.disk is not None:
            self.disk.release()
        if problems:
            raise SandboxError(
                f"could not remove {'; '.join(problems)}; "
                f"`paperbench sandbox cleanup --run {self.spec.run_id}` will retry"
            )

    # -- commands --------------------------------------------------------------------------------

    def _disk_full(self) -> bool:
        return self._watched is not None and disks.is_full(self._watched)

    def _exec_sync(self, request: ExecRequest) -> RawResult:
        tag = uuid.uuid4().hex
        seconds = "0" if request.timeout is None else f"{request.timeout:g}"
        environment = [f"{k}={v}" for k, v in {**request.env, EXEC_TAG: tag}.items()]
        stdout, stderr = CappedBuffer(request.output_limit), CappedBuffer(request.output_limit)
        full_before = self._disk_full()
        started = time.monotonic()
        exec_id, sock = open_exec(
            self.api,
            self._container(),
            self.name,
            ["timeout", "-s", "KILL", seconds, *request.argv],
            stdin=request.stdin is not None,
            environment=environment,
            workdir=request.cwd,
            user=request.user,
        )
        # Counted from the start request, not from before it: under load Docker can take a
        # good fraction of a second to start an exec, and that time is not the command's.
        opened = time.monotonic()
        deadline = None if request.timeout is None else opened + request.timeout + HOST_GRACE

        def stop_reason() -> str | None:
            if request.abort.is_set():
                return "abort"
            if self._closing.is_set():
                return "closed"
            if not full_before and self._disk_full():
                return "disk"
            return None

        try:
            pump = Pump(sock, request.stdin, Demuxer(stdout, stderr))
            stopped = pump.run(deadline, stop_reason)
            if stopped is not None:
                # Time is up, the disk is full, or the caller gave up: kill every process of
                # the command, then read what it wrote before it died.
                self._kill_tagged(tag, request.user)
                pump.run(time.monotonic() + DRAIN, lambda: None)
        finally:
            sock.close()
        duration = time.monotonic() - started
        code, never_started = exit_code(self.api, exec_id)
        if code is None:
            code = 137 if stopped is not None else -1
        timed_out = stopped == "deadline"
        if request.timeout is not None and code == 137 and duration >= request.timeout:
            timed_out = True  # `timeout` fired; processes that left its group may remain
            if stopped is None:
                self._kill_tagged(tag, request.user)
        if code == 126 and never_started:
            self._raise_for_start_failure(stdout.value() + stderr.value(), request)
        disk_full = stopped == "disk" or (not full_before and self._disk_full())
        if disk_full and stopped is None:
            self._kill_tagged(tag, request.user)  # what it left running must not go on
        oom = code == 137 and not timed_out and stopped is None and self._oom_happened()
        return RawResult(code, stdout, stderr, duration, timed_out, oom, disk_full)

    def _raise_for_start_failure(self, output: bytes, request: ExecRequest) -> None:
        """Docker could not start the exec (exit 126, pid 0). It usually says why in the
        output, but not always (the message can be lost), so ask the sandbox what is wrong.

        Raises:
            UnknownUserError, FileNotFoundError, SandboxError: always.
        """
        text = output.decode("utf-8", errors="replace").strip()
        user = request.user or ""
        if "unable to find user" in text or "no matching entries in passwd" in text:
            raise UnknownUserError(f"user {user!r} does not exist in the sandbox")
        if "chdir to cwd" in text:
            raise FileNotFoundError(2, "working folder does not exist in the sandbox", request.cwd)
        if not text:
            named = bool(user) and not re.fullmatch(r"[0-9]+(:[0-9]+)?", user)
            check = '[ -z "$1" ] || id -u "$1" >/dev/null 2>&1 || exit 3; [ -d "$2" ] || exit 4'
            status = self._bounded(
                ["sh", "-c", check, "sh", user if named else "", request.cwd], user="0"
            ).exit_code
            if status == 3:
                raise UnknownUserError(f"user {user!r} does not exist in the sandbox")
            if status == 4:
                raise FileNotFoundError(
                    2, "working folder does not exist in the sandbox", request.cwd
                )
        reason = text.splitlines()[0][:300] if text else "Docker gave no reason"
        raise SandboxError(f"cannot start the command as {user or 'the default user'}: {reason}")

    def _bounded(self, argv: list[str], user: str | None = None) -> Bounded:
        """One of the harness's own short commands, through the bounded streaming path."""
        return run_bounded(self.api, self._container(), self.name, argv, user=user)

    def _kill_tagged(self, tag: str, user: str | None) -> None:
        """Kill every process of one command: from the host when the cgroup is visible, else
        by a sweep inside the container (which trusts the container's ``sh``)."""
        if self.host is not None:
            self.host.kill_marked(f"{EXEC_TAG}={tag}".encode())
            return
        with contextlib.suppress(SandboxError, DockerException):
            self._bounded(["sh", "-c", _SWEEP, "sh", tag], user=user)

    def _oom_happened(self) -> bool:
        """Whether the cgroup's OOM-kill count grew since we last looked."""
        count = self.host.oom_kills() if self.host is not None else None
        if count is None:
            try:
                text = self._bounded(["sh", "-c", _OOM_COUNT]).output
            except SandboxGoneError:
                return self._container_oom_killed()
            match = re.search(r"^oom_kill (\d+)", text, re.MULTILINE)
            if match is None:
                return False
            count = int(match.group(1))
        with self._oom_lock:
            grew = count > self._oom_seen
            self._oom_seen = max(self._oom_seen, count)
        return grew

    def _container_oom_killed(self) -> bool:
        try:
            state = self.api.inspect_container(self._container())["State"]
        except DockerException:
            return False
        return bool(state.get("OOMKilled"))

    def _container(self) -> str:
        if self.container_id is None:
            raise SandboxGoneError("the sandbox was not started")
        return self.container_id

    # -- files -----------------------------------------------------------------------------------

    def _user_ids(self) -> tuple[int, int]:
        if self._ids is None:
            done = self._bounded(["sh", "-c", "id -u; id -g"], user=self.spec.user)
            numbers = done.output.split()
            if done.exit_code != 0 or len(numbers) != 2 or not all(n.isdigit() for n in numbers):
                raise SandboxError(f"cannot find the ids of the sandbox user: {done.output[:200]}")
            self._ids = (int(numbers[0]), int(numbers[1]))
        return self._ids

    def _upload_sync(self, source: Path, dest: str) -> None:
        done = self._bounded(["mkdir", "-p", "--", dest], user=self.spec.user)
        if done.exit_code != 0:
            raise PermissionError(13, f"cannot create the folder: {done.output.strip()}", dest)
        uid, gid = self._user_ids()
        with tempfile.TemporaryFile() as packed:
            pack_for_upload(source, packed, uid=uid, gid=gid)
            packed.seek(0)
            try:
                self.api.put_archive(self._container(), dest, packed)
            except NotFound:
                raise SandboxGoneError(
                    f"sandbox {self.name}: {dest} or the container is gone"
                ) from None
            except APIError as error:
                raise SandboxError(f"upload to {dest} failed: {first_line(error)}") from None

    def _archive_sync(self, path: str, limit: int) -> AbstractContextManager[IO[bytes]]:
        return self._archive_of(self._container(), path)

    @contextlib.contextmanager
    def _archive_of(self, container: str, path: str) -> Iterator[IO[bytes]]:
        """The daemon's tar stream of ``path`` in ``container``, read in place."""
        api: Any = self.api
        try:
            response = api.get(
                api._url("/containers/{0}/archive", container),
                params={"path": path},
                headers={"Accept-Encoding": "identity"},
                stream=True,
                timeout=(60, 600),
            )
        except DockerException as error:
            raise SandboxError(f"reading {path} failed: {first_line(error)}") from None
        with contextlib.closing(response):
            if response.status_code == 404:
                raise FileNotFoundError(2, "no such file or folder in the sandbox", path)
            if response.status_code >= 400:
                raise SandboxError(
                    f"reading {path} failed: {response.status_code} {response.text[:300]}"
                )
            yield cast(IO[bytes], _Stream(response.raw, self._closing))


class _Stream:
    """The body of an archive response, read in place; a close of the sandbox ends it."""

    def __init__(self, raw: Any, closing: threading.Event) -> None:
        self.raw = raw
        self.closing = closing

    def read(self, size: int = -1) -> bytes:
        if self.closing.is_set():
            raise SandboxGoneError("the sandbox was closed while its files were read")
        data = self.raw.read(1024 * 1024 if size is None or size < 0 else size)
        return bytes(data or b"")
