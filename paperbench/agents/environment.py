"""What surrounds an agent's container for one run: its network and, when the agent runs in the
container, the model gateway it calls.

:func:`agent_environment` opens, in order, the run's networks and egress container
(:class:`~paperbench.sandbox.networks.RunNetwork`, for the ``gateway`` and ``filtered``
policies), the model gateway on the host's address on the run's uplink (when the agent needs
one), and then the egress container that forwards to it; it closes them in reverse order
whatever happens. ``none`` needs none of this (the sandbox gets Docker's ``none`` mode, and an
agent in its container then has no model to call), nor does ``bridge`` for our host-side loops
(Docker's ``bridge`` mode); an agent in its container on ``bridge`` gets an ordinary network of
the run's own whose host address the gateway listens on.

After the run, :meth:`AgentEnvironment.record` writes the proxy's fetch log (``egress.jsonl``:
method, URL, status, bytes, and what refused it) and returns the summary kept in ``agent.json``.
A refused fetch is recorded, not disqualifying: the network stopped it. The transcript monitor
still reads the model's tool calls, so an attempt the network stopped is still caught there.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from paperbench.agents.urls import blacklist_target
from paperbench.errors import PaperbenchError
from paperbench.gateway import ModelGateway
from paperbench.sandbox.networks import BlacklistTarget, EgressPolicy, RunNetwork

EGRESS_LOG = "egress.jsonl"


class NetworkRecord(BaseModel):
    """The agent's network in ``agent.json``: its policy and what went through the proxy."""

    policy: str
    egress_log: str | None = Field(None, description="the fetch log, relative to the stage")
    fetches: int = 0
    refused: int = 0
    refused_urls: list[str] = Field(default_factory=list, description="the first 20")


@dataclass
class AgentEnvironment:
    """An open environment: how to make the sandbox and what the agent gets."""

    policy: str
    sandbox_network: str
    sandbox_env: dict[str, str] = field(default_factory=dict)
    gateway: ModelGateway | None = None
    gateway_url: str | None = None
    network: RunNetwork | None = None

    def record(self, out_dir: Path) -> NetworkRecord:
        """Write ``egress.jsonl`` (``filtered``) and return the summary."""
        if self.network is None or self.network.proxy_url is None:
            return NetworkRecord(policy=self.policy)
        fetches = self.network.fetches()
        with (out_dir / EGRESS_LOG).open("w", encoding="utf-8") as log:
            for fetch in fetches:
                log.write(json.dumps(fetch.model_dump(), ensure_ascii=False) + "\n")
        refused = [fetch for fetch in fetches if fetch.refused]
        return NetworkRecord(
            policy=self.policy,
            egress_log=EGRESS_LOG,
            fetches=len(fetches),
            refused=len(refused),
            refused_urls=[fetch.url for fetch in refused[:20]],
        )


def blacklist_targets(blacklist: Sequence[str]) -> list[BlacklistTarget]:
    """The paper's blacklist as the proxy matches it (entries the monitor cannot parse are
    left out here too, and reported by the monitor)."""
    targets = []
    for entry in blacklist:
        target = blacklist_target(entry)
        if target is not None:
            targets.append(BlacklistTarget(entry=entry, host=target.host, path=target.path))
    return targets


@asynccontextmanager
async def agent_environment(
    policy: str,
    run_id: str,
    *,
    blacklist: Sequence[str] = (),
    needs_gateway: bool = False,
    allow: Sequence[str] = (),
    upstream_ca: str | None = None,
    backend: str = "docker",
) -> AsyncIterator[AgentEnvironment]:
    """Open the environment of one run (see the module docstring).

    Raises:
        PaperbenchError: the policy needs Docker networks but the sandbox backend is another.
        SandboxStartError, ImageMissingError: the networks or the egress container failed.
        OSError: the gateway could not listen.
    """
    if policy == "none" or (policy == "bridge" and not needs_gateway):
        yield AgentEnvironment(policy=policy, sandbox_network=policy)
        return
    if policy not in ("gateway", "filtered", "bridge"):
        raise PaperbenchError(f"unknown agent network policy {policy!r}")
    if backend != "docker":
        raise PaperbenchError(
            f"the {policy} network policy needs the docker sandbox backend (not {backend})"
        )
    kinds: dict[str, EgressPolicy] = {
        "gateway": "gateway",
        "filtered": "filtered",
        "bridge": "open",
    }
    network = RunNetwork(
        kinds[policy],
        run_id,
        blacklist=blacklist_targets(blacklist),
        allow=allow,
        upstream_ca=upstream_ca,
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(network.close)
        host = await network.create()
        gateway = None
        if needs_gateway:
            gateway = ModelGateway()
            stack.push_async_callback(gateway.close)
            await gateway.start(host)
        await network.start_egress(gateway.port if gateway else None)
        url = network.gateway_url
        if policy == "bridge" and gateway is not None:
            url = f"http://{host}:{gateway.port}"  # no egress container on an open network
        yield AgentEnvironment(
            policy=policy,
            sandbox_network=network.agent_network,
            sandbox_env=network.sandbox_env(),
            gateway=gateway,
            gateway_url=url if gateway else None,
            network=network,
        )
