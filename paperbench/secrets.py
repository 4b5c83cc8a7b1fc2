"""Secrets by value: every secret the harness knows is replaced in every file it writes.

Matching option *names* (``api_key``, ``--judge-token``) misses a key that sits inside a URL, a
model string, an error message or a model's reply. So the harness keeps a process-wide registry
of secret *values* and every writer passes its text through :func:`redact_text` (or a JSON value
through :func:`redact_json`). What is registered:

* the provider keys the LLM layer reads from the environment (:mod:`paperbench.llm`), the moment
  it reads them;
* the user and password of a URL's userinfo (a ``--base-url``, ``OPENAI_BASE_URL``, the URL of
  an ``openai-compatible/MODEL@URL`` judge), and the ``Basic`` credentials an HTTP client makes
  of them, through :func:`strip_userinfo`, which also gives the URL back without them — URLs
  are stored without userinfo;
* every environment variable whose name says it holds a secret (``*_API_KEY``, ``*TOKEN*``,
  ``*SECRET*``, ``*PASSWORD*``, ``*CREDENTIAL*``), looked at again on every redaction;
* the value of any secret-named key of a configuration mapping (:func:`register_named`);
* everything in a ``--secrets FILE`` (:func:`load_secrets_file`).

A value shorter than :data:`MIN_SECRET_LENGTH` characters is never registered: it would redact
ordinary words everywhere. Each value is matched as written, percent-encoded (as it appears in a
URL) and JSON-escaped (as it appears inside a JSON string).

Only the harness's own settings and environment teach the registry: text being redacted (which
may come from the agent) never does, so an agent cannot make the harness redact words of its
choosing.

Behind the registry stands a second wall, patterns for well-known key shapes (OpenAI ``sk-``,
Anthropic ``sk-ant-``, Google ``AIza``, Hugging Face ``hf_``, Groq ``gsk_``, AWS ``AKIA``/
``ASIA``, Slack ``xox?-``, GitHub ``ghp_``/``github_pat_``, ``Bearer`` tokens) and any URL
userinfo, so a key the harness was never told about is still caught when it looks like one.

Every secret becomes :data:`REDACTED`, whose characters need no escaping in JSON, so redacting
JSON text leaves valid JSON.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from paperbench.errors import PaperbenchError

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8
#: Names of settings and environment variables that hold secrets: a word of the name (split at
#: ``_``, ``-`` or ``.``) is one of these. ``TIKTOKEN_CACHE_DIR`` or ``max_tokens`` is not one.
SECRET_NAME = re.compile(
    r"(^|[_.-])(api[_-]?key|apikey|key|token|secret|secrets|password|passwd|credentials?)"
    r"($|[_.-])",
    re.IGNORECASE,
)
_PATTERNS = (
    r"sk-ant-[A-Za-z0-9_-]{16,}",
    r"sk-[A-Za-z0-9_-]{16,}",
    r"AIza[0-9A-Za-z_-]{30,}",
    r"hf_[A-Za-z0-9]{30,}",
    r"gsk_[A-Za-z0-9]{40,}",
    r"(?:AKIA|ASIA)[0-9A-Z]{16}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",
    r"gh[pousr]_[A-Za-z0-9]{36,}",
    r"github_pat_[A-Za-z0-9_]{40,}",
)
_KEY_PREFIXES = (
    "sk-", "AIza", "hf_", "gsk_", "AKIA", "ASIA", "xox", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
    "github_pat_",
)  # fmt: skip
#: Not inside a longer word; a JSON escape such as ``\n`` right before counts as a boundary, so
#: JSON text can be redacted as it is.
_START = r"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrtbf]))"
_KEY_SHAPES = re.compile(_START + "(?:" + "|".join(_PATTERNS) + r")(?![A-Za-z0-9_-])")
#: ``Bearer`` and a token with a digit in it (so "bearer authentication" is left alone).
_BEARER = re.compile(
    _START.replace("_-", "") + r"(?i:(bearer))(\s+)(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{16,}"
)
#: ``scheme://`` then userinfo up to ``@``: none of ``/?#``, whitespace, quotes or ``@`` in it.
_USERINFO = re.compile(
    r"(\b[A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s@\"'<>\\:]*)(?::([^/?#\s@\"'<>\\]*))?@"
)


class SecretsFileError(PaperbenchError):
    """A ``--secrets`` file is missing, unreadable or not text."""


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, str] = {}
        self.pattern: re.Pattern[str] | None = None
        self.seen_environment: set[tuple[str, str]] = set()
        self.environment_snapshot: dict[bytes, bytes] | None = None

    def add(self, value: str, label: str) -> bool:
        forms = {
            value,
            quote(value, safe=""),
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
        }
        with self.lock:
            added = False
            for form in forms:
                if len(form) >= MIN_SECRET_LENGTH and form not in self.values:
                    self.values[form] = label
                    added = True
            if added:
                self.pattern = None
            return added

    def compiled(self) -> re.Pattern[str] | None:
        with self.lock:
            if self.pattern is None and self.values:
                longest_first = sorted(self.values, key=len, reverse=True)
                self.pattern = re.compile("|".join(re.escape(v) for v in longest_first))
            return self.pattern

    def clear(self) -> None:
        with self.lock:
            self.values.clear()
            self.pattern = None
            self.seen_environment.clear()
            self.environment_snapshot = None


_registry = _Registry()


def register(value: str | None, label: str) -> bool:
    """Remember ``value`` as a secret; ``label`` says where it came from (never written).

    Values shorter than :data:`MIN_SECRET_LENGTH` (and surrounding whitespace) are ignored.
    Returns whether anything new was registered.
    """
    if not value:
        return False
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH:
        return False
    return _registry.add(value, label)


def register_named(values: dict[str, Any], *, source: str = "setting") -> None:
    """Register the string values of ``values`` whose key names a secret, recursively."""
    for key, value in values.items():
        if isinstance(value, dict):
            register_named(value, source=source)
        elif isinstance(value, str) and SECRET_NAME.search(str(key)):
            register(value, f"{source} {key}")
        elif isinstance(value, str) and "://" in value:
            strip_userinfo(value)


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Register every secret-named variable of the environment, and the userinfo of any URL in
    one. Cheap to call before every write: the process environment is looked at again only
    when it changed since the last look."""
    if environ is None:
        raw = getattr(os.environ, "_data", None)  # CPython's bytes copy: compared in C
        if raw is not None and raw == _registry.environment_snapshot:
            return
        _registry.environment_snapshot = dict(raw) if raw is not None else None
        environ = os.environ
    for name, value in environ.items():
        if (name, value) in _registry.seen_environment:
            continue
        _registry.seen_environment.add((name, value))
        if SECRET_NAME.search(name):
            register(value, name)
        if "://" in value and "@" in value:
            strip_userinfo(value)


