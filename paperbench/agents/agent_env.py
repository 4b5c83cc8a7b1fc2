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

What the agent does with a value is the agent's output, and the agent is not trusted with it:
when the stage ends, :func:`scrub_files` replaces every value (as written and JSON-escaped) in
the submission's archives — the final one and every snapshot, member names included — in their
manifests and in the transcript, before the reproduction or the judge can read them; the
stage's record lists what was changed (a manifest keeps the sizes and hashes of the files as
they were captured). The secrets registry (:mod:`paperbench.secrets`) redacts them in
whatever else the harness writes: :func:`load_agent_env` registers each value with it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from dotenv import dotenv_values

from paperbench import secrets
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
    for name, value in values.items():
        secrets.register(value, f"agent-env {name}")
    return AgentEnv(path=path, values=values)


def _forms(env: AgentEnv) -> list[tuple[bytes, bytes]]:
    """Each value as it may appear (raw, JSON-escaped) and what replaces it, longest first."""
    pairs: dict[bytes, bytes] = {}
    for name, value in env.values.items():
        mark = f"[redacted:{name}]".encode()
        for form in (value, json.dumps(value)[1:-1]):
            pairs.setdefault(form.encode("utf-8"), mark)
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def _scrub(data: bytes, forms: list[tuple[bytes, bytes]]) -> bytes:
    for value, mark in forms:
        data = data.replace(value, mark)
    return data


def _scrubbed_member(
    source: tarfile.TarFile, member: tarfile.TarInfo, forms: list[tuple[bytes, bytes]]
) -> tuple[tarfile.TarInfo, bytes | None, bool]:
    """The member with every value replaced in its name, link and content, and whether any
    was. One member is read at a time (the capture bounds each file's size)."""
    data = None
    if member.isfile():
        stream = source.extractfile(member)
        data = stream.read() if stream is not None else b""
    clean = _scrub(data, forms) if data is not None else None
    name, link = (
        _scrub(text.encode("utf-8", "surrogateescape"), forms).decode("utf-8", "surrogateescape")
        for text in (member.name, member.linkname)
    )
    changed = clean != data or name != member.name or link != member.linkname
    copy = member.replace(name=name, linkname=link, deep=False)
    if clean is not None:
        copy.size = len(clean)
    return copy, clean, changed


def scrub_archive(archive: Path, env: AgentEnv) -> list[str]:
    """Rewrite the tar ``archive`` with every value of ``env`` replaced in member names and file
    contents; returns the names (after scrubbing) of the members changed. An archive without
    any value is left as it is. Memory holds one member at a time.

    Raises:
        tarfile.TarError, OSError: the archive is unreadable.
    """
    forms = _forms(env)
    with tarfile.open(archive) as source:
        found = any(_scrubbed_member(source, member, forms)[2] for member in source)
    if not found:
        return []
    changed: list[str] = []
    with tempfile.NamedTemporaryFile(dir=archive.parent, delete=False) as handle:
        scratch = Path(handle.name)
    try:
        with (
            tarfile.open(archive) as source,
            tarfile.open(scratch, "w", format=tarfile.PAX_FORMAT) as target,
        ):
            for member in source:
                copy, data, was_changed = _scrubbed_member(source, member, forms)
                if was_changed:
                    changed.append(copy.name)
                target.addfile(copy, BytesIO(data) if data is not None else None)
        scratch.replace(archive)
    finally:
        scratch.unlink(missing_ok=True)
    return changed


def scrub_text_file(path: Path, env: AgentEnv) -> bool:
    """Replace every value of ``env`` in the file at ``path``; returns whether it changed."""
    if not path.is_file():
        return False
    data = path.read_bytes()
    clean = _scrub(data, _forms(env))
    if clean == data:
        return False
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(clean)
    shutil.move(handle.name, path)
    return True


def scrub_files(
    env: AgentEnv, root: Path, archives: Iterable[Path], texts: Iterable[Path]
) -> list[str]:
    """Scrub the stage's archives and text files under ``root`` (see the module docstring);
    returns what was changed, as ``FILE`` or ``ARCHIVE: MEMBER`` relative to ``root``, never a
    value."""
    changed: list[str] = []
    for archive in archives:
        if archive.is_file():
            where = archive.relative_to(root).as_posix()
            changed += [f"{where}: {member}" for member in scrub_archive(archive, env)]
    changed += [p.relative_to(root).as_posix() for p in texts if scrub_text_file(p, env)]
    return changed
