"""Helpers for bring-your-own agent tests: agents derived from the bundled examples (their
built image, another command, environment or limits), their stage inputs, and the agent stage
run in a sandbox the test keeps open to look inside afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from paperbench.agents import AgentInputs, AgentOptions, AgentStageResult, build_agent, run_agent_in
from paperbench.agents.definitions import ensure_image, load_definition
from paperbench.agents.environment import AgentEnvironment, agent_environment
from paperbench.papers import PaperBundle
from paperbench.sandbox import DockerSandbox, Sandbox
from paperbench.sandbox.docker_backend import shared_client
from tests.support.paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "agents"


def example_image(name: str) -> str:
    """Build (once; later calls reuse it) the bundled example's image; returns its tag."""
    folder = EXAMPLES / name
    return ensure_image(shared_client(), name, load_definition(folder))


def derived_agent(folder: Path, example: str, **settings: Any) -> Path:
    """An ``agent.yaml`` in ``folder`` that runs on the example's built image, with the
    example's command unless ``settings`` replace it (or anything else)."""
    original = yaml.safe_load((EXAMPLES / example / "agent.yaml").read_text())
    definition = {
        "model": original["model"],
        "image": {"name": example_image(example)},
        "command": original["command"],
        "end": original.get("end", {"when": "exit"}),
        **settings,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent.yaml").write_text(yaml.safe_dump(definition))
    return folder


def byo_inputs(paper: PaperBundle, agent: Path | str, run_id: str, **options: Any) -> AgentInputs:
    return AgentInputs.resolve(paper, AgentOptions(agent=str(agent), **options), run_id=run_id)


@asynccontextmanager
async def stage_in_open_sandbox(
    inputs: AgentInputs, paper: PaperBundle, out_dir: Path
) -> AsyncIterator[tuple[AgentStageResult, Sandbox, AgentEnvironment]]:
    """The agent stage as :func:`run_agent_stage` runs it, but the sandbox and the run's
    network stay up until the block ends, so the test can look at what is left."""
    agent = build_agent(
        inputs.spec,
        paper,
        model=inputs.model,
        context_window=inputs.context_window,
        base_url=inputs.base_url,
    )
    async with agent_environment(
        inputs.network,
        inputs.run_id,
        blacklist=paper.blacklist,
        needs_gateway=True,
        allow=inputs.egress_allow,
        upstream_ca=inputs.egress_ca,
    ) as environment:
        spec = inputs.sandbox_spec(environment.sandbox_network, environment.sandbox_env)
        async with DockerSandbox(spec) as sandbox:
            if environment.network is not None:
                await environment.network.install_ca(sandbox)
            result = await run_agent_in(
                agent, paper, sandbox, out_dir, inputs, environment=environment
            )
            yield result, sandbox, environment
