"""Judge configurations to compare, and the settings of one evaluation run.

A :class:`JudgeConfig` is everything that changes what a judge answers: the model, how many
leaves per call, how deep it grades leaf by leaf, reasoning effort, sampling. Several are
compared in one run from a TOML file (``--configs FILE``), one ``[[config]]`` table each;
top-level keys are defaults for every table, and the command line's options are defaults under
those::

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

Keys are the option names of ``paperbench grade`` (``max-depth`` or ``max_depth``;
``judge-context-window`` or ``context-window``). An unknown key is an error that names the file,
the table and the key. What is not a property of the judge — concurrency, the cache, the price
table, timeouts, repeats — is a :class:`RunSettings`, the same for every configuration.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.errors import PaperbenchError
from paperbench.llm.types import ReasoningEffort

#: Option names of `paperbench grade` that differ from the field they set.
ALIASES = {"judge_context_window": "context_window"}


class ConfigFileError(PaperbenchError):
    """A configurations file is unreadable or sets something no judge configuration has."""


class JudgeConfig(BaseModel):
    """One judge configuration; its fields are `paperbench grade`'s options of the same name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: str = Field(description="Judge model, e.g. openai/o3-mini or local/smollm2.")
    label: str | None = Field(default=None, description="Name in tables (default: derived).")
    batch: int = Field(default=1, ge=1, description="Leaves graded per call.")
    max_depth: int | None = Field(
        default=None, ge=1, description="Grade subtrees this deep as one item."
    )
    reasoning_effort: ReasoningEffort | None = None
    context_window: int | None = Field(
        default=None, gt=0, description="Context window of a model not in the price table."
    )
    temperature: float | None = None
    seed: int | None = None
    max_output_tokens: int = Field(default=8192, gt=0)
    code_dev: bool = Field(default=False, description="Grade only Code Development leaves.")
    base_url: str | None = Field(
        default=None, description="Another address for the provider's API (a proxy or server)."
    )

    @property
    def name(self) -> str:
        """The label, or one made from the settings that differ from the defaults."""
        if self.label:
            return self.label
        parts = [self.judge, f"batch {self.batch}"]
        if self.max_depth is not None:
            parts.append(f"max-depth {self.max_depth}")
        if self.reasoning_effort is not None:
            parts.append(f"effort {self.reasoning_effort}")
        if self.code_dev:
            parts.append("code-dev")
        if self.temperature is not None:
            parts.append(f"temperature {self.temperature:g}")
        return ", ".join(parts)


class RunSettings(BaseModel):
    """Settings of an evaluation run that apply to every configuration alike."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repeats: int = Field(default=1, ge=1)
    concurrency: int | None = Field(default=None, ge=1)
    use_cache: bool = True
    cache_path: Path | None = None
    prices_path: Path | None = None
    timeout_seconds: float = Field(default=600.0, gt=0)

    @property
    def cache_applies(self) -> bool:
        """The judge cache is used only for a single repeat: it would hand every later repeat
        the first one's replies, and repeats exist to see the judge vary."""
        return self.use_cache and self.repeats == 1


def _normalise(entry: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in entry.items():
        name = key.replace("-", "_")
        out[ALIASES.get(name, name)] = value
    return out


def _known() -> str:
    names = [name.replace("_", "-") for name in JudgeConfig.model_fields]
    return ", ".join([*names, "judge-context-window"])


def _validate(entry: dict[str, Any], where: str) -> JudgeConfig:
    for key in entry:
        name = key.replace("-", "_")
        if ALIASES.get(name, name) not in JudgeConfig.model_fields:
            raise ConfigFileError(f"{where}: {key}: not a judge setting; known: {_known()}")
    try:
        return JudgeConfig.model_validate(_normalise(entry))
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(step) for step in first["loc"]).replace("_", "-") or "(table)"
        raise ConfigFileError(f"{where}: {key}: {first['msg']}") from None


def build_config(values: dict[str, Any], where: str = "command line") -> JudgeConfig:
    """A configuration from option values (``None`` values left to the defaults).

    Raises:
        ConfigFileError: an unknown setting or a bad value, naming ``where``.
    """
    return _validate({k: v for k, v in values.items() if v is not None}, where)


def load_configs(path: Path, defaults: dict[str, Any] | None = None) -> list[JudgeConfig]:
    """The configurations in the TOML file ``path`` (see the module docstring); ``defaults``
    (option values, ``None`` meaning unset) fill what neither a table nor the file's top level
    sets.

    Raises:
        ConfigFileError: the file is missing or not TOML, has no ``[[config]]`` table, or a
            table sets an unknown key or a bad value (the message names file, table and key).
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
    base = {k: v for k, v in (defaults or {}).items() if v is not None}
    for key in data:
        name = key.replace("-", "_")
        if ALIASES.get(name, name) not in JudgeConfig.model_fields or name == "label":
            raise ConfigFileError(
                f"{path}: top level: {key}: not a judge setting that applies to every "
                f"configuration; known: {_known()}"
            )
    base.update(_normalise(data))
    configs = [
        _validate({**base, **_normalise(table)}, f"{path}: [[config]] #{index + 1}")
        for index, table in enumerate(tables)
    ]
    names = [config.name for config in configs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigFileError(
            f"{path}: two configurations are both named {repeated[0]!r}; give each a label"
        )
    return configs
