"""The JSONL transcript of an agent run, written as it happens.

One JSON object per line, appended and flushed the moment it happens, so a run that crashes or
is killed still leaves everything up to its last event, and the blacklist monitor
(:mod:`paperbench.agents.monitor`) can read a transcript while it grows. Every event has:

- ``seq``: its number, from 1 (the line number, too, as long as nothing else writes the file);
- ``type``: ``start``, ``message`` (text given to the model: the task, reminders, nudges),
  ``model_call`` (written *before* the request is sent), ``model_reply``, ``model_error``,
  ``tool_call`` (written *before* the command runs), ``tool_result``, ``trim`` (turns dropped
  from the context), ``snapshot``, ``action`` (a scripted agent's non-tool step), ``error`` (the
  agent raised), ``end``;
- ``at`` (UTC, ISO 8601), ``wall`` and ``working``: seconds since the run started, in wall time
  and in working time (wall time minus API waits).

No secret is ever written: the scaffold records what the model said and what the sandbox
answered, never request headers or the provider's configuration, and every line passes through
:func:`paperbench.secrets.redact_text` on its way to the file, so a key that turns up anyway (in
an error message, a model string, a reply) is replaced by value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from paperbench.agents.clock import RunClock
from paperbench.secrets import redact_text

if TYPE_CHECKING:  # limits imports protocol, which imports this module
    from paperbench.agents.limits import LimitTracker
    from paperbench.llm.catalog import Price
    from paperbench.llm.types import Completion


class Transcript:
    """An append-only JSONL file; open it with ``with`` or call :meth:`close`."""

    def __init__(self, path: Path, clock: RunClock) -> None:
        self.path = path
        self.clock = clock
        self.events = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")

    def write(self, type: str, **fields: Any) -> int:
        """Append one event and flush it; returns its ``seq``."""
        if self._file is None:
            raise ValueError(f"transcript {self.path} is closed")
        self.events += 1
        wall, working = self.clock.read()
        event = {
            "seq": self.events,
            "type": type,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "wall": round(wall, 3),
            "working": round(working, 3),
            **fields,
        }
        line = redact_text(json.dumps(event, ensure_ascii=False, default=str))
        self._file.write(line + "\n")
        self._file.flush()
        return self.events

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_transcript(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, event)`` for every line of a transcript; a line that is not a JSON
    object (a run killed mid-write) is yielded as ``{"type": "unreadable", "raw": line}``."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                event = {"type": "unreadable", "raw": line.rstrip("\n")}
            yield number, event


def record_reply(
    transcript: Transcript,
    tracker: LimitTracker,
    completion: Completion,
    price: Price | None,
    versions: list[str],
) -> None:
    """Count a model reply as a step with its usage and cost, add a model version not seen
    before to ``versions``, and write the reply as a ``model_reply`` event: one shape, which
    the monitor and the viewer read, whether the agent loop or the model gateway made the call."""
    tracker.add_step()
    tracker.add_usage(completion.usage, price)
    if completion.model_version and completion.model_version not in versions:
        versions.append(completion.model_version)
    transcript.write(
        "model_reply",
        step=tracker.steps,
        text=completion.text,
        tool_calls=[call.model_dump() for call in completion.tool_calls],
        usage=completion.usage.model_dump(),
        cost_usd=tracker.cost_usd,
        model_version=completion.model_version,
        stop_reason=completion.stop_reason,
        failed_attempts=list(completion.failed_attempts),
    )
