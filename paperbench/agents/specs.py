"""Agent specs: the TOML files in ``agents/`` that name an agent, its kind, default model,
prompts and settings, and :func:`build_agent`, which turns a spec into an :class:`Agent`.

A spec (``agents/basic.toml``)::

    kind = "basic"                      # basic | iterative | reference | replay
    description = "..."
    model = "openai/gpt-4o"             # the default; a run may name another
    system_prompt = "prompts/basic_system.md"   # paths relative to the spec's folder
    nudge_prompt = "prompts/basic_nudge.md"
    [loop]                              # LoopSettings, minus the prompts
    reminder_every_steps = 5
    [limits]                            # AgentLimits added to the paper's time limit
    max_steps = 500

An agent is found by name among the bundled specs, or by a path to a ``.toml`` file, so users
add agents without touching the package. Unknown keys are errors (a misspelt limit must not be
silently ignored).

Agents that run in their own container are the other kind of definition: a folder with an
``agent.yaml`` (:mod:`paperbench.agents.definitions`), bundled (``agents/<name>/agent.yaml``,
found by its name) or given by path. They load into the same :class:`AgentSpec`, of kind
``container``, so a run's inputs, fingerprint and provenance treat both alike.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.agents.container import ContainerAgent
from paperbench.agents.definitions import ContainerDefinition, is_definition, load_definition
from paperbench.agents.loop import LoopSettings, ModelAgent
from paperbench.agents.protocol import Agent, AgentLimits
from paperbench.agents.scripted import ReferenceAgent, ReplayAgent
from paperbench.errors import PaperbenchError
from paperbench.llm.catalog import PriceTable, parse_model_name
from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle
from paperbench.resources import resource_dir

AgentKind = Literal["basic", "iterative", "reference", "replay", "container"]


class AgentSpecError(PaperbenchError):
    """An agent spec that cannot be found, read or used."""


class AgentSpec(BaseModel):
    """One agent spec file, loaded (prompt paths already read into text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: AgentKind
    description: str = ""
    model: str | None = None
    system_prompt: str | None = None
    nudge_prompt: str | None = None
    continue_prompt: str | None = None
    script: str | None = None
    loop: dict[str, Any] = Field(default_factory=dict)
    limits: AgentLimits = AgentLimits()
    source: str = ""
    container: ContainerDefinition | None = None


def bundled_specs() -> list[str]:
    """Names of the agents shipped with paperbench (TOML specs and ``agent.yaml`` folders)."""
    root = resource_dir("agents")
    folders = [path.name for path in root.iterdir() if path.is_dir() and is_definition(path)]
    return sorted([path.stem for path in root.glob("*.toml")] + folders)


def _container_spec(path: Path) -> AgentSpec:
    """Raises: AgentSpecError: the definition cannot be read."""
    try:
        definition = load_definition(path)
    except PaperbenchError as error:
        raise AgentSpecError(str(error)) from None
    folder = Path(definition.folder)
    return AgentSpec(
        name=folder.name,
        kind="container",
        description=definition.description,
        model=definition.model,
        limits=definition.limits,
        source=str(folder / "agent.yaml"),
        container=definition,
    )


def load_agent_spec(name_or_path: str) -> AgentSpec:
    """The spec named ``name_or_path`` (bundled) or stored at that path.

    Raises:
        AgentSpecError: no such agent, or the file is malformed; the message names the file.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in name_or_path:
        path = candidate
        if path.suffix != ".toml" and (is_definition(path) or path.suffix in (".yaml", ".yml")):
            return _container_spec(path)
    else:
        path = resource_dir("agents") / f"{name_or_path}.toml"
        folder = resource_dir("agents") / name_or_path
        if not path.is_file() and is_definition(folder):
            return _container_spec(folder)
        if not path.is_file():
            raise AgentSpecError(
                f"unknown agent {name_or_path!r}; bundled agents: {', '.join(bundled_specs())} "
                "(or give the path of a .toml spec or an agent.yaml folder)"
            )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgentSpecError(f"{path}: agent spec not found") from None
    except tomllib.TOMLDecodeError as error:
        raise AgentSpecError(f"{path}: not valid TOML ({error})") from None
    for key in ("system_prompt", "nudge_prompt", "continue_prompt"):
        if isinstance(raw.get(key), str):
            prompt = path.parent / raw[key]
            if not prompt.is_file():
                raise AgentSpecError(f"{path}: {key}: {prompt} not found")
            raw[key] = prompt.read_text(encoding="utf-8").strip()
    if isinstance(raw.get("script"), str):
        raw["script"] = str(path.parent / raw["script"])
    try:
        return AgentSpec.model_validate({"name": path.stem, **raw, "source": str(path)})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AgentSpecError(f"{path}: {where}: {first['msg']}") from None


def build_agent(
    spec: AgentSpec,
    paper: PaperBundle,
    *,
    model: str | None = None,
    script: Path | None = None,
    context_window: int | None = None,
    base_url: str | None = None,
    prices: PriceTable | None = None,
    retry: RetryPolicy | None = None,
    loop_overrides: dict[str, Any] | None = None,
) -> Agent:
    """An agent ready to run on ``paper``.

    Raises:
        AgentSpecError: the spec lacks what its kind needs (a model, a script, a solution).
        ModelNameError: the model name cannot be parsed or has no known context window.
        ScriptError: the replay script is malformed.
    """
    loop_settings = {**spec.loop, **(loop_overrides or {})}
    if spec.kind == "reference":
        if paper.solution_dir is None:
            raise AgentSpecError(
                f"paper {paper.id} has no reference solution (solution/reproduce.sh), so the "
                "reference agent cannot run on it"
            )
        return ReferenceAgent(paper.solution_dir)
    if spec.kind == "replay":
        path = script or (Path(spec.script) if spec.script else None)
        if path is None:
            raise AgentSpecError(f"{spec.source}: the replay agent needs a script (a YAML file)")
        scripted = {k: v for k, v in loop_settings.items() if k in _REPLAY_SETTINGS}
        return ReplayAgent.from_file(path, **scripted)
    name = model or spec.model
    if name is None:
        raise AgentSpecError(f"{spec.source}: no model given; name one in the spec or the run")
    if spec.kind == "container":
        assert spec.container is not None
        model_spec = parse_model_name(
            name,
            context_window=context_window,
            table=prices,
            base_url=base_url,
            window_option="--agent-context-window",
        )
        return ContainerAgent(spec.name, spec.container, model_spec, retry=retry)
    if spec.system_prompt is None:
        raise AgentSpecError(f"{spec.source}: a {spec.kind} agent needs a system_prompt")
    prompts = {
        key: value
        for key, value in (
            ("system_prompt", spec.system_prompt),
            ("nudge_prompt", spec.nudge_prompt),
            ("continue_prompt", spec.continue_prompt),
        )
        if value is not None
    }
    try:
        settings = LoopSettings.model_validate({**loop_settings, **prompts})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AgentSpecError(f"{spec.source}: loop.{where}: {first['msg']}") from None
    model_spec = parse_model_name(
        name,
        context_window=context_window,
        table=prices,
        base_url=base_url,
        window_option="--agent-context-window",
    )
    return ModelAgent(
        spec.name, model_spec, settings, iterative=spec.kind == "iterative", retry=retry
    )


_REPLAY_SETTINGS = {"command_timeout_seconds", "max_output_chars"}


def limits_for(paper: PaperBundle, spec: AgentSpec, **overrides: Any) -> AgentLimits:
    """The limits of a run: the spec's, with the paper's time limit as working time unless
    set, then ``overrides`` (``None`` values are ignored)."""
    values = spec.limits.model_dump()
    if values.get("working_time_seconds") is None:
        values["working_time_seconds"] = float(paper.config.agent.time_limit_seconds)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return AgentLimits.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise PaperbenchError(f"agent limit {first['loc'][0]}: {first['msg']}") from None
