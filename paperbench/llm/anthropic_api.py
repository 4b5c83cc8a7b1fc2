"""Anthropic's Messages API.

Structured output uses the API's native JSON-schema output (``output_config.format``).
Prompt caching needs explicit breakpoints: every :class:`~paperbench.llm.types.TextPart` marked
``cache=True`` gets ``cache_control: {"type": "ephemeral"}`` (the API allows four; the last four
marks win), so the judge's stable prefix is written once and read at a tenth of the price by
every later leaf. Reported usage separates cache reads and writes; we fold them into
``input_tokens`` so all providers count alike, and keep them apart for pricing.

The current API takes no ``temperature`` field in the SDK's signature; when the user sets one it
is passed through ``extra_body`` (older models honour it). It takes no seed at all.
``reasoning_effort`` maps to ``output_config.effort`` ("minimal" becomes "low").
"""

from __future__ import annotations

import json
import os
from typing import Any

import anthropic

from paperbench import secrets
from paperbench.llm.catalog import ModelSpec
from paperbench.llm.errors import LLMError, ProviderSetupError, ServerError
from paperbench.llm.provider import Provider, connection_error, timeout_error, translate_status
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.types import Completion, GenerateRequest, Message, TextPart, ToolCall, Usage

KEY_ENV = "ANTHROPIC_API_KEY"
MAX_BREAKPOINTS = 4


def _block(part: TextPart, cache: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
    return block


class AnthropicProvider(Provider):
    """Claude models through the Messages API (``anthropic/``)."""

    supports_seed = False

    def __init__(
        self,
        spec: ModelSpec,
        *,
        retry: RetryPolicy | None = None,
        client: anthropic.AsyncAnthropic | None = None,
    ) -> None:
        super().__init__(spec, retry=retry)
        if client is None:
            key = os.environ.get(KEY_ENV)
            if not key:
                raise ProviderSetupError(
                    f"model {spec.name} needs {KEY_ENV}; set it "
                    "(a judge can also run offline as local/smollm2)"
                )
            secrets.register(key, KEY_ENV)
            for url in (spec.base_url, os.environ.get("ANTHROPIC_BASE_URL")):
                if url:
                    secrets.strip_userinfo(url)
            client = anthropic.AsyncAnthropic(api_key=key, base_url=spec.base_url, max_retries=0)
        self.client = client

    @staticmethod
    def _wire(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        marked = {
            (m, p)
            for m, message in enumerate(messages)
            for p, part in enumerate(message.content)
            if part.cache
        }
        marked = set(sorted(marked)[-MAX_BREAKPOINTS:])
        system: list[dict[str, Any]] = []
        wire: list[dict[str, Any]] = []
        for m, message in enumerate(messages):
            blocks = [_block(part, (m, p) in marked) for p, part in enumerate(message.content)]
            if message.role == "system":
                system += blocks
                continue
            if message.role == "tool":
                result = {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": message.joined_text,
                }
                if wire and wire[-1]["role"] == "user" and wire[-1].get("_tool_results"):
                    wire[-1]["content"].append(result)
                else:
                    wire.append({"role": "user", "content": [result], "_tool_results": True})
                continue
            if message.role == "assistant":
                blocks += [
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                    for call in message.tool_calls
                ]
            wire.append({"role": message.role, "content": blocks})
        for entry in wire:
            entry.pop("_tool_results", None)
        return system, wire

    def body(self, request: GenerateRequest) -> dict[str, Any]:
        settings = request.settings
        system, messages = self._wire(request.messages)
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": messages,
            "max_tokens": settings.max_output_tokens,
        }
        if system:
            body["system"] = system
        output_config: dict[str, Any] = {}
        if request.output_schema is not None:
            output_config["format"] = {
                "type": "json_schema",
                "schema": request.output_schema.json_schema,
            }
        if settings.reasoning_effort is not None:
            effort = settings.reasoning_effort
            output_config["effort"] = "low" if effort == "minimal" else effort
        if output_config:
            body["output_config"] = output_config
        if request.tools:
            body["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                for tool in request.tools
            ]
            body["tool_choice"] = {"auto": {"type": "auto"}, "required": {"type": "any"}}.get(
                request.tool_choice, {"type": "none"}
            )
        if settings.temperature is not None:
            body["extra_body"] = {"temperature": settings.temperature}
        return body

    async def _attempt(self, request: GenerateRequest) -> Completion:
        body = self.body(request)
        timeout = request.settings.timeout_seconds
        try:
            response = await self.client.messages.create(**body, timeout=timeout)
        except anthropic.APITimeoutError:
            raise timeout_error(timeout) from None
        except anthropic.APIConnectionError as error:
            raise connection_error(error) from None
        except anthropic.APIStatusError as error:
            raise translate_status(
                error.status_code,
                str(error.message),
                dict(error.response.headers),
                key_hint=f"check {KEY_ENV}",
            ) from None
        except anthropic.APIResponseValidationError as error:
            raise ServerError(f"malformed response: {error}") from None
        except anthropic.AnthropicError as error:
            raise LLMError(f"{type(error).__name__}: {error}") from None
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else {}
                calls.append(
                    ToolCall(
                        id=block.id,
                        name=block.name,
                        arguments=arguments,
                        raw_arguments=json.dumps(arguments),
                    )
                )
        usage = response.usage
        read = usage.cache_read_input_tokens or 0
        written = usage.cache_creation_input_tokens or 0
        return Completion(
            text="".join(texts),
            tool_calls=tuple(calls),
            usage=Usage(
                input_tokens=usage.input_tokens + read + written,
                cached_input_tokens=read,
                cache_write_tokens=written,
                output_tokens=usage.output_tokens,
            ),
            model_version=str(response.model or ""),
            stop_reason=str(response.stop_reason or ""),
            response_id=response.id or "",
        )

    async def aclose(self) -> None:
        await self.client.close()
