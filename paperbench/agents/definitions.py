"""Bring-your-own agents: ``agents/<name>/agent.yaml``, an agent that runs *in* its container.

Our loops run on the host and send only tool calls into the sandbox; a bring-your-own agent —
an OpenHands or SWE-agent setup, a Codex- or Claude-Code-style CLI, aider, a Python program —
runs entirely inside the container and calls its model through the run's model gateway
(:mod:`paperbench.gateway`), which holds the real key on the host. A definition says which
image, which command, which environment, and how the run ends::

    description: A tiny agent on the openai client.
    model: openai/gpt-4o-mini           # the default; --agent-model overrides
    image:
      build:                            # built offline on our agent image, or:  name: my/img:tag
        pip: ["openai>=1.40"]           # wheels fetched on the host, installed in a venv
        apt: [curl]                     # Debian packages (the build reaches Debian's mirror)
        copy: [agent.py]                # files of this folder, copied to /opt/agent/
        run: ["chmod +x /opt/agent/agent.py"]
    command: ["/opt/agent/venv/bin/python", "/opt/agent/agent.py"]
    env:                                # added to the standard variables below
      AGENT_MODEL: "{model}"
    workdir: /home/agent
    end: {when: exit}                   # or {when: file, file: /home/agent/done}
    limits: {max_tokens: 2000000}       # AgentLimits; the paper's time limit as working time

Every command gets ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``ANTHROPIC_BASE_URL``,
``ANTHROPIC_API_KEY`` (the run's gateway and token, never a real key), ``PAPERBENCH_MODEL``,
``PAPERBENCH_INSTRUCTIONS`` (the task as a file), ``PAPERBENCH_PAPER_DIR`` and
``PAPERBENCH_SUBMISSION_DIR`` (and ``PAPERBENCH_END_FILE`` when the run ends on a file).
``env`` values may use ``{model}``, ``{gateway_url}``, ``{openai_base_url}``,
``{anthropic_base_url}``, ``{token}``, ``{instructions}``, ``{paper_dir}``,
``{submission_dir}``; anything else in braces is an error at load time.

A built image is named ``paperbench/agent-<name>:<hash>``, the hash covering the ``build``
section, the copied files and the base image's id, so an unchanged agent is never rebuilt and
a changed one never reuses a stale image. The build has the network Docker gives builds (for
``apt``); Python packages come as wheels fetched on the host
(:func:`paperbench.sandbox.wheels.download_wheels`), because pip inside a build cannot verify
TLS on machines whose traffic is intercepted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import string
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

import docker
import yaml
from docker.errors import BuildError, ImageNotFound
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from paperbench.agents.protocol import AgentLimits
from paperbench.errors import PaperbenchError
from paperbench.sandbox.images import AGENT_IMAGE, BASE_ID_LABEL, RECIPE_LABEL, require_image
from paperbench.sandbox.wheels import download_wheels

DEFINITION_FILE = "agent.yaml"
AGENT_DIR = "/opt/agent"
PLACEHOLDERS = (
    "model",
    "gateway_url",
    "openai_base_url",
    "anthropic_base_url",
    "token",
    "instructions",
    "paper_dir",
    "submission_dir",
)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImageBuild(_Strict):
    """Layers added to our agent image (or ``base``), built offline."""

    base: str = AGENT_IMAGE
    pip: tuple[str, ...] = ()
    apt: tuple[str, ...] = ()
    copy_files: tuple[str, ...] = Field((), alias="copy")
    run: tuple[str, ...] = ()

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("apt")
    @classmethod
    def _package_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not name or not all(c.isalnum() or c in "+-.:=~" for c in name):
                raise ValueError(f"{name!r} is not a Debian package name")
        return value

    @field_validator("copy_files")
    @classmethod
    def _relative(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            parts = Path(name).parts
            if not parts or Path(name).is_absolute() or ".." in parts:
                raise ValueError(f"{name!r} must be a path inside the agent's folder")
        return value


class ImageChoice(_Strict):
    """Exactly one of: an image to build, or the name of an image already on the engine."""

    name: str | None = None
    build: ImageBuild | None = None


class EndCondition(_Strict):
    """How the run ends besides a limit: the command exits, or it writes ``file``."""

    when: Literal["exit", "file"] = "exit"
    file: str | None = None
    poll_seconds: float = Field(2.0, gt=0, le=60)


class ContainerDefinition(_Strict):
    """One ``agent.yaml``, loaded and checked (see the module docstring)."""

    description: str = ""
    model: str | None = None
    image: ImageChoice
    command: tuple[str, ...] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str = "/home/agent"
    end: EndCondition = EndCondition()
    limits: AgentLimits = AgentLimits()
    folder: str = Field("", description="where agent.yaml was found")
    files_sha256: str = Field("", description="digest of the files copied into the image")


def is_definition(path: Path) -> bool:
    """Whether ``path`` is an ``agent.yaml`` or a folder holding one."""
    return path.name == DEFINITION_FILE or (path / DEFINITION_FILE).is_file()


def load_definition(path: Path) -> ContainerDefinition:
    """Load ``path`` (``agent.yaml`` or its folder).

    Raises:
        PaperbenchError: the file is missing, not YAML, or breaks a rule; the message names the
            file and the setting.
    """
    file = path if path.name == DEFINITION_FILE else path / DEFINITION_FILE
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperbenchError(f"{file}: agent definition not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise PaperbenchError(f"{file}: not valid YAML{line} ({problem})") from None
    if not isinstance(raw, dict):
        raise PaperbenchError(f"{file}: expected a mapping of settings")
    if isinstance(raw.get("command"), str):
        raise PaperbenchError(f"{file}: command: give a list (argv), e.g. [python3, agent.py]")
    folder = file.parent.resolve()
    try:
        definition = ContainerDefinition.model_validate({**raw, "folder": str(folder)})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PaperbenchError(f"{file}: {where}: {first['msg']}") from None
    image = definition.image
    if (image.name is None) == (image.build is None):
        raise PaperbenchError(f"{file}: image: give either name (an existing image) or build")
    if definition.end.when == "file" and not definition.end.file:
        raise PaperbenchError(f"{file}: end: when: file needs file: /path/it/writes")
    for key, value in definition.env.items():
        unknown = _unknown_placeholders(value)
        if unknown:
            raise PaperbenchError(
                f"{file}: env.{key}: unknown placeholder {{{unknown[0]}}}; known: "
                + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
            )
    digest = hashlib.sha256()
    for name in image.build.copy_files if image.build else ():
        source = folder / name
        if not source.is_file():
            raise PaperbenchError(f"{file}: image.build.copy: {name} is not a file in {folder}")
        digest.update(name.encode() + b"\0" + source.read_bytes() + b"\0")
    return definition.model_copy(update={"files_sha256": digest.hexdigest()})


def _unknown_placeholders(value: str) -> list[str]:
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
    except ValueError:
        return ["(unbalanced braces)"]
    return [name for name in names if name not in PLACEHOLDERS]


def render_env(definition: ContainerDefinition, values: dict[str, str]) -> dict[str, str]:
    """The definition's ``env`` with its placeholders filled from ``values``."""
    return {key: value.format_map(values) for key, value in definition.env.items()}


