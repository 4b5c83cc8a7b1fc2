"""OpenAI Chat Completions on the gateway: ``POST /v1/chat/completions``.

Translated: system and developer messages, user text (a string or ``text`` parts), assistant
text with ``function`` tool calls, ``tool`` results, ``function`` tools, ``tool_choice``,
``max_tokens``/``max_completion_tokens``, ``temperature``, ``seed``, ``reasoning_effort``,
``response_format`` of type ``json_schema``, and ``stream`` with
``stream_options.include_usage``. Refused with a 400 that says so: images and audio, ``n`` above
1, legacy ``functions``. A streamed reply is the finished completion sent as chunks (role,
text, each tool call whole, the finish reason, the usage chunk when asked for, ``[DONE]``): the
gateway meters a call when it is complete, so it does not relay tokens as they are generated.
"""

from __future__ import annotations

from typing import Any, Literal

from paperbench.gateway.wire import (
    ApiName,
    BadRequest,
    ParsedRequest,
    arguments_json,
    array,
    finish_kind,
    flag,
    new_id,
    now,
    obj,
    optional_int,
    optional_number,
    optional_text,
    output_limit,
    parse_arguments,
    sse,
    text,
)
from paperbench.llm.types import (
    Completion,
    GenerateRequest,
    GenerateSettings,
    Message,
    OutputSchema,
    TextPart,
    ToolCall,
    ToolSpec,
)

_EFFORTS = ("minimal", "low", "medium", "high")


