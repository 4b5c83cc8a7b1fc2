"""One run's use of the model gateway: the provider that holds the real key, the run's limits,
its clock and its transcript.

Every call an agent makes through the gateway goes through :meth:`GatewaySession.generate`,
which is where the guarantees live:

- **Limits.** Before a call, the run's time, step, token and dollar limits are checked with the
  same :class:`~paperbench.agents.limits.LimitTracker` the host-side loops use; a reached limit
  refuses the call (:class:`CallRefused`) and ends the run with that limit as its reason
  (:attr:`GatewaySession.ended`). A call waits at most until the wall-time limit. The call that
  crosses a token, step or dollar limit is answered, as in our own loops; the next is refused.
  Calls running at the same time were all admitted under the limit, so a run can pass a limit
  by at most the calls it had in flight.
- **Metering.** Tokens come from the provider's normalised
  :class:`~paperbench.llm.types.Usage` and dollars from
  :func:`~paperbench.llm.catalog.price_of` with the model table, exactly as for our loops.
- **Time.** The call's wait, queueing included, is API waiting on the run's clock, so working
  time leaves it out; overlapping calls count once.
- **Transcript.** ``model_call`` before the request goes out (with the agent's new input),
  then ``model_reply`` (text, tool calls, usage, cost so far) or ``model_error`` — the event
  types and fields our loops write, so the monitor, the viewer and the leaderboard's cost read
  them unchanged. Each tool call the model asks for is also written as a ``tool_call`` event
  marked ``via: "gateway"``: the agent runs its tools itself, so this is the model's request,
  which the blacklist monitor checks as it checks our loops' calls.

No header, token or key is ever written.
"""

from __future__ import annotations

import asyncio
from typing import Any

from paperbench.agents.clock import RunClock
from paperbench.agents.limits import LimitTracker
from paperbench.agents.protocol import AgentLimits, EndReason
from paperbench.agents.transcript import Transcript, record_reply
from paperbench.gateway.wire import ApiName, ParsedRequest, recent_input
from paperbench.llm.errors import LLMError, ProviderSetupError
from paperbench.llm.provider import Provider
from paperbench.llm.types import Completion


class CallRefused(Exception):
    """A call the run's limits do not allow; the message is shown to the agent."""

    def __init__(self, reason: EndReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_LIMIT_WORDS = {
    "wall_time_limit": "wall-time limit",
    "working_time_limit": "working-time limit",
    "step_limit": "limit on model calls",
    "token_limit": "token limit",
    "cost_limit": "dollar limit",
}


class GatewaySession:
    """The state of one run behind the gateway (see the module docstring)."""

    def __init__(
        self,
        provider: Provider,
        limits: AgentLimits,
        clock: RunClock,
        transcript: Transcript,
    ) -> None:
        self.provider = provider
        self.model = provider.spec
        self.clock = clock
        self.transcript = transcript
        self.tracker = LimitTracker(limits, clock)
        self.ended = asyncio.Event()
        self.end_reason: EndReason | None = None
        self.end_detail = ""
        self.setup_error: ProviderSetupError | None = None
        self.failed_attempts = 0
        self.refused_calls = 0
        self.tool_calls = 0
        self.versions: list[str] = []
        self._gate = asyncio.Semaphore(max(1, provider.max_concurrency))

    @property
    def default_max_tokens(self) -> int:
        """The reply limit of a call that sets none: the loops' 8192, within the window."""
        return max(256, min(8192, self.model.context_window // 4))

    def end(self, reason: EndReason, detail: str) -> None:
        """End the run (the first reason wins); the agent's command is then stopped."""
        if self.end_reason is None:
            self.end_reason = reason
            self.end_detail = detail
        self.ended.set()

    def check(self) -> None:
        """Raises: CallRefused: a limit is reached (the run is then ended with it)."""
        reason = self.end_reason or self.tracker.reached()
        if reason is None:
            return
        if self.end_reason is None:
            self.end(reason, self.tracker.describe())
        self.refused_calls += 1
        words = _LIMIT_WORDS.get(reason, reason.replace("_", " "))
        raise CallRefused(
            reason,
            f"paperbench: this run's {words} is reached ({self.tracker.describe()}); no more "
            "model calls are allowed and the run is ending",
        )

    async def generate(self, api: ApiName, parsed: ParsedRequest) -> Completion:
        """One metered call of the run's model.

        Raises:
            CallRefused: a limit is reached, before the call or while it waited.
            LLMError: the provider failed after its retries; ``ProviderSetupError`` (a refused
                key or model) also ends the run, as for our loops.
        """
        self.check()
        request = parsed.request
        tracker, transcript = self.tracker, self.transcript
        transcript.write(
            "model_call",
            step=tracker.steps + 1,
            api=api,
            stream=parsed.stream,
            messages=len(request.messages),
            tools=len(request.tools),
            requested_model=parsed.requested_model,
            input=recent_input(request.messages),
        )
        try:
            with self.clock.waiting_for_api():
                async with self._gate:
                    completion = await asyncio.wait_for(
                        self.provider.generate(request), timeout=tracker.wall_left()
                    )
        except TimeoutError:
            transcript.write("model_error", error="the wall-time limit ran out")
            self.end("wall_time_limit", tracker.describe())
            raise CallRefused(
                "wall_time_limit", "paperbench: the run's wall time ran out"
            ) from None
        except ProviderSetupError as error:
            transcript.write("model_error", error=str(error))
            self.setup_error = error
            self.end("model_error", str(error))
            raise
        except LLMError as error:
            self.failed_attempts += len(error.attempts) or 1
            transcript.write("model_error", error=str(error), attempts=list(error.attempts))
            raise
        self._record(completion)
        return completion

    def _record(self, completion: Completion) -> None:
        tracker, transcript = self.tracker, self.transcript
        self.failed_attempts += len(completion.failed_attempts)
        record_reply(transcript, tracker, completion, self.model.price, self.versions)
        for call in completion.tool_calls:
            self.tool_calls += 1
            transcript.write(
                "tool_call", id=call.id, name=call.name, arguments=_arguments(call), via="gateway"
            )


def _arguments(call: Any) -> Any:
    return call.arguments if call.arguments or not call.raw_arguments else call.raw_arguments
