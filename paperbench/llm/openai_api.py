"""OpenAI's two APIs — Chat Completions and Responses — and any server that speaks the first.

Structured output uses each API's native JSON-schema mode (``response_format`` for Chat
Completions, ``text.format`` for Responses) with ``strict`` on. OpenAI caches shared prompt
prefixes by itself, so the prefix mark in :class:`~paperbench.llm.types.TextPart` needs no wire
field here; the parts are still sent as separate content parts, in order. Responses calls are
sent with ``store=false``: the judge's prompts hold other people's submissions.

For OpenAI-compatible servers (vLLM, Ollama, llama.cpp) the output limit is sent as
``max_tokens``, which they all accept; OpenAI itself gets ``max_completion_tokens``, the field
its reasoning models require.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import openai

from paperbench import secrets
from paperbench.llm.catalog import ModelSpec
from paperbench.llm.errors import LLMError, ProviderSetupError, ServerError
from paperbench.llm.provider import Provider, connection_error, timeout_error, translate_status
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.types import (
    Completion,
    GenerateRequest,
    Message,
    ToolCall,
    Usage,
)

T = TypeVar("T")
KEY_ENV = "OPENAI_API_KEY"
COMPATIBLE_KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"


def make_client(spec: ModelSpec) -> openai.AsyncOpenAI:
    """An SDK client with its own retries off (ours apply).

    Raises:
        ProviderSetupError: OpenAI itself is the target and ``OPENAI_API_KEY`` is unset.
    """
    if spec.provider in ("openai", "openai-responses"):
        key = os.environ.get(KEY_ENV)
        if not key:
            raise ProviderSetupError(
                f"model {spec.name} needs {KEY_ENV}; set it "
                "(a judge can also run offline as local/smollm2)"
            )
    else:
        key = os.environ.get(COMPATIBLE_KEY_ENV) or "not-needed"
    secrets.register(key, KEY_ENV if spec.provider != "openai-compatible" else COMPATIBLE_KEY_ENV)
    for url in (spec.base_url, os.environ.get("OPENAI_BASE_URL")):
        if url:
            secrets.strip_userinfo(url)
    return openai.AsyncOpenAI(api_key=key, base_url=spec.base_url, max_retries=0)


async def call_openai(call: Callable[[], Awaitable[T]], *, timeout: float, key_hint: str) -> T:
    """Run one SDK call, translating its exceptions into :mod:`paperbench.llm.errors`."""
    try:
        return await call()
    except openai.APITimeoutError:
        raise timeout_error(timeout) from None
    except openai.APIConnectionError as error:
        raise connection_error(error) from None
    except openai.APIStatusError as error:
        raise translate_status(
            error.status_code, str(error.message), dict(error.response.headers), key_hint=key_hint
        ) from None
    except openai.APIResponseValidationError as error:
        raise ServerError(f"malformed response: {error}") from None
    except openai.OpenAIError as error:
        raise LLMError(f"{type(error).__name__}: {error}") from None


def _parse_arguments(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _key_hint(spec: ModelSpec) -> str:
    env = COMPATIBLE_KEY_ENV if spec.provider == "openai-compatible" else KEY_ENV
    return f"check {env}"


class OpenAIChatProvider(Provider):
    """Chat Completions: OpenAI (``openai/``) or a compatible server (``openai-compatible/``)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        retry: RetryPolicy | None = None,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(spec, retry=retry)
        self.client = client or make_client(spec)
        self.limit_field = "max_completion_tokens" if spec.provider == "openai" else "max_tokens"

    def _messages(self, messages: tuple[Message, ...]) -> list[dict[str, Any]]:
        wire: list[dict[str, Any]] = []
        for message in messages:
            parts = [{"type": "text", "text": part.text} for part in message.content]
            if message.role == "tool":
                wire.append(
                    {
                        "role": "tool",
                        "tool_call_id": message.tool_call_id,
                        "content": message.joined_text,
                    }
                )
            elif message.role == "assistant":
                entry: dict[str, Any] = {
                    "role": "assistant",
                    "content": message.joined_text or None,
                }
                if message.tool_calls:
                    entry["tool_calls"] = [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.name,
                                "arguments": call.raw_arguments or json.dumps(call.arguments),
                            },
                        }
                        for call in message.tool_calls
                    ]
                wire.append(entry)
            else:
                wire.append({"role": message.role, "content": parts})
        return wire

    def body(self, request: GenerateRequest) -> dict[str, Any]:
        """The request body as sent (exposed for tests and for recording)."""
        settings = request.settings
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": self._messages(request.messages),
            self.limit_field: settings.max_output_tokens,
        }
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if settings.seed is not None:
            body["seed"] = settings.seed
        if settings.reasoning_effort is not None:
            body["reasoning_effort"] = settings.reasoning_effort
        if request.output_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.output_schema.name,
                    "schema": request.output_schema.json_schema,
                    "strict": True,
                },
            }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in request.tools
            ]
            body["tool_choice"] = request.tool_choice
        return body

    async def _attempt(self, request: GenerateRequest) -> Completion:
        body = self.body(request)
        timeout = request.settings.timeout_seconds
        response = await call_openai(
            lambda: self.client.chat.completions.create(**body, timeout=timeout),
            timeout=timeout,
            key_hint=_key_hint(self.spec),
        )
        if not response.choices:
            raise ServerError("reply has no choices")
        choice = response.choices[0]
        calls = tuple(
            ToolCall(
                id=call.id,
                name=call.function.name,
                arguments=_parse_arguments(call.function.arguments),
                raw_arguments=call.function.arguments,
            )
            for call in (choice.message.tool_calls or [])
            if call.type == "function"
        )
        usage = response.usage
        details = usage.prompt_tokens_details if usage else None
        output_details = usage.completion_tokens_details if usage else None
        return Completion(
            text=choice.message.content or "",
            tool_calls=calls,
            usage=Usage(
                input_tokens=usage.prompt_tokens if usage else 0,
                cached_input_tokens=(details.cached_tokens or 0) if details else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                reasoning_tokens=(output_details.reasoning_tokens or 0) if output_details else 0,
            ),
            model_version=response.model or "",
            stop_reason=choice.finish_reason or "",
            response_id=response.id or "",
        )

    async def aclose(self) -> None:
        await self.client.close()


