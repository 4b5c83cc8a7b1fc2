"""OpenAI Responses on the gateway: ``POST /v1/responses``.

Translated: ``instructions``; ``input`` as a string or a list of messages (``input_text`` and
``output_text`` parts), ``function_call`` and ``function_call_output`` items (consecutive
calls become one assistant turn); ``function`` tools; ``tool_choice``; ``max_output_tokens``;
``temperature``; ``reasoning.effort``; ``text.format`` of type ``json_schema``; ``stream``.
Reasoning items an agent sends back are dropped (they belong to one provider). Refused with a
400 that says so: images and files, tools other than functions (web search, shells: those run
in the container, through the network policy, or not at all), and ``previous_response_id``,
because the gateway keeps no conversation state — every request must carry its whole input,
as with ``store: false``.

A streamed reply is the finished response as the API's event sequence (``response.created``
... ``response.completed``), with each text and each call's arguments in one delta.
"""

from __future__ import annotations

from typing import Any

from paperbench.gateway.chat import effort, openai_error, tool_choice
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

_TEXT_PARTS = ("input_text", "output_text", "text", "refusal")
_SKIPPED_ITEMS = ("reasoning",)


def _parts(value: Any, where: str) -> tuple[TextPart, ...]:
    if isinstance(value, str):
        return (TextPart(text=value),)
    parts = []
    for index, part in enumerate(array(value, where)):
        here = f"{where}[{index}]"
        part = obj(part, here)
        kind = part.get("type")
        if kind not in _TEXT_PARTS:
            raise BadRequest(
                f"{here}: content of type {str(kind)[:40]!r} is not supported by the paperbench "
                "gateway (text only)"
            )
        key = "refusal" if kind == "refusal" else "text"
        parts.append(TextPart(text=text(part.get(key), f"{here}.{key}")))
    return tuple(parts)


def _input(body: dict[str, Any]) -> tuple[Message, ...]:
    messages: list[Message] = []
    instructions = optional_text(body, "instructions")
    if instructions:
        messages.append(Message.text("system", instructions))
    value = body.get("input")
    if isinstance(value, str):
        messages.append(Message.text("user", value))
        return tuple(messages)
    for index, item in enumerate(array(value, "input")):
        where = f"input[{index}]"
        item = obj(item, where)
        kind = item.get("type", "message")
        if kind in _SKIPPED_ITEMS:
            continue
        if kind == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                role = "system"
            if role not in ("system", "user", "assistant"):
                raise BadRequest(f"{where}.role: {str(role)[:40]!r} is not a message role")
            messages.append(Message(role=role, content=_parts(item.get("content"), where)))
        elif kind == "function_call":
            raw = text(item.get("arguments") or "", f"{where}.arguments")
            call = ToolCall(
                id=text(item.get("call_id"), f"{where}.call_id"),
                name=text(item.get("name"), f"{where}.name"),
                arguments=parse_arguments(raw),
                raw_arguments=raw,
            )
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                messages[-1] = last.model_copy(update={"tool_calls": (*last.tool_calls, call)})
            else:
                messages.append(Message(role="assistant", tool_calls=(call,)))
        elif kind == "function_call_output":
            output = item.get("output")
            parts = _parts(output, f"{where}.output") if output is not None else ()
            messages.append(
                Message(
                    role="tool",
                    content=parts,
                    tool_call_id=text(item.get("call_id"), f"{where}.call_id"),
                )
            )
        else:
            raise BadRequest(
                f"{where}.type: items of type {str(kind)[:40]!r} are not supported by the "
                "paperbench gateway (messages, function calls and their outputs)"
            )
    if not messages:
        raise BadRequest("input: at least one input item is required")
    return tuple(messages)


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    tools = []
    for index, tool in enumerate(array(value, "tools")):
        where = f"tools[{index}]"
        tool = obj(tool, where)
        if tool.get("type") != "function":
            raise BadRequest(
                f"{where}.type: {str(tool.get('type'))[:40]!r} tools are not supported by the "
                "gateway; only function tools (the agent runs its own tools in its container)"
            )
        parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        tools.append(
            ToolSpec(
                name=text(tool.get("name"), f"{where}.name"),
                description=optional_text(tool, "description", f"{where}.") or "",
                parameters=obj(parameters, f"{where}.parameters"),
            )
        )
    return tuple(tools)


def _schema(body: dict[str, Any]) -> OutputSchema | None:
    settings = body.get("text")
    if not isinstance(settings, dict) or not isinstance(settings.get("format"), dict):
        return None
    spec = settings["format"]
    if spec.get("type") != "json_schema":
        return None
    return OutputSchema(
        name=optional_text(spec, "name", "text.format.") or "reply",
        json_schema=obj(spec.get("schema"), "text.format.schema"),
    )


