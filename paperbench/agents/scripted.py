"""Scripted agents, for demos and tests: ``reference`` and ``replay``.

``reference`` puts a paper's reference solution into ``/home/submission`` through the sandbox's
upload, the way an agent's files would get there, so the rest of the pipeline (capture,
reproduction, grading) can be shown or tested on a submission known to work. The harness hands
it the solution folder when it builds the agent; the solution is never in the agent context,
which only carries what an agent may see.

``replay`` runs a YAML list of tool calls through the same tools, limits and transcript as the
model agents, with no model: a reproducible agent for tests and a way to replay a recorded
run. The file is a list; each item is either ``{tool: NAME, arguments: {...}}`` or the
shorthand ``{NAME: {...}}``, or ``{NAME: "text"}`` for a tool's main argument (``bash``'s
command, ``python``'s code, ``read_file_chunk``'s file, ``submit``'s message)::

    - bash: mkdir -p /home/submission && echo 'python3 main.py' > /home/submission/reproduce.sh
    - python: print(open('/home/paper/paper.md').read()[:200])
    - tool: read_file_chunk
      arguments: {file: /home/paper/paper.md, start_line: 1, max_lines: 20}
    - submit: done

Each tool call is a step (``max_steps`` applies); time limits apply as for the model agents.
The script is checked when the agent is built, so a malformed file fails before any sandbox
starts, with the file and the item named.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from paperbench.agents.limits import LimitTracker, end_run
from paperbench.agents.protocol import AgentContext, AgentResult, EndReason
from paperbench.agents.tools import TOOL_NAMES, ToolBox
from paperbench.errors import PaperbenchError
from paperbench.llm.types import ToolCall
from paperbench.sandbox.errors import SandboxGoneError

MAIN_ARGUMENT = {
    "bash": "command",
    "python": "code",
    "read_file_chunk": "file",
    "submit": "message",
}


class ScriptError(PaperbenchError):
    """A replay script that cannot be read or has a malformed item."""


class ReferenceAgent:
    """Copies a reference solution into the submission folder (see the module docstring)."""

    name = "reference"

    def __init__(self, solution_dir: Path) -> None:
        if not (solution_dir / "reproduce.sh").is_file():
            raise PaperbenchError(
                f"{solution_dir}: the reference agent needs a solution folder with reproduce.sh"
            )
        self.solution_dir = solution_dir

    async def run(self, context: AgentContext) -> AgentResult:
        started_at = datetime.now(UTC)
        context.clock.start()
        tracker = LimitTracker(context.limits, context.clock)
        files = sorted(
            str(p.relative_to(self.solution_dir))
            for p in self.solution_dir.rglob("*")
            if p.is_file()
        )
        context.transcript.write("start", agent=self.name, files=files)
        context.transcript.write(
            "action", action="upload", files=files, dest=context.submission_dir
        )
        try:
            await context.sandbox.upload(self.solution_dir, context.submission_dir)
        except SandboxGoneError as error:
            return end_run(self.name, context, started_at, "sandbox_error", str(error), tracker, 0)
        tracker.add_step()
        detail = f"copied {len(files)} file(s) of the reference solution"
        return end_run(self.name, context, started_at, "finished", detail, tracker, 0)


def load_script(path: Path) -> list[ToolCall]:
    """Read and check a replay script (see the module docstring).

    Raises:
        ScriptError: the file is missing, not YAML, or an item is malformed.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScriptError(f"{path}: replay script not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ScriptError(f"{path}{where}: not valid YAML") from None
    if not isinstance(raw, list) or not raw:
        raise ScriptError(f"{path}: a replay script is a non-empty YAML list of tool calls")
    return [_call(path, number, item) for number, item in enumerate(raw, start=1)]


def _call(path: Path, number: int, item: Any) -> ToolCall:
    where = f"{path}: item {number}"
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: expected a mapping such as {{bash: 'ls'}}, got {item!r:.60}")
    if "tool" in item:
        name, arguments = item.get("tool"), item.get("arguments", {})
        extra = set(item) - {"tool", "arguments"}
        if extra:
            raise ScriptError(f"{where}: unknown keys {sorted(extra)}")
    elif len(item) == 1:
        name, arguments = next(iter(item.items()))
    else:
        raise ScriptError(f"{where}: write {{tool: NAME, arguments: {{...}}}} or {{NAME: ...}}")
    if name not in TOOL_NAMES:
        raise ScriptError(f"{where}: unknown tool {name!r}; tools: {', '.join(TOOL_NAMES)}")
    if isinstance(arguments, str) and name in MAIN_ARGUMENT:
        arguments = {MAIN_ARGUMENT[name]: arguments}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ScriptError(f"{where}: the arguments of {name} must be a mapping")
    return ToolCall(id=f"replay-{number}", name=str(name), arguments=arguments)


class ReplayAgent:
    """Runs a fixed list of tool calls (see the module docstring)."""

    name = "replay"

    def __init__(
        self,
        calls: list[ToolCall],
        *,
        source: str = "",
        command_timeout_seconds: float = 600.0,
        max_output_chars: int = 20_000,
    ) -> None:
        self.calls = calls
        self.source = source
        self.command_timeout = command_timeout_seconds
        self.max_output_chars = max_output_chars

    @classmethod
    def from_file(cls, path: Path, **settings: Any) -> ReplayAgent:
        """Raises: ScriptError: see :func:`load_script`."""
        return cls(load_script(path), source=str(path), **settings)

    async def run(self, context: AgentContext) -> AgentResult:
        started_at = datetime.now(UTC)
        context.clock.start()
        tracker = LimitTracker(context.limits, context.clock)
        transcript = context.transcript
        toolbox = ToolBox(
            context.sandbox,
            submission_dir=context.submission_dir,
            command_timeout_seconds=self.command_timeout,
            max_output_chars=self.max_output_chars,
        )
        transcript.write("start", agent=self.name, script=self.source, steps=len(self.calls))
        done = 0

        def end(reason: EndReason, detail: str, message: str | None = None) -> AgentResult:
            return end_run(self.name, context, started_at, reason, detail, tracker, done, message)

        for call in self.calls:
            reason = tracker.reached()
            if reason is not None:
                return end(reason, tracker.describe())
            tracker.add_step()
            done += 1
            transcript.write("tool_call", id=call.id, name=call.name, arguments=call.arguments)
            try:
                outcome = await toolbox.run(call, tracker.time_left())
            except SandboxGoneError as error:
                transcript.write("tool_result", id=call.id, name=call.name, error=str(error))
                return end("sandbox_error", str(error))
            transcript.write(
                "tool_result",
                id=call.id,
                name=call.name,
                output=outcome.text,
                exit_code=outcome.exit_code,
                **outcome.data,
            )
            if outcome.submitted:
                message = str(outcome.data.get("message", ""))
                return end("submitted", message, message)
            if outcome.killed_by_time_limit:
                return end(tracker.time_reached() or "working_time_limit", tracker.describe())
        return end("finished", f"ran all {len(self.calls)} tool calls of the script")
