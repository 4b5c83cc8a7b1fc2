"""Guaranteed cleanup: the registry of open sandboxes, signal handling, and leftover removal.

Three layers, from polite to blunt:

1. ``async with sandbox`` closes it on success, exceptions and cancellation; under
   ``asyncio.run`` a SIGINT cancels the main task, so it unwinds through the same code.
2. The first sandbox a process starts installs, if nobody else handles them, handlers that turn
   SIGTERM and SIGHUP into ``SystemExit(128 + signal)``: the program unwinds like on SIGINT
   (``asyncio.run`` cancels the remaining tasks, whose ``async with`` blocks close their
   sandboxes). An ``atexit`` hook closes anything still registered. A second signal while
   unwinding tears every registered sandbox down at once, without locks, and exits.
3. What a SIGKILL leaves behind carries labels (:mod:`paperbench.sandbox.labels`);
   :func:`find_leftovers` and :func:`remove_leftovers` (``paperbench sandbox ls`` and
   ``paperbench sandbox cleanup``) find and remove it.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Literal, Protocol

import docker
from docker.errors import APIError, NotFound

from paperbench.sandbox import labels
from paperbench.sandbox.disks import release_leftover_disks


class _Closable(Protocol):
    def close_sync(self) -> None: ...

    def _teardown_sync(self) -> None: ...


_open: set[_Closable] = set()
_lock = threading.Lock()
_installed = False
_terminating = False


def register(sandbox: _Closable) -> None:
    """Track a sandbox until it is closed; the first call installs the handlers."""
    with _lock:
        _open.add(sandbox)
    _install_once()


def unregister(sandbox: _Closable) -> None:
    with _lock:
        _open.discard(sandbox)


def open_sandboxes() -> int:
    """How many sandboxes this process holds open."""
    with _lock:
        return len(_open)


def close_all_sync() -> None:
    """Close every sandbox this process still holds (the atexit hook)."""
    with _lock:
        pending = list(_open)
    for sandbox in pending:
        try:
            sandbox.close_sync()
        except Exception:  # one failure must not keep the others alive
            continue


def _install_once() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(close_all_sync)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _on_terminate)


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    global _terminating
    if _terminating:
        _emergency_teardown()
        os._exit(128 + signum)
    _terminating = True
    raise SystemExit(128 + signum)


def _emergency_teardown() -> None:
    """Tear down without taking any lock (the interrupted code may hold one)."""
    for sandbox in list(_open):
        try:
            sandbox._teardown_sync()
        except Exception:  # exiting anyway: best effort for each
            continue


@dataclass(frozen=True)
class Leftover:
    """A labelled container or volume, as ``paperbench sandbox ls`` shows it."""

    kind: Literal["container", "volume"]
    name: str
    run_id: str
    stage: str
    created_at: str
    status: str


def find_leftovers(client: docker.DockerClient, run_id: str | None = None) -> list[Leftover]:
    """Every managed container and volume (of one run, if given), containers first.

    Raises:
        docker.errors.APIError: the engine refused to list them.
    """
    selector = {"label": labels.label_filter(run_id=run_id)}
    found: list[Leftover] = []
    for container in client.api.containers(all=True, filters=selector):
        tags = container.get("Labels") or {}
        found.append(
            Leftover(
                "container",
                container["Names"][0].lstrip("/") if container.get("Names") else container["Id"],
                tags.get(labels.RUN_ID, "?"),
                tags.get(labels.STAGE, "?"),
                tags.get(labels.CREATED_AT, "?"),
                container.get("State", "?"),
            )
        )
    for volume in client.api.volumes(filters=selector).get("Volumes") or []:
        tags = volume.get("Labels") or {}
        found.append(
            Leftover(
                "volume",
                volume["Name"],
                tags.get(labels.RUN_ID, "?"),
                tags.get(labels.STAGE, "?"),
                tags.get(labels.CREATED_AT, "?"),
                "-",
            )
        )
    return found


def remove_leftovers(client: docker.DockerClient, run_id: str | None = None) -> list[Leftover]:
    """Remove managed containers (killing them), then their volumes, then release their loop
    disks (:mod:`paperbench.sandbox.disks`); return the containers and volumes that went.

    Raises:
        docker.errors.APIError: the engine refused a removal other than "already gone".
    """
    removed: list[Leftover] = []
    leftovers = find_leftovers(client, run_id)
    for item in leftovers:
        if item.kind != "container":
            continue
        try:
            client.api.remove_container(item.name, force=True, v=True)
        except NotFound:
            continue
        except APIError as error:
            if error.status_code == 409:  # its removal is already in progress elsewhere
                continue
            raise
        removed.append(item)
    for item in leftovers:
        if item.kind != "volume":
            continue
        try:
            client.api.remove_volume(item.name, force=True)
        except NotFound:
            continue
        except APIError as error:
            if error.status_code == 409:  # in use by a container someone else made
                continue
            raise
        removed.append(item)
    in_use = {item.name for item in find_leftovers(client, run_id) if item.kind == "container"}
    selector = {labels.MANAGED: "true"} if run_id is None else {labels.RUN_ID: run_id}
    release_leftover_disks(selector, keep=in_use)

    from paperbench.sandbox.networks import remove_run_networks

    remove_run_networks(client, run_id)  # a run's networks, once its containers are gone
    return removed
