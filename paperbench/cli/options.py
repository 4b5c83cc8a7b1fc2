"""Commands whose options come from the stages' option models, declared once.

:func:`from_models` turns the fields of pydantic models (made with :func:`paperbench.options.opt`)
into a typer command's options: ``judge_context_window`` becomes ``--judge-context-window``, read
also from ``PAPERBENCH_JUDGE_CONTEXT_WINDOW`` and from the ``--config`` TOML file
(:mod:`paperbench.cli.config`), with the field's description as help. The command function then
receives the validated models, never loose values: an option exists in one place, and means the
same in every command that has it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from paperbench.cli.config import ConfigOption, env_name, register_options
from paperbench.errors import PaperbenchError
from paperbench.papers import PAPERS_DIR_ENV, PaperRegistry

PapersDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--papers-dir",
        help=f"Extra folder of paper bundles (repeatable; also ${PAPERS_DIR_ENV}).",
        show_default=False,
    ),
]


def registry(papers_dir: list[Path] | None) -> PaperRegistry:
    return PaperRegistry.from_environment(papers_dir)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _parameter(name: str, info: FieldInfo) -> inspect.Parameter:
    extra = _extra(info)
    option = flag(name)
    flags = f"{option}/--no-{option[2:]}" if extra.get("negative") else option
    help_text = info.description or ""
    shown = extra.get("default_help")
    if shown:
        help_text += f" [default: {shown}]"
    default = inspect.Parameter.empty if info.is_required() else info.get_default()
    if extra.get("argument"):
        argument = typer.Argument(help=help_text, show_default=False)
        return inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=default,
            annotation=Annotated[info.annotation, argument],
        )
    register_options(option[2:])
    typer_option = typer.Option(
        flags,
        envvar=env_name(option[2:]),
        help=help_text,
        show_default=not shown and not info.is_required(),
    )
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[info.annotation, typer_option],
    )


def _validate(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = flag(str(first["loc"][0])) if first["loc"] else model.__name__
        raise PaperbenchError(f"{where}: {first['msg']}") from None


def from_models(
    *models: type[BaseModel],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorate ``command(ctx, *instances)`` so that typer sees one option per field of
    ``models`` (in order; fields with ``cli=False`` are left to their defaults) and ``--config``.

    Raises (when the command runs):
        PaperbenchError: a value fails its field's validation; the message names the flag.
    """

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        parameters = [
            inspect.Parameter(
                "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
            )
        ]
        owners: list[tuple[type[BaseModel], list[str]]] = []
        for model in models:
            names = []
            for name, info in model.model_fields.items():
                if _extra(info).get("cli") is False:
                    continue
                parameters.append(_parameter(name, info))
                names.append(name)
            owners.append((model, names))
        parameters.append(
            inspect.Parameter(
                "config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigOption
            )
        )

        @functools.wraps(command)
        def wrapper(ctx: typer.Context, **values: Any) -> None:
            values.pop("config", None)
            instances = [
                _validate(model, {name: values[name] for name in names if name in values})
                for model, names in owners
            ]
            command(ctx, *instances)

        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__
        return wrapper

    return decorate
