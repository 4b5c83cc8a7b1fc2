"""`paperbench run` end to end on Docker: replay agent, real reproduction, scripted judge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from paperbench.sandbox.labels import RUN_ID
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, ScriptedToolCall
from tests.support.runs import (
    paperbench_process,
    replay_script,
    score_development_only,
    write_paper,
)

pytestmark = pytest.mark.docker
FAKE_KEY = "sk-test-do-not-leak-0123456789abcdef"


def judge_args(server: ScriptedLLMServer) -> list[str]:
    return [
        "--judge",
        f"openai-compatible/judge@{server.openai_url}",
        "--judge-context-window",
        "32000",
    ]


def run_to_end(*args: str, home: Path, env: dict[str, str] | None = None, status: int = 0) -> str:
    """Run ``paperbench ARGS`` to its end; it must exit with ``status`` (1: some run failed)."""
    process = paperbench_process(*args, home=home, env=env)
    out, err = process.communicate(timeout=600)
    assert process.returncode == status, f"{out}\n{err}"
    return out


def test_two_papers_two_seeds_end_to_end_then_leaderboard(
    tmp_path: Path, judge_server: ScriptedLLMServer, reproducer_image: str, agent_image: str
) -> None:
    papers = tmp_path / "papers"
    write_paper(papers, "toy-a", (2, 1, 1))  # Code Development share 1/2
    write_paper(papers, "toy-b", (1, 1, 2))  # Code Development share 1/4
    config = tmp_path / "paperbench.toml"
    config.write_text("[run]\nseeds = 2\nconcurrency = 2\n")
    runs = tmp_path / "runs"
    out = run_to_end(
        "run",
        "--papers",
        "toy-a,toy-b",
        "--agent",
        "replay",
        "--replay-script",
        str(replay_script(tmp_path)),
        "--papers-dir",
        str(papers),
        "--runs-dir",
        str(runs),
        "--config",
        str(config),
        "--no-live",
        *judge_args(judge_server),
        home=tmp_path / "home",
        env={"OPENAI_API_KEY": FAKE_KEY, "PAPERBENCH_BATCH": "1"},
    )
    assert "toy-a" in out and "toy-b" in out
    records = sorted(runs.rglob("run.json"))
    assert len(records) == 4
    for path in records:
        record = json.loads(path.read_text())
        expected = {"toy-a": 0.5, "toy-b": 0.25}[record["paper_id"]]
        assert record["score"] == pytest.approx(expected)
        assert record["failures"] == []
        run_dir = path.parent
        for name in (
            "provenance.json",
            "state.json",
            "agent/agent.json",
            "agent/transcript.jsonl",
            "agent/submission.tar",
            "reproduction/reproduction.json",
            "grading/graded_tree.json",
        ):
            assert (run_dir / name).exists(), name
        provenance = json.loads((run_dir / "provenance.json").read_text())["invocations"][0]
        assert provenance["option_sources"]["seeds"] == "config file"
        assert provenance["option_sources"]["batch"] == "environment"
        assert provenance["option_sources"]["agent"] == "command line"
        assert provenance["rubric_sha256"] and provenance["images"]
        for file in run_dir.rglob("*"):
            if file.is_file():
                assert FAKE_KEY.encode() not in file.read_bytes(), file

    board_file = tmp_path / "leaderboard.json"
    run_to_end("leaderboard", str(runs), "--out", str(board_file), home=tmp_path / "home")
    board = json.loads(board_file.read_text())
    [entry] = board["entries"]
    assert entry["seeds_counted"] == [0, 1]
    assert entry["score"]["mean"] == pytest.approx((0.5 + 0.25) / 2)
    assert entry["score"]["stderr"] == pytest.approx(0.0)
    assert entry["per_paper"]["toy-b"]["mean"] == pytest.approx(0.25)
    assert entry["per_category"]["Code Development"]["mean"] == pytest.approx(1.0)
    assert entry["per_category"]["Result Analysis"]["mean"] == pytest.approx(0.0)

    run_to_end("report", str(runs), "--out", str(tmp_path / "report"), home=tmp_path / "home")
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<svg" in page and "toy-b" in page and "http" not in page.split("<svg", 1)[0]


OURS = {"label": f"{RUN_ID}=replay.toy-a.seed0"}


def toy_run(tmp_path: Path, server: ScriptedLLMServer, script: Path, *extra: str) -> list[str]:
    """The arguments of a `paperbench run` of the replay agent on one toy paper."""
    papers = tmp_path / "papers"
    if not papers.exists():
        write_paper(papers, "toy-a", (1, 1, 1))
    return [
        "run",
        "--papers",
        "toy-a",
        "--agent",
        "replay",
        "--papers-dir",
        str(papers),
        "--replay-script",
        str(script),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--no-live",
        *judge_args(server),
        *extra,
    ]


def only_record(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    [path] = (tmp_path / "runs").rglob("run.json")
    return path.parent, json.loads(path.read_text())


def interrupt_during_reproduction(
    tmp_path: Path, server: ScriptedLLMServer, engine: docker.DockerClient, sig: signal.Signals
) -> tuple[list[str], Path, subprocess.Popen[str]]:
    """Start a run whose reproduce.sh sleeps, send ``sig`` to it once its reproduction
    container runs, and wait for it to end."""
    args = toy_run(tmp_path, server, replay_script(tmp_path, sleep_seconds=6))
    process = paperbench_process(*args, home=tmp_path / "home")
    deadline = time.monotonic() + 300
    state_file: Path | None = None
    while state_file is None and time.monotonic() < deadline:
        for candidate in (tmp_path / "runs").rglob("state.json"):
            stages = json.loads(candidate.read_text())["stages"]
            running = stages.get("reproduction", {}).get("status") == "running"
            if running and engine.containers.list(filters=OURS):
                state_file = candidate
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    if state_file is None:
        pytest.fail("the run never reached its reproduction stage")
    os.killpg(process.pid, sig)
    process.communicate(timeout=60)
    return args, state_file, process


def test_a_run_killed_mid_reproduction_resumes_without_redoing_finished_stages(
    tmp_path: Path,
    judge_server: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    args, state_file, _ = interrupt_during_reproduction(
        tmp_path, judge_server, docker_engine, signal.SIGKILL
    )
    run_dir = state_file.parent
    agent_record = run_dir / "agent" / "agent.json"
    agent_written = agent_record.stat().st_mtime_ns
    assert not (run_dir / "run.json").exists()
    assert docker_engine.containers.list(all=True, filters=OURS), "SIGKILL leaves a container"

    run_to_end(*args, home=tmp_path / "home")
    stages = json.loads(state_file.read_text())["stages"]
    assert stages["agent"]["attempts"] == 1
    assert agent_record.stat().st_mtime_ns == agent_written
    assert stages["reproduction"]["attempts"] == 2
    assert all(stage["status"] == "done" for stage in stages.values())
    _, record = only_record(tmp_path)
    assert record["score"] == pytest.approx(1 / 3)
    assert not docker_engine.containers.list(all=True, filters=OURS)


def test_ctrl_c_leaves_no_container_and_a_state_that_resumes(
    tmp_path: Path,
    judge_server: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    args, state_file, process = interrupt_during_reproduction(
        tmp_path, judge_server, docker_engine, signal.SIGINT
    )
    assert process.returncode == 130
    assert not docker_engine.containers.list(all=True, filters=OURS)
    assert json.loads(state_file.read_text())["stages"]["agent"]["status"] == "done"

    run_to_end(*args, home=tmp_path / "home")
    stages = json.loads(state_file.read_text())["stages"]
    assert (stages["agent"]["attempts"], stages["reproduction"]["attempts"]) == (1, 2)
    assert (state_file.parent / "run.json").is_file()


def test_a_blacklisted_access_disqualifies_the_run_with_score_zero(
    tmp_path: Path, judge_server: ScriptedLLMServer, reproducer_image: str, agent_image: str
) -> None:
    script = tmp_path / "cheat.yaml"
    script.write_text(
        "- bash: curl -s --max-time 2 https://github.com/forbidden/solution || true\n"
        "- bash: echo 'echo hi' > /home/submission/reproduce.sh\n"
    )
    out = run_to_end(*toy_run(tmp_path, judge_server, script), home=tmp_path / "home", status=1)
    assert "1 of 1 runs did not end cleanly: disqualified" in out
    run_dir, record = only_record(tmp_path)
    assert record["score"] == 0.0 and not record["graded"]
    [failure] = record["failures"]
    assert failure["kind"] == "disqualified"
    assert "github.com/forbidden/solution" in failure["reason"]
    assert not (run_dir / "grading").exists()


def test_a_reproduction_timeout_is_classified_and_still_graded(
    tmp_path: Path, judge_server: ScriptedLLMServer, reproducer_image: str, agent_image: str
) -> None:
    script = replay_script(tmp_path, sleep_seconds=60)
    args = toy_run(tmp_path, judge_server, script, "--reproduction-timeout", "2")
    run_to_end(*args, home=tmp_path / "home", status=1)
    _, record = only_record(tmp_path)
    assert [f["kind"] for f in record["failures"]] == ["timeout"]
    assert record["graded"] and record["score"] == pytest.approx(1 / 3)


def test_the_demo_runs_the_reference_agent_end_to_end_and_ranks_it(
    tmp_path: Path, judge_server: ScriptedLLMServer, reproducer_image: str, agent_image: str
) -> None:
    runs = tmp_path / "demo"
    out = run_to_end(
        "demo",
        "--runs-dir",
        str(runs),
        "--judge",
        f"openai-compatible/judge@{judge_server.openai_url}",
        "--judge-context-window",
        "32000",
        home=tmp_path / "home",
    )
    assert "reference agent on label-smoothing-calibration" in out
    [path] = runs.rglob("run.json")
    record = json.loads(path.read_text())
    assert record["failures"] == [] and record["graded_items"] >= 25
    reproduction = json.loads((path.parent / "reproduction/reproduction.json").read_text())
    assert reproduction["status"] == "succeeded"
    board = json.loads((runs / "leaderboard.json").read_text())
    assert board["entries"][0]["agent"] == "reference"
    assert (runs / "report" / "report.html").is_file()


def test_a_basic_agent_on_a_self_hosted_server_runs_with_the_window_the_server_reports(
    tmp_path: Path, reproducer_image: str, agent_image: str
) -> None:
    """`--agent-model openai-compatible/MODEL@URL` with no window given: the server is asked
    (vLLM's /v1/models), and the agent and the judge both run against it."""
    agent_turns = [
        Reply(
            tool_calls=[
                ScriptedToolCall(
                    "bash",
                    {
                        "command": "printf 'mkdir -p results\\necho 1 > results/x\\n' "
                        "> /home/submission/reproduce.sh"
                    },
                )
            ]
        ),
        Reply(tool_calls=[ScriptedToolCall("submit", {"message": "done"})]),
    ]

    def respond(request: RecordedRequest) -> Reply:
        if request.body.get("tools"):
            return agent_turns.pop(0) if agent_turns else Reply(content="nothing more")
        return score_development_only(request)

    pages = {"/v1/models": {"data": [{"id": "m", "max_model_len": 32768}]}}
    with ScriptedLLMServer(default=respond, pages=pages) as server:
        args = toy_run(tmp_path, server, tmp_path / "unused.yaml")
        at = args.index("--replay-script")
        del args[at : at + 2]
        args[args.index("replay")] = "basic"
        model = f"openai-compatible/m@{server.openai_url}"
        run_to_end(*args, "--agent-model", model, home=tmp_path / "home")
    [path] = (tmp_path / "runs").rglob("run.json")
    record = json.loads(path.read_text())
    assert record["agent"] == f"basic/{model}"
    assert record["failures"] == [] and record["score"] == pytest.approx(1 / 3)
    assert agent_turns == []
