"""Where a result came from: enough to tell two results apart and to reproduce one.

Every run directory gets ``provenance.json``: the harness version and git revision, Python and
library versions, the images' ids, hashes of the rubric and the judge's prompt templates, the
agent and judge models with their settings, the command line, and every option's value with
where it came from (command line, environment, config file, default). Secrets are redacted
before anything is written: the value of an option whose name says key/token/secret/password
(also on the command line, as ``--api-key X`` or ``--api-key=X``) is registered as a secret and
replaced whole, and every string then goes through :func:`paperbench.secrets.redact_json`, which
replaces every secret the harness knows by value, anything shaped like an API key, and the
userinfo of URLs.
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

from paperbench import __version__, secrets
from paperbench.contracts import file_sha256, tree_sha256
from paperbench.resources import resource_dir
from paperbench.revision import git_revision
from paperbench.secrets import REDACTED, SECRET_NAME

_OPTION = re.compile(r"--?([A-Za-z0-9][A-Za-z0-9_.-]*)(=(.*))?", re.DOTALL)
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
    conditions: dict[str, Any] = Field(
        default_factory=dict,
        description="the preset, the --agent-env names and the paper's resolved conditions "
        "with their sources, its GPU devices and Docker device request",
    )
    node: str | None = Field(default=None, description="the Ray node that ran it (--executor ray)")


def redact(value: Any, name: str = "") -> Any:
    """``value`` with secrets replaced, recursively through dicts and lists: the value of a
    secret-named key whole, a URL's userinfo (both registered, so they are redacted wherever
    else they appear), every other string by value (:func:`paperbench.secrets.redact_json`).
    Only for the harness's own settings: what it is given is learned as secrets."""
    return secrets.redact_json(_by_name(value, name))


def _by_name(value: Any, name: str) -> Any:
    if name and SECRET_NAME.search(name) and value not in (None, "", False):
        if isinstance(value, str):
            secrets.register(value, f"option {name}")
        return REDACTED
    if isinstance(value, str) and "://" in value:
        return secrets.strip_userinfo(value)  # learns the password: settings are trusted
    if isinstance(value, dict):
        return {key: _by_name(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_by_name(item, "") for item in value]
    return value


def redact_command_line(arguments: list[str]) -> list[str]:
    """The command line with the value of every secret-named option replaced (``--api-key X``
    and ``--api-key=X`` alike) and URLs without userinfo (both registered), then redacted by
    value."""
    kept: list[str] = []
    secret_next = False
    for argument in arguments:
        if secret_next:
            secrets.register(argument, "command-line option")
            kept.append(REDACTED)
            secret_next = False
            continue
        option = _OPTION.fullmatch(argument)
        if option and SECRET_NAME.search(option.group(1)):
            if option.group(2) is None:
                secret_next = True
                kept.append(argument)
            else:
                secrets.register(option.group(3), "command-line option")
                kept.append(f"{argument.split('=', 1)[0]}={REDACTED}")
            continue
        kept.append(secrets.strip_userinfo(argument))
    return list(secrets.redact_json(kept))


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
    conditions: dict[str, Any] | None = None,
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
        command_line=redact_command_line(
            list(command_line if command_line is not None else sys.argv)
        ),
        images=dict(images or {}),
        rubric_sha256=file_sha256(rubric) if rubric else None,
        prompt_templates_sha256=tree_sha256(prompts) if prompts.is_dir() else None,
        agent=redact(agent or {}),
        judge=redact(judge or {}),
        options=redact(options or {}),
        option_sources=dict(option_sources or {}),
        conditions=redact(conditions or {}),
        node=node,
    )
