"""Keeping an agent run inside its :class:`~paperbench.agents.protocol.AgentLimits`.

:class:`LimitTracker` adds up steps, tokens and dollars as the agent reports them, reads time
from the run's :class:`~paperbench.agents.clock.RunClock`, and answers two questions: has a
limit been reached (and which: :meth:`LimitTracker.reached`), and how long may the next command
run (:meth:`LimitTracker.time_left`) — so a command cannot outlive the time limit, it is killed
when the time is up.

Dollars come from the model table (``grader/prices.json``, the same table the judge uses, via
:class:`~paperbench.llm.catalog.Price`). A cost limit on a model without a price cannot be kept,
so :func:`check_limits_enforceable` refuses it before the run starts rather than letting the run
go on unbounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from paperbench.agents.clock import RunClock
from paperbench.agents.protocol import AgentContext, AgentLimits, AgentResult, EndReason
from paperbench.errors import PaperbenchError
from paperbench.llm.catalog import Price, price_of
from paperbench.llm.types import Usage


def check_limits_enforceable(limits: AgentLimits, model: str, price: Price | None) -> None:
    """Raise when a limit cannot be enforced for this model.

    Raises:
        PaperbenchError: a dollar limit is set but the model has no price in the model table.
    """
    if limits.max_cost_usd is not None and price is None:
        raise PaperbenchError(
            f"agent model {model} has no price in the model table, so a cost limit of "
            f"${limits.max_cost_usd:g} cannot be enforced; add the model to the price table "
            "(--prices FILE or PAPERBENCH_PRICES) or drop the cost limit"
        )


class LimitTracker:
    """Steps, tokens, dollars and time of one run, against its limits."""

    def __init__(self, limits: AgentLimits, clock: RunClock) -> None:
        self.limits = limits
        self.clock = clock
        self.steps = 0
        self.usage = Usage()
        self.cost_usd: float | None = 0.0

    def add_step(self) -> None:
        self.steps += 1

    def add_usage(self, usage: Usage, price: Price | None) -> None:
        self.usage = self.usage + usage
        cost = price_of(usage, price)
        if cost is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += cost

    @property
    def tokens(self) -> int:
        return self.usage.input_tokens + self.usage.output_tokens

    def time_reached(self) -> EndReason | None:
        """The time limit that has been reached, if any (wall time first)."""
        limits = self.limits
        if limits.wall_time_seconds is not None and self.clock.wall() >= limits.wall_time_seconds:
            return "wall_time_limit"
        if (
            limits.working_time_seconds is not None
            and self.clock.working() >= limits.working_time_seconds
        ):
            return "working_time_limit"
        return None

    def budget_reached(self) -> EndReason | None:
        """The step, token or cost limit that has been reached, if any."""
        limits = self.limits
        if limits.max_steps is not None and self.steps >= limits.max_steps:
            return "step_limit"
        if limits.max_tokens is not None and self.tokens >= limits.max_tokens:
            return "token_limit"
        if (
            limits.max_cost_usd is not None
            and self.cost_usd is not None
            and self.cost_usd >= limits.max_cost_usd
        ):
            return "cost_limit"
        return None

    def reached(self) -> EndReason | None:
        """The first limit reached, time limits first."""
        return self.time_reached() or self.budget_reached()

    def time_left(self) -> float | None:
        """Seconds until the nearer time limit (``None``: no time limit)."""
        left: list[float] = []
        if self.limits.wall_time_seconds is not None:
            left.append(self.limits.wall_time_seconds - self.clock.wall())
        if self.limits.working_time_seconds is not None:
            left.append(self.limits.working_time_seconds - self.clock.working())
        return max(0.0, min(left)) if left else None

    def wall_left(self) -> float | None:
        """Seconds until the wall-time limit (``None``: none); bounds a model call's wait."""
        if self.limits.wall_time_seconds is None:
            return None
        return max(0.0, self.limits.wall_time_seconds - self.clock.wall())

    def describe(self) -> str:
        """One paragraph for the model: what it has used and what is left."""
        limits = self.limits
        parts = [f"Working time used: {_duration(self.clock.working())}"]
        if limits.working_time_seconds is not None:
            left = max(0.0, limits.working_time_seconds - self.clock.working())
            parts[-1] += f", left: {_duration(left)}"
        if limits.wall_time_seconds is not None:
            left = max(0.0, limits.wall_time_seconds - self.clock.wall())
            parts.append(f"wall-clock time left: {_duration(left)}")
        if limits.max_steps is not None:
            parts.append(f"steps used: {self.steps} of {limits.max_steps}")
        if limits.max_tokens is not None:
            parts.append(f"tokens used: {self.tokens} of {limits.max_tokens}")
        if limits.max_cost_usd is not None and self.cost_usd is not None:
            parts.append(f"spent: ${self.cost_usd:.2f} of ${limits.max_cost_usd:.2f}")
        return "; ".join(parts) + "."


def _duration(seconds: float) -> str:
    seconds = int(seconds)  # floor: never overstate the time left
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def end_run(
    name: str,
    context: AgentContext,
    started_at: datetime,
    reason: EndReason,
    detail: str,
    tracker: LimitTracker,
    tool_calls: int,
    submit_message: str | None = None,
    **extra: Any,
) -> AgentResult:
    """Write the transcript's ``end`` event and the run's :class:`AgentResult` from its clock
    and tracker; ``extra`` sets the fields only a model-driven agent has (model, usage, cost)."""
    context.transcript.write("end", reason=reason, detail=detail)
    clock = context.clock
    wall, working = clock.read()
    fields: dict[str, Any] = {
        "agent": name,
        "end_reason": reason,
        "detail": detail,
        "started_at": started_at,
        "ended_at": datetime.now(UTC),
        "wall_seconds": round(wall, 3),
        "working_seconds": round(working, 3),
        "api_wait_seconds": round(clock.api_wait(), 3),
        "steps": tracker.steps,
        "tool_calls": tool_calls,
        "cost_usd": 0.0,
        "transcript": str(context.transcript.path),
        "submit_message": submit_message,
    }
    return AgentResult(**{**fields, **extra})
