"""The conditions each paper of a run gets, resolved before any container starts.

A condition (network, time limits, GPUs, resources) has four possible sources, in this order:

1. an option of the run (``--agent-time-limit``, ``--reproduction-timeout``), which applies to
   every paper;
2. a value written in the paper's own ``config.yaml``: the place to override one paper;
3. the run's preset (``--preset paperbench``, :mod:`paperbench.runs.presets`);
4. paperbench's defaults (no network, 1 h, no GPU).

:func:`resolve_conditions` applies them: it returns the paper bundles with their settings as
the run will use them (the stages read the settings from the bundle they are given), which
host GPUs each paper's containers get, and a :class:`RunConditions` record that the run prints
at its start and writes into every run's provenance, each value with its source.

GPUs: a paper that needs ``N`` GPUs gets ``N`` devices of the host's (the ones it names, or of
the kind it names, or the first ``N``), passed to the agent's and the reproduction's containers
as a Docker device request. When the host has too few, the run stops here with one line that
names the paper and ``--allow-cpu-fallback``; with that flag the paper runs without a GPU, its
instructions say so, and the record says it fell back. Concurrent runs of papers share the
devices they are given.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from paperbench.agents.agent_env import AgentEnv, load_agent_env
from paperbench.errors import PaperbenchError
from paperbench.papers import (
    AgentNetworkPolicy,
    AgentSettings,
    GpuRequest,
    NetworkPolicy,
    PaperBundle,
    ReproductionSettings,
    Resources,
)
from paperbench.runs.presets import AGENT_ENV_NEEDS, PRESETS, Preset
from paperbench.runs.settings import RunSettings
from paperbench.sandbox.docker_config import host_config_kwargs
from paperbench.sandbox.gpus import HostGpu, HostGpus
from paperbench.sandbox.models import SandboxSpec

DEFAULT = "default"
PAPER = "config.yaml"


class GpuShortageError(PaperbenchError):
    """A paper needs more GPUs (or another kind) than the host has."""


class PaperConditions(BaseModel):
    """One paper's conditions as the run uses them, with each value's source."""

    model_config = ConfigDict(frozen=True)

    paper_id: str
    agent_network: AgentNetworkPolicy
    reproduction_network: NetworkPolicy
    agent_time_limit_seconds: float
    reproduction_time_limit_seconds: float
    cpus: float
    memory_mb: int
    gpus: GpuRequest
    gpu_devices: tuple[str, ...] = ()
    gpu_fallback: str | None = Field(None, description="why the paper runs without its GPUs")
    device_request: list[dict[str, Any]] = Field(
        default_factory=list, description="the Docker device request both containers get"
    )
    sources: dict[str, str]

    def line(self) -> str:
        """One line for the start of a run."""
        gpus = self.gpus.describe()
        if self.gpu_devices:
            gpus += f" -> device {', '.join(self.gpu_devices)}"
        elif self.gpu_fallback:
            gpus += " -> none (--allow-cpu-fallback)"
        return (
            f"{self.paper_id}: agent {self.agent_network} network, "
            f"{_hours(self.agent_time_limit_seconds)} [{self.sources['agent_time_limit']}]; "
            f"reproduction {self.reproduction_network} network, "
            f"{_hours(self.reproduction_time_limit_seconds)} "
            f"[{self.sources['reproduction_time_limit']}]; {self.cpus:g} CPUs, "
            f"{self.memory_mb} MB, {gpus} [{self.sources['gpus']}]"
        )


class RunConditions(BaseModel):
    """The conditions of a whole run: the preset, the agent's variables, every paper's."""

    model_config = ConfigDict(frozen=True)

    preset: str | None = None
    preset_why: dict[str, str] = Field(default_factory=dict)
    agent_env_file: str | None = None
    agent_env: dict[str, str] = Field(
        default_factory=dict, description="the --agent-env variables, values redacted"
    )
    host_gpus: list[str] = Field(default_factory=list)
    host_gpu_note: str = ""
    papers: dict[str, PaperConditions] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """What ``run`` prints before anything starts."""
        head = f"preset {self.preset}" if self.preset else "no preset (paperbench's defaults)"
        lines = [f"conditions: {head}"]
        lines += [f"  {what}: {why}" for what, why in self.preset_why.items()]
        if self.agent_env:
            lines.append(
                f"  agent-env {self.agent_env_file}: {', '.join(self.agent_env)} "
                "(agent container only)"
            )
        lines += [f"  {paper.line()}" for paper in self.papers.values()]
        lines += [f"  note: {note}" for note in self.notes]
        return lines

    def devices(self) -> dict[str, tuple[str, ...]]:
        """The host GPU devices each paper's containers get (the orchestrator's ``gpus``)."""
        return {paper_id: record.gpu_devices for paper_id, record in self.papers.items()}

    def for_paper(self, paper_id: str) -> dict[str, Any]:
        """What a run's provenance records: the run's conditions and this paper's."""
        record = self.model_dump(mode="json", exclude={"papers"})
        paper = self.papers.get(paper_id)
        record["paper"] = paper.model_dump(mode="json") if paper else None
        return record


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def _pick(
    explicit: bool, paper_value: Any, preset_value: Any, preset: Preset | None
) -> tuple[Any, str]:
    if explicit:
        return paper_value, PAPER
    if preset is not None:
        return preset_value, f"preset {preset.name}"
    return paper_value, DEFAULT


