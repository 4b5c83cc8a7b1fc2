"""``--agent-env`` through a whole run: the values reach the agent's container and nothing
else — not the reproduction, not the judge, not a file of the run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from paperbench.agents.options import AgentOptions
from paperbench.papers import load_bundle
from paperbench.runs import provenance
from paperbench.runs.conditions import resolve_conditions
from paperbench.runs.orchestrator import Orchestrator
from paperbench.sandbox.gpus import HostGpus
from tests.support.conditions import EnvProbingAgent, LeakingAgent
from tests.support.inprocess import local
from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import run_settings, score_development_only, write_paper

CANARY = "hf_agentEnvCanary0123456789abcdefghijklmnop"


def test_values_reach_the_agent_only_never_the_reproduction_the_judge_or_a_file(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    judge_server.default = score_development_only
    path = tmp_path / "agent.env"
    path.write_text(f"HF_TOKEN={CANARY}\n")
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    settings = settings.model_copy(update={"agent": AgentOptions(agent="replay", agent_env=path)})
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    settings, papers, conditions = resolve_conditions(settings, [paper], HostGpus(()))
    orchestrator = Orchestrator(
        settings, papers, local, agent_factory=lambda spec, bundle: EnvProbingAgent()
    )
    [record] = asyncio.run(orchestrator.run_all())
    assert record.graded and not record.failures
    run_dir = tmp_path / "runs"
    saw = next(run_dir.rglob("submission/agent-saw.txt")).read_text()
    assert saw.strip() == f"HF_TOKEN: set, {len(CANARY)} characters"
    executed = next(run_dir.rglob("reproduction/submission/results/env.txt")).read_text()
    assert executed.strip() == "HF_TOKEN is unset"
    instructions = next(run_dir.rglob("agent/instructions.md")).read_text()
    assert "`HF_TOKEN` is set in this container's environment" in instructions
    inputs = json.loads(next(run_dir.rglob("agent/inputs.json")).read_text())
    assert inputs["env_names"] == ["HF_TOKEN"]
    assert judge_server.requests and all(CANARY not in r.text for r in judge_server.requests)
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert written and not [p for p in written if CANARY.encode() in p.read_bytes()]
    recorded = provenance.collect(conditions=conditions.for_paper("toy")).model_dump_json()
    assert '"HF_TOKEN":"[redacted]"' in recorded.replace(" ", "") and CANARY not in recorded


def test_a_value_the_agent_writes_into_its_work_is_replaced_before_anyone_reads_it(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    path = tmp_path / "agent.env"
    path.write_text(f"HF_TOKEN={CANARY}\n")
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    settings = settings.model_copy(
        update={"agent": AgentOptions(agent="replay", agent_env=path, snapshot_interval=3600)}
    )
    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    settings, papers, _ = resolve_conditions(settings, [paper], HostGpus(()))
    orchestrator = Orchestrator(
        settings, papers, local, agent_factory=lambda spec, bundle: LeakingAgent()
    )
    [record] = asyncio.run(orchestrator.run_all())
    assert record.graded
    run_dir = tmp_path / "runs"
    agent = json.loads(next(run_dir.rglob("agent/agent.json")).read_text())
    # The transcript needs no scrubbing afterwards: the value is a registered secret, so the
    # transcript writer redacts it as it is written.
    assert sorted(agent["agent_env_scrubbed"]) == [
        "manifest.json",
        "submission.tar: submission/[redacted:HF_TOKEN].txt",
        "submission.tar: submission/token.txt",
    ]
    log = next(run_dir.rglob("reproduction/reproduce.log")).read_text()
    assert log.strip() == "token=[redacted:HF_TOKEN]"
    assert judge_server.requests and all(CANARY not in r.text for r in judge_server.requests)
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert not [p for p in written if CANARY.encode() in p.read_bytes() or CANARY in str(p)]
