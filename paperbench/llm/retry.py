"""Retrying transient failures, and holding every caller back while the provider says "slow down".

The SDKs' own retries are switched off (``max_retries=0``) so that this module alone decides,
and so that every failed attempt is visible to the caller (the judge's ledger records them).

Two budgets, because the two failures mean different things:

* server errors and timeouts suggest something is wrong with the request or the service: they
  get ``max_attempts`` tries with exponential backoff and jitter;
* rate limits say nothing about the request, only about our pace: they are retried for as long
  as ``rate_limit_patience_seconds`` of waiting allows, honouring ``retry-after``. A 429 closes a
  :class:`RateGate` shared by every call on that provider, so 64 concurrent calls wait out one
  storm together instead of each burning its own attempts — a rate-limit storm slows a grade
  down; it does not turn leaves invalid unless it outlasts the patience.

``sleep`` and ``clock`` are injectable so tests can check the waits without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from paperbench.llm.errors import LLMError, RateLimited

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class RateGate:
    """A shared "not before" time: after a 429, no call starts until it has passed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open_at = 0.0

    def close_for(self, seconds: float) -> None:
        self._open_at = max(self._open_at, self._clock() + seconds)

    def wait_needed(self) -> float:
        return max(0.0, self._open_at - self._clock())


@dataclass
class RetryPolicy:
    """How often and how long to retry; see the module docstring for the two budgets."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    rate_limit_patience_seconds: float = 900.0
    max_rate_limited_attempts: int = 200
    min_rate_limit_wait: float = 0.5
    jitter: float = 0.25
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    gate: RateGate = field(default_factory=RateGate)

    def backoff(self, attempt: int) -> float:
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay * (1 + self.jitter * random.random())

    async def run(self, attempt_call: Callable[[], Awaitable[T]]) -> tuple[T, tuple[str, ...]]:
        """Run ``attempt_call`` until it succeeds or a budget runs out.

        Returns the result and the messages of the failed attempts before it.

        Raises:
            LLMError: the last error, with ``attempts`` listing every failed attempt, once it is
                not retryable or its budget is spent.
        """
        failures: list[str] = []
        other_attempts = 0
        waited_for_rate = 0.0
        while True:
            pause = self.gate.wait_needed()
            if pause > 0:
                await self.sleep(pause)
            try:
                return await attempt_call(), tuple(failures)
            except LLMError as error:
                failures.append(f"{type(error).__name__}: {error}")
                if not error.retryable:
                    error.attempts = tuple(failures)
                    raise
                if isinstance(error, RateLimited):
                    wait = error.retry_after
                    if wait is None:
                        wait = self.backoff(len(failures))
                    wait = min(max(wait, self.min_rate_limit_wait), self.max_delay)
                    rate_limited = len(failures) - other_attempts
                    over_patience = waited_for_rate + wait > self.rate_limit_patience_seconds
                    if over_patience or rate_limited >= self.max_rate_limited_attempts:
                        error.attempts = tuple(failures)
                        raise
                    waited_for_rate += wait
                    self.gate.close_for(wait)
                    continue
                other_attempts += 1
                if other_attempts >= self.max_attempts:
                    error.attempts = tuple(failures)
                    raise
                await self.sleep(self.backoff(other_attempts))
