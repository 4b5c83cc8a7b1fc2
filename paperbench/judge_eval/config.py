"""Judge configurations to compare: each one is the grading stage's own
:class:`~paperbench.grading.options.JudgeOptions`, with a label for tables.

Nothing here declares an option: a judge configuration has exactly the options ``paperbench
grade`` has, under the same names, because it *is* a ``JudgeOptions``. Several are compared in
one run from a TOML file (``--configs FILE``), one ``[[config]]`` table each. The keys are
``JudgeOptions``' field names, written with dashes or underscores (``max-depth``,
``judge-context-window``, ``judge_temperature``) plus ``label`` in a table. Top-level keys are
defaults for every table, and the command line's judge options (with the environment and
``--config``) are defaults under those::

    judge = "openai/o3-mini"          # default for every configuration below
    reasoning-effort = "high"

    [[config]]
    label = "o3-mini, one leaf per call"

    [[config]]
    label = "o3-mini, batch 8"
    batch = 8

    [[config]]
    judge = "anthropic/claude-sonnet-4-5"
    max-depth = 2

An unknown key is an error that names the file, the table and the key. A configuration's judge
is resolved when it is loaded (``judge`` unset means what it means for ``paperbench grade``:
the model your API keys allow), so the report names the model that was measured.

Repeats (``--repeats K``) are not a property of a judge: :func:`for_repeats` turns the judge's
reply cache off when there is more than one, since the cache would hand every later repeat the
first one's replies, and repeats exist to see the judge vary.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from paperbench.errors import PaperbenchError
from paperbench.grading.options import JudgeOptions


class ConfigFileError(PaperbenchError):
    """A configurations file is unreadable or sets something no judge configuration has."""


class JudgeConfig(BaseModel):
    """One judge configuration: the judge's options, and what tables call it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = Field(default=None, description="Name in tables (default: derived).")
    options: JudgeOptions

    @field_validator("options")
    @classmethod
    def _resolve(cls, options: JudgeOptions) -> JudgeOptions:
        """A configuration's judge and batch size are always settled, so its name, its cache
        key and its report say what was run rather than ``None``."""
        return options.resolved()

    @property
    def name(self) -> str:
        """The label, or one made from the settings that change what the judge answers."""
        if self.label:
            return self.label
        options = self.options
        parts = [options.model_name, f"batch {options.batch}"]
        if options.max_depth is not None:
            parts.append(f"max-depth {options.max_depth}")
        if options.reasoning_effort is not None:
            parts.append(f"effort {options.reasoning_effort}")
        if options.code_dev:
            parts.append("code-dev")
        if options.judge_temperature is not None:
            parts.append(f"temperature {options.judge_temperature:g}")
        if options.judge_prompts is not None:
            parts.append(f"prompts {options.judge_prompts.name}")
        return ", ".join(parts)


def for_repeats(options: JudgeOptions, repeats: int) -> JudgeOptions:
    """``options`` as they grade under ``repeats`` repeats: without the reply cache when there
    is more than one (see the module docstring)."""
    if repeats > 1 and options.cache:
        return options.model_copy(update={"cache": False})
    return options


def _field(key: str) -> str:
    return key.replace("-", "_")


def _known() -> str:
    return ", ".join(name.replace("_", "-") for name in JudgeOptions.model_fields)


def _settings(table: dict[str, Any], where: str, *, label_allowed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = _field(key)
        if (name == "label" and label_allowed) or name in JudgeOptions.model_fields:
            out[name] = value
        else:
            scope = "" if label_allowed else " that applies to every configuration"
            raise ConfigFileError(
                f"{where}: {key}: not a judge option{scope}; known: {_known()}"
                + ("" if label_allowed else ", and label in a [[config]] table")
            )
    return out


def _validate(values: dict[str, Any], where: str) -> JudgeConfig:
    label = values.pop("label", None)
    try:
        options = JudgeOptions.model_validate(values).resolved()
        return JudgeConfig(label=label, options=options)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(step) for step in first["loc"]).replace("_", "-") or "(table)"
        raise ConfigFileError(f"{where}: {key}: {first['msg']}") from None


def from_options(options: JudgeOptions, label: str | None = None) -> JudgeConfig:
    """The one configuration the command line's judge options make (its judge resolved)."""
    return JudgeConfig(label=label, options=options.resolved())


def load_configs(path: Path, base: JudgeOptions | None = None) -> list[JudgeConfig]:
    """The configurations in the TOML file ``path`` (see the module docstring); ``base`` (the
    command line's judge options) fills what neither a table nor the file's top level sets.

    Raises:
        ConfigFileError: the file is missing or not TOML, has no ``[[config]]`` table, or a
            table sets an unknown key or a bad value (the message names file, table and key),
            or two configurations would have one name.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such configurations file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"{path}: not valid TOML: {error}") from None
    tables = data.pop("config", None)
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ConfigFileError(
            f"{path}: no [[config]] tables; write one [[config]] table per judge configuration"
        )
    defaults = (base or JudgeOptions()).model_dump()
    defaults.update(_settings(data, f"{path}: top level", label_allowed=False))
    configs = []
    for index, table in enumerate(tables):
        where = f"{path}: [[config]] #{index + 1}"
        configs.append(
            _validate({**defaults, **_settings(table, where, label_allowed=True)}, where)
        )
    names = [config.name for config in configs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigFileError(
            f"{path}: two configurations are both named {repeated[0]!r}; give each a label"
        )
    return configs
