"""The composition root: the eval pipeline wired to Docker, provenance and leftover cleanup.

``paperbench run`` and ``paperbench demo`` both call :func:`docker_orchestrator`, then run the
orchestrator it returns; the command-line modules only parse options and print.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paperbench.grading.grade import judge_spec
from paperbench.papers import PaperBundle, PaperRegistry
from paperbench.runs import provenance
from paperbench.runs.executors import executor_for
from paperbench.runs.orchestrator import Orchestrator, RunStatus
from paperbench.runs.record import RunRecord
from paperbench.runs.settings import RunSettings
from paperbench.sandbox.cleanup import remove_leftovers
from paperbench.sandbox.docker_backend import DockerSandbox, shared_client
from paperbench.sandbox.images import AGENT_IMAGE, image_provenance


def resolve_papers(settings: RunSettings) -> list[PaperBundle]:
    """The bundles the run names, in order.

    Raises:
        PaperError: a paper id or folder is unknown or malformed.
    """
    found = PaperRegistry.from_environment(settings.run.papers_dir)
    return [found.get(name) for name in settings.run.paper_names()]


def docker_orchestrator(
    settings: RunSettings,
    papers: list[PaperBundle],
    *,
    options: dict[str, object],
    option_sources: dict[str, str],
    say: Callable[[str], None] = print,
    on_change: Callable[[RunStatus], None] = lambda status: None,
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
