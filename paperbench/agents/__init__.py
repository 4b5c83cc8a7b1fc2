"""The agent stage: an agent replicates a paper in a sandbox, and we keep what it did.

The agent loop runs in the harness process; only its tool calls run in the sandbox, so API keys
never enter the container, the submission or the transcript. The pieces, in the order a run
uses them:

- :mod:`~paperbench.agents.prepare` — the sandbox spec, the paper files an agent may see
  (uploaded to ``/home/paper``), the instructions from ``agents/instructions.md``;
- :mod:`~paperbench.agents.protocol` — :class:`Agent`, :class:`AgentContext`,
  :class:`AgentLimits`, :class:`AgentResult`;
- :mod:`~paperbench.agents.loop` — the ``basic`` and ``iterative`` model agents, with
  :mod:`~paperbench.agents.tools`, :mod:`~paperbench.agents.limits`,
  :mod:`~paperbench.agents.context` (trimming) and :mod:`~paperbench.agents.transcript`;
- :mod:`~paperbench.agents.scripted` — the ``reference`` and ``replay`` agents;
- :mod:`~paperbench.agents.specs` — agent specs in ``agents/*.toml`` and :func:`build_agent`;
- :mod:`~paperbench.agents.snapshots` and :mod:`~paperbench.agents.capture` — the submission
  over time and at the end, as archives with manifests;
- :mod:`~paperbench.agents.monitor` — the blacklist monitor;
- :mod:`~paperbench.agents.stage` — :func:`run_agent_stage`, all of the above in one call.
"""

from __future__ import annotations

from paperbench.agents.capture import CaptureManifest, capture_submission
from paperbench.agents.clock import RunClock
from paperbench.agents.loop import LoopSettings, ModelAgent
from paperbench.agents.monitor import BlacklistFinding, MonitorReport, monitor_transcript
from paperbench.agents.options import AgentOptions
from paperbench.agents.prepare import (
    agent_paper,
    agent_sandbox_spec,
    prepare_agent_sandbox,
    render_instructions,
)
from paperbench.agents.protocol import (
    Agent,
    AgentContext,
    AgentLimits,
    AgentPaper,
    AgentResult,
    EndReason,
    Snapshot,
)
from paperbench.agents.scripted import ReferenceAgent, ReplayAgent, ScriptError, load_script
from paperbench.agents.snapshots import Snapshotter
from paperbench.agents.specs import (
    AgentSpec,
    AgentSpecError,
    build_agent,
    bundled_specs,
    limits_for,
    load_agent_spec,
)
from paperbench.agents.stage import (
    AgentInputs,
    AgentStageResult,
    run_agent_in,
    run_agent_stage,
)
from paperbench.agents.transcript import Transcript, read_transcript

__all__ = [
    "Agent",
    "AgentContext",
    "AgentInputs",
    "AgentLimits",
    "AgentOptions",
    "AgentPaper",
    "AgentResult",
    "AgentSpec",
    "AgentSpecError",
    "AgentStageResult",
    "BlacklistFinding",
    "CaptureManifest",
    "EndReason",
    "LoopSettings",
    "ModelAgent",
    "MonitorReport",
    "ReferenceAgent",
    "ReplayAgent",
    "RunClock",
    "ScriptError",
    "Snapshot",
    "Snapshotter",
    "Transcript",
    "agent_paper",
    "agent_sandbox_spec",
    "build_agent",
    "bundled_specs",
    "capture_submission",
    "limits_for",
    "load_agent_spec",
    "load_script",
    "monitor_transcript",
    "prepare_agent_sandbox",
    "read_transcript",
    "render_instructions",
    "run_agent_in",
    "run_agent_stage",
]
