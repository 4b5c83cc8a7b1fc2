"""The tools a model agent uses, run inside the sandbox: ``bash``, ``python``,
``read_file_chunk``, ``search_file`` and ``submit``.

The model only ever names a tool and its arguments; this module turns that into sandbox
commands, so the agent loop — and any secret it holds — stays on the host. Choices made here:

- ``bash`` and ``python`` start a fresh process each call in ``/home/submission`` (no shell
  state survives a call; files do). Each has a per-command timeout, cut further to the time the
  run has left, so a command cannot outlive the run's time limit; a command killed for that
  reason is reported as such, and the loop then ends the run.
- ``read_file_chunk`` and ``search_file`` read through :meth:`Sandbox.read_file` and slice on
  the host, numbering lines from 1, so paging through a long file costs the model only the
  lines it asks for.
- Output sent back to the model is cut to ``max_output_chars``, keeping its head and tail (the
  sandbox already caps what it keeps per stream).
- A tool's own failure (a missing file, bad arguments, an unknown tool) is a result the model
  reads and can recover from, never an exception; only a sandbox that is gone raises.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from paperbench.llm.types import ToolCall, ToolSpec
from paperbench.sandbox.base import ExecResult, Sandbox
from paperbench.sandbox.errors import SandboxError, SandboxGoneError

BASH = ToolSpec(
    name="bash",
    description=(
        "Run a bash command in the sandbox (a fresh shell each call, working folder "
        "/home/submission). Returns the exit code, stdout and stderr."
    ),
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string", "description": "the bash command"}},
        "required": ["command"],
    },
)
PYTHON = ToolSpec(
    name="python",
    description=(
        "Run a Python 3 program in the sandbox (a fresh interpreter each call, working folder "
        "/home/submission). Print what you want to see."
    ),
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "description": "the program"}},
        "required": ["code"],
    },
)
READ_FILE_CHUNK = ToolSpec(
    name="read_file_chunk",
    description="Read lines of a text file in the sandbox, numbered from 1.",
    parameters={
        "type": "object",
        "properties": {
            "file": {"type": "string", "description": "path; relative to /home/submission"},
            "start_line": {"type": "integer", "description": "first line (from 1)", "default": 1},
            "max_lines": {"type": "integer", "description": "at most 200", "default": 50},
        },
        "required": ["file"],
    },
)
SEARCH_FILE = ToolSpec(
    name="search_file",
    description=(
        "Find the lines of a text file in the sandbox that contain a phrase (case-insensitive), "
        "with line numbers and some context."
    ),
    parameters={
        "type": "object",
        "properties": {
            "file": {"type": "string", "description": "path; relative to /home/submission"},
            "query": {"type": "string", "description": "the phrase to look for"},
            "context_lines": {"type": "integer", "default": 2},
            "max_matches": {"type": "integer", "default": 20},
            "page": {"type": "integer", "description": "page of matches, from 1", "default": 1},
        },
        "required": ["file", "query"],
    },
)
SUBMIT = ToolSpec(
    name="submit",
    description=(
        "End your work: call this once /home/submission holds your replication and its "
        "reproduce.sh. Nothing can be changed afterwards."
    ),
    parameters={
        "type": "object",
        "properties": {"message": {"type": "string", "description": "a short summary"}},
        "required": ["message"],
    },
)
ALL_TOOLS = (BASH, PYTHON, READ_FILE_CHUNK, SEARCH_FILE, SUBMIT)
TOOL_NAMES = tuple(tool.name for tool in ALL_TOOLS)
MAX_CHUNK_LINES = 200


@dataclass
class ToolOutcome:
    """What a tool call produced: the text for the model, and what the loop must know."""

    text: str
    submitted: bool = False
    killed_by_time_limit: bool = False
    exit_code: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool; the message is shown to the model."""


