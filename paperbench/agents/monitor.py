"""The blacklist monitor: did the agent access a resource the paper's ``blacklist.txt`` forbids?

It reads the transcript after the run (:func:`monitor_transcript`), looks at every tool call the
agent made — not at what the model merely said, and not at the task text, which quotes the
blacklist — and reports each blacklisted URL or host a call used, with the transcript line.

A tool call *accesses* a blacklisted target when

- it is a browsing or fetching tool (any tool other than the shell, Python and file-reading
  tools of :mod:`paperbench.agents.tools`) and one of its arguments names the target; or
- it is a shell command or Python program that names the target and contains a network access
  form anywhere in it: ``git clone/fetch/pull/...``, ``gh repo clone``, ``curl``, ``wget``,
  ``aria2c``, ``svn checkout``, ``pip install/download`` (``git+...`` or URL requirements),
  ``conda install``, ``scp``/``rsync``/``ssh``, Python's ``requests``, ``urllib``,
  ``http.client``, ``httpx``, ``aiohttp``, ``urllib3``, ``GitPython``'s ``clone_from``,
  ``subprocess`` calls of ``git``, download helpers (``torch.hub``, ``hf_hub_download``,
  ``gdown``, ``get_file``), and terminal or scripted browsers.

The whole call counts, not a window of lines around the URL (PaperBench's monitor looks for
``git clone``, ``curl`` or ``wget`` within three lines of the URL, which misses
``URL=...`` on one line and ``curl "$URL"`` ten lines later, ``pip install git+...`` and every
Python form). The price is that a call which both quotes a blacklisted URL (say, in a README it
writes) and downloads something else is flagged too; every finding carries the line and an
excerpt so that a person can review it. A call that names a target without any access form is
reported as a *mention*, which does not disqualify.

Tool calls of a bring-your-own agent (``via: "gateway"`` in the transcript: the model asked for
them through the model gateway, and the agent's own scaffold ran them) have names we do not
know. Such a call accesses a target when its name says it fetches or browses (``fetch``,
``browse``, ``web``, ``http``, ``url``, ``download``, ``navigate``, ``visit``, ``search``) and an
argument names the target, or when any of its arguments holds an access form, as for our shell
and Python tools; a file-editing tool that merely writes a citation is a mention. On the
``filtered`` network policy such an access was also refused by the egress proxy, which records
it (``egress.jsonl``).

URLs are compared after normalisation (:mod:`paperbench.agents.urls`). What no text monitor can
see — a URL assembled from pieces at run time, or fetched by a program written earlier under
another name — is out of reach; with the paper's default ``network: none`` such an access
fails anyway.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from paperbench.agents.tools import TOOL_NAMES
from paperbench.agents.transcript import read_transcript
from paperbench.agents.urls import Target, blacklist_target, find_urls

MONITOR_FILE = "monitor.json"
#: Tools whose arguments are commands or code (checked for access forms).
CODE_TOOLS = {"bash": "command", "python": "code"}
#: Tools that only read sandbox files or end the run: naming a URL there accesses nothing.
LOCAL_TOOLS = frozenset(TOOL_NAMES) - set(CODE_TOOLS)

ACCESS_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "git",
            r"\bgit\s[^\n;&|]*?\b(?:clone|fetch|pull|ls-remote|archive|submodule|remote\s+add)\b",
        ),
        ("git (from Python)", r"\bclone_from\s*\(|['\"]git['\"]\s*,\s*['\"](?:clone|fetch|pull)"),
        ("gh", r"\bgh\s+(?:repo\s+clone|api|release\s+download)\b"),
        ("curl", r"\bcurl\b"),
        ("wget", r"\bwget\b"),
        ("aria2c", r"\baria2c\b"),
        ("svn", r"\bsvn\s+(?:checkout|co|export)\b"),
        ("pip", r"\bpip(?:3(?:\.\d+)?)?\b[^\n]*?\b(?:install|download)\b"),
        ("conda", r"\b(?:conda|mamba|micromamba)\s+install\b"),
        ("remote copy", r"\b(?:scp|rsync|sftp|ssh)\s"),
        ("python requests", r"\brequests\s*\.\s*(?:get|post|put|head|request|session)\b"),
        ("python urllib", r"\burllib\s*\.\s*request\b|\burlopen\s*\(|\burlretrieve\s*\("),
        ("python urllib", r"\bfrom\s+urllib\s+import\s+request\b|\bfrom\s+urllib\.request\b"),
        ("python http client", r"\bhttp\.client\b|\bhttpx\b|\baiohttp\b|\burllib3\b"),
        (
            "download helper",
            r"\btorch\.hub\b|\bhf_hub_download\b|\bsnapshot_download\b|\bgdown\b|\bget_file\s*\(",
        ),
        ("browser", r"\b(?:lynx|w3m|elinks|links2|playwright|selenium|webbrowser)\b"),
    )
)


#: Names of a bring-your-own agent's tools that fetch or browse.
FETCHING_NAME = re.compile(
    r"fetch|brows|web|http|url|download|navigat|visit|search|curl|wget", re.I
)

_GH_CLONE = re.compile(r"\bgh\s+repo\s+clone\s+([\w.-]+/[\w.-]+?)(?:\.git)?(?=[\s;&|]|$)")


class BlacklistFinding(BaseModel):
    """One use of a blacklisted target in one tool call."""

    line: int = Field(description="line of the transcript (from 1)")
    seq: int | None = None
    tool: str
    entry: str = Field(description="the blacklist entry, as written in blacklist.txt")
    url: str = Field(description="the URL or host as the agent wrote it")
    normalised: str
    access: str | None = Field(description="how it was accessed; None for a mere mention")
    excerpt: str


class MonitorReport(BaseModel):
    """The monitor's verdict on one transcript; saved as ``monitor.json``."""

    transcript: str
    blacklist: list[str]
    unparsed_entries: list[str] = Field(default_factory=list)
    tool_calls_checked: int
    violations: list[BlacklistFinding]
    mentions: list[BlacklistFinding]

    @property
    def disqualified(self) -> bool:
        return bool(self.violations)


