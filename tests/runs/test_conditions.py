"""Run conditions: PaperBench's preset, a paper's own config.yaml, explicit options, and the
host's GPUs, resolved before any container starts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from paperbench.agents.options import AgentOptions
from paperbench.agents.stage import AgentInputs
from paperbench.errors import PaperbenchError
from paperbench.paper_import import import_paper
from paperbench.papers import PaperBundle, load_bundle
from paperbench.reproduction import ReproductionInputs, ReproductionOptions
from paperbench.runs import provenance
from paperbench.runs.conditions import GpuShortageError, resolve_conditions
from paperbench.runs.orchestrator import Orchestrator
from paperbench.runs.settings import RunOptions, RunSettings
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.docker_config import host_config_kwargs
from paperbench.sandbox.gpus import HostGpu, HostGpus, parse_listing
from tests.support.inprocess import WritingAgent, local
from tests.support.llm_server import ScriptedLLMServer
from tests.support.paperbench_data import paperbench_checkout
from tests.support.runs import run_settings, write_paper

A10 = HostGpus((HostGpu("0", "GPU-0a10", "NVIDIA A10"), HostGpu("1", "GPU-1h00", "NVIDIA H100")))
NO_GPU = HostGpus((), "no NVIDIA GPU found (nvidia-smi is not on PATH)")


def imported(tmp_path: Path, config: str | None = None) -> PaperBundle:
    """PaperBench's semantic-self-consistency as `papers import` leaves it (config optional)."""
    project = paperbench_checkout(tmp_path / "pb", papers=("semantic-self-consistency",))
    source = project / "data" / "papers" / "semantic-self-consistency"
    import_paper(source, tmp_path / "papers")
    bundle_dir = tmp_path / "papers" / "semantic-self-consistency"
    if config is not None:
        path = bundle_dir / "config.yaml"
        path.write_text(path.read_text() + config)
    return load_bundle(bundle_dir)


def settings(tmp_path: Path, **run: object) -> RunSettings:
    return RunSettings(
        run=RunOptions(papers=["unused"], runs_dir=tmp_path / "runs", **run),  # type: ignore[arg-type]
        agent=AgentOptions(agent="replay"),
    )


def test_the_paperbench_preset_gives_internet_a_gpu_and_its_time_limits(tmp_path: Path) -> None:
    chosen, [paper], conditions = resolve_conditions(
        settings(tmp_path, preset="paperbench"), [imported(tmp_path)], A10
    )
    config = paper.config
    assert (config.agent.network, config.reproduction.network) == ("filtered", "bridge")
    assert config.agent.time_limit_seconds == 12 * 3600
    assert config.reproduction.time_limit_seconds == 100 * 3600
    assert config.resources.gpus.count == 1
    record = conditions.papers[paper.id]
    assert record.gpu_devices == ("0",)
    assert set(record.sources.values()) == {"preset paperbench"}
    assert chosen.agent.snapshot_interval == 1800
    assert conditions.preset == "paperbench"
    assert any("OPENAI_API_KEY" in note for note in conditions.notes)


def test_without_a_preset_an_imported_paper_gets_paperbench_s_defaults_not_its(
    tmp_path: Path,
) -> None:
    _, [paper], conditions = resolve_conditions(settings(tmp_path), [imported(tmp_path)], NO_GPU)
    assert paper.config.agent.network == "none"
    assert paper.config.agent.time_limit_seconds == 3600
    assert conditions.papers[paper.id].gpu_devices == ()
    assert set(conditions.papers[paper.id].sources.values()) == {"default"}


def test_a_value_in_the_paper_s_config_overrides_the_preset_for_that_paper(
    tmp_path: Path,
) -> None:
    bundle = imported(tmp_path, "agent:\n  network: none\nresources:\n  gpus: 0\n")
    _, [paper], conditions = resolve_conditions(
        settings(tmp_path, preset="paperbench"), [bundle], NO_GPU
    )
    assert paper.config.agent.network == "none"
    assert paper.config.agent.time_limit_seconds == 12 * 3600
    record = conditions.papers[paper.id]
    assert record.sources["agent_network"] == "config.yaml"
    assert record.sources["agent_time_limit"] == "preset paperbench"
    assert record.gpu_devices == () and record.gpu_fallback is None


def test_explicit_options_win_over_preset_and_paper(tmp_path: Path) -> None:
    run = settings(tmp_path, preset="paperbench", allow_cpu_fallback=True)
    run = run.model_copy(
        update={
            "agent": AgentOptions(agent="replay", agent_time_limit=86400),
            "reproduction": ReproductionOptions(reproduction_timeout=86400),
        }
    )
    _, [paper], conditions = resolve_conditions(run, [imported(tmp_path)], NO_GPU)
    record = conditions.papers[paper.id]
    assert record.agent_time_limit_seconds == record.reproduction_time_limit_seconds == 86400
    assert record.sources["agent_time_limit"] == "--agent-time-limit"
    inputs = ReproductionInputs.resolve(paper, tmp_path, run.reproduction)
    assert inputs.timeout_seconds == 86400


