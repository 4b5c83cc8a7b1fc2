"""Where the runs of one ``paperbench run`` go: this process, or a cluster.

An :class:`Executor` takes the orchestrator and returns one record per (paper, seed), in the
order of :attr:`~paperbench.runs.orchestrator.Orchestrator.statuses`. Whatever the executor, a
run is :meth:`Orchestrator.run_one <paperbench.runs.orchestrator.Orchestrator.run_one>` over
the same run directory, so the folders, the resume and the records are the same; executors
differ only in where that call happens and how many happen at once.

* :class:`LocalExecutor` (``--executor local``): every run in this process, at most
  ``--concurrency`` at once.
* :class:`~paperbench.runs.ray_executor.RayExecutor` (``--executor ray``): one Ray task per run
  on a cluster whose nodes each have their own Docker engine; ``ray`` is imported only then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from paperbench.runs.orchestrator import Orchestrator, RunStatus
    from paperbench.runs.record import RunRecord
    from paperbench.runs.settings import RunSettings


class Executor(Protocol):
    """Runs every (paper, seed) of an orchestrator."""

    async def run_all(self, orchestrator: Orchestrator) -> list[RunRecord]:
        """One record per run, in the order of ``orchestrator.statuses``.

        Raises:
            PaperbenchError: a problem that stops every run (the message says which, in one
                line); runs that failed on their own are records with failures, not errors.
        """
        ...


@dataclass
class LocalExecutor:
    """Every run in this process, at most ``--concurrency`` at once (asyncio tasks)."""

    async def run_all(self, orchestrator: Orchestrator) -> list[RunRecord]:
        gate = asyncio.Semaphore(orchestrator.settings.run.concurrency)

        async def one(status: RunStatus) -> RunRecord:
            async with gate:
                return await orchestrator.run_one(orchestrator.paper(status.paper_id), status)

        return list(await asyncio.gather(*(one(status) for status in orchestrator.statuses)))


def executor_for(
    settings: RunSettings,
    *,
    options: dict[str, object],
    option_sources: dict[str, str],
    say: Callable[[str], None] = print,
) -> Executor:
    """The executor ``--executor`` names. ``options`` and ``option_sources`` are what the
    run's provenance records, passed on to the nodes of a cluster.

    Raises:
        PaperbenchError: ``--executor ray`` without ``ray`` installed (the message says how to
            install it).
    """
    if settings.run.executor == "local":
        return LocalExecutor()
    from paperbench.runs.ray_executor import RayExecutor, require_ray

    require_ray()
    return RayExecutor(
        address=settings.run.ray_address,
        options=options,
        option_sources=option_sources,
        say=say,
    )
