"""Which snapshot of a submission to grade for "the submission as it was at time T"
(``--grade-at 1h,3h,12h``).

Times are the agent's *working* time — wall time minus the waits for its model's replies, the
clock its time limit runs on — written as ``90s``, ``30m``, ``1h``, ``1.5h`` or a plain number
of seconds. The submission at ``T`` is the last snapshot taken at or before ``T`` (a snapshot
that failed has no archive and is passed over); at or after the end of the agent's run it is
the final submission. Before the first snapshot there is none: the run's record says so and
that time scores 0. (PaperBench picks the snapshot *closest* to ``T``, which may be one taken
after it.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from paperbench.errors import PaperbenchError

if TYPE_CHECKING:
    from paperbench.agents.protocol import Snapshot

_TIME = re.compile(r"^(\d+(?:\.\d+)?)\s*([smh]?)$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(text: str) -> float:
    """Seconds of ``text`` (``90s``, ``30m``, ``1.5h``, ``3600``).

    Raises:
        PaperbenchError: not a time (the message names ``--grade-at``).
    """
    match = _TIME.fullmatch(text.strip().lower())
    if match is None:
        raise PaperbenchError(
            f"--grade-at {text!r}: not a time; write e.g. 1h,3h,12h (s, m or h; a plain "
            "number is seconds)"
        )
    return float(match.group(1)) * _UNIT[match.group(2)]


def grade_times(values: Iterable[str]) -> list[tuple[str, float]]:
    """The ``--grade-at`` times as ``(label, seconds)``, each once, earliest first; values may
    be repeated or comma-separated.

    Raises:
        PaperbenchError: a value is not a time.
    """
    found: dict[float, str] = {}
    for value in values:
        for part in value.split(","):
            if part.strip():
                found.setdefault(parse_time(part), part.strip())
    return [(found[seconds], seconds) for seconds in sorted(found)]


def snapshot_at(snapshots: Sequence[Snapshot], seconds: float) -> Snapshot | None:
    """The submission as it was at ``seconds`` of working time (see the module docstring)."""
    taken = [snapshot for snapshot in snapshots if snapshot.archive is not None]
    final = next((s for s in taken if s.kind == "final"), None)
    if final is not None and seconds >= final.working_seconds:
        return final
    before = [s for s in taken if s.kind == "periodic" and s.working_seconds <= seconds]
    return max(before, key=lambda s: s.working_seconds) if before else None
