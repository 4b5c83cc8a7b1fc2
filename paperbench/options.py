"""One declaration per option: a field of a stage's options model, with its help text.

Each option a user can set is declared once, as a pydantic field made with :func:`opt`. From
that declaration come the command-line flag (``--judge-context-window``), the environment
variable (``PAPERBENCH_JUDGE_CONTEXT_WINDOW``), the TOML key (``judge-context-window``), the help
text, the validation, and whether the option takes part in a stage's fingerprint (see
:mod:`paperbench.contracts`): options that only say how fast or where (``judge_concurrency``,
``cache_path``) are declared ``fingerprint=False`` and never make a finished stage run again.

The command line builds its commands from these models (:mod:`paperbench.cli.options`); a name
means one thing in every command that has it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field


def opt(
    default: Any = ...,
    help: str = "",
    *,
    fingerprint: bool = True,
    cli: bool = True,
    negative: bool = False,
    argument: bool = False,
    ge: float | None = None,
    gt: float | None = None,
    default_help: str | None = None,
) -> Any:
    """A field that is also a command-line option.

    ``negative`` gives a boolean both ``--name`` and ``--no-name``; ``argument`` makes the field
    a positional argument instead of an option; ``cli=False`` keeps a field off the command
    line (set by the program, not the user); ``default_help`` replaces the default shown in
    ``--help`` when the real default is computed (``None`` meaning "from your API keys", say).
    """
    extra: dict[str, Any] = {}
    if not fingerprint:
        extra["fingerprint"] = False
    if not cli:
        extra["cli"] = False
    if negative:
        extra["negative"] = True
    if argument:
        extra["argument"] = True
    if default_help is not None:
        extra["default_help"] = default_help
    return Field(default, description=help, ge=ge, gt=gt, json_schema_extra=extra or None)
