"""Where a result came from: enough to tell two results apart and to reproduce one.

Every run directory gets ``provenance.json``: the harness version and git revision, Python and
library versions, the images' ids, hashes of the rubric and the judge's prompt templates, the
agent and judge models with their settings, the command line, and every option's value with
where it came from (command line, environment, config file, default). Secrets are redacted
before anything is written: option values whose name says key/token/secret/password, and any
value that looks like an API key, become ``"[redacted]"``.
"""

from __future__ import annotations

import platform
import re
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from paperbench import __version__
from paperbench.contracts import file_sha256, tree_sha256
from paperbench.resources import resource_dir
from paperbench.revision import git_revision

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"(api[_-]?key|token|secret|password|credential)", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"\b(sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})"
)
_LIBRARIES = ("docker", "openai", "anthropic", "pydantic", "typer", "rich", "jsonschema")


class Provenance(BaseModel):
    model_config = ConfigDict(frozen=True)

    paperbench_version: str
    git_sha: str | None
    git_dirty: bool | None
    python: str
    platform: str
    libraries: dict[str, str]
    created_at: datetime
    command_line: list[str]
    images: dict[str, str] = Field(default_factory=dict)
    rubric_sha256: str | None = None
    prompt_templates_sha256: str | None = None
    agent: dict[str, Any] = Field(default_factory=dict)
    judge: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    option_sources: dict[str, str] = Field(default_factory=dict)
    node: str | None = Field(default=None, description="the Ray node that ran it (--executor ray)")


def redact(value: Any, name: str = "") -> Any:
    """``value`` with secrets replaced, recursively through dicts and lists."""
    if name and _SECRET_NAME.search(name) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, dict):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def _library_versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def collect(
    *,
    rubric: Path | None = None,
    images: dict[str, str] | None = None,
    agent: dict[str, Any] | None = None,
    judge: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    option_sources: dict[str, str] | None = None,
    command_line: list[str] | None = None,
    node: str | None = None,
) -> Provenance:
    """Gather provenance for one run; every free-form value passes through :func:`redact`."""
    sha, dirty = git_revision()
    prompts = resource_dir("grader") / "prompts"
    return Provenance(
        paperbench_version=__version__,
        git_sha=sha,
        git_dirty=dirty,
        python=sys.version.split()[0],
        platform=platform.platform(),
        libraries=_library_versions(),
        created_at=datetime.now(UTC),
        command_line=redact(list(command_line if command_line is not None else sys.argv)),
        images=dict(images or {}),
        rubric_sha256=file_sha256(rubric) if rubric else None,
        prompt_templates_sha256=tree_sha256(prompts) if prompts.is_dir() else None,
        agent=redact(agent or {}),
        judge=redact(judge or {}),
        options=redact(options or {}),
        option_sources=dict(option_sources or {}),
        node=node,
    )
