"""The scripted agents: ``reference`` submits the paper's reference solution through the
sandbox, and ``replay`` runs a YAML list of tool calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.agents import (
    AgentLimits,
    ReplayAgent,
    ScriptError,
    build_agent,
    load_agent_spec,
    load_script,
)
from paperbench.papers import PaperBundle
from paperbench.sandbox import DockerSandbox, SandboxSpec
from paperbench.sandbox.images import REPRODUCER_IMAGE
from tests.support.agents import archive_files, events, run, stage


def reproduce_in_fresh_container(archive: Path, run_id: str) -> tuple[int, str]:
    """Run the archive's reproduce.sh as the reproduction stage would: a fresh container from
    the reproducer image, no network, exit status under pipefail."""

    async def scenario() -> tuple[int, str]:
        spec = SandboxSpec(image=REPRODUCER_IMAGE, run_id=run_id, stage="reproduction")
        async with DockerSandbox(spec) as sandbox:
            await sandbox.upload(archive, "/home")
            result = await sandbox.exec(
                ["bash", "-o", "pipefail", "reproduce.sh"], cwd="/home/submission", timeout=300
            )
            listing = await sandbox.exec(["ls", "/home/submission/results"])
            return result.exit_code, listing.stdout

    return run(scenario())


@pytest.mark.docker
def test_reference_agent_submits_a_solution_that_reproduces(
    smoothing_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    agent = build_agent(load_agent_spec("reference"), smoothing_paper)

    result = stage(agent, smoothing_paper, tmp_path, run_id)

    assert result.agent.end_reason == "finished"
    files = archive_files(tmp_path / "submission.tar")
    solution = smoothing_paper.root / "solution"
    assert files["submission/reproduce.sh"] == (solution / "reproduce.sh").read_bytes()
    assert files["submission/smoothing.py"] == (solution / "smoothing.py").read_bytes()
    status, results = reproduce_in_fresh_container(tmp_path / "submission.tar", run_id)
    assert status == 0
    assert "results.json" in results.split()


def test_reference_agent_needs_a_paper_with_a_solution(tiny_paper: PaperBundle) -> None:
    (tiny_paper.root / "solution" / "reproduce.sh").unlink()

    with pytest.raises(Exception, match="has no reference solution"):
        build_agent(load_agent_spec("reference"), tiny_paper)


@pytest.mark.docker
def test_replay_runs_a_yaml_list_of_tool_calls(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    agent = build_agent(load_agent_spec("replay"), tiny_paper)  # agents/examples/hello-replay

    result = stage(agent, tiny_paper, tmp_path, run_id)

    assert result.agent.end_reason == "submitted"
    assert result.agent.submit_message == "a minimal submission written by the replay agent"
    calls = [(e["name"], e["id"]) for e in events(tmp_path, "tool_call")]
    assert [name for name, _ in calls] == ["bash", "search_file", "python", "bash", "submit"]
    assert "# A Tiny Paper" in events(tmp_path, "tool_result")[0]["output"]
    files = archive_files(tmp_path / "submission.tar")
    assert set(files) == {"submission/main.py", "submission/reproduce.sh"}


@pytest.mark.docker
def test_replay_keeps_to_the_step_limit(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- bash: echo 1\n- bash: echo 2\n- bash: echo 3\n")

    result = stage(
        ReplayAgent(load_script(script)), tiny_paper, tmp_path, run_id, AgentLimits(max_steps=2)
    )

    assert result.agent.end_reason == "step_limit"
    assert len(events(tmp_path, "tool_call")) == 2


def test_replay_scripts_accept_the_long_and_short_forms(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "- tool: search_file\n  arguments: {file: a.txt, query: x}\n"
        "- bash: ls\n- read_file_chunk: {file: a.txt, max_lines: 3}\n- submit: done\n"
    )

    calls = load_script(script)

    assert [(c.name, c.arguments) for c in calls] == [
        ("search_file", {"file": "a.txt", "query": "x"}),
        ("bash", {"command": "ls"}),
        ("read_file_chunk", {"file": "a.txt", "max_lines": 3}),
        ("submit", {"message": "done"}),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- bash: ls\n- fly: away\n", "item 2: unknown tool 'fly'"),
        ("bash: ls\n", "a non-empty YAML list"),
        ("- bash: ls\n  python: x\n", "item 1: write {tool: NAME"),
        ("- tool: bash\n  args: {command: ls}\n", "item 1: unknown keys ['args']"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_replay_scripts_name_the_file_and_item(
    text: str, message: str, tmp_path: Path
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(text)

    with pytest.raises(ScriptError) as error:
        load_script(script)

    assert str(error.value).startswith(str(script))
    assert message in str(error.value)
