"""What runs on a Ray node for ``paperbench run --executor ray``: a run's stage chain, the node's
check and cleanup, and the board that carries progress back to the driver.

A node rebuilds everything from small, serialisable arguments — the settings as JSON, each
paper by its folder — and calls the same :meth:`Orchestrator.run_one
<paperbench.runs.orchestrator.Orchestrator.run_one>` as ``--executor local``, through the same
composition root (:func:`paperbench.runs.pipeline.docker_orchestrator`) on the node's own Docker
engine. The run root is a folder every node sees at the same path (a shared filesystem), where
run directories are written in place, or an fsspec URL (``s3://...``), which a task mirrors into
a staging folder of its node (:mod:`paperbench.runs.remote_root`): pulled before the chain,
pushed after every ``state.json`` change, removed when the task ends. Either way a stage's files
are there before ``state.json`` says it is done, so any node, or the next invocation, resumes
from another node's partial work. A task returns the run's record as JSON, never artifacts
through Ray's object store.

API keys are read from each node's own environment (as ``ray start`` was given it): the driver
never sends one through the cluster. These functions import ``ray`` only where they need it, so
this module imports without it.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from paperbench import __version__
from paperbench.errors import PaperbenchError
from paperbench.papers import PaperBundle, load_bundle
from paperbench.revision import git_revision
from paperbench.runs.settings import RunSettings

T = TypeVar("T")

#: How often the event loop of a task wakes up, at least. Ray's polite cancel raises
#: KeyboardInterrupt in the task's main thread only when that thread runs Python; an event loop
#: asleep in ``select`` on a long container wait would not notice it for minutes.
TICK_SECONDS = 0.25


class ChainRequest(BaseModel):
    """One (paper, seed) for a node: everything :func:`run_chain` needs, small and plain."""

    model_config = ConfigDict(frozen=True)

    settings: RunSettings
    paper_root: Path
    seed: int
    options: dict[str, Any]
    option_sources: dict[str, str]
    command_line: list[str]
    cwd: Path


class NodeCheckRequest(BaseModel):
    """What every node must be able to do before any run starts, and the runs to clean up."""

    model_config = ConfigDict(frozen=True)

    settings: RunSettings
    paper_roots: list[Path]
    run_ids: list[str]
    cwd: Path
    version: str
    git_sha: str | None


@dataclass
class NodeReport:
    """What a node said about itself: problems that would fail its runs, leftovers removed."""

    node_id: str
    name: str
    problems: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)


class ProgressBoard:
    """A Ray actor (``num_cpus=0``) where tasks post their stage changes and the driver takes
    them, so the live view and the progress lines show every run's stage and node."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def post(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def take(self) -> list[dict[str, Any]]:
        taken, self.events = self.events, []
        return taken


def node_label() -> tuple[str, str]:
    """This node's id and the name it shows (``ray start --node-name``, else its address)."""
    ray: Any = importlib.import_module("ray")
    node_id = ray.get_runtime_context().get_node_id()
    for node in ray.nodes():
        if node.get("NodeID") == node_id:
            return node_id, str(node.get("NodeName") or node.get("NodeManagerAddress") or "")
    return node_id, node_id[:8]


def _enter(cwd: Path) -> None:
    """Work from the driver's folder when this node sees it, so that paths the user gave
    relative to it (an agent spec, say) mean the same here."""
    if cwd.is_dir():
        os.chdir(cwd)


def _on_node(settings: RunSettings) -> RunSettings:
    """The settings as this node runs them: its runs go one at a time, in this process."""
    run = settings.run.model_copy(update={"executor": "local", "concurrency": 1})
    return settings.model_copy(update={"run": run})


def _load_paper(root: Path, node: str) -> PaperBundle:
    """
    Raises:
        PaperError: the folder is not visible here, or is not a paper bundle.
    """
    try:
        return load_bundle(root)
    except PaperbenchError as error:
        raise type(error)(
            f"node {node}: {error} (paper folders must be on a filesystem every node sees, "
            "at the same path)"
        ) from None


