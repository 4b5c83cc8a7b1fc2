"""Snapshots of ``/home/submission`` while the agent works, and at the end.

Each snapshot is a full capture (:func:`~paperbench.agents.capture.capture_submission`: archive
and manifest) in ``snapshots/NNN/`` of the stage folder — the final one at the stage folder's
top, since it is the submission — recorded with the moment it was taken in UTC and in the run's
wall and working time, so a later grade of each can be plotted against the time the agent had
spent. Periodic snapshots are taken every ``interval_seconds`` of wall
time by a background task.

A snapshot that fails (the sandbox is busy past its timeout, a file cannot be read) is recorded
with its error and the run goes on: snapshots are evidence for later analysis, never a reason
to stop an agent. Stopping waits for a snapshot in progress, so none is left half-written.

The final snapshot freezes the sandbox while it is taken
(:meth:`~paperbench.sandbox.base.Sandbox.freeze`): every process in it is held where it is,
including any that escaped the agent's commands (``setsid``, ``env -i``, another user), so
nothing changes the files between the two readings of the capture. The sandbox is thawed
afterwards; the stage closes it, which kills everything left.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from paperbench.agents.capture import (
    ARCHIVE_NAME,
    MANIFEST_NAME,
    CaptureManifest,
    capture_submission,
)
from paperbench.agents.clock import RunClock
from paperbench.agents.protocol import Snapshot
from paperbench.agents.transcript import Transcript
from paperbench.sandbox.base import Sandbox
from paperbench.sandbox.errors import SandboxError

SNAPSHOTS_DIR = "snapshots"


class Snapshotter:
    """Takes snapshots of one sandbox's submission folder into ``stage_dir/snapshots``."""

    def __init__(
        self,
        sandbox: Sandbox,
        stage_dir: Path,
        clock: RunClock,
        *,
        interval_seconds: float | None,
        source: str = "/home/submission",
        max_file_bytes: int,
        max_total_bytes: int,
        transcript: Transcript | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.stage_dir = stage_dir
        self.clock = clock
        self.interval = interval_seconds
        self.source = source
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self.transcript = transcript
        self.snapshots: list[Snapshot] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        """Start periodic snapshots (nothing happens when there is no interval)."""
        if self.interval is not None and self._task is None:
            self._task = asyncio.create_task(self._every(self.interval))

    async def stop(self) -> None:
        """Stop periodic snapshots, after the one in progress (if any) is complete."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _every(self, interval: float) -> None:
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            await self.take("periodic")

    async def take(self, kind: Literal["periodic", "final"]) -> Snapshot:
        """Capture the submission now and record it (errors are recorded, not raised, except
        that a final snapshot re-raises, since it is the submission itself)."""
        async with self._lock:
            index = len(self.snapshots) + 1
            folder = self.stage_dir
            if kind == "periodic":
                folder = self.stage_dir / SNAPSHOTS_DIR / f"{index:03d}"
            wall, working = self.clock.read()
            taken_at = datetime.now(UTC)
            relative = folder.relative_to(self.stage_dir)
            try:
                manifest = await self._capture(folder, frozen=kind == "final")
            except (SandboxError, OSError) as error:
                snapshot = Snapshot(
                    index=index,
                    kind=kind,
                    taken_at=taken_at,
                    wall_seconds=round(wall, 3),
                    working_seconds=round(working, 3),
                    archive=None,
                    error=str(error),
                )
                self._record(snapshot)
                if kind == "final":
                    raise
                return snapshot
            snapshot = Snapshot(
                index=index,
                kind=kind,
                taken_at=taken_at,
                wall_seconds=round(wall, 3),
                working_seconds=round(working, 3),
                archive=str(relative / ARCHIVE_NAME),
                manifest=str(relative / MANIFEST_NAME),
                files=len(manifest.files),
                bytes=manifest.total_bytes,
                excluded=len(manifest.excluded),
            )
            self._record(snapshot)
            return snapshot

    async def _capture(self, folder: Path, *, frozen: bool) -> CaptureManifest:
        if frozen:
            await self.sandbox.freeze()
        try:
            return await capture_submission(
                self.sandbox,
                folder,
                source=self.source,
                max_file_bytes=self.max_file_bytes,
                max_total_bytes=self.max_total_bytes,
            )
        finally:
            if frozen:
                await self.sandbox.thaw()

    def _record(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)
        if self.transcript is not None:
            self.transcript.write("snapshot", **snapshot.model_dump(mode="json"))
