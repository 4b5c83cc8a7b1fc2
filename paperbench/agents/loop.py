"""The model agents: ``basic`` (a tool-using loop that ends when the model submits) and
``iterative`` (the same loop without ``submit``, nudged to keep improving until a limit ends it).

Both run on the host and talk to the model through the shared provider layer
(:mod:`paperbench.llm`: OpenAI Chat Completions and Responses, Anthropic Messages,
OpenAI-compatible servers), so the API key never leaves the harness process; only tool calls
reach the sandbox (:mod:`paperbench.agents.tools`). One step is one model call followed by the
tool calls it asked for. Around each step the loop:

- checks the limits (:mod:`paperbench.agents.limits`) and ends the run with the reason when one
  is reached; a model call waits at most until the wall-time limit, and a command runs at most
  until the nearer time limit;
- counts the model call's time, retries and backoff included, as API waiting, which working
  time leaves out (:mod:`paperbench.agents.clock`);
- every ``reminder_every_steps`` steps tells the model how much time and budget it has left;
- drops the oldest turns when the context would overflow, keeping the task
  (:mod:`paperbench.agents.context`), and drops more if the provider still refuses the request
  as too long;
- writes every model reply, tool call and tool result to the transcript as it happens.

A reply without tool calls gets a nudge (``basic``) or the continue prompt (``iterative``, which
also gets it after every step, as PaperBench's iterative agent does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NoReturn

from pydantic import BaseModel, ConfigDict, Field

from paperbench.agents.context import Context
from paperbench.agents.limits import LimitTracker, check_limits_enforceable, end_run
from paperbench.agents.protocol import AgentContext, AgentResult, EndReason
from paperbench.agents.tools import ToolBox
from paperbench.agents.transcript import record_reply
from paperbench.llm import open_provider
from paperbench.llm.catalog import ModelSpec
from paperbench.llm.errors import LLMError, ProviderSetupError, RequestRejected
from paperbench.llm.provider import Provider
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.types import (
    Completion,
    GenerateRequest,
    GenerateSettings,
    Message,
    ReasoningEffort,
    TextPart,
)
from paperbench.sandbox.errors import SandboxGoneError

ProviderFactory = Callable[[ModelSpec, RetryPolicy | None], Provider]
#: Words in a provider's refusal that mean the prompt was too long for the model.
_TOO_LONG = ("context", "too long", "too many tokens", "maximum", "prompt is too long")


class LoopSettings(BaseModel):
    """How a model agent behaves (the ``[loop]`` and prompt parts of an agent spec)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system_prompt: str
    nudge_prompt: str = "Please continue, using your tools. When you are done, call submit."
    continue_prompt: str = "Continue working on the task, improving your submission."
    reminder_every_steps: int | None = Field(default=5, gt=0)
    command_timeout_seconds: float = Field(default=600.0, gt=0)
    max_output_chars: int = Field(default=20_000, gt=100)
    max_output_tokens: int = Field(default=8192, gt=0)
    temperature: float | None = None
    reasoning_effort: ReasoningEffort | None = None
    call_timeout_seconds: float = Field(default=600.0, gt=0)


def _default_factory(spec: ModelSpec, retry: RetryPolicy | None) -> Provider:
    return open_provider(spec, retry=retry)