def test_a_paper_that_needs_a_gpu_is_refused_on_a_host_without_one(tmp_path: Path) -> None:
    with pytest.raises(GpuShortageError) as raised:
        resolve_conditions(settings(tmp_path, preset="paperbench"), [imported(tmp_path)], NO_GPU)
    message = str(raised.value)
    assert "paper semantic-self-consistency needs 1 GPU" in message
    assert "nvidia-smi is not on PATH" in message and "--allow-cpu-fallback" in message


def test_cpu_fallback_runs_without_a_gpu_and_records_why(tmp_path: Path) -> None:
    _, [paper], conditions = resolve_conditions(
        settings(tmp_path, preset="paperbench", allow_cpu_fallback=True),
        [imported(tmp_path)],
        NO_GPU,
    )
    record = conditions.papers[paper.id]
    assert record.gpu_devices == () and record.device_request == []
    assert record.gpu_fallback is not None and "needs 1 GPU" in record.gpu_fallback
    assert record.gpus.count == 1 and paper.config.resources.gpus.count == 0
    assert any("runs without a GPU" in note for note in conditions.notes)


def test_a_gpu_kind_or_device_ids_choose_among_the_host_s_devices(tmp_path: Path) -> None:
    by_kind = imported(tmp_path / "a", "resources:\n  gpus: {count: 1, kind: h100}\n")
    by_id = imported(tmp_path / "b", "resources:\n  gpus: {device_ids: ['GPU-0a10']}\n")
    wrong = imported(tmp_path / "c", "resources:\n  gpus: {count: 1, kind: A100}\n")
    _, _, found = resolve_conditions(settings(tmp_path), [by_kind], A10)
    assert found.papers[by_kind.id].gpu_devices == ("1",)
    _, _, found = resolve_conditions(settings(tmp_path), [by_id], A10)
    assert found.papers[by_id.id].gpu_devices == ("0",)
    with pytest.raises(GpuShortageError, match=r"needs 1 GPU \(A100\) but this host has 0: "):
        resolve_conditions(settings(tmp_path), [wrong], A10)


def test_nvidia_smi_s_listing_is_read_into_devices() -> None:
    listing = "0, GPU-8e2f-11aa, NVIDIA A10G\n1, GPU-77, NVIDIA H100 80GB HBM3\ngarbage\n"
    assert parse_listing(listing) == (
        HostGpu("0", "GPU-8e2f-11aa", "NVIDIA A10G"),
        HostGpu("1", "GPU-77", "NVIDIA H100 80GB HBM3"),
    )


def test_the_device_request_reaches_both_containers_and_provenance(tmp_path: Path) -> None:
    run = settings(tmp_path, preset="paperbench")
    _, [paper], conditions = resolve_conditions(run, [imported(tmp_path)], A10)
    agent = AgentInputs.resolve(paper, AgentOptions(agent="replay"), gpus=("0",))
    reproduction = ReproductionInputs.resolve(paper, tmp_path, ReproductionOptions(), gpus=("0",))
    for spec in (agent.sandbox_spec(), SandboxSpec(gpus=reproduction.gpus)):
        [request] = host_config_kwargs(spec, "volume")["device_requests"]
        assert (request["Driver"], request["DeviceIDs"]) == ("nvidia", ["0"])
        assert request["Capabilities"] == [["gpu"]]
    recorded = provenance.collect(conditions=conditions.for_paper(paper.id)).model_dump(mode="json")
    paper_record = recorded["conditions"]["paper"]
    assert paper_record["gpu_devices"] == ["0"]
    assert paper_record["device_request"] == [
        {
            "Driver": "nvidia",
            "Count": 0,
            "DeviceIDs": ["0"],
            "Capabilities": [["gpu"]],
            "Options": {},
        }
    ]
    assert recorded["conditions"]["preset"] == "paperbench"


def test_the_orchestrator_gives_each_paper_s_containers_its_devices(
    tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    specs: list[SandboxSpec] = []

    def recording(spec: SandboxSpec) -> Sandbox:
        specs.append(spec)
        return local(spec)

    paper = load_bundle(write_paper(tmp_path / "papers", "toy", (1, 1, 1)))
    orchestrator = Orchestrator(
        run_settings(tmp_path / "runs", judge_server.openai_url),
        [paper],
        recording,
        agent_factory=lambda spec, bundle: WritingAgent(),
        gpus={paper.id: ("3",)},
    )
    [record] = asyncio.run(orchestrator.run_all())
    assert record.graded
    assert [(spec.stage, spec.gpus) for spec in specs] == [
        ("agent", ("3",)),
        ("reproduction", ("3",)),
    ]
    instructions = next(tmp_path.rglob("agent/instructions.md")).read_text()
    assert "1 GPU(s)" in instructions
    inputs = json.loads(next(tmp_path.rglob("agent/inputs.json")).read_text())
    assert inputs["gpus"] == ["3"]


def test_a_run_not_given_the_devices_a_paper_needs_is_refused_before_it_starts(
    tmp_path: Path,
) -> None:
    bundle = imported(tmp_path, "resources:\n  gpus: 1\n")
    orchestrator = Orchestrator(settings(tmp_path), [bundle], local)
    with pytest.raises(PaperbenchError, match=r"paper semantic-self-consistency needs 1 GPU but"):
        orchestrator.preflight()
