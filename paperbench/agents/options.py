"""The agent stage's options, declared once (see :mod:`paperbench.options`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from paperbench.options import opt
from paperbench.papers import AgentNetworkPolicy


class AgentOptions(BaseModel):
    """Which agent runs, on which model, for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str = opt(
        ...,
        "Agent: reference, replay, basic, iterative, a bundled agent.yaml agent, or the path of "
        "a .toml spec or an agent.yaml (folder).",
    )
    agent_model: str | None = opt(
        None, "Model of a basic or iterative agent.", default_help="the spec's"
    )
    agent_context_window: int | None = opt(
        None,
        "Context window of an agent model the price table does not know.",
        gt=0,
        default_help="from the price table, or asked from an OpenAI-compatible server",
    )
    agent_base_url: str | None = opt(
        None, "Base URL of the agent model's API (a proxy, or a compatible server)."
    )
    replay_script: Path | None = opt(None, "YAML script of the replay agent.")
    agent_time_limit: float | None = opt(
        None, "Agent working seconds.", gt=0, default_help="the paper's"
    )
    snapshot_interval: float | None = opt(
        None, "Seconds between snapshots of the submission.", gt=0, default_help="none"
    )
    agent_network: AgentNetworkPolicy | None = opt(
        None,
        "The agent's network: none, gateway (the model gateway only), filtered (the gateway "
        "and the web through the blacklist-enforcing proxy) or bridge (unfiltered).",
        default_help="the paper's; gateway for agent.yaml agents on a none paper",
    )
    egress_allow: str | None = opt(
        None,
        "Address ranges (comma-separated CIDRs) the filtered proxy may reach besides the "
        "internet, e.g. a local package mirror.",
        default_help="none",
    )
    egress_ca: Path | None = opt(
        None, "PEM file of CAs the filtered proxy trusts for upstream TLS (besides the public)."
    )
    agent_env: Path | None = opt(
        None,
        "Dotenv file of variables for the agent's own code (e.g. HF_TOKEN), set in its "
        "container only: never in the reproduction's or the judge's, recorded by name only.",
        fingerprint=False,
    )
