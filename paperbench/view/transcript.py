"""The agent's transcript as the viewer shows it: one short row per event, the whole event on
demand.

``agent/transcript.jsonl`` (:mod:`paperbench.agents.transcript`) has one JSON event a line and
can hold a million of them, so the page asks for rows a page at a time (:func:`summaries`) and
for a whole event only when the reader opens it (:func:`full_event`). A row says what happened
in a line (``bash: pytest -x``, ``exit 1: 3 failed``, ``reply: 2 tool calls, 1,200 in / 80 out
tokens, $0.04 so far``); everything in it is text from the agent's container or the model, and
the page shows it as text. Strings of a whole event are cut at :data:`MAX_STRING_CHARS`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from paperbench.view.lines import Line, LineIndex

PREVIEW_CHARS = 200
MAX_STRING_CHARS = 100_000
MAX_SUMMARY_LINE_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 32 * 1024 * 1024
_TYPE = re.compile(rb'"type"\s*:\s*"([a-z_]{1,40})"')


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _arguments(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("command", "code", "path", "url", "message"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return _preview(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _title(event: dict[str, Any]) -> str:
    kind = event.get("type")
    if kind == "start":
        return f"started: {_preview(event.get('agent', ''))}"
    if kind == "message":
        role = event.get("kind") or event.get("role") or "message"
        return f"{role}: {_preview(event.get('text', ''))}"
    if kind == "model_call":
        return (
            f"step {event.get('step', '?')}: model call with {event.get('messages', '?')} "
            f"messages, about {event.get('estimated_tokens', '?')} tokens"
        )
    if kind == "model_reply":
        listed = event.get("tool_calls")
        calls: list[Any] = listed if isinstance(listed, list) else []
        names = ", ".join(
            str(call.get("name", "?")) for call in calls[:5] if isinstance(call, dict)
        )
        said = _preview(event.get("text") or "")
        tools = f"{len(calls)} tool call{'s' if len(calls) != 1 else ''} ({names})" if calls else ""
        return f"reply: {' · '.join(part for part in (said, tools) if part) or '(empty)'}"
    if kind == "tool_call":
        return f"{_preview(event.get('name', '?'))}: {_preview(_arguments(event.get('arguments')))}"
    if kind == "tool_result":
        if event.get("error"):
            return f"{_preview(event.get('name', '?'))} failed: {_preview(event['error'])}"
        code = event.get("exit_code")
        status = f"exit {code}" if code is not None else "done"
        if event.get("timed_out"):
            status += ", timed out"
        return f"{status}: {_preview(event.get('output', ''))}"
    if kind in ("model_error", "error"):
        return f"error: {_preview(event.get('error', ''))}"
    if kind == "trim":
        return f"context trimmed: {_preview(event.get('dropped', ''))} dropped"
    if kind == "snapshot":
        if event.get("error"):
            return f"snapshot {event.get('index', '?')} failed: {_preview(event['error'])}"
        return (
            f"snapshot {event.get('index', '?')} ({event.get('kind', '')}): "
            f"{event.get('files', 0)} files, {event.get('bytes', 0)} bytes"
        )
    if kind == "end":
        return f"ended: {_preview(event.get('reason', ''))} {_preview(event.get('detail', ''))}"
    if kind == "unreadable":
        return f"unreadable line: {_preview(event.get('raw', ''))}"
    fields = {k: v for k, v in event.items() if k not in ("seq", "type", "at", "wall", "working")}
    return f"{_preview(kind or 'event')}: {_preview(fields)}"


def summarise_event(line: Line) -> dict[str, Any]:
    """The row of one transcript line (a cut or malformed line becomes an ``unreadable`` row
    that still names its type when it can)."""
    event: Any = None
    if not line.cut:
        try:
            event = json.loads(line.text)
        except ValueError:
            event = None
    if not isinstance(event, dict):
        found = _TYPE.search(line.text[:4096].encode("utf-8", errors="replace"))
        why = f"{line.cut} bytes past the row limit" if line.cut else "not a JSON object"
        return {
            "line": line.number,
            "type": found.group(1).decode() if found else "unreadable",
            "title": f"({why}) {_preview(line.text)}",
            "flag": "unreadable",
        }
    kind = str(event.get("type", "event"))
    row: dict[str, Any] = {
        "line": line.number,
        "seq": event.get("seq"),
        "type": kind,
        "wall": _number(event.get("wall")),
        "title": _title(event),
    }
    if kind == "model_reply":
        given = event.get("usage")
        usage: dict[str, Any] = given if isinstance(given, dict) else {}
        row.update(
            step=event.get("step"),
            model=_preview(event.get("model_version") or ""),
            input_tokens=_number(usage.get("input_tokens")),
            output_tokens=_number(usage.get("output_tokens")),
            cached_tokens=_number(usage.get("cached_input_tokens")),
            cost_usd=_number(event.get("cost_usd")),
        )
    if kind in ("tool_call", "tool_result"):
        row["tool"] = _preview(event.get("name", ""))
    failed = kind in ("model_error", "error") or (
        kind == "tool_result" and (event.get("error") or event.get("exit_code") not in (0, None))
    )
    if failed:
        row["flag"] = "error"
    return row


def summaries(index: LineIndex, start: int, count: int) -> dict[str, Any]:
    """Rows ``start`` to ``start + count - 1`` and where the next page starts.

    Raises:
        OSError: the transcript cannot be read.
    """
    page = index.read(start, count, max_line_bytes=MAX_SUMMARY_LINE_BYTES)
    return {
        "rows": [summarise_event(line) for line in page.lines],
        "next": page.next,
        "size": page.size,
    }


def _cut_strings(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        left = len(value) - MAX_STRING_CHARS
        return value[:MAX_STRING_CHARS] + f"\n… [{left} more characters not shown]"
    if isinstance(value, dict):
        return {key: _cut_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item) for item in value]
    return value


def full_event(index: LineIndex, number: int) -> dict[str, Any]:
    """The whole event on line ``number`` (its long strings cut), or its raw text when it is
    not a JSON object.

    Raises:
        OSError: the transcript cannot be read.
        KeyError: the transcript has no such line.
    """
    page = index.read(number, 1, max_line_bytes=MAX_EVENT_BYTES, max_bytes=MAX_EVENT_BYTES)
    if not page.lines:
        raise KeyError(f"the transcript has no line {number}")
    line = page.lines[0]
    try:
        event = json.loads(line.text) if not line.cut else None
    except ValueError:
        event = None
    if isinstance(event, dict):
        return {"line": number, "event": _cut_strings(event)}
    return {"line": number, "raw": _cut_strings(line.text), "cut": line.cut}