def assign_gpus(
    paper_id: str, request: GpuRequest, host: HostGpus, *, allow_cpu_fallback: bool
) -> tuple[tuple[str, ...], str | None]:
    """The host devices (by index) a paper's containers get, or none with the reason when
    the host falls short and ``allow_cpu_fallback`` is set.

    Raises:
        GpuShortageError: the host falls short and ``allow_cpu_fallback`` is not set.
    """
    if request.count == 0:
        return (), None
    candidates: list[HostGpu] = list(host.devices)
    if request.device_ids:
        candidates = [
            gpu for gpu in host.devices if any(gpu.matches(d) for d in request.device_ids)
        ]
    if request.kind:
        candidates = [gpu for gpu in candidates if request.kind.lower() in gpu.name.lower()]
    if len(candidates) >= request.count:
        return tuple(gpu.index for gpu in candidates[: request.count]), None
    have = (
        "this host has " + ", ".join(f"{gpu.index}: {gpu.name}" for gpu in host.devices)
        if host.devices
        else host.note or "this host has none"
    )
    why = f"paper {paper_id} needs {request.describe()} but {have}"
    if allow_cpu_fallback:
        return (), why
    raise GpuShortageError(
        f"{why}; pass --allow-cpu-fallback to run it without a GPU (its agent is told so), "
        "or set resources.gpus in its config.yaml"
    )


def require_devices(papers: list[PaperBundle], gpus: dict[str, tuple[str, ...]]) -> None:
    """Refuse to run a paper that needs GPUs without the devices for them (a run whose
    conditions were not resolved would otherwise run it on the CPU without a word).

    Raises:
        GpuShortageError: the first such paper, named.
    """
    for paper in papers:
        request = paper.config.resources.gpus
        if request.count > len(gpus.get(paper.id, ())):
            raise GpuShortageError(
                f"paper {paper.id} needs {request.describe()} but the run was given no device "
                "for it: resolve the run's conditions first (paperbench.runs.pipeline.plan_run)"
            )


def device_request(devices: tuple[str, ...]) -> list[dict[str, Any]]:
    """The device request Docker is sent for ``devices``, as the sandbox builds it."""
    if not devices:
        return []
    kwargs = host_config_kwargs(SandboxSpec(gpus=devices), "volume")
    return [dict(request) for request in kwargs["device_requests"]]