async def _responsive(work: Coroutine[Any, Any, T]) -> T:
    """``work``, with the event loop woken every :data:`TICK_SECONDS` so that a cancel from
    the driver unwinds it (closing its sandboxes) within a fraction of a second."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)

    ticker = asyncio.ensure_future(tick())
    try:
        return await work
    finally:
        ticker.cancel()


def run_chain(request_json: str, board: Any) -> str:
    """Run one (paper, seed) through its stages on this node; its ``RunRecord`` as JSON.

    ``board`` is the driver's :class:`ProgressBoard` actor handle (or None).

    Raises:
        PaperbenchError: a problem the user must fix (a paper folder this node does not see, a
            missing image or key); the driver reports it in one line.
    """
    from paperbench.runs.pipeline import docker_orchestrator, plan_run

    request = ChainRequest.model_validate_json(request_json)
    _enter(request.cwd)
    node_id, name = node_label()
    paper = _load_paper(request.paper_root, name)
    run = request.settings.run.model_copy(update={"first_seed": request.seed, "seeds": 1})
    settings = _on_node(request.settings.model_copy(update={"run": run}))
    # The paper's conditions (a preset, its GPUs) are resolved here, against this node's own
    # devices, as the driver resolved them for its dry run and preflight.
    settings, [paper], conditions = plan_run(settings, [paper])

    def post(status: Any) -> None:
        if board is not None:
            board.post.remote(
                {
                    "paper_id": status.paper_id,
                    "seed": status.seed,
                    "stage": status.stage,
                    "node": name,
                    "node_id": node_id,
                }
            )

    orchestrator = docker_orchestrator(
        settings,
        [paper],
        options=request.options,
        option_sources=request.option_sources,
        say=lambda text: None,
        on_change=post,
        conditions=conditions,
        command_line=request.command_line,
        node=name,
    )
    [status] = orchestrator.statuses
    status.node = name
    post(status)
    try:
        record = asyncio.run(_responsive(orchestrator.run_one(paper, status)))
    finally:
        orchestrator.close()
    return record.model_dump_json()


def check_node(request_json: str) -> NodeReport:
    """Check this node can run the runs, and remove what earlier invocations of these runs left
    here (a force-cancel, a killed driver or a dead node end tasks with no cleanup)."""
    from paperbench.runs.orchestrator import Orchestrator
    from paperbench.sandbox.docker_backend import DockerSandbox, shared_client
    from paperbench.sandbox.images import AGENT_IMAGE, image_provenance

    node_id, name = node_label()
    report = NodeReport(node_id, name)
    try:
        request = NodeCheckRequest.model_validate_json(request_json)
    except ValidationError as error:  # e.g. a URL run root without fsspec on this node
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        report.problems.append(f"node {name}: {where}: {reason}")
        return report
    _enter(request.cwd)
    sha, _ = git_revision()
    if (__version__, sha) != (request.version, request.git_sha):
        report.problems.append(
            f"node {name} has paperbench {__version__} ({sha or 'no git revision'}), the "
            f"driver {request.version} ({request.git_sha or 'no git revision'}): install the "
            "same paperbench on every node"
        )
    try:
        papers = [_load_paper(root, name) for root in request.paper_roots]
        settings = _on_node(request.settings)
        Orchestrator(settings, papers, DockerSandbox).preflight()
        client = shared_client()
        report.images = image_provenance(
            client, [AGENT_IMAGE, settings.reproduction.reproducer_image]
        )
    except PaperbenchError as error:
        report.problems.append(
            str(error) if str(error).startswith("node ") else f"node {name}: {error}"
        )
        return report
    report.removed = remove_runs(request.run_ids)
    return report


def remove_runs(run_ids: list[str]) -> list[str]:
    """Remove the labelled containers and volumes of ``run_ids`` from this node's engine;
    what went, as ``kind name (run)``.

    Raises:
        DockerUnavailableError: no engine answers on this node.
        docker.errors.APIError: the engine refused a removal.
    """
    from paperbench.sandbox.docker_backend import shared_client

    client = shared_client()
    removed: list[str] = []
    for run_id in run_ids:
        removed += [f"{item.kind} {item.name} ({run_id})" for item in _remove(client, run_id)]
    return removed


def _remove(client: Any, run_id: str | None) -> list[Any]:
    """:func:`remove_leftovers` (which leaves an object to another remover of it: nodes that
    share an engine clean the same run at once)."""
    from paperbench.sandbox.cleanup import remove_leftovers

    return remove_leftovers(client, run_id)


def clean_node(run_ids: list[str] | None) -> tuple[str, list[str]]:
    """This node's name and what it removed of ``run_ids`` (every managed sandbox when None:
    only ``paperbench sandbox cleanup --all`` asks for that)."""
    from paperbench.sandbox.docker_backend import shared_client

    _, name = node_label()
    if run_ids is not None:
        return name, remove_runs(run_ids)
    removed = _remove(shared_client(), None)
    return name, [f"{item.kind} {item.name} ({item.run_id})" for item in removed]