class OpenAIResponsesProvider(Provider):
    """OpenAI's Responses API (``openai-responses/``); it takes no seed."""

    supports_seed = False

    def __init__(
        self,
        spec: ModelSpec,
        *,
        retry: RetryPolicy | None = None,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(spec, retry=retry)
        self.client = client or make_client(spec)

    @staticmethod
    def _input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for message in messages:
            if message.role == "tool":
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": message.tool_call_id,
                        "output": message.joined_text,
                    }
                )
                continue
            if message.role == "assistant":
                if message.content:
                    items.append(
                        {
                            "role": "assistant",
                            "content": [
                                {"type": "output_text", "text": part.text}
                                for part in message.content
                            ],
                        }
                    )
                items += [
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.raw_arguments or json.dumps(call.arguments),
                    }
                    for call in message.tool_calls
                ]
                continue
            items.append(
                {
                    "role": message.role,
                    "content": [{"type": "input_text", "text": p.text} for p in message.content],
                }
            )
        return items

    def body(self, request: GenerateRequest) -> dict[str, Any]:
        settings = request.settings
        body: dict[str, Any] = {
            "model": self.spec.model,
            "input": self._input(request.messages),
            "max_output_tokens": settings.max_output_tokens,
            "store": False,
        }
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if settings.reasoning_effort is not None:
            body["reasoning"] = {"effort": settings.reasoning_effort}
        if request.output_schema is not None:
            body["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": request.output_schema.name,
                    "schema": request.output_schema.json_schema,
                    "strict": True,
                }
            }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    "strict": False,
                }
                for tool in request.tools
            ]
            body["tool_choice"] = request.tool_choice
        return body

    async def _attempt(self, request: GenerateRequest) -> Completion:
        body = self.body(request)
        timeout = request.settings.timeout_seconds
        response = await call_openai(
            lambda: self.client.responses.create(**body, timeout=timeout),
            timeout=timeout,
            key_hint=_key_hint(self.spec),
        )
        texts: list[str] = []
        calls: list[ToolCall] = []
        for item in response.output or []:
            if item.type == "message":
                texts += [part.text for part in item.content if part.type == "output_text"]
            elif item.type == "function_call":
                calls.append(
                    ToolCall(
                        id=item.call_id,
                        name=item.name,
                        arguments=_parse_arguments(item.arguments),
                        raw_arguments=item.arguments,
                    )
                )
        usage = response.usage
        in_details = getattr(usage, "input_tokens_details", None)
        out_details = getattr(usage, "output_tokens_details", None)
        return Completion(
            text="".join(texts),
            tool_calls=tuple(calls),
            usage=Usage(
                input_tokens=usage.input_tokens if usage else 0,
                cached_input_tokens=getattr(in_details, "cached_tokens", 0) or 0,
                output_tokens=usage.output_tokens if usage else 0,
                reasoning_tokens=getattr(out_details, "reasoning_tokens", 0) or 0,
            ),
            model_version=response.model or "",
            stop_reason=str(response.status or ""),
            response_id=response.id or "",
        )

    async def aclose(self) -> None:
        await self.client.close()
