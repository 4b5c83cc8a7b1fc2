"""The runs the viewer serves: found under the folders given, each summarised for the runs page
and described in full for its own page.

A run directory (:mod:`paperbench.runs.layout`) is a folder holding ``state.json`` or
``run.json``; the search goes at most :data:`MAX_DEPTH` folders deep and never into a run's own
stage folders, so a submission with a million files costs nothing. Runs are named by ids the
server made (``0/replay/toy-a/seed-0``: the index of the folder given, then the path below it);
a request names a run only by such an id, so it can never point elsewhere.

Everything is read again on each request, so a run still in progress shows its progress. A
record that is missing or malformed shows as such; it never stops the page.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from paperbench.errors import PaperbenchError
from paperbench.grading.overrides import OverrideError, reviewed_score
from paperbench.view.files import read_json
from paperbench.view.lines import LineIndex

MAX_DEPTH = 6
MAX_RUNS = 20_000
MAX_LEDGER_ENTRIES = 50_000
MAX_LEDGER_LINE_BYTES = 256 * 1024
MAX_LISTED_FILES = 2000
STAGES = ("agent", "reproduction", "grading")
RUN_MARKERS = ("state.json", "run.json")
STAGE_FOLDERS = {"agent", "reproduction", "grading", "submission"}
_SEED = re.compile(r"^seed-(\d+)$")
_MAX_TIME_POINTS = 1000


class UnknownRun(PaperbenchError):
    """A run id the viewer did not hand out."""


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (records are read defensively)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_run(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in RUN_MARKERS)


def discover(roots: Iterable[Path]) -> dict[str, Path]:
    """Every run directory under ``roots``, by id (see the module docstring)."""
    found: dict[str, Path] = {}
    for number, root in enumerate(roots):
        if _is_run(root):
            found[str(number)] = root
            continue
        for folder, folders, _ in os.walk(root, followlinks=False):
            here = Path(folder)
            depth = len(here.relative_to(root).parts)
            if here != root and _is_run(here):
                found[f"{number}/{here.relative_to(root).as_posix()}"] = here
                folders[:] = []
                continue
            folders[:] = sorted(
                name
                for name in folders
                if depth < MAX_DEPTH and not name.startswith(".") and name not in STAGE_FOLDERS
            )
            if len(found) >= MAX_RUNS:
                return found
    return found


@dataclass
class RunFiles:
    """The records of one run directory, read now; ``problems`` says which could not be."""

    root: Path
    record: dict[str, Any] | None
    state: dict[str, Any] | None
    agent: dict[str, Any] | None
    summary: dict[str, Any] | None
    problems: dict[str, str]

    @classmethod
    def read(cls, root: Path) -> RunFiles:
        problems: dict[str, str] = {}

        def load(name: str) -> dict[str, Any] | None:
            data, problem = read_json(root / name)
            if problem is not None and problem != "missing":
                problems[name] = problem
            return data if isinstance(data, dict) else None

        return cls(
            root,
            load("run.json"),
            load("state.json"),
            load("agent/agent.json"),
            load("grading/summary.json"),
            problems,
        )

    def stages(self) -> dict[str, dict[str, Any]]:
        stages = as_dict(as_dict(self.state).get("stages"))
        return {name: entry for name, entry in stages.items() if isinstance(entry, dict)}

    @property
    def in_progress(self) -> bool:
        """No record yet, and some stage running (or nothing at all recorded yet)."""
        running = any(entry.get("status") == "running" for entry in self.stages().values())
        return self.record is None and (running or not self.stages())


def _seconds(start: Any, end: Any) -> float | None:
    try:
        first = datetime.fromisoformat(str(start))
        last = datetime.fromisoformat(str(end))
    except ValueError:
        return None
    return (last - first).total_seconds()


def row(run_id: str, files: RunFiles) -> dict[str, Any]:
    """What the runs page shows of one run."""
    record, agent, summary = files.record or {}, files.agent or {}, files.summary or {}
    root = files.root
    seed_match = _SEED.match(root.name)
    stages = files.stages()
    grade = as_dict(summary.get("summary"))
    ledger = as_dict(summary.get("ledger"))
    result = as_dict(agent.get("agent"))
    failures = as_list(record.get("failures"))
    started = [str(entry["started_at"]) for entry in stages.values() if entry.get("started_at")]
    ended = [str(entry["finished_at"]) for entry in stages.values() if entry.get("finished_at")]
    elapsed = _seconds(min(started), max(ended)) if started and ended else None
    problems = dict(files.problems)
    reviewed, problem = _reviewed(root)
    if problem is not None:
        problems["grading/overrides.json"] = problem
    invalid = record.get("invalid_leaves")
    if invalid is None and isinstance(grade.get("invalid"), list):
        invalid = len(grade["invalid"])
    return {
        "id": run_id,
        "path": str(root),
        "agent": record.get("agent") or root.parent.parent.name,
        "paper": record.get("paper_id") or agent.get("paper_id") or root.parent.name,
        "seed": record.get("seed", int(seed_match.group(1)) if seed_match else None),
        "judge": record.get("judge") or as_dict(summary.get("judge")).get("judge"),
        "stages": {name: stages.get(name, {}).get("status", "waiting") for name in STAGES},
        "in_progress": files.in_progress,
        "finished": files.record is not None,
        "score": record.get("score", grade.get("score")),
        "score_if_invalid_passed": record.get(
            "score_if_invalid_passed", grade.get("score_if_invalid_passed")
        ),
        "reviewed": reviewed,
        "invalid_leaves": invalid,
        "failures": [
            {"kind": f.get("kind"), "stage": f.get("stage"), "reason": f.get("reason")}
            for f in failures
            if isinstance(f, dict)
        ],
        "agent_cost_usd": record.get("agent_cost_usd", result.get("cost_usd")),
        "judge_cost_usd": record.get("judge_cost_usd", ledger.get("cost_usd")),
        "seconds": record.get("total_seconds", elapsed),
        "finished_at": record.get("finished_at"),
        "problems": problems,
    }


_REVIEWS: dict[Path, tuple[tuple[int, ...], dict[str, Any] | None, str | None]] = {}
_REVIEWS_LOCK = threading.Lock()


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return (-1, -1)
    return (status.st_mtime_ns, status.st_size)


def _reviewed(root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The run's reviewed score (or why it cannot be computed), recomputed only when the
    overrides or the graded tree changed: the runs page asks for every run every few seconds."""
    grading = root / "grading"
    overrides = _stamp(grading / "overrides.json")
    if overrides[0] < 0:
        return None, None
    stamp = (*overrides, *_stamp(grading / "graded_tree.json"))
    with _REVIEWS_LOCK:
        cached = _REVIEWS.get(root)
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    try:
        review = reviewed_score(root)
        result: tuple[dict[str, Any] | None, str | None] = (
            review.model_dump() if review is not None else None,
            None,
        )
    except OverrideError as error:
        result = (None, str(error))
    with _REVIEWS_LOCK:
        if len(_REVIEWS) > MAX_RUNS:
            _REVIEWS.clear()
        _REVIEWS[root] = (stamp, *result)
    return result


