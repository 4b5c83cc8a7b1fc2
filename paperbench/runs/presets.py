"""Run-condition presets: another benchmark's conditions applied to every paper of a run.

PaperBench sets its run conditions for the whole run, not per paper (``paperbench/nano/eval.py``
and ``nano/structs.py`` of openai/frontier-evals, and its README's canonical command). The
``paperbench`` preset applies exactly those, each value with where it comes from:

==========================  ==================  ===============================================
condition                   preset value        PaperBench's source
==========================  ==================  ===============================================
agent network               ``filtered``        ``allow_internet=True``; here the internet
                                                goes through the egress proxy, which refuses
                                                blacklisted URLs (PaperBench: the monitor only)
reproduction network        ``bridge``          ``ReproductionConfig``: ``network_mode``
                                                unproxied
GPUs (agent, reproduction)  1 NVIDIA GPU        an A10 in its paper; ``is_nvidia_gpu_env=true``
                                                on both runtimes in its README
agent time limit            12 h                its paper's runs (its README's example: 24 h,
                                                ``--agent-time-limit 86400``)
reproduction time limit     100 h               ``ReproductionConfig.timeout`` (its README's
                                                example: 24 h)
snapshots                   every 30 min        BasicAgent's ``upload_interval_seconds``
==========================  ==================  ===============================================

PaperBench also hands the agent an ``agent.env`` (a Hugging Face token, an OpenAI key) for the
papers whose code needs them; a preset cannot supply keys, so ``--agent-env FILE`` does, and the
run says which of its papers PaperBench lists as needing one (:data:`AGENT_ENV_NEEDS`).

How a preset meets the other sources of a value (:mod:`paperbench.runs.conditions`): an option
given on the command line, in the environment or a config file wins; then a value written in
the paper's own ``config.yaml`` (the place to override one paper); then the preset; then
paperbench's defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paperbench.papers import AgentNetworkPolicy, NetworkPolicy

PresetName = Literal["paperbench"]
HOUR = 3600


class Preset(BaseModel):
    """The conditions a preset sets, and why each has its value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    agent_network: AgentNetworkPolicy
    reproduction_network: NetworkPolicy
    gpus: int = Field(ge=0)
    agent_time_limit_seconds: int = Field(gt=0)
    reproduction_time_limit_seconds: int = Field(gt=0)
    snapshot_interval_seconds: float = Field(gt=0)
    why: dict[str, str] = Field(description="condition -> where the value comes from")


PAPERBENCH = Preset(
    name="paperbench",
    agent_network="filtered",
    reproduction_network="bridge",
    gpus=1,
    agent_time_limit_seconds=12 * HOUR,
    reproduction_time_limit_seconds=100 * HOUR,
    snapshot_interval_seconds=30 * 60,
    why={
        "agent_network": "PaperBench's agents have internet access (allow_internet=True); here "
        "through the filtered egress proxy, which refuses blacklisted URLs at the network level "
        "(the monitor still reads the transcript)",
        "reproduction_network": "PaperBench's reproduction containers have internet access",
        "gpus": "PaperBench gives the agent and the reproduction an NVIDIA GPU (an A10 in its "
        "paper)",
        "agent_time_limit_seconds": "12 h, as in PaperBench's paper (its README's example: 24 h)",
        "reproduction_time_limit_seconds": "100 h, PaperBench's ReproductionConfig.timeout "
        "(its README's example: 24 h)",
        "snapshot_interval_seconds": "every 30 min, BasicAgent's upload_interval_seconds",
    },
)
PRESETS: dict[str, Preset] = {"paperbench": PAPERBENCH}

#: Papers whose code PaperBench's README says needs a key in ``agent.env`` to be replicated
#: fully: a Hugging Face token (ImageNet, Llama-2) or the OpenAI API.
AGENT_ENV_NEEDS: dict[str, str] = {
    "lca-on-the-line": "HF_TOKEN (ImageNet)",
    "stochastic-interpolants": "HF_TOKEN (ImageNet)",
    "test-time-model-adaptation": "HF_TOKEN (ImageNet)",
    "robust-clip": "HF_TOKEN (ImageNet)",
    "bbox": "OPENAI_API_KEY (gpt-3.5-turbo / gpt-4)",
    "semantic-self-consistency": "OPENAI_API_KEY (gpt-3.5-turbo / gpt-4o-mini)",
}
