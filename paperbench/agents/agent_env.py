"""Variables for the agent's own code: a dotenv file the user opts in with ``--agent-env FILE``.

Some papers need the agent's *code* to reach a gated service: a Hugging Face token for ImageNet
or Llama weights, an LLM API key for a paper about prompting (PaperBench's ``agent.env``). The
agent's container otherwise has an empty environment, and that stays the rule: only the
variables of this file, which the user wrote for the purpose, are set there.

Guarantees:

* the values go into the agent's container and nowhere else: not the reproduction container,
  not the judge, not a file the harness writes — records name the variables, never their
  values (:meth:`AgentEnv.redacted`);
* the harness's own keys never enter: a value equal to the key the agent loop or the judge uses
  (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``OPENAI_COMPATIBLE_API_KEY`` of the harness's
  environment) is refused, so a user who copies PaperBench's ``agent.env.example`` with the
  harness's key learns to give the agent its own;
* names the sandbox relies on (``PATH``, ``HOME``, ``PAPERBENCH_*``) are refused.

What the agent does with a value (print it, write it into its submission) is the agent's
output: the secrets registry (``paperbench.secrets``) redacts registered values in what the
harness writes; :func:`load_agent_env` is where each value is registered with it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from paperbench.errors import PaperbenchError

REDACTED = "[redacted]"
#: The harness's own keys (the agent loop's and the judge's): never handed to the agent.
HARNESS_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_COMPATIBLE_API_KEY")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = ("PATH", "HOME", "LANG")


class AgentEnvError(PaperbenchError):
    """The ``--agent-env`` file is missing, malformed, or holds what must not enter."""


@dataclass(frozen=True)
class AgentEnv:
    """The variables of one ``--agent-env`` file. ``values`` is held in memory only."""

    path: Path
    values: dict[str, str] = field(repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.values))

    def redacted(self) -> dict[str, str]:
        """Each name with its value replaced: what provenance records."""
        return dict.fromkeys(self.names, REDACTED)


def load_agent_env(path: Path) -> AgentEnv:
    """Read the dotenv file at ``path`` (``NAME=value`` lines, ``#`` comments, quotes).

    Raises:
        AgentEnvError: the file is missing or unreadable, a name is invalid or reserved, a
            variable has no value, or a value is one of the harness's own keys (the message
            names the variable, never the value).
    """
    if not path.is_file():
        raise AgentEnvError(f"--agent-env {path}: no such file")
    try:
        raw = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as error:
        raise AgentEnvError(f"--agent-env {path}: unreadable ({error})") from None
    harness = {key: name for name in HARNESS_KEYS if (key := os.environ.get(name, "").strip())}
    values: dict[str, str] = {}
    for name, value in raw.items():
        if not _NAME.fullmatch(name):
            raise AgentEnvError(f"--agent-env {path}: {name[:40]!r} is not a variable name")
        if name in _RESERVED or name.upper().startswith("PAPERBENCH"):
            raise AgentEnvError(
                f"--agent-env {path}: {name} is set by the harness in every sandbox; rename it"
            )
        if value is None or not value.strip():
            raise AgentEnvError(f"--agent-env {path}: {name} has no value")
        if value.strip() in harness:
            raise AgentEnvError(
                f"--agent-env {path}: {name} holds the harness's own {harness[value.strip()]} "
                "(the key of the agent loop or the judge); give the agent a key of its own"
            )
        values[name] = value
    # Integration point: register each value with the secrets registry here
    # (paperbench.secrets.register(value, f"agent-env {name}")) so that every file the
    # harness writes redacts it.
    return AgentEnv(path=path, values=values)
