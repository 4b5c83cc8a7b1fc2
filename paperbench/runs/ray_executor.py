"""``--executor ray``: one Ray task per (paper, seed) stage chain, on a cluster whose nodes each
have their own Docker engine.

The driver (this process) connects to the cluster (``--ray-address``; without it, a private
Ray on this machine whose only node holds ``--concurrency`` sandboxes), then:

1. checks every node that advertises the custom ``docker`` resource (how many sandboxes it
   holds) with a task pinned to it (``NodeAffinitySchedulingStrategy``): the same paperbench,
   the paper folders visible, the images built, the models' keys set, and the containers an
   earlier invocation of these runs left there removed;
2. submits one task per run asking the paper's ``cpus``, ``memory_mb`` and ``gpus`` plus one
   ``docker``, spread over the nodes, with ``max_retries=0``: the harness owns retries, through
   ``state.json``, as with the local executor (a run that failed is redone by the next
   invocation, from the stage it was in);
3. collects each run's record as the task returns it, and shows each stage change with the node
   it runs on (tasks post them to a :class:`~paperbench.runs.ray_tasks.ProgressBoard`);
4. at the end, whatever happened, removes these runs' labelled containers on every node with
   a pinned task again.

Stopping: Ctrl-C cancels the tasks politely — each raises KeyboardInterrupt, and its sandboxes
close as on a local Ctrl-C — waiting up to :data:`GRACE_SECONDS`; a second Ctrl-C, SIGTERM, or
the grace running out force-cancels them (the worker is killed, no cleanup of its own), and the
pinned cleanup of step 4 removes what they left. A task lost to a dead node or worker becomes an
``infrastructure_error`` record whose stage the next invocation redoes, after step 1 removed
its containers; the stages it had finished are kept.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from paperbench import __version__
from paperbench.errors import PaperbenchError
from paperbench.revision import git_revision
from paperbench.runs.ray_tasks import (
    ChainRequest,
    NodeCheckRequest,
    NodeReport,
    ProgressBoard,
    check_node,
    clean_node,
    run_chain,
)

if TYPE_CHECKING:
    from paperbench.runs.orchestrator import Orchestrator, RunStatus
    from paperbench.runs.record import RunRecord

M = TypeVar("M", bound=BaseModel)
MiB = 1024 * 1024

#: How long a polite cancel may take before the tasks are force-cancelled.
GRACE_SECONDS = 20.0
#: How long force-cancelled tasks get to end before the nodes are cleaned.
FORCE_WAIT_SECONDS = 10.0
#: How long a node's check or cleanup task may take.
NODE_TASK_SECONDS = 120.0
POLL_SECONDS = 0.1
INSTALL_HINT = "pip install 'paperbench[ray]' (or pip install ray)"


def require_ray() -> Any:
    """The ``ray`` module.

    Raises:
        PaperbenchError: ray is not installed; the message says how to install it.
    """
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise PaperbenchError(f"--executor ray needs Ray: {INSTALL_HINT}") from None


def absolute_paths(model: M) -> M:
    """``model`` with every path in it made absolute against this process's folder, so a node
    whose working folder differs reads the same files."""
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            updates[name] = absolute_paths(value)
        elif isinstance(value, Path):
            updates[name] = value.absolute()
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            updates[name] = [item.absolute() for item in value]
    return model.model_copy(update=updates)


def connect(ray: Any, address: str | None, sandboxes: int) -> None:
    """Connect this process to the cluster at ``address`` (``auto``: the one ``ray start``
    began on this machine), or start a private Ray here whose node holds ``sandboxes``.

    Raises:
        PaperbenchError: no cluster answers at ``address``.
    """
    common: dict[str, Any] = {
        "namespace": "paperbench",
        "log_to_driver": False,
        "logging_level": logging.WARNING,
        "include_dashboard": False,
    }
    if address is None:
        ray.init(address="local", resources={"docker": sandboxes}, **common)
        return
    try:
        ray.init(address=address, **common)
    except (ConnectionError, RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PaperbenchError(
            f"--ray-address {address}: no Ray cluster answers ({reason[:160]}); start one with "
            "`ray start --head` and add workers with `ray start --address=HEAD:6379 "
            "--resources='{\"docker\": N}'`"
        ) from None


def docker_nodes(ray: Any) -> list[dict[str, Any]]:
    """The alive nodes that hold sandboxes (advertise ``docker`` > 0)."""
    return [
        node
        for node in ray.nodes()
        if node.get("Alive") and float(node.get("Resources", {}).get("docker", 0)) > 0
    ]


def pinned(ray: Any, node_id: str) -> dict[str, Any]:
    """Task options that run it on ``node_id`` and nowhere else, once."""
    strategies = importlib.import_module("ray.util.scheduling_strategies")
    return {
        "scheduling_strategy": strategies.NodeAffinitySchedulingStrategy(node_id, soft=False),
        "num_cpus": 0,
        "max_retries": 0,
    }


@dataclass(frozen=True)
class NodeCleanup:
    """What a node's cleanup task removed, or why it could not."""

    node: str
    removed: list[str]
    problem: str | None = None