def _strings(value: Any, depth: int = 0) -> list[str]:
    """Every string inside a JSON value (bounded depth), in order."""
    if isinstance(value, str):
        return [value]
    if depth > 20:
        return []
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item, depth + 1)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item, depth + 1)]
    return []


def _call_text(event: dict[str, Any]) -> str:
    arguments = event.get("arguments")
    name = str(event.get("name", ""))
    if event.get("via") == "gateway":
        return "\n".join(_strings(arguments))
    if isinstance(arguments, dict):
        key = CODE_TOOLS.get(name)
        if key is not None and isinstance(arguments.get(key), str):
            return str(arguments[key])
        return json.dumps(arguments, ensure_ascii=False)
    return str(arguments or "")


def _line_of(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : end if end >= 0 else len(text)].strip()
    return line if len(line) <= 300 else line[:297] + "..."


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _access_forms(text: str) -> list[tuple[str, int]]:
    found = [
        (name, match.start()) for name, pattern in ACCESS_FORMS for match in pattern.finditer(text)
    ]
    return sorted(found, key=lambda form: form[1])


def check_call(
    name: str, text: str, entries: list[tuple[str, Target]], *, foreign: bool = False
) -> list[tuple[str, str, Target, str | None, str]]:
    """``(entry, url, target, access, excerpt)`` for each blacklisted target a call names;
    ``foreign``: the call is a bring-your-own agent's (see the module docstring)."""
    results = []
    if foreign:
        browsing = bool(FETCHING_NAME.search(name))
        forms = [] if browsing else _access_forms(text)
    else:
        forms = _access_forms(text) if name in CODE_TOOLS else []
        browsing = name not in CODE_TOOLS and name not in LOCAL_TOOLS
    for written, position, target in find_urls(text) + _github_shorthands(text):
        for entry, blocked in entries:
            if not blocked.covers(target):
                continue
            line = _line_of(text, position)
            access: str | None = None
            if browsing:
                access = f"browsing tool {name!r}"
            elif forms:
                here = _line_start(text, position)
                same_line = [form for form, at in forms if _line_start(text, at) == here]
                access = (same_line or [forms[0][0]])[0]
            results.append((entry, written, target, access, line))
            break
    return results


def _github_shorthands(text: str) -> list[tuple[str, int, Target]]:
    """``gh repo clone OWNER/REPO`` names a GitHub repository without a URL."""
    return [
        (match.group(1), match.start(1), Target("github.com", "/" + match.group(1).lower()))
        for match in _GH_CLONE.finditer(text)
    ]


def monitor_transcript(transcript: Path, blacklist: list[str] | tuple[str, ...]) -> MonitorReport:
    """Check every tool call of ``transcript`` against ``blacklist`` (see the module docstring).

    Raises:
        FileNotFoundError: the transcript does not exist.
    """
    entries: list[tuple[str, Target]] = []
    unparsed = []
    for entry in blacklist:
        target = blacklist_target(entry)
        if target is None:
            unparsed.append(entry)
        else:
            entries.append((entry, target))
    violations: list[BlacklistFinding] = []
    mentions: list[BlacklistFinding] = []
    checked = 0
    for line, event in read_transcript(transcript):
        if event.get("type") != "tool_call":
            continue
        checked += 1
        name = str(event.get("name", ""))
        if not entries:
            continue
        foreign = event.get("via") == "gateway"
        found = check_call(name, _call_text(event), entries, foreign=foreign)
        for entry, url, target, access, excerpt in found:
            finding = BlacklistFinding(
                line=line,
                seq=event.get("seq") if isinstance(event.get("seq"), int) else None,
                tool=name,
                entry=entry,
                url=url,
                normalised=str(target),
                access=access,
                excerpt=excerpt,
            )
            (violations if access else mentions).append(finding)
    return MonitorReport(
        transcript=str(transcript),
        blacklist=list(blacklist),
        unparsed_entries=unparsed,
        tool_calls_checked=checked,
        violations=violations,
        mentions=mentions,
    )