# -- the image -------------------------------------------------------------------------------------


def image_name(name: str, definition: ContainerDefinition, base_id: str) -> str:
    """The tag of the built image: ``paperbench/agent-<name>:<recipe hash>``."""
    assert definition.image.build is not None
    recipe = json.dumps(definition.image.build.model_dump(by_alias=True), sort_keys=True)
    digest = hashlib.sha256(f"{recipe}\0{definition.files_sha256}\0{base_id}".encode())
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.lower())[:60]
    return f"paperbench/agent-{slug}:{digest.hexdigest()[:16]}"


def resolve_image(
    client: docker.DockerClient, name: str, definition: ContainerDefinition
) -> tuple[str, str]:
    """``(image, identity)`` of the agent's image, without building: an existing image's id,
    or a built image's tag (which carries its recipe hash) — what a run's fingerprint needs.

    Raises:
        ImageMissingError: the named image, or the base of a build, is not on the engine.
    """
    if definition.image.name is not None:
        return definition.image.name, require_image(client, definition.image.name)
    assert definition.image.build is not None
    base_id = require_image(client, definition.image.build.base)
    tag = image_name(name, definition, base_id)
    return tag, tag


_build_lock = threading.Lock()


def ensure_image(client: docker.DockerClient, name: str, definition: ContainerDefinition) -> str:
    """Build the agent's image unless it exists; returns its tag (blocking: run it in a thread).

    Raises:
        ImageMissingError: the base image is not built.
        PaperbenchError: fetching wheels or the build failed; the message names the step.
    """
    tag, _ = resolve_image(client, name, definition)
    build = definition.image.build
    if build is None:
        return tag
    with _build_lock:
        try:
            client.images.get(tag)
            return tag
        except ImageNotFound:
            pass
        _build(client, tag, build, Path(definition.folder))
    return tag


def _build(client: docker.DockerClient, tag: str, build: ImageBuild, folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="paperbench-agent-image-") as work:
        context = Path(work)
        lines = [f"FROM {build.base}"]
        if build.apt:
            lines.append(
                "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                "--no-install-recommends " + " ".join(build.apt) + " && rm -rf /var/lib/apt/lists/*"
            )
        if build.pip:
            download_wheels(list(build.pip), context / "wheels")
            lines += [
                "COPY wheels /tmp/paperbench-wheels",
                f"RUN python3 -m venv {AGENT_DIR}/venv && {AGENT_DIR}/venv/bin/pip install -q "
                "--no-index --find-links /tmp/paperbench-wheels "
                "-r /tmp/paperbench-wheels/requirements.txt && rm -rf /tmp/paperbench-wheels",
            ]
        (context / "files").mkdir()
        for name in build.copy_files:
            target = context / "files" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, target)
        if build.copy_files:
            lines.append(f"COPY files/ {AGENT_DIR}/")
        lines += [f"RUN {command}" for command in build.run]
        lines.append("LABEL org.paperbench.role=agent")
        (context / "Dockerfile").write_text("\n".join(lines) + "\n", encoding="utf-8")
        base_id = require_image(client, build.base)
        try:
            client.images.build(
                path=str(context),
                tag=tag,
                labels={RECIPE_LABEL: tag.rpartition(":")[2], BASE_ID_LABEL: base_id},
                pull=False,
                rm=True,
                forcerm=True,
            )
        except BuildError as error:
            tail = [str(entry.get("stream", "")).strip() for entry in error.build_log]
            detail = " | ".join(line for line in tail if line)[-400:]
            raise PaperbenchError(
                f"building agent image {tag} failed: {error.msg} ({detail})"
            ) from None
        except docker.errors.APIError as error:
            raise PaperbenchError(f"building agent image {tag} failed: {error}") from None


def describe(definition: ContainerDefinition) -> dict[str, Any]:
    """What the transcript's start event says about the agent."""
    return {
        "image": definition.image.name or "built",
        "command": list(definition.command),
        "end": definition.end.model_dump(),
    }