def clean_cluster(ray: Any, run_ids: list[str] | None) -> list[NodeCleanup]:
    """Remove the labelled sandboxes of ``run_ids`` (all of them: None) on every node that holds
    sandboxes, with a task pinned to each; one :class:`NodeCleanup` per node."""
    remote = ray.remote(clean_node)
    nodes = docker_nodes(ray)
    refs = [remote.options(**pinned(ray, node["NodeID"])).remote(run_ids) for node in nodes]
    found: list[NodeCleanup] = []
    for node, ref in zip(nodes, refs, strict=True):
        try:
            name, removed = ray.get(ref, timeout=NODE_TASK_SECONDS)
            found.append(NodeCleanup(name, removed))
        except Exception as error:
            name = str(node.get("NodeName") or node["NodeID"][:8])
            found.append(NodeCleanup(name, [], _summary(error)))
    return found


def _summary(error: BaseException) -> str:
    """One line of ``error``: Ray puts the exception's own message last."""
    text = [line for line in str(error).strip().splitlines() if line.strip()]
    return (text[-1].strip() if text else type(error).__name__)[:300]


def demands(cpus: float, memory_mb: int, gpus: int) -> dict[str, Any]:
    """The Ray resources one run of a paper asks for."""
    return {
        "num_cpus": cpus,
        "memory": memory_mb * MiB,
        "num_gpus": gpus,
        "resources": {"docker": 1},
    }


