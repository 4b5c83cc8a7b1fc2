"""The agent's sandbox holds the agent-visible paper files under /home/paper — never the rubric,
the judge's addendum or the reference solution — and the instructions state the task, the
reproduce.sh contract, the time limit, the hardware and the blacklist rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperbench.agents import AgentLimits, agent_sandbox_spec, prepare_agent_sandbox
from paperbench.agents.prepare import render_instructions
from paperbench.errors import PaperError
from paperbench.papers import PaperBundle, load_bundle
from paperbench.sandbox import DockerSandbox
from tests.support.agents import JUDGE_CANARY, RUBRIC_CANARY, SOLUTION_CANARY, run

FIND_FILES = "cd /home/paper && find . -mindepth 1 | sort"
GREP_CANARIES = (
    f"grep -rl --exclude-dir=proc --exclude-dir=sys -e {RUBRIC_CANARY} -e {JUDGE_CANARY} "
    f"-e {SOLUTION_CANARY} /"
)


@pytest.mark.docker
def test_only_the_agent_visible_files_reach_the_sandbox(
    tiny_paper: PaperBundle, run_id: str
) -> None:
    async def scenario() -> tuple[str, int, str, tuple[str, ...]]:
        async with DockerSandbox(agent_sandbox_spec(tiny_paper, run_id=run_id)) as sandbox:
            view = await prepare_agent_sandbox(sandbox, tiny_paper)
            listed = await sandbox.exec(["sh", "-c", FIND_FILES])
            grep = await sandbox.exec(["sh", "-c", GREP_CANARIES], timeout=120)
            paper = await sandbox.read_file("/home/paper/paper.md")
            return listed.stdout, grep.exit_code, paper, view.files

    listed, grep_status, paper, shown = run(scenario())

    assert listed.split() == [
        "./addendum.md",
        "./assets",
        "./assets/figure1.txt",
        "./blacklist.txt",
        "./paper.md",
        "./paper.pdf",
    ]
    assert grep_status == 1, "no trace of the rubric, judge addendum or solution anywhere"
    assert paper == tiny_paper.paper_md.read_text()
    assert shown == ("paper.md", "paper.pdf", "addendum.md", "assets", "blacklist.txt")


@pytest.mark.docker
def test_a_link_in_assets_cannot_smuggle_in_a_host_file(
    tiny_paper: PaperBundle, run_id: str
) -> None:
    os.symlink(tiny_paper.root / "solution" / "reproduce.sh", tiny_paper.root / "assets" / "x")

    async def scenario() -> None:
        async with DockerSandbox(agent_sandbox_spec(tiny_paper, run_id=run_id)) as sandbox:
            await prepare_agent_sandbox(sandbox, tiny_paper)

    with pytest.raises(PaperError, match="cannot show the paper to the agent"):
        run(scenario())


def test_the_sandbox_follows_the_papers_network_policy_and_resources(
    tiny_paper: PaperBundle,
) -> None:
    spec = agent_sandbox_spec(tiny_paper, run_id="r1", gpus=("0",))

    assert (spec.network, spec.cpus, spec.memory_mb, spec.gpus) == ("none", 1, 1024, ("0",))
    assert spec.stage == "agent" and spec.image == "paperbench/agent:bookworm"


@pytest.fixture
def instructions(tiny_paper: PaperBundle) -> str:
    return render_instructions(
        tiny_paper, AgentLimits(working_time_seconds=1800), max_file_bytes=10 * 1024 * 1024
    )


def test_instructions_state_the_task_and_where_things_are(instructions: str) -> None:
    assert '"A Tiny Paper for Agent Tests"' in instructions
    assert (
        "/home/paper" in instructions and "`paper.md`, `paper.pdf`, `addendum.md`" in instructions
    )
    assert "/home/submission/reproduce.sh" in instructions


def test_instructions_state_the_reproduce_sh_contract(instructions: str) -> None:
    assert "fresh container built like this one" in instructions
    assert "at most 5 minutes" in instructions, "the paper's reproduction time limit"
    assert "has no network access" in instructions
    assert "files over 10 MB are left out" in instructions


def test_instructions_state_the_time_limit_and_the_hardware(instructions: str) -> None:
    assert "you have 30 minutes of working time" in instructions
    assert "1 CPU(s), 1024 MB of memory, no GPU" in instructions


def test_instructions_state_the_blacklist_rule(instructions: str) -> None:
    assert "/home/paper/blacklist.txt" in instructions
    assert "disqualifies the run" in instructions


def test_a_paper_without_a_blacklist_says_so(tiny_paper: PaperBundle) -> None:
    (tiny_paper.root / "blacklist.txt").write_text("none\n")
    paper = load_bundle(tiny_paper.root)

    text = render_instructions(paper, AgentLimits(), max_file_bytes=1024)

    assert "No websites or repositories are blacklisted" in text


def test_a_template_with_an_unknown_placeholder_is_a_clear_error(
    tiny_paper: PaperBundle, tmp_path: Path
) -> None:
    template = tmp_path / "instructions.md"
    template.write_text("Replicate ${paper_titel}.")

    with pytest.raises(PaperError, match=r"instructions\.md: unknown or malformed placeholder"):
        render_instructions(tiny_paper, AgentLimits(), max_file_bytes=1, template=template)


def test_instructions_state_the_gpus_the_sandbox_really_has(tiny_paper: PaperBundle) -> None:
    text = render_instructions(tiny_paper, AgentLimits(), max_file_bytes=1024, gpus=2)

    assert "1 CPU(s), 1024 MB of memory, 2 GPU(s)" in text
