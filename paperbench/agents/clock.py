"""The run's clock: wall time, and working time that leaves out waiting for the model's API.

PaperBench gives agents a time limit, and a slow or rate-limited provider should not eat into
it: the scaffold wraps every model call (retries and backoff included) in
:meth:`RunClock.waiting_for_api`, and working time is wall time minus those waits. The snapshot
taker reads the same clock, so every snapshot says how much of each the agent had used.

The time source is injectable, but the tests use real time and make it pass inside the sandbox
or in the scripted LLM server, never by sleeping in the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RunClock:
    """Monotonic wall time since :meth:`start`, and API waiting time within it."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._started: float | None = None
        self._api_wait = 0.0
        self._waiting_since: float | None = None
        self._waiting = 0

    def start(self) -> None:
        """Start counting (the first call wins; later calls do nothing)."""
        if self._started is None:
            self._started = self._now()

    @property
    def started(self) -> bool:
        return self._started is not None

    def wall(self) -> float:
        """Seconds since the start (0 before it)."""
        return 0.0 if self._started is None else self._now() - self._started

    def api_wait(self) -> float:
        """Seconds spent waiting for the API so far, including a wait in progress."""
        ongoing = 0.0 if self._waiting_since is None else self._now() - self._waiting_since
        return self._api_wait + ongoing

    def working(self) -> float:
        """Wall time minus API waits."""
        return self.read()[1]

    def read(self) -> tuple[float, float]:
        """Wall and working time at one instant (so working never exceeds wall)."""
        if self._started is None:
            return 0.0, 0.0
        now = self._now()
        ongoing = 0.0 if self._waiting_since is None else now - self._waiting_since
        wall = now - self._started
        return wall, max(0.0, wall - self._api_wait - ongoing)

    @contextmanager
    def waiting_for_api(self) -> Iterator[None]:
        """Count the time inside the block as API waiting. Blocks may overlap (a gateway
        serves an agent's concurrent calls): a moment counts once however many calls are
        waiting in it, so working time never goes below wall time minus real waiting."""
        if self._waiting == 0:
            self._waiting_since = self._now()
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1
            if self._waiting == 0 and self._waiting_since is not None:
                self._api_wait += self._now() - self._waiting_since
                self._waiting_since = None