class ResponsesApi:
    """The Responses wire format (see the module docstring)."""

    name: ApiName = "responses"

    def parse(self, body: dict[str, Any], default_max_tokens: int) -> ParsedRequest:
        """Raises: BadRequest: see the module docstring."""
        if body.get("previous_response_id"):
            raise BadRequest(
                "previous_response_id: the paperbench gateway keeps no conversation state; send "
                "the whole input with every request (as with store: false)"
            )
        reasoning = body.get("reasoning")
        level = effort(reasoning.get("effort"), "reasoning.effort") if reasoning else None
        limit = optional_int(body, "max_output_tokens")
        return ParsedRequest(
            request=GenerateRequest(
                messages=_input(body),
                tools=_tools(body["tools"]) if body.get("tools") else (),
                tool_choice=tool_choice(body.get("tool_choice")),
                output_schema=_schema(body),
                settings=GenerateSettings(
                    max_output_tokens=output_limit(limit, default_max_tokens),
                    temperature=optional_number(body, "temperature"),
                    reasoning_effort=level,
                ),
            ),
            stream=flag(body, "stream"),
            requested_model=str(body.get("model", ""))[:200],
        )

    @staticmethod
    def _items(completion: Completion) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if completion.text:
            items.append(
                {
                    "type": "message",
                    "id": new_id("msg_"),
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": completion.text, "annotations": []}
                    ],
                }
            )
        for call in completion.tool_calls:
            items.append(
                {
                    "type": "function_call",
                    "id": new_id("fc_"),
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": arguments_json(call),
                    "status": "completed",
                }
            )
        return items

    @staticmethod
    def _response(
        completion: Completion | None, model: str, items: list[dict[str, Any]], response_id: str
    ) -> dict[str, Any]:
        status = "in_progress"
        incomplete = None
        usage = None
        if completion is not None:
            cut = finish_kind(completion) == "length"
            status = "incomplete" if cut else "completed"
            incomplete = {"reason": "max_output_tokens"} if cut else None
            used = completion.usage
            usage = {
                "input_tokens": used.input_tokens,
                "input_tokens_details": {"cached_tokens": used.cached_input_tokens},
                "output_tokens": used.output_tokens,
                "output_tokens_details": {"reasoning_tokens": used.reasoning_tokens},
                "total_tokens": used.input_tokens + used.output_tokens,
            }
        return {
            "id": response_id,
            "object": "response",
            "created_at": now(),
            "status": status,
            "model": model,
            "output": items,
            "usage": usage,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": None,
            "metadata": {},
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "temperature": None,
            "top_p": None,
        }

    def reply(self, completion: Completion, parsed: ParsedRequest, model: str) -> dict[str, Any]:
        return self._response(completion, model, self._items(completion), new_id("resp_"))

    def events(self, completion: Completion, parsed: ParsedRequest, model: str) -> list[bytes]:
        response_id = new_id("resp_")
        items = self._items(completion)
        sequence = 0
        events: list[bytes] = []

        def emit(kind: str, **fields: Any) -> None:
            nonlocal sequence
            events.append(sse({"type": kind, "sequence_number": sequence, **fields}, kind))
            sequence += 1

        started = self._response(None, model, [], response_id)
        emit("response.created", response=started)
        emit("response.in_progress", response=started)
        for index, item in enumerate(items):
            if item["type"] == "message":
                body = item["content"][0]["text"]
                opening = {**item, "status": "in_progress", "content": []}
                emit("response.output_item.added", output_index=index, item=opening)
                part = {"type": "output_text", "text": "", "annotations": []}
                where = {"item_id": item["id"], "output_index": index, "content_index": 0}
                emit("response.content_part.added", **where, part=part)
                emit("response.output_text.delta", **where, delta=body, logprobs=[])
                emit("response.output_text.done", **where, text=body, logprobs=[])
                emit("response.content_part.done", **where, part=item["content"][0])
            else:
                opening = {**item, "status": "in_progress", "arguments": ""}
                emit("response.output_item.added", output_index=index, item=opening)
                where = {"item_id": item["id"], "output_index": index}
                emit("response.function_call_arguments.delta", **where, delta=item["arguments"])
                emit("response.function_call_arguments.done", **where, arguments=item["arguments"])
            emit("response.output_item.done", output_index=index, item=item)
        finished = self._response(completion, model, items, response_id)
        kind = "response.completed" if finished["status"] == "completed" else "response.incomplete"
        emit(kind, response=finished)
        return events

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        return openai_error(kind, message)
