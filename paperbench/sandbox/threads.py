"""Run a blocking sandbox call in a thread of its own and await it.

Not ``asyncio.to_thread``: the default executor has only ``cpu_count + 4`` workers, so a few
sandboxes each running a long command would starve everything else queued behind them,
including the ``close`` that cleanup depends on. A thread per call costs about 0.1 ms and can
never wait for another call. The threads are daemons, so a command still running when the
interpreter exits cannot hold the exit up; cleanup does not rely on them (``close`` is awaited,
and the atexit hook runs in the main thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


async def in_thread(function: Callable[[], _T], name: str = "paperbench-sandbox") -> _T:
    """Run ``function`` in a new thread. If the awaiting task is cancelled, the thread runs on
    to its end (callers make it stop early through their own abort flags)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle_result(value: _T) -> None:
        if not future.done():
            future.set_result(value)

    def settle_error(error: BaseException) -> None:
        if not future.done():
            future.set_exception(error)

    def target() -> None:
        try:
            value = function()
        except BaseException as error:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(settle_error, error)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle_result, value)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future