@dataclass
class RayExecutor:
    """One Ray task per run (see the module docstring)."""

    address: str | None = None
    options: dict[str, object] = field(default_factory=dict)
    option_sources: dict[str, str] = field(default_factory=dict)
    say: Callable[[str], None] = print
    _force: bool = False
    _terminated: bool = False

    async def run_all(self, orchestrator: Orchestrator) -> list[RunRecord]:
        ray = require_ray()
        connect(ray, self.address, orchestrator.settings.run.concurrency)
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        terminate = self._on_sigterm(loop, me)
        try:
            return await self._run(ray, orchestrator)
        except asyncio.CancelledError:
            if self._terminated:
                raise SystemExit(128 + signal.SIGTERM) from None
            raise
        finally:
            if terminate:
                loop.remove_signal_handler(signal.SIGTERM)
            ray.shutdown()

    def _on_sigterm(self, loop: asyncio.AbstractEventLoop, me: asyncio.Task[Any] | None) -> bool:
        """SIGTERM force-cancels the tasks (then cleans the nodes) and exits 143."""
        if me is None:
            return False

        def terminate() -> None:
            self._force = self._terminated = True
            me.cancel()

        try:
            loop.add_signal_handler(signal.SIGTERM, terminate)
        except (RuntimeError, ValueError):  # not the main thread
            return False
        return True

    async def _run(self, ray: Any, orchestrator: Orchestrator) -> list[RunRecord]:
        statuses = orchestrator.statuses
        run_ids = [
            orchestrator.run_id(orchestrator.paper(status.paper_id), status.seed)
            for status in statuses
        ]
        settings = absolute_paths(orchestrator.settings)
        if settings.run.runs_url() is None:
            absolute = str(Path(settings.run.runs_dir).absolute())
            run = settings.run.model_copy(update={"runs_dir": absolute})
            settings = settings.model_copy(update={"run": run})
        self._check_nodes(ray, orchestrator, settings, run_ids)
        board = (
            ray.remote(ProgressBoard)
            .options(num_cpus=0, name=f"paperbench-progress-{uuid.uuid4().hex[:12]}")
            .remote()
        )
        chain = ray.remote(run_chain)
        pending: dict[Any, RunStatus] = {}
        try:
            for status, run_id in zip(statuses, run_ids, strict=True):
                paper = orchestrator.paper(status.paper_id)
                resources = paper.config.resources
                request = ChainRequest(
                    settings=settings,
                    paper_root=paper.root.absolute(),
                    seed=status.seed,
                    options=dict(self.options),
                    option_sources=self.option_sources,
                    command_line=list(sys.argv),
                    cwd=Path.cwd(),
                )
                ref = chain.options(
                    **demands(resources.cpus, resources.memory_mb, resources.gpus.count),
                    max_retries=0,
                    scheduling_strategy="SPREAD",
                    name=f"paperbench:{run_id}",
                ).remote(request.model_dump_json(), board)
                pending[ref] = status
            records = await self._collect(ray, orchestrator, pending, board)
        except BaseException:
            await self._stop(ray, list(pending))
            raise
        finally:
            self._finish(ray, run_ids, board)
        return [records[id(status)] for status in statuses]

    def _finish(self, ray: Any, run_ids: list[str], board: Any) -> None:
        """Step 4 of the module docstring; a cluster that stopped answering is said, not
        raised, so it never hides why the command is ending."""
        try:
            self._report_cleanup(clean_cluster(ray, run_ids))
            ray.kill(board)
        except Exception as error:
            self.say(
                f"could not clean the nodes ({_summary(error)}); `paperbench sandbox cleanup "
                "--run ID --ray-address ADDR` removes a run's sandboxes later"
            )

    def _check_nodes(
        self, ray: Any, orchestrator: Orchestrator, settings: Any, run_ids: list[str]
    ) -> None:
        """Step 1 of the module docstring.

        Raises:
            PaperbenchError: no node holds sandboxes, a run asks more than any node has, or a
                node cannot run these runs (the first problem, naming the node).
        """
        nodes = docker_nodes(ray)
        if not nodes:
            raise PaperbenchError(
                "the Ray cluster has no node with the `docker` resource: start each worker "
                "with `ray start --address=HEAD:6379 --resources='{\"docker\": N}'`, N the "
                "sandboxes it may hold at once"
            )
        for paper in orchestrator.papers:
            want = paper.config.resources
            fits = [
                node
                for node in nodes
                if node["Resources"].get("CPU", 0) >= want.cpus
                and node["Resources"].get("memory", 0) >= want.memory_mb * MiB
                and node["Resources"].get("GPU", 0) >= want.gpus.count
            ]
            if not fits:
                raise PaperbenchError(
                    f"paper {paper.id} asks {want.cpus:g} CPUs, {want.memory_mb} MB and "
                    f"{want.gpus.count} GPUs (resources in its config.yaml): no node of the Ray "
                    "cluster with the `docker` resource has that much"
                )
        sha, _ = git_revision()
        request = NodeCheckRequest(
            settings=settings,
            paper_roots=[paper.root.absolute() for paper in orchestrator.papers],
            run_ids=run_ids,
            cwd=Path.cwd(),
            version=__version__,
            git_sha=sha,
        )
        remote = ray.remote(check_node)
        refs = [
            remote.options(**pinned(ray, node["NodeID"])).remote(request.model_dump_json())
            for node in nodes
        ]
        try:
            reports: list[NodeReport] = ray.get(refs, timeout=NODE_TASK_SECONDS)
        except Exception as error:
            raise PaperbenchError(
                f"a node of the Ray cluster did not answer its check: {_summary(error)}"
            ) from None
        for report in reports:
            if report.problems:
                raise PaperbenchError(report.problems[0])
        self._report_cleanup([NodeCleanup(report.name, report.removed) for report in reports])

    def _report_cleanup(self, found: list[NodeCleanup]) -> None:
        for cleanup in found:
            for item in cleanup.removed:
                self.say(f"node {cleanup.node}: removed a leftover {item}")
            if cleanup.problem:
                self.say(f"node {cleanup.node}: could not remove leftovers: {cleanup.problem}")

    async def _collect(
        self, ray: Any, orchestrator: Orchestrator, pending: dict[Any, RunStatus], board: Any
    ) -> dict[int, RunRecord]:
        """Wait for every task, showing progress; a record per status (by ``id``)."""
        by_run = {(status.paper_id, status.seed): status for status in pending.values()}
        records: dict[int, RunRecord] = {}
        news = board.take.remote()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            for ref in ready:
                status = pending.pop(ref)
                record = self._outcome(ray, orchestrator, status, ref)
                records[id(status)] = record
                status.finished, status.score = True, record.score
                status.agent_cost, status.judge_cost = record.agent_cost_usd, record.judge_cost_usd
                status.note = ", ".join(sorted({failure.kind for failure in record.failures}))
                status.stage = "finished"
                orchestrator.on_change(status)
            done, _ = ray.wait([news], timeout=0)
            if done:
                for event in ray.get(news):
                    self._show(orchestrator, by_run, event)
                news = board.take.remote()
            if pending:
                await asyncio.sleep(POLL_SECONDS)
        return records

    def _show(
        self,
        orchestrator: Orchestrator,
        by_run: dict[tuple[str, int], RunStatus],
        event: dict[str, Any],
    ) -> None:
        status = by_run.get((event["paper_id"], event["seed"]))
        if status is None or status.finished or event["stage"] == "finished":
            return
        if status.started is None:
            status.started = time.monotonic()
        status.node = str(event["node"])
        if status.stage != event["stage"]:
            status.stage = str(event["stage"])
            orchestrator.on_change(status)

    def _outcome(
        self, ray: Any, orchestrator: Orchestrator, status: RunStatus, ref: Any
    ) -> RunRecord:
        """The task's record; for a task Ray lost (its node or worker died), a record of the
        loss written here, after the run's containers were removed on every node.

        Raises:
            PaperbenchError: the task stopped on a problem the user must fix.
        """
        from paperbench.runs.record import RunRecord

        errors = importlib.import_module("ray.exceptions")
        try:
            return RunRecord.model_validate_json(ray.get(ref))
        except Exception as error:
            cause = getattr(error, "cause", None)
            if isinstance(error, errors.RayTaskError) and isinstance(cause, PaperbenchError):
                raise type(cause)(str(cause)) from None
            if isinstance(error, errors.RayTaskError) and not isinstance(
                error, errors.TaskCancelledError
            ):
                raise
            lost = error
        where = f"on node {status.node}" if status.node else "before it reached a node"
        reason = f"Ray lost the run {where}: {type(lost).__name__}: {_summary(lost)}"
        paper = orchestrator.paper(status.paper_id)
        self._report_cleanup(clean_cluster(ray, [orchestrator.run_id(paper, status.seed)]))
        return orchestrator.record_lost_run(status, reason)

    async def _stop(self, ray: Any, refs: list[Any]) -> None:
        """Cancel the tasks still running: politely first (their sandboxes close), by force
        after :data:`GRACE_SECONDS`, a second Ctrl-C or SIGTERM."""
        if not refs:
            return
        if not self._force:
            self.say(
                f"stopping {len(refs)} Ray tasks (they remove their containers; Ctrl-C again "
                "to force)"
            )
            for ref in refs:
                ray.cancel(ref, force=False)
            deadline = time.monotonic() + GRACE_SECONDS
            try:
                while refs and time.monotonic() < deadline:
                    _, refs = ray.wait(refs, num_returns=len(refs), timeout=0)
                    if refs:
                        await asyncio.sleep(POLL_SECONDS)
            except BaseException:
                self._force = True
        for ref in refs:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # finished meanwhile
                continue
        if refs:  # let the killed workers go before the pinned cleanup lists what they left
            ray.wait(refs, num_returns=len(refs), timeout=FORCE_WAIT_SECONDS)


def in_cluster_cleanup(address: str, run_id: str | None) -> list[NodeCleanup]:
    """``paperbench sandbox cleanup --ray-address``: remove the sandboxes of ``run_id`` (all:
    None) on every node of the cluster at ``address``; (node, removed) per node.

    Raises:
        PaperbenchError: ray is not installed, or no cluster answers at ``address``.
    """
    ray = require_ray()
    connect(ray, address, 0)
    try:
        if not docker_nodes(ray):
            raise PaperbenchError(
                f"the Ray cluster at {address} has no node with the `docker` resource"
            )
        return clean_cluster(ray, None if run_id is None else [run_id])
    finally:
        ray.shutdown()
