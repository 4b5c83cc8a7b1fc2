"""`paperbench run --agent NAME` takes a bring-your-own agent (an agent.yaml folder) like the
built-in ones: the bundled Python example replicates a toy paper through the run's gateway, its
reproduce.sh runs in a fresh container, and the judge grades it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, ScriptedToolCall
from tests.support.runs import paperbench_process, score_development_only, write_paper

pytestmark = pytest.mark.docker
FAKE_KEY = "sk-test-byo-run-do-not-leak-4f1d"
SCRIPT = (
    "mkdir -p /home/submission/results && "
    "printf '#!/bin/bash\\nmkdir -p results\\necho 0.5 | tee results/value.txt\\n' "
    "> /home/submission/reproduce.sh"
)


def agent_or_judge(request: RecordedRequest) -> Reply:
    if request.schema is not None:
        return score_development_only(request)
    if any(segment.role == "tool" for segment in request.segments):
        return Reply(content="Done: reproduce.sh prints the value.")
    return Reply(tool_calls=[ScriptedToolCall("bash", {"command": SCRIPT})])


def test_paperbench_run_takes_an_agent_yaml_agent_by_name(
    tmp_path: Path, reproducer_image: str, agent_image: str
) -> None:
    papers = tmp_path / "papers"
    write_paper(papers, "toy-byo", (2, 1, 1))
    runs = tmp_path / "runs"
    with ScriptedLLMServer(default=agent_or_judge) as server:
        process = paperbench_process(
            "run", "--papers", "toy-byo", "--papers-dir", str(papers), "--runs-dir", str(runs),
            "--agent", "python-openai",
            "--agent-model", f"openai-compatible/agent@{server.openai_url}",
            "--agent-context-window", "16000",
            "--judge", f"openai-compatible/judge@{server.openai_url}",
            "--judge-context-window", "32000", "--no-live",
            home=tmp_path / "home",
            env={"OPENAI_COMPATIBLE_API_KEY": FAKE_KEY, "PAPERBENCH_BATCH": "1"},
        )  # fmt: skip
        out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{out}\n{err}"
    [record_path] = runs.rglob("run.json")
    record = json.loads(record_path.read_text())
    assert record["failures"] == [] and record["score"] == pytest.approx(0.5)
    agent = json.loads((record_path.parent / "agent" / "agent.json").read_text())
    assert agent["agent"]["end_reason"] == "finished" and agent["network"]["policy"] == "gateway"
    inputs = json.loads((record_path.parent / "agent" / "inputs.json").read_text())
    assert inputs["spec"]["kind"] == "container" and inputs["image"].startswith("paperbench/agent-")
    reproduction = json.loads(
        (record_path.parent / "reproduction" / "reproduction.json").read_text()
    )
    assert reproduction["exit_code"] == 0
    for kept in record_path.parent.rglob("*"):
        if kept.is_file():
            assert FAKE_KEY.encode() not in kept.read_bytes(), kept
