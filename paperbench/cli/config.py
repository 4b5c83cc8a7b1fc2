"""Options from the command line, the environment, or a TOML config file, in that order.

Every option of ``run``, ``grade`` and ``leaderboard`` reads ``PAPERBENCH_<OPTION>`` (dashes as
underscores, upper case) and can be set in the file given by ``--config`` (or
``PAPERBENCH_CONFIG``). In the file, top-level keys apply to every command that has such an
option and a ``[run]``, ``[grade]`` or ``[leaderboard]`` table applies to that command only::

    judge = "anthropic/claude-sonnet-4-5"

    [run]
    papers = ["spiral-optimizers"]
    seeds = 3

A key no option of the command knows is an error that names it (a misspelt ``seeds`` must not
be silently ignored). The values a run used and where each came from are recorded in its
provenance, with secrets redacted.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from paperbench import secrets
from paperbench.errors import PaperbenchError

ENV_PREFIX = "PAPERBENCH_"


def env_name(option: str) -> str:
    return ENV_PREFIX + option.replace("-", "_").upper()


def _load(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
    if value is None:
        return None
    try:
        data = tomllib.loads(value.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperbenchError(f"{value}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise PaperbenchError(f"{value}: not valid TOML: {error}") from None
    command = ctx.info_name or ""
    known = {p.name for p in ctx.command.params if p.name and p.name != param.name}
    sections = {"run", "grade", "demo", "reproduce", "leaderboard", "report", "judge-eval"}
    values: dict[str, Any] = {}
    for key, item in data.items():
        if isinstance(item, dict) and key in sections:
            continue
        name = key.replace("-", "_")
        if name in known:
            values[name] = item
    for key, item in (data.get(command) or {}).items():
        name = key.replace("-", "_")
        if name not in known:
            allowed = ", ".join(sorted(n.replace("_", "-") for n in known))
            raise PaperbenchError(
                f"{value}: [{command}] {key}: no such option of `paperbench {command}`; "
                f"known: {allowed}"
            )
        values[name] = item
    unknown_top = [
        key
        for key, item in data.items()
        if not (isinstance(item, dict) and key in sections)
        and key.replace("-", "_") not in known
        and not _known_elsewhere(key)
    ]
    if unknown_top:
        raise PaperbenchError(f"{value}: {', '.join(unknown_top)}: not an option of any command")
    secrets.register_named(data, source=f"config file {value}")
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return value


#: Option names of every configurable command, so a top-level key meant for another command
#: (``batch`` is grade's and run's, not leaderboard's) is not an error in the others.
SHARED_KEYS: set[str] = set()


def _known_elsewhere(key: str) -> bool:
    return key.replace("-", "_") in SHARED_KEYS


def register_options(*names: str) -> None:
    SHARED_KEYS.update(name.replace("-", "_") for name in names)


def option(name: str, help: str, *, negative: bool = False, **kwargs: Any) -> Any:
    """A typer option ``--name`` (and ``--no-name`` when ``negative``) that also reads
    ``PAPERBENCH_NAME`` and the config file."""
    register_options(name)
    flags = f"--{name}/--no-{name}" if negative else f"--{name}"
    return typer.Option(flags, envvar=env_name(name), help=help, **kwargs)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        callback=_load,
        is_eager=True,
        envvar="PAPERBENCH_CONFIG",
        help="TOML file with option values (command line and PAPERBENCH_* win over it).",
        show_default=False,
    ),
]


_SOURCE_LABELS = {
    "COMMANDLINE": "command line",
    "ENVIRONMENT": "environment",
    "DEFAULT_MAP": "config file",
}


def used_options(ctx: typer.Context) -> tuple[dict[str, Any], dict[str, str]]:
    """Each option's value and where it came from (command line, environment, config file,
    default)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        label = _SOURCE_LABELS.get(source.name, "default") if source is not None else "default"
        values[name] = str(value) if isinstance(value, Path) else value
        sources[name] = label
    return values, sources
