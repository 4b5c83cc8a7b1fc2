"""What goes into a model call and what comes out, independent of any provider's wire format.

A request is a list of messages plus, optionally, a JSON schema the reply must follow
(structured output) or tools the model may call. The same request shape serves the judge (one
structured reply per call) and an agent's tool-calling loop (assistant turns with tool calls,
tool turns with their results), so the agents stage reuses this layer unchanged.

Prompt caching is expressed provider-neutrally: a :class:`TextPart` with ``cache=True`` marks
the end of a stable prefix. Anthropic receives a ``cache_control`` breakpoint there; OpenAI and
llama.cpp cache shared prefixes by themselves and ignore the mark.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ReasoningEffort = Literal["minimal", "low", "medium", "high"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextPart(_Frozen):
    """A piece of text; ``cache=True`` ends a prefix that later calls will repeat verbatim."""

    text: str
    cache: bool = False


class ToolCall(_Frozen):
    """A call the model asked for: ``arguments`` as the model wrote them, parsed when JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str = ""


class Message(_Frozen):
    """One turn. ``system`` turns must come first; ``tool`` turns answer ``tool_call_id``."""

    role: Literal["system", "user", "assistant", "tool"]
    content: tuple[TextPart, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @classmethod
    def text(cls, role: Literal["system", "user", "assistant"], *parts: str) -> Message:
        return cls(role=role, content=tuple(TextPart(text=part) for part in parts))

    @property
    def joined_text(self) -> str:
        return "".join(part.text for part in self.content)


class ToolSpec(_Frozen):
    """A tool the model may call; ``parameters`` is a JSON schema of an object."""

    name: str
    description: str
    parameters: dict[str, Any]


class OutputSchema(_Frozen):
    """The JSON schema a structured reply must follow (strict: every property required)."""

    name: str
    json_schema: dict[str, Any]


class GenerateSettings(_Frozen):
    """Sampling settings; ``None`` means the provider's default, and is recorded as such."""

    temperature: float | None = None
    seed: int | None = None
    max_output_tokens: int = Field(default=8192, gt=0)
    reasoning_effort: ReasoningEffort | None = None
    timeout_seconds: float = Field(default=600.0, gt=0)


class GenerateRequest(_Frozen):
    messages: tuple[Message, ...]
    output_schema: OutputSchema | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "required", "none"] = "auto"
    settings: GenerateSettings = GenerateSettings()


class Usage(_Frozen):
    """Tokens of one call, normalised across providers.

    ``input_tokens`` counts every prompt token, including those read from the provider's cache
    (``cached_input_tokens``) and those written to it (``cache_write_tokens``, Anthropic only).
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class Completion(_Frozen):
    """A model's reply: its text, the tools it called, and what the call cost in tokens.

    ``model_version`` is the exact model the provider says answered (e.g. a dated snapshot),
    which may differ from the name asked for. ``failed_attempts`` lists the errors of attempts
    that were retried before this reply, so a caller can account for them.
    """

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    model_version: str = ""
    stop_reason: str = ""
    response_id: str = ""
    failed_attempts: tuple[str, ...] = ()
