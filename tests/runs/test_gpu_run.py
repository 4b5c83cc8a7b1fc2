"""``paperbench run --preset paperbench`` hands the agent's container the host's GPU through a
Docker device request, and records it in the run's provenance. On a host whose ``nvidia-smi``
lists a GPU but whose engine has no NVIDIA runtime (this one, with a stand-in ``nvidia-smi``),
Docker refuses the request: the run records that as the harness's failure, not the agent's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from paperbench.sandbox.gpus import host_gpus
from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import paperbench_process, replay_script, write_paper

pytestmark = pytest.mark.docker


def test_the_device_request_goes_to_docker_and_into_provenance(
    tmp_path: Path, judge_server: ScriptedLLMServer, agent_image: str
) -> None:
    if host_gpus().devices:
        pytest.skip("this host has a real GPU: tests/sandbox/test_gpu.py runs one instead")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "nvidia-smi").write_text('#!/bin/sh\necho "0, GPU-5e1f-a10, NVIDIA A10"\n')
    (tools / "nvidia-smi").chmod(0o755)
    write_paper(tmp_path / "papers", "toy", (1, 1, 1))
    runs = tmp_path / "runs"
    process = paperbench_process(
        "run",
        "--papers",
        "toy",
        "--preset",
        "paperbench",
        "--agent",
        "replay",
        "--replay-script",
        str(replay_script(tmp_path)),
        "--papers-dir",
        str(tmp_path / "papers"),
        "--runs-dir",
        str(runs),
        "--no-live",
        "--judge",
        f"openai-compatible/judge@{judge_server.openai_url}",
        "--judge-context-window",
        "32000",
        home=tmp_path / "home",
        env={"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"},
    )
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1, out + err
    assert "1 GPU -> device 0 [preset paperbench]" in out
    [record] = [json.loads(path.read_text()) for path in runs.rglob("run.json")]
    [failure] = record["failures"]
    assert (failure["kind"], failure["stage"]) == ("infrastructure_error", "agent")
    assert "nvidia" in failure["reason"].lower()
    [provenance] = [json.loads(path.read_text()) for path in runs.rglob("provenance.json")]
    conditions = provenance["invocations"][-1]["conditions"]
    assert conditions["preset"] == "paperbench"
    assert conditions["paper"]["device_request"] == [
        {
            "Driver": "nvidia",
            "Count": 0,
            "DeviceIDs": ["0"],
            "Capabilities": [["gpu"]],
            "Options": {},
        }
    ]
    assert judge_server.requests == []