def _bounded_list(value: Any, limit: int) -> tuple[list[Any], int]:
    items = value if isinstance(value, list) else []
    return items[:limit], len(items)


def _graded_snapshots(root: Path) -> list[dict[str, Any]]:
    """The run's score at each ``--grade-at`` time, from ``run.json``'s timeline (the
    orchestrator's record of ``RUN/at/<time>/``), by time; a point that is not a number says
    so instead of being plotted."""
    record, _ = read_json(root / "run.json")
    timeline = record.get("timeline") if isinstance(record, dict) else None
    points: list[dict[str, Any]] = []
    for entry in timeline if isinstance(timeline, list) else []:
        if not isinstance(entry, dict):
            continue
        seconds, score = entry.get("seconds"), entry.get("score")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            continue
        point: dict[str, Any] = {"seconds": float(seconds), "label": str(entry.get("label", ""))}
        if isinstance(score, int | float) and not isinstance(score, bool):
            point.update(score=float(score), invalid=entry.get("invalid_leaves", 0))
        else:
            point["problem"] = "no score recorded"
        failures = entry.get("failures")
        if isinstance(failures, list) and failures:
            point["failures"] = [str(f.get("kind", "")) for f in failures if isinstance(f, dict)]
        points.append(point)
    return sorted(points, key=lambda point: point["seconds"])[:_MAX_TIME_POINTS]