def strip_userinfo(text: str) -> str:
    """``text`` (a URL, or any string holding URLs) without the ``user:password@`` part of its
    URLs; each user and password is registered first.
    """
    return _USERINFO.sub(_learn_and_drop, text)


def _learn_and_drop(match: re.Match[str]) -> str:
    user, password = match.group(2), match.group(3)
    for found, what in ((password, "URL password"), (user, "URL user")):
        if found:
            register(found, what)
            register(unquote(found), what)
    if password:  # what an HTTP client sends for it: Authorization: Basic base64(user:pass)
        pair = f"{unquote(user)}:{unquote(password)}".encode()
        register(base64.b64encode(pair).decode(), "URL basic auth")
    return match.group(1)


def redact_text(text: str) -> str:
    """``text`` with every registered secret, key-shaped string and URL userinfo replaced."""
    register_environment()
    return _redact(text, _registry.compiled())


def redact_json(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings, numbers) with every string,
    keys included, redacted as by :func:`redact_text`."""
    register_environment()
    return _redact_value(value, _registry.compiled())


def _redact(text: str, known: re.Pattern[str] | None) -> str:
    # Each pattern runs only when the text holds its fixed part: a plain substring search is
    # far cheaper than a regular expression tried at every position of a large prompt block.
    if known is not None:
        text = known.sub(REDACTED, text)
    if any(prefix in text for prefix in _KEY_PREFIXES):
        text = _KEY_SHAPES.sub(REDACTED, text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    if "://" in text:
        text = _USERINFO.sub(r"\1", text)
    return text


def _redact_value(value: Any, known: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        return _redact(value, known)
    if isinstance(value, dict):
        return {
            (_redact(key, known) if isinstance(key, str) else key): _redact_value(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(item, known) for item in value]
    return value


def load_secrets_file(path: Path) -> dict[str, str]:
    """Register every secret of a ``--secrets`` file and return the named ones.

    The file is dotenv-style text: one ``NAME=value`` per line (an ``export`` in front and
    quotes around the value are allowed), blank lines and ``#`` comments ignored; a line with
    no ``=`` is a secret on its own (one value per line). Every value is registered, whatever
    its name; the named ones are returned so a caller can also put them in the environment.

    Raises:
        SecretsFileError: the file is missing, unreadable or not UTF-8 text.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretsFileError(f"{path}: no such secrets file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SecretsFileError(f"{path}: cannot read the secrets file: {error}") from None
    named: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        if equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name.strip()):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            named[name.strip()] = value
            register(value, f"{path.name}:{number}")
            if "://" in value:
                strip_userinfo(value)
        else:
            register(line, f"{path.name}:{number}")
    return named


def forget_all() -> None:
    """Empty the registry (for tests that must not see each other's secrets)."""
    _registry.clear()


__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SECRET_NAME",
    "SecretsFileError",
    "forget_all",
    "load_secrets_file",
    "redact_json",
    "redact_text",
    "register",
    "register_environment",
    "register_named",
    "strip_userinfo",
]