class _Ended(Exception):
    def __init__(self, reason: EndReason, detail: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class ModelAgent:
    """A tool-using loop around one model; see the module docstring.

    The object holds configuration only; each :meth:`run` keeps its state in a private
    ``_Run``, so one agent may run several seeds at once.
    """

    def __init__(
        self,
        name: str,
        model: ModelSpec,
        settings: LoopSettings,
        *,
        iterative: bool = False,
        retry: RetryPolicy | None = None,
        provider_factory: ProviderFactory = _default_factory,
    ) -> None:
        self.name = name
        self.model = model
        self.settings = settings
        self.iterative = iterative
        self.retry = retry
        self.provider_factory = provider_factory

    async def run(self, context: AgentContext) -> AgentResult:
        """Run until the model submits (``basic``) or a limit is reached.

        Raises:
            ProviderSetupError: the provider cannot be used (a missing or refused API key).
            PaperbenchError: a cost limit is set for a model without a price.
        """
        check_limits_enforceable(context.limits, self.model.name, self.model.price)
        started_at = datetime.now(UTC)
        context.clock.start()
        context.transcript.write(
            "start",
            agent=self.name,
            model=self.model.name,
            context_window=self.model.context_window,
            limits=context.limits.model_dump(),
            settings=self.settings.model_dump(exclude={"system_prompt"}),
        )
        async with self.provider_factory(self.model, self.retry) as provider:
            state = _Run(self, context, provider)
            try:
                await state.loop()
            except _Ended as ended:
                reason, detail = ended.reason, ended.detail
        tracker = state.tracker
        return end_run(
            self.name,
            context,
            started_at,
            reason,
            detail,
            tracker,
            state.tool_calls,
            state.submit_message,
            model=self.model.name,
            model_versions=state.versions,
            usage=tracker.usage,
            cost_usd=tracker.cost_usd,
            failed_api_attempts=state.failed,
        )


class _Run:
    """The state of one run of a :class:`ModelAgent`."""

    def __init__(self, agent: ModelAgent, context: AgentContext, provider: Provider) -> None:
        self.agent = agent
        self.model = agent.model
        self.settings = agent.settings
        self.context = context
        self.transcript = context.transcript
        self.provider = provider
        self.tracker = LimitTracker(context.limits, context.clock)
        self.versions: list[str] = []
        self.failed = 0
        self.tool_calls = 0
        self.submit_message: str | None = None
        self.toolbox = ToolBox(
            context.sandbox,
            submission_dir=context.submission_dir,
            command_timeout_seconds=self.settings.command_timeout_seconds,
            max_output_chars=self.settings.max_output_chars,
            allow_submit=not agent.iterative,
        )
        task = Message(role="user", content=(TextPart(text=context.instructions, cache=True),))
        self.messages = Context(
            [Message.text("system", self.settings.system_prompt), task],
            window=self.model.context_window,
            reply_tokens=self.settings.max_output_tokens,
            counter=provider.token_counter(),
            tools=self.toolbox.tools,
        )

    async def loop(self) -> NoReturn:
        transcript, tracker, messages = self.transcript, self.tracker, self.messages
        transcript.write("message", role="system", text=self.settings.system_prompt)
        transcript.write("message", role="user", kind="task", text=self.context.instructions)
        if not messages.head_fits():
            raise _Ended(
                "model_error",
                f"the system prompt and task alone are over {self.model.name}'s context window "
                f"of {self.model.context_window} tokens",
            )
        reminded_at = 0
        every = self.settings.reminder_every_steps
        while True:
            self.check()
            due = every and tracker.steps and tracker.steps % every == 0
            if due and reminded_at != tracker.steps:
                reminded_at = tracker.steps
                text = f"[paperbench] Reminder: {tracker.describe()}"
                messages.add(Message.text("user", text))
                transcript.write("message", role="user", kind="reminder", text=text)
            dropped = messages.fit()
            if dropped:
                transcript.write("trim", dropped=dropped, total_dropped=messages.dropped)
            completion = await self.call()
            if completion is not None:
                await self.act(completion)

    def check(self) -> None:
        reason = self.tracker.reached()
        if reason is not None:
            raise _Ended(reason, self.tracker.describe())

    async def call(self) -> Completion | None:
        """One model call; ``None`` when the context was trimmed and the call must be redone."""
        settings, tracker, transcript = self.settings, self.tracker, self.transcript
        request = GenerateRequest(
            messages=self.messages.messages(),
            tools=self.toolbox.tools,
            settings=GenerateSettings(
                max_output_tokens=settings.max_output_tokens,
                temperature=settings.temperature,
                reasoning_effort=settings.reasoning_effort,
                timeout_seconds=settings.call_timeout_seconds,
            ),
        )
        transcript.write(
            "model_call",
            step=tracker.steps + 1,
            messages=len(request.messages),
            estimated_tokens=self.messages.tokens(),
        )
        try:
            with self.context.clock.waiting_for_api():
                completion = await asyncio.wait_for(
                    self.provider.generate(request), timeout=tracker.wall_left()
                )
        except TimeoutError:
            transcript.write("model_error", error="the wall-time limit ran out")
            raise _Ended("wall_time_limit", tracker.describe()) from None
        except ProviderSetupError:
            raise
        except LLMError as error:
            self.failed += len(error.attempts) or 1
            transcript.write("model_error", error=str(error), attempts=list(error.attempts))
            too_long = isinstance(error, RequestRejected) and any(
                word in str(error).lower() for word in _TOO_LONG
            )
            if too_long and self.messages.drop_half():
                transcript.write(
                    "trim", dropped="half", total_dropped=self.messages.dropped, why=str(error)
                )
                return None
            raise _Ended("model_error", str(error)) from None
        self.failed += len(completion.failed_attempts)
        record_reply(transcript, tracker, completion, self.model.price, self.versions)
        return completion

    async def act(self, completion: Completion) -> None:
        """Run the reply's tool calls, then add the nudge or continue prompt."""
        transcript, tracker, messages = self.transcript, self.tracker, self.messages
        text = (TextPart(text=completion.text),) if completion.text else ()
        messages.start_turn(
            Message(role="assistant", content=text, tool_calls=completion.tool_calls)
        )
        for call in completion.tool_calls:
            reason = tracker.time_reached()
            if reason is not None:
                raise _Ended(reason, tracker.describe())
            self.tool_calls += 1
            transcript.write("tool_call", id=call.id, name=call.name, arguments=call.arguments)
            try:
                outcome = await self.toolbox.run(call, tracker.time_left())
            except SandboxGoneError as error:
                transcript.write("tool_result", id=call.id, name=call.name, error=str(error))
                raise _Ended("sandbox_error", str(error)) from None
            transcript.write(
                "tool_result",
                id=call.id,
                name=call.name,
                output=outcome.text,
                exit_code=outcome.exit_code,
                **outcome.data,
            )
            messages.add(
                Message(role="tool", content=(TextPart(text=outcome.text),), tool_call_id=call.id)
            )
            if outcome.submitted:
                self.submit_message = str(outcome.data.get("message", ""))
                raise _Ended("submitted", self.submit_message)
            if outcome.killed_by_time_limit:
                raise _Ended(tracker.time_reached() or "working_time_limit", tracker.describe())
        prompt = None
        if self.agent.iterative:
            prompt = self.settings.continue_prompt
        elif not completion.tool_calls:
            prompt = self.settings.nudge_prompt
        if prompt:
            messages.add(Message.text("user", prompt))
            transcript.write("message", role="user", kind="continue", text=prompt)
        if tracker.budget_reached():
            self.check()