def overview(run_id: str, root: Path) -> dict[str, Any]:
    """Everything of the run page but the transcript, the tree, the logs and the ledger (which
    are fetched a page at a time): the row, the stages, the agent's result, the monitor's
    findings, the reproduction, snapshots, the grading summary and provenance."""
    files = RunFiles.read(root)
    monitor, monitor_problem = read_json(root / "agent" / "monitor.json")
    reproduction, reproduction_problem = read_json(root / "reproduction" / "reproduction.json")
    provenance, _ = read_json(root / "provenance.json")
    agent = dict(files.agent or {})
    result = as_dict(agent.get("agent"))
    if isinstance(reproduction, dict):
        for key in ("files_created", "files_changed", "files_deleted", "excluded_files"):
            kept, total = _bounded_list(reproduction.get(key), MAX_LISTED_FILES)
            reproduction[key] = kept
            reproduction[f"{key}_total"] = total
    invocations = as_list(as_dict(provenance).get("invocations"))
    sizes = {
        name: (root / path).stat().st_size if (root / path).is_file() else None
        for name, path in (
            ("transcript", "agent/transcript.jsonl"),
            ("log", "reproduction/reproduce.log"),
            ("ledger", "grading/ledger.jsonl"),
        )
    }
    return {
        "row": row(run_id, files),
        "stages": files.stages(),
        "agent": agent or None,
        "snapshots": as_list(result.get("snapshots")),
        "graded_snapshots": _graded_snapshots(root),
        "monitor": monitor if isinstance(monitor, dict) else None,
        "monitor_problem": None if monitor_problem == "missing" else monitor_problem,
        "reproduction": reproduction if isinstance(reproduction, dict) else None,
        "reproduction_problem": None if reproduction_problem == "missing" else reproduction_problem,
        "attempt_logs": sorted(
            path.name for path in (root / "reproduction").glob("reproduce.attempt-*.log")
        )
        if (root / "reproduction").is_dir()
        else [],
        "grading": files.summary,
        "provenance": invocations[-1] if invocations else None,
        "sizes": sizes,
    }


def ledger(root: Path) -> dict[str, Any]:
    """The judge's cost ledger (one entry per call) and its totals, up to
    :data:`MAX_LEDGER_ENTRIES` entries."""
    path = root / "grading" / "ledger.jsonl"
    entries: list[Any] = []
    truncated = False
    problem = None
    try:
        page = LineIndex(path).read(1, MAX_LEDGER_ENTRIES, max_line_bytes=MAX_LEDGER_LINE_BYTES)
    except FileNotFoundError:
        problem = "missing"
    except OSError as error:
        problem = error.strerror
    else:
        truncated = page.next is not None
        for line in page.lines:
            try:
                entries.append(json.loads(line.text) if not line.cut else None)
            except ValueError:
                entries.append(None)
            if not isinstance(entries[-1], dict):
                entries[-1] = {"note": f"unreadable ledger line {line.number}"}
    files = RunFiles.read(root)
    return {
        "entries": entries,
        "truncated": truncated,
        "problem": problem,
        "totals": (files.summary or {}).get("ledger"),
        "agent": as_dict(as_dict(files.agent).get("agent")),
    }