def _content(value: Any, where: str) -> tuple[TextPart, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (TextPart(text=value),)
    parts = []
    for index, part in enumerate(array(value, where)):
        part = obj(part, f"{where}[{index}]")
        kind = part.get("type")
        if kind in ("text", "input_text", "refusal"):
            key = "refusal" if kind == "refusal" else "text"
            parts.append(TextPart(text=text(part.get(key), f"{where}[{index}].{key}")))
        else:
            raise BadRequest(
                f"{where}[{index}]: content of type {str(kind)[:40]!r} is not supported by the "
                "paperbench gateway (text only)"
            )
    return tuple(parts)


def _tool_calls(value: Any, where: str) -> tuple[ToolCall, ...]:
    calls = []
    for index, call in enumerate(array(value, where)):
        here = f"{where}[{index}]"
        call = obj(call, here)
        function = obj(call.get("function"), f"{here}.function")
        raw = function.get("arguments") or ""
        raw = text(raw, f"{here}.function.arguments")
        calls.append(
            ToolCall(
                id=text(call.get("id"), f"{here}.id"),
                name=text(function.get("name"), f"{here}.function.name"),
                arguments=parse_arguments(raw),
                raw_arguments=raw,
            )
        )
    return tuple(calls)


def _messages(value: Any) -> tuple[Message, ...]:
    messages = []
    for index, entry in enumerate(array(value, "messages")):
        where = f"messages[{index}]"
        entry = obj(entry, where)
        role = entry.get("role")
        if role in ("system", "developer"):
            messages.append(Message(role="system", content=_content(entry.get("content"), where)))
        elif role == "user":
            messages.append(Message(role="user", content=_content(entry.get("content"), where)))
        elif role == "assistant":
            calls = entry.get("tool_calls")
            messages.append(
                Message(
                    role="assistant",
                    content=_content(entry.get("content"), f"{where}.content"),
                    tool_calls=_tool_calls(calls, f"{where}.tool_calls") if calls else (),
                )
            )
        elif role == "tool":
            messages.append(
                Message(
                    role="tool",
                    content=_content(entry.get("content"), f"{where}.content"),
                    tool_call_id=text(entry.get("tool_call_id"), f"{where}.tool_call_id"),
                )
            )
        else:
            raise BadRequest(f"{where}.role: {str(role)[:40]!r} is not a chat role")
    if not messages:
        raise BadRequest("messages: at least one message is required")
    return tuple(messages)


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    tools = []
    for index, tool in enumerate(array(value, "tools")):
        where = f"tools[{index}]"
        tool = obj(tool, where)
        if tool.get("type", "function") != "function":
            raise BadRequest(f"{where}.type: only function tools are supported by the gateway")
        function = obj(tool.get("function"), f"{where}.function")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        tools.append(
            ToolSpec(
                name=text(function.get("name"), f"{where}.function.name"),
                description=optional_text(function, "description", f"{where}.function.") or "",
                parameters=obj(parameters, f"{where}.function.parameters"),
            )
        )
    return tuple(tools)


def tool_choice(value: Any) -> Literal["auto", "required", "none"]:
    """``auto``, ``none``, ``required``; naming one tool (any API's shape) becomes
    ``required``, the nearest the providers all share."""
    if value is None or value == "auto":
        return "auto"
    if value in ("none", "required"):
        return "none" if value == "none" else "required"
    if isinstance(value, dict):
        kind = value.get("type")
        if kind in ("auto", "none"):
            return "auto" if kind == "auto" else "none"
        return "required"
    raise BadRequest("tool_choice: expected auto, none, required or a named tool")


def _schema(body: dict[str, Any]) -> OutputSchema | None:
    value = body.get("response_format")
    if value is None:
        return None
    value = obj(value, "response_format")
    if value.get("type") != "json_schema":
        return None
    spec = obj(value.get("json_schema"), "response_format.json_schema")
    return OutputSchema(
        name=optional_text(spec, "name", "response_format.json_schema.") or "reply",
        json_schema=obj(spec.get("schema"), "response_format.json_schema.schema"),
    )


def effort(value: Any, where: str) -> Any:
    if value is None:
        return None
    if value not in _EFFORTS:
        raise BadRequest(f"{where}: expected one of {', '.join(_EFFORTS)}")
    return value


class ChatCompletionsApi:
    """The Chat Completions wire format (see the module docstring)."""

    name: ApiName = "chat"

    def parse(self, body: dict[str, Any], default_max_tokens: int) -> ParsedRequest:
        """Raises: BadRequest: see the module docstring."""
        if body.get("functions") is not None:
            raise BadRequest("functions: legacy function calling is not supported; use tools")
        if (optional_int(body, "n") or 1) > 1:
            raise BadRequest("n: the gateway returns one choice per call")
        limit = optional_int(body, "max_completion_tokens") or optional_int(body, "max_tokens")
        seed = optional_int(body, "seed", minimum=-(2**63))
        options = body.get("stream_options")
        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
        return ParsedRequest(
            request=GenerateRequest(
                messages=_messages(body.get("messages")),
                tools=_tools(body["tools"]) if body.get("tools") else (),
                tool_choice=tool_choice(body.get("tool_choice")),
                output_schema=_schema(body),
                settings=GenerateSettings(
                    max_output_tokens=output_limit(limit, default_max_tokens),
                    temperature=optional_number(body, "temperature"),
                    seed=seed,
                    reasoning_effort=effort(body.get("reasoning_effort"), "reasoning_effort"),
                ),
            ),
            stream=flag(body, "stream"),
            include_usage=include_usage,
            requested_model=str(body.get("model", ""))[:200],
        )

    @staticmethod
    def _usage(completion: Completion) -> dict[str, Any]:
        usage = completion.usage
        return {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        }

    @staticmethod
    def _finish(completion: Completion) -> str:
        return finish_kind(completion)

    def reply(self, completion: Completion, parsed: ParsedRequest, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": completion.text or None}
        if completion.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": arguments_json(call)},
                }
                for call in completion.tool_calls
            ]
        return {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": now(),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": self._finish(completion),
                    "logprobs": None,
                }
            ],
            "usage": self._usage(completion),
        }

    def events(self, completion: Completion, parsed: ParsedRequest, model: str) -> list[bytes]:
        head = {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion.chunk",
            "created": now(),
            "model": model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return sse({**head, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        if completion.text:
            events.append(chunk({"content": completion.text}))
        for index, call in enumerate(completion.tool_calls):
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": arguments_json(call)},
                            }
                        ]
                    }
                )
            )
        events.append(chunk({}, self._finish(completion)))
        if parsed.include_usage:
            events.append(sse({**head, "choices": [], "usage": self._usage(completion)}))
        events.append(sse("[DONE]"))
        return events

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        return openai_error(kind, message)


def openai_error(kind: str, message: str) -> dict[str, Any]:
    """OpenAI's error body (both of its APIs use it)."""
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}
