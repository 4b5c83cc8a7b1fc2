"""The agent's tools, run in a real agent sandbox: bash with its per-command timeout, python,
read_file_chunk, search_file, and what the model sees when a call goes wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from paperbench.agents.tools import ToolBox, ToolOutcome
from paperbench.llm.types import ToolCall
from paperbench.sandbox import DockerSandbox, Sandbox, SandboxSpec
from paperbench.sandbox.images import AGENT_IMAGE
from tests.support.agents import run

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def sandbox(docker_engine: Any) -> Iterator[Sandbox]:
    spec = SandboxSpec(image=AGENT_IMAGE, run_id=f"tools-{uuid.uuid4().hex[:8]}", stage="test")
    sandbox = DockerSandbox(spec)
    run(sandbox.start())
    lines = "\n".join(f"line {n}: {'needle' if n % 10 == 0 else 'hay'}" for n in range(1, 301))
    run(sandbox.write_file("/home/submission/notes.txt", lines + "\n"))
    yield sandbox
    run(sandbox.close())


def call(
    sandbox: Sandbox, name: str, time_left: float | None = None, box: Any = None, **arguments: Any
) -> ToolOutcome:
    toolbox = box or ToolBox(sandbox, command_timeout_seconds=30)
    return run(toolbox.run(ToolCall(id="t", name=name, arguments=arguments), time_left))


def test_bash_runs_in_the_submission_folder_and_reports_exit_code_and_output(
    sandbox: Sandbox,
) -> None:
    outcome = call(sandbox, "bash", command="pwd; echo oops >&2; exit 3")

    assert outcome.exit_code == 3
    assert outcome.text == "exit code: 3\nstdout:\n/home/submission\n\nstderr:\noops\n"


def test_each_bash_call_is_a_fresh_shell(sandbox: Sandbox) -> None:
    call(sandbox, "bash", command="cd /tmp; export FOO=bar")

    outcome = call(sandbox, "bash", command='echo "$PWD ${FOO:-unset}"')

    assert "/home/submission unset" in outcome.text


def test_bash_commands_are_killed_at_the_per_command_timeout(sandbox: Sandbox) -> None:
    box = ToolBox(sandbox, command_timeout_seconds=1)

    outcome = call(sandbox, "bash", box=box, command="sleep 30")

    assert "killed after 1s (per-command timeout)" in outcome.text
    assert not outcome.killed_by_time_limit


def test_a_command_is_cut_to_the_time_the_run_has_left(sandbox: Sandbox) -> None:
    outcome = call(sandbox, "bash", time_left=1, command="sleep 30")

    assert outcome.killed_by_time_limit
    assert "the run's time limit was reached" in outcome.text


def test_no_command_starts_once_the_time_is_up(sandbox: Sandbox) -> None:
    outcome = call(sandbox, "bash", time_left=0, command="touch started")

    assert outcome.killed_by_time_limit
    assert call(sandbox, "bash", command="ls started").exit_code == 2


def test_python_runs_the_program_in_the_submission_folder(sandbox: Sandbox) -> None:
    outcome = call(sandbox, "python", code="import os\nprint(os.getcwd(), 6 * 7)")

    assert "/home/submission 42" in outcome.text


def test_long_output_is_cut_in_the_middle_for_the_model(sandbox: Sandbox) -> None:
    box = ToolBox(sandbox, max_output_chars=1000)

    outcome = call(sandbox, "bash", box=box, command="seq 1 100000")

    assert "characters cut" in outcome.text
    assert len(outcome.text) < 1200
    assert "\n1\n2\n" in outcome.text and outcome.text.rstrip().endswith("100000")


def test_read_file_chunk_returns_numbered_lines(sandbox: Sandbox) -> None:
    outcome = call(sandbox, "read_file_chunk", file="notes.txt", start_line=9, max_lines=2)

    assert outcome.text == (
        "/home/submission/notes.txt: lines 9-10 of 300\n9: line 9: hay\n10: line 10: needle"
    )


def test_read_file_chunk_reads_at_most_200_lines(sandbox: Sandbox) -> None:
    outcome = call(sandbox, "read_file_chunk", file="/home/submission/notes.txt", max_lines=999)

    assert outcome.text.splitlines()[0].endswith("lines 1-200 of 300")


def test_search_file_pages_through_matches_with_context(sandbox: Sandbox) -> None:
    outcome = call(
        sandbox,
        "search_file",
        file="notes.txt",
        query="NEEDLE",
        context_lines=1,
        max_matches=2,
        page=2,
    )

    lines = outcome.text.splitlines()
    assert lines[0] == "30 matching lines in /home/submission/notes.txt (page 2 of 15)"
    assert lines[1:4] == [" 29: line 29: hay", ">30: line 30: needle", " 31: line 31: hay"]


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("read_file_chunk", {"file": "nope.txt"}, "error: [Errno 2] no such file"),
        ("read_file_chunk", {"file": "/home"}, "error: [Errno 21] is a directory"),
        ("search_file", {"file": "notes.txt", "query": ""}, "error: query must not be empty"),
        ("python", {"code": 42}, "error: argument 'code' must be a string"),
        ("read_file_chunk", {"file": "notes.txt", "max_lines": "x"}, "error: argument 'max_lines'"),
    ],
)
def test_tool_failures_are_explained_to_the_model(
    sandbox: Sandbox, name: str, arguments: dict[str, Any], expected: str
) -> None:
    assert call(sandbox, name, **arguments).text.startswith(expected)


def test_arguments_that_are_not_json_are_explained(sandbox: Sandbox) -> None:
    bad = ToolCall(id="t", name="bash", arguments={}, raw_arguments='{"command": "ls"')

    outcome = run(ToolBox(sandbox).run(bad))

    assert outcome.text == "error: the arguments are not a JSON object"