def _text(arguments: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = arguments.get(name)
    if value is None:
        if required:
            raise ToolArgumentError(f"missing argument {name!r}")
        return ""
    if not isinstance(value, str):
        raise ToolArgumentError(f"argument {name!r} must be a string")
    return value


def _number(arguments: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = arguments.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ToolArgumentError(f"argument {name!r} must be an integer") from None
    return min(max(number, low), high)


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and tail."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[-tail:]}"


class ToolBox:
    """Runs tool calls in one sandbox; ``tools`` are the specs offered to the model."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        submission_dir: str = "/home/submission",
        command_timeout_seconds: float = 600.0,
        max_output_chars: int = 20_000,
        allow_submit: bool = True,
    ) -> None:
        self.sandbox = sandbox
        self.submission_dir = submission_dir
        self.command_timeout = command_timeout_seconds
        self.max_output_chars = max_output_chars
        self.tools = ALL_TOOLS if allow_submit else tuple(t for t in ALL_TOOLS if t is not SUBMIT)

    async def run(self, call: ToolCall, time_left: float | None = None) -> ToolOutcome:
        """Run one call; ``time_left`` (seconds) caps how long a command may take.

        Raises:
            SandboxGoneError: the sandbox is closed or its container is gone.
        """
        offered = {tool.name for tool in self.tools}
        if call.name not in offered:
            return ToolOutcome(f"error: unknown tool {call.name!r}; use one of {sorted(offered)}")
        if call.raw_arguments and not call.arguments and call.raw_arguments.strip() != "{}":
            return ToolOutcome("error: the arguments are not a JSON object")
        try:
            if call.name == "bash":
                command = _text(call.arguments, "command")
                return await self._command(["bash", "-c", command], None, time_left)
            if call.name == "python":
                code = _text(call.arguments, "code")
                return await self._command(["python3", "-"], code, time_left)
            if call.name == "read_file_chunk":
                return await self._read_chunk(call.arguments)
            if call.name == "search_file":
                return await self._search(call.arguments)
            message = _text(call.arguments, "message", required=False)
            return ToolOutcome("submitted", submitted=True, data={"message": message})
        except ToolArgumentError as error:
            return ToolOutcome(f"error: {error}")
        except SandboxGoneError:
            raise
        except (OSError, SandboxError, UnicodeError) as error:
            return ToolOutcome(f"error: {error}")

    async def _command(
        self, argv: list[str], stdin: str | None, time_left: float | None
    ) -> ToolOutcome:
        timeout = self.command_timeout
        limited = time_left is not None and time_left < timeout
        if time_left is not None:
            if time_left <= 0:
                return ToolOutcome("not run: the time limit was reached", killed_by_time_limit=True)
            timeout = min(timeout, time_left)
        result = await self.sandbox.exec(
            argv, input=stdin, cwd=self.submission_dir, timeout=max(timeout, 0.01)
        )
        killed_by_limit = result.timed_out and limited
        return ToolOutcome(
            self._describe(result, timeout, killed_by_limit),
            killed_by_time_limit=killed_by_limit,
            exit_code=result.exit_code,
            data={"duration_s": result.duration_s, "timed_out": result.timed_out},
        )

    def _describe(self, result: ExecResult, timeout: float, killed_by_limit: bool) -> str:
        lines = [f"exit code: {result.exit_code}"]
        if result.timed_out:
            why = "the run's time limit was reached" if killed_by_limit else "per-command timeout"
            lines.append(f"killed after {timeout:.0f}s ({why})")
        if result.oom_killed:
            lines.append("killed: out of memory")
        budget = self.max_output_chars
        for name, text, cut in (
            ("stdout", result.stdout, result.stdout_truncated),
            ("stderr", result.stderr, result.stderr_truncated),
        ):
            if text:
                note = " (cut by the sandbox)" if cut else ""
                lines.append(f"{name}{note}:\n{clip(text, budget // 2)}")
        return "\n".join(lines)

    def _path(self, arguments: dict[str, Any]) -> str:
        return posixpath.normpath(posixpath.join(self.submission_dir, _text(arguments, "file")))

    async def _file_lines(self, path: str) -> list[str]:
        raw = await self.sandbox.read_file(path, text=False)
        return raw.decode("utf-8", errors="replace").splitlines()

    async def _read_chunk(self, arguments: dict[str, Any]) -> ToolOutcome:
        path = self._path(arguments)
        lines = await self._file_lines(path)
        start = _number(arguments, "start_line", 1, 1, max(len(lines), 1))
        count = _number(arguments, "max_lines", 50, 1, MAX_CHUNK_LINES)
        chunk = lines[start - 1 : start - 1 + count]
        if not lines:
            return ToolOutcome(f"{path} is empty")
        body = "\n".join(f"{start + i}: {line}" for i, line in enumerate(chunk))
        end = start + len(chunk) - 1
        header = f"{path}: lines {start}-{end} of {len(lines)}"
        return ToolOutcome(clip(f"{header}\n{body}", self.max_output_chars))

    async def _search(self, arguments: dict[str, Any]) -> ToolOutcome:
        path = self._path(arguments)
        query = _text(arguments, "query")
        if not query:
            raise ToolArgumentError("query must not be empty")
        lines = await self._file_lines(path)
        context = _number(arguments, "context_lines", 2, 0, 20)
        per_page = _number(arguments, "max_matches", 20, 1, 100)
        page = _number(arguments, "page", 1, 1, 1_000_000)
        hits = [i for i, line in enumerate(lines) if query.lower() in line.lower()]
        if not hits:
            return ToolOutcome(f"no line of {path} contains {query!r}")
        shown = hits[(page - 1) * per_page : page * per_page]
        pages = (len(hits) + per_page - 1) // per_page
        blocks = []
        for hit in shown:
            low, high = max(0, hit - context), min(len(lines), hit + context + 1)
            blocks.append(
                "\n".join(
                    f"{'>' if i == hit else ' '}{i + 1}: {lines[i]}" for i in range(low, high)
                )
            )
        header = f"{len(hits)} matching lines in {path} (page {page} of {pages})"
        return ToolOutcome(clip(header + "\n" + "\n--\n".join(blocks), self.max_output_chars))