def paper_conditions(
    paper: PaperBundle,
    settings: RunSettings,
    preset: Preset | None,
    host: HostGpus,
) -> tuple[PaperBundle, PaperConditions]:
    """``paper`` with its settings as the run uses them, and the record of where each came
    from (see the module docstring).

    Raises:
        GpuShortageError: see :func:`assign_gpus`.
    """
    config = paper.config
    agent_set = config.agent.model_fields_set
    repro_set = config.reproduction.model_fields_set
    resources_set = config.resources.model_fields_set
    agent_network, agent_network_from = _pick(
        "network" in agent_set,
        config.agent.network,
        preset.agent_network if preset else None,
        preset,
    )
    agent_time, agent_time_from = _pick(
        "time_limit_seconds" in agent_set,
        config.agent.time_limit_seconds,
        preset.agent_time_limit_seconds if preset else None,
        preset,
    )
    repro_network, repro_network_from = _pick(
        "network" in repro_set,
        config.reproduction.network,
        preset.reproduction_network if preset else None,
        preset,
    )
    repro_time, repro_time_from = _pick(
        "time_limit_seconds" in repro_set,
        config.reproduction.time_limit_seconds,
        preset.reproduction_time_limit_seconds if preset else None,
        preset,
    )
    gpus, gpus_from = _pick(
        "gpus" in resources_set,
        config.resources.gpus,
        GpuRequest(count=preset.gpus) if preset else None,
        preset,
    )
    effective = config.model_copy(
        update={
            "agent": AgentSettings(network=agent_network, time_limit_seconds=agent_time),
            "reproduction": ReproductionSettings(
                network=repro_network, time_limit_seconds=repro_time
            ),
            "resources": Resources(
                cpus=config.resources.cpus, memory_mb=config.resources.memory_mb, gpus=gpus
            ),
        }
    )
    run = settings.run
    devices, fallback = assign_gpus(paper.id, gpus, host, allow_cpu_fallback=run.allow_cpu_fallback)
    if fallback is not None:
        # what the containers really get: the request stays in the record, with why
        effective = effective.model_copy(
            update={"resources": effective.resources.model_copy(update={"gpus": GpuRequest()})}
        )
    option_time = settings.agent.agent_time_limit
    option_repro = settings.reproduction.reproduction_timeout
    record = PaperConditions(
        paper_id=paper.id,
        agent_network=agent_network,
        reproduction_network=repro_network,
        agent_time_limit_seconds=option_time or float(agent_time),
        reproduction_time_limit_seconds=option_repro or float(repro_time),
        cpus=config.resources.cpus,
        memory_mb=config.resources.memory_mb,
        gpus=gpus,
        gpu_devices=devices,
        gpu_fallback=fallback,
        device_request=device_request(devices),
        sources={
            "agent_network": agent_network_from,
            "agent_time_limit": "--agent-time-limit" if option_time else agent_time_from,
            "reproduction_network": repro_network_from,
            "reproduction_time_limit": "--reproduction-timeout"
            if option_repro
            else repro_time_from,
            "gpus": gpus_from,
        },
    )
    return dataclasses.replace(paper, config=effective), record


def resolve_conditions(
    settings: RunSettings, papers: list[PaperBundle], host: HostGpus
) -> tuple[RunSettings, list[PaperBundle], RunConditions]:
    """The run's settings with the preset applied (snapshot interval), the papers with their
    conditions, and the record of it all (see the module docstring).

    Raises:
        GpuShortageError: a paper needs more GPUs than the host has (see :func:`assign_gpus`).
        AgentEnvError: the ``--agent-env`` file cannot be used.
    """
    preset = PRESETS[settings.run.preset] if settings.run.preset else None
    if preset is not None and settings.agent.snapshot_interval is None:
        agent = settings.agent.model_copy(
            update={"snapshot_interval": preset.snapshot_interval_seconds}
        )
        settings = settings.model_copy(update={"agent": agent})
    env: AgentEnv | None = None
    if settings.agent.agent_env is not None:
        env = load_agent_env(settings.agent.agent_env)
    resolved: list[PaperBundle] = []
    records: dict[str, PaperConditions] = {}
    for paper in papers:
        bundle, record = paper_conditions(paper, settings, preset, host)
        resolved.append(bundle)
        records[paper.id] = record
    notes = [
        f"{record.gpu_fallback}: it runs without a GPU (--allow-cpu-fallback)"
        for record in records.values()
        if record.gpu_fallback
    ]
    if preset is not None:
        for paper in papers:
            need = AGENT_ENV_NEEDS.get(paper.id)
            if need and (env is None or need.split()[0] not in env.values):
                notes.append(
                    f"PaperBench gives {paper.id}'s agent {need} in its agent.env; without it "
                    "(--agent-env FILE) that part cannot be replicated"
                )
    return (
        settings,
        resolved,
        RunConditions(
            preset=preset.name if preset else None,
            preset_why=dict(preset.why) if preset else {},
            agent_env_file=str(env.path) if env else None,
            agent_env=env.redacted() if env else {},
            host_gpus=[f"{gpu.index}: {gpu.name} ({gpu.uuid})" for gpu in host.devices],
            host_gpu_note=host.note,
            papers=records,
            notes=notes,
        ),
    )
