"""Anthropic Messages on the gateway: ``POST /v1/messages`` (and ``/v1/messages/count_tokens``).

Translated: ``system`` (a string or text blocks), messages whose content is a string or
``text``, ``tool_use`` and ``tool_result`` blocks (a user turn's tool results become tool
messages, its text a user message after them), tools with an ``input_schema``,
``tool_choice`` (``auto``, ``any``, ``tool``, ``none``), ``max_tokens`` (required, as in the
API), ``temperature``, ``stream``. ``cache_control`` marks are kept as prefix marks, so an
Anthropic provider still caches. ``thinking`` and ``redacted_thinking`` blocks an agent sends
back are dropped (they are signed by one provider and mean nothing to another). Refused with a
400 that says so: images and documents, and server tools (web search, code execution), which
would run outside the container and its network policy.

A streamed reply is the finished message as the API's event sequence (``message_start``,
a start, one delta and a stop per content block, ``message_delta``, ``message_stop``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from paperbench.gateway.chat import tool_choice
from paperbench.gateway.wire import (
    ApiName,
    BadRequest,
    ParsedRequest,
    array,
    finish_kind,
    flag,
    new_id,
    obj,
    optional_int,
    optional_number,
    optional_text,
    sse,
    text,
)
from paperbench.llm.types import (
    Completion,
    GenerateRequest,
    GenerateSettings,
    Message,
    TextPart,
    ToolCall,
    ToolSpec,
)

_DROPPED = ("thinking", "redacted_thinking")
_STOP = {"tool_calls": "tool_use", "length": "max_tokens", "stop": "end_turn"}
#: HTTP status -> Anthropic's error type.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def _text_block(block: dict[str, Any], where: str) -> TextPart:
    return TextPart(text=text(block.get("text"), f"{where}.text"), cache="cache_control" in block)


def _blocks(value: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    return [obj(block, f"{where}[{i}]") for i, block in enumerate(array(value, where))]


def _unsupported(kind: Any, where: str) -> BadRequest:
    return BadRequest(
        f"{where}: blocks of type {str(kind)[:40]!r} are not supported by the paperbench "
        "gateway (text, tool_use and tool_result)"
    )


def _tool_result_text(value: Any, where: str) -> tuple[TextPart, ...]:
    if value is None:
        return ()
    parts = []
    for index, block in enumerate(_blocks(value, where)):
        if block.get("type") != "text":
            raise _unsupported(block.get("type"), f"{where}[{index}]")
        parts.append(_text_block(block, f"{where}[{index}]"))
    return tuple(parts)


def _user(blocks: list[dict[str, Any]], where: str) -> list[Message]:
    results: list[Message] = []
    parts: list[TextPart] = []
    for index, block in enumerate(blocks):
        here = f"{where}[{index}]"
        kind = block.get("type")
        if kind == "text":
            parts.append(_text_block(block, here))
        elif kind == "tool_result":
            content = _tool_result_text(block.get("content"), f"{here}.content")
            if block.get("is_error") is True:
                content = (TextPart(text="[error] "), *content)
            results.append(
                Message(
                    role="tool",
                    content=content,
                    tool_call_id=text(block.get("tool_use_id"), f"{here}.tool_use_id"),
                )
            )
        elif kind not in _DROPPED:
            raise _unsupported(kind, here)
    return results + ([Message(role="user", content=tuple(parts))] if parts else [])


def _assistant(blocks: list[dict[str, Any]], where: str) -> Message:
    parts: list[TextPart] = []
    calls: list[ToolCall] = []
    for index, block in enumerate(blocks):
        here = f"{where}[{index}]"
        kind = block.get("type")
        if kind == "text":
            parts.append(_text_block(block, here))
        elif kind == "tool_use":
            arguments = obj(block.get("input", {}), f"{here}.input")
            calls.append(
                ToolCall(
                    id=text(block.get("id"), f"{here}.id"),
                    name=text(block.get("name"), f"{here}.name"),
                    arguments=arguments,
                    raw_arguments=json.dumps(arguments, ensure_ascii=False),
                )
            )
        elif kind not in _DROPPED:
            raise _unsupported(kind, here)
    return Message(role="assistant", content=tuple(parts), tool_calls=tuple(calls))


def _messages(body: dict[str, Any]) -> tuple[Message, ...]:
    messages: list[Message] = []
    system = body.get("system")
    if system is not None:
        blocks = _blocks(system, "system")
        parts = []
        for index, block in enumerate(blocks):
            if block.get("type") != "text":
                raise _unsupported(block.get("type"), f"system[{index}]")
            parts.append(_text_block(block, f"system[{index}]"))
        if parts:
            messages.append(Message(role="system", content=tuple(parts)))
    entries = array(body.get("messages"), "messages")
    if not entries:
        raise BadRequest("messages: at least one message is required")
    for index, entry in enumerate(entries):
        where = f"messages[{index}]"
        entry = obj(entry, where)
        role = entry.get("role")
        blocks = _blocks(entry.get("content"), f"{where}.content")
        if role == "user":
            messages += _user(blocks, f"{where}.content")
        elif role == "assistant":
            messages.append(_assistant(blocks, f"{where}.content"))
        else:
            raise BadRequest(f"{where}.role: expected user or assistant")
    return tuple(messages)


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    tools = []
    for index, tool in enumerate(array(value, "tools")):
        where = f"tools[{index}]"
        tool = obj(tool, where)
        if tool.get("type") not in (None, "custom") or "input_schema" not in tool:
            raise BadRequest(
                f"{where}: server tools ({str(tool.get('type'))[:40]}) are not supported by the "
                "gateway; only tools with an input_schema (the agent runs them itself)"
            )
        tools.append(
            ToolSpec(
                name=text(tool.get("name"), f"{where}.name"),
                description=optional_text(tool, "description", f"{where}.") or "",
                parameters=obj(tool.get("input_schema"), f"{where}.input_schema"),
            )
        )
    return tuple(tools)


def count_input_tokens(body: dict[str, Any], counter: Callable[[str], int]) -> int:
    """An estimate for ``/v1/messages/count_tokens``. Raises: BadRequest: as :meth:`parse`."""
    messages = _messages(body)
    total = sum(counter(message.joined_text) + 4 for message in messages)
    if body.get("tools"):
        total += counter(json.dumps(body["tools"]))
    return total


class MessagesApi:
    """The Anthropic Messages wire format (see the module docstring)."""

    name: ApiName = "messages"

    def parse(self, body: dict[str, Any], default_max_tokens: int) -> ParsedRequest:
        """Raises: BadRequest: see the module docstring."""
        limit = optional_int(body, "max_tokens")
        if limit is None:
            raise BadRequest("max_tokens: required")
        return ParsedRequest(
            request=GenerateRequest(
                messages=_messages(body),
                tools=_tools(body["tools"]) if body.get("tools") else (),
                tool_choice=tool_choice(body.get("tool_choice")),
                settings=GenerateSettings(
                    max_output_tokens=limit,
                    temperature=optional_number(body, "temperature"),
                ),
            ),
            stream=flag(body, "stream"),
            requested_model=str(body.get("model", ""))[:200],
        )

    @staticmethod
    def _content(completion: Completion) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        if completion.text:
            content.append({"type": "text", "text": completion.text})
        for call in completion.tool_calls:
            content.append(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
            )
        return content

    @staticmethod
    def _usage(completion: Completion) -> dict[str, int]:
        usage = completion.usage
        fresh = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
        return {
            "input_tokens": max(fresh, 0),
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cached_input_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
        }

    def reply(self, completion: Completion, parsed: ParsedRequest, model: str) -> dict[str, Any]:
        return {
            "id": new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self._content(completion),
            "stop_reason": _STOP[finish_kind(completion)],
            "stop_sequence": None,
            "usage": self._usage(completion),
        }

    def events(self, completion: Completion, parsed: ParsedRequest, model: str) -> list[bytes]:
        usage = self._usage(completion)
        start: dict[str, Any] = {
            "id": new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 0},
        }
        events = [sse({"type": "message_start", "message": start}, "message_start")]
        for index, block in enumerate(self._content(completion)):
            opening: dict[str, Any]
            if block["type"] == "text":
                opening = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": block["text"]}
            else:
                opening = {**block, "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events += [
                sse(
                    {"type": "content_block_start", "index": index, "content_block": opening},
                    "content_block_start",
                ),
                sse(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                ),
                sse({"type": "content_block_stop", "index": index}, "content_block_stop"),
            ]
        stop = {"stop_reason": _STOP[finish_kind(completion)], "stop_sequence": None}
        events.append(
            sse(
                {
                    "type": "message_delta",
                    "delta": stop,
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
                "message_delta",
            )
        )
        events.append(sse({"type": "message_stop"}, "message_stop"))
        return events

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
        }
