"""The composition root: the eval pipeline wired to Docker, provenance and leftover cleanup.

``paperbench run`` and ``paperbench demo`` both call :func:`docker_orchestrator`, then run the
orchestrator it returns; the command-line modules only parse options and print.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paperbench.errors import PaperError
from paperbench.grading.grade import judge_spec
from paperbench.papers import PaperBundle, PaperRegistry
from paperbench.runs import provenance
from paperbench.runs.conditions import RunConditions, resolve_conditions
from paperbench.runs.executors import executor_for
from paperbench.runs.orchestrator import Orchestrator, RunStatus
from paperbench.runs.record import RunRecord
from paperbench.runs.settings import RunSettings
from paperbench.sandbox.cleanup import remove_leftovers
from paperbench.sandbox.docker_backend import DockerSandbox, shared_client
from paperbench.sandbox.gpus import HostGpus, host_gpus
from paperbench.sandbox.images import AGENT_IMAGE, image_provenance
from paperbench.splits import paper_selection


def resolve_papers(settings: RunSettings) -> list[PaperBundle]:
    """The bundles the run names (``--split``'s papers, then ``--papers``), in order.

    Raises:
        PaperError: no paper is named, a split or paper id is unknown, or a bundle is
            malformed.
    """
    found = PaperRegistry.from_environment(settings.run.papers_dir)
    names, split = paper_selection(settings.run.paper_names(), settings.run.split, found)
    known = {entry.id for entry in found.entries()}
    lacking = [name for name in split.paper_ids if name not in known] if split else []
    if split and lacking:
        raise PaperError(
            f"--split {split.name} ({split.path}) names {', '.join(lacking)}, not among your "
            "papers; import them with `paperbench papers import PAPERBENCH_DATA_DIR` (their "
            "texts need `git lfs`)"
        )
    return [found.get(name) for name in names]


def plan_run(
    settings: RunSettings, papers: list[PaperBundle], host: HostGpus | None = None
) -> tuple[RunSettings, list[PaperBundle], RunConditions]:
    """The run's settings and papers with their conditions resolved (preset, the papers'
    ``config.yaml``, the host's GPUs: :mod:`paperbench.runs.conditions`). The host's GPUs
    are looked up only when some paper may need one.

    Raises:
        GpuShortageError: a paper needs more GPUs than the host has.
        AgentEnvError: the ``--agent-env`` file cannot be used.
    """
    if host is None:
        wants_gpu = settings.run.preset is not None or any(
            paper.config.resources.gpus.count for paper in papers
        )
        host = host_gpus() if wants_gpu else HostGpus((), "not looked up (no paper needs one)")
    return resolve_conditions(settings, papers, host)


def docker_orchestrator(
    settings: RunSettings,
    papers: list[PaperBundle],
    *,
    options: dict[str, object],
    option_sources: dict[str, str],
    say: Callable[[str], None] = print,
    on_change: Callable[[RunStatus], None] = lambda status: None,
    conditions: RunConditions | None = None,
    command_line: list[str] | None = None,
    node: str | None = None,
) -> Orchestrator:
    """An orchestrator whose sandboxes are Docker containers, whose runs record provenance,
    and which removes containers a killed earlier invocation left behind. It has passed its
    :meth:`~Orchestrator.preflight`: nothing has started yet. Its executor is the one
    ``--executor`` names; with ``ray``, images are looked up by each node on its own engine, so
    this process needs no engine. ``command_line`` and ``node`` are what provenance records
    when a cluster node runs this for a driver elsewhere.

    Raises:
        PaperbenchError: a problem that would fail every run (see ``preflight``), or no engine.
    """
    judge = settings.judge.resolved()
    images: dict[str, str] = {}

    def record_provenance(paper: PaperBundle) -> dict[str, Any]:
        spec = judge_spec(judge)
        return provenance.collect(
            rubric=paper.rubric_path,
            images=images,
            agent={**settings.agent.model_dump(mode="json"), "label": settings.agent_label()},
            judge={**judge.model_dump(mode="json"), "context_window": spec.context_window},
            options=options,
            option_sources=option_sources,
            conditions=conditions.for_paper(paper.id) if conditions else None,
            command_line=command_line,
            node=node,
        ).model_dump(mode="json")

    def cleanup(run_id: str) -> None:
        for leftover in remove_leftovers(shared_client(), run_id):
            say(f"removed a leftover {leftover.kind} {leftover.name} of {run_id}")

    orchestrator = Orchestrator(
        settings,
        papers,
        DockerSandbox,
        record_provenance,
        cleanup,
        images=images,
        on_change=on_change,
        gpus=conditions.devices() if conditions else {},
        executor=executor_for(settings, options=options, option_sources=option_sources, say=say),
    )
    orchestrator.preflight()
    if settings.run.executor == "local":
        client = shared_client()
        names = [AGENT_IMAGE, settings.reproduction.reproducer_image]
        images.update(image_provenance(client, names))
    return orchestrator


def failed_runs(records: list[RunRecord]) -> list[RunRecord]:
    """The runs that ended in a failure class or with invalid leaves: ``run`` exits 1 for them."""
    return [record for record in records if record.failures or record.invalid_leaves]
