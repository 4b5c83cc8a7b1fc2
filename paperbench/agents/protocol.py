"""What an agent is given and what it gives back.

An agent is anything with a ``name`` and an async ``run(context) -> AgentResult``: a
:class:`typing.Protocol`, because the harness only ever calls that one method and users bring
their own agents (Inspect uses a Protocol for its solvers for the same reason). The model
agents (:mod:`paperbench.agents.loop`) and the scripted ones (:mod:`paperbench.agents.scripted`)
both fit it.

The :class:`AgentContext` holds what the agent may use and nothing more: a started sandbox,
the agent-visible view of the paper (:class:`AgentPaper`: what was uploaded to ``/home/paper``,
never the rubric, the judge's addendum or a reference solution), the instructions, the limits,
the transcript to write to and the run's clock. Secrets are not in it: a model agent opens its
provider on the host, and the sandbox only ever receives tool calls.

:class:`AgentResult` is the serialisable record: why the run ended, tokens, dollars, time (wall,
working and API waiting), the transcript's location, and the snapshots the stage took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from paperbench.agents.clock import RunClock
from paperbench.agents.transcript import Transcript
from paperbench.llm.types import Usage
from paperbench.sandbox.base import Sandbox

if TYPE_CHECKING:
    from paperbench.gateway import ModelGateway

#: Why a run ended.
#:
#: - ``submitted``: the agent called ``submit`` (``basic``) or its script did (``replay``).
#: - ``finished``: a scripted agent ran to its end without submitting.
#: - ``wall_time_limit``, ``working_time_limit``, ``step_limit``, ``token_limit``,
#:   ``cost_limit``: a hard limit of :class:`AgentLimits` was reached.
#: - ``model_error``: the model could not be called (still failing after retries, or a request
#:   the provider refuses even after the context was trimmed).
#: - ``sandbox_error``: the sandbox stopped answering.
#: - ``error``: the agent raised; ``AgentResult.error`` has the message.
EndReason = Literal[
    "submitted",
    "finished",
    "wall_time_limit",
    "working_time_limit",
    "step_limit",
    "token_limit",
    "cost_limit",
    "model_error",
    "sandbox_error",
    "error",
]
LIMIT_REASONS: frozenset[EndReason] = frozenset(
    {"wall_time_limit", "working_time_limit", "step_limit", "token_limit", "cost_limit"}
)


class AgentLimits(BaseModel):
    """Hard limits of one agent run; ``None`` means no limit of that kind.

    ``working_time_seconds`` is wall time minus the time spent waiting for the model's API
    (calls, retries and their backoff): the agent is not charged for a slow or rate-limited
    provider. ``wall_time_seconds`` bounds everything, API waits included. ``max_tokens``
    counts input plus output tokens as the provider reports them (cached input included),
    ``max_cost_usd`` prices them with the model table. ``max_steps`` counts model calls (for a
    scripted agent: tool calls).

    The model call or tool call that crosses a token, cost or step limit is the last: its tool
    calls still run (they cost nothing), then the run ends. Time limits are harder: no call
    starts after them, and a running command is killed when the time runs out.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_time_seconds: float | None = Field(default=None, gt=0)
    working_time_seconds: float | None = Field(default=None, gt=0)
    max_steps: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)


class Snapshot(BaseModel):
    """``/home/submission`` at one moment, captured as an archive with its manifest."""

    index: int
    kind: Literal["periodic", "final"]
    taken_at: datetime
    wall_seconds: float = Field(description="since the agent started")
    working_seconds: float = Field(description="wall time minus API waits, since the start")
    archive: str | None = Field(description="path relative to the stage folder")
    manifest: str | None = None
    files: int = 0
    bytes: int = 0
    excluded: int = Field(default=0, description="entries left out (see the manifest)")
    error: str | None = None


class AgentResult(BaseModel):
    """How one agent run went. Written by the stage as ``agent.json`` (inside its result)."""

    agent: str
    model: str | None = None
    model_versions: list[str] = Field(default_factory=list)
    end_reason: EndReason
    detail: str = ""
    error: str | None = None
    started_at: datetime
    ended_at: datetime
    wall_seconds: float
    working_seconds: float
    api_wait_seconds: float
    steps: int = 0
    tool_calls: int = 0
    usage: Usage = Usage()
    cost_usd: float | None = Field(
        default=0.0, description="None when the model has no price in the model table"
    )
    failed_api_attempts: int = 0
    transcript: str
    submit_message: str | None = None
    snapshots: list[Snapshot] = Field(default_factory=list)


@dataclass(frozen=True)
class AgentPaper:
    """The paper as the agent sees it: ids and the files uploaded to ``paper_dir``."""

    id: str
    title: str
    files: tuple[str, ...]
    blacklist: tuple[str, ...]
    paper_dir: str = "/home/paper"


@dataclass
class AgentContext:
    """Everything an agent gets for one run (see the module docstring)."""

    sandbox: Sandbox
    paper: AgentPaper
    instructions: str
    limits: AgentLimits
    transcript: Transcript
    clock: RunClock
    submission_dir: str = "/home/submission"
    network_policy: str = "none"
    #: The run's model gateway (on the host) and its URL as the container reaches it; set for
    #: agents that run in the container (:mod:`paperbench.agents.container`) on a network that
    #: has one.
    gateway: ModelGateway | None = None
    gateway_url: str | None = None


@runtime_checkable
class Agent(Protocol):
    """An agent: works in ``context.submission_dir`` and says how its run ended.

    ``run`` ends the run itself when a limit is reached and reports it in the result; it
    raises only for problems the user must fix before any run can work (for example
    :class:`~paperbench.llm.errors.ProviderSetupError`: a missing API key).
    """

    name: str

    async def run(self, context: AgentContext) -> AgentResult: ...
