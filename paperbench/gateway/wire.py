"""What the three wire formats share: the parsed request, the error an agent's request earns,
and small readers that check a JSON field's type before it is used.

Everything here reads bodies the agent wrote, so nothing is trusted: every reader names the
field it rejects (``messages[3].content[0].text: expected a string``) and raises
:class:`BadRequest`, which the server turns into an HTTP 400 in the API's own error shape. No
reader recurses on agent data, so a deeply nested body costs one ``json.loads`` (which the
server bounds) and nothing more.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from paperbench.llm.types import Completion, GenerateRequest, Message, ToolCall

ApiName = Literal["chat", "responses", "messages"]
#: What a call's transcript event keeps of each new input message (the agent's side of a turn).
TRANSCRIPT_TEXT_CHARS = 20_000


class BadRequest(Exception):
    """A request the gateway cannot translate; the message names the field and is shown to the
    agent as the API's ``invalid_request_error``."""


@dataclass
class ParsedRequest:
    """An agent's request, translated: what goes to the provider and how to answer."""

    request: GenerateRequest
    stream: bool = False
    include_usage: bool = False
    requested_model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class WireApi(Protocol):
    """One of the APIs the gateway speaks (:mod:`~paperbench.gateway.chat`,
    :mod:`~paperbench.gateway.responses`, :mod:`~paperbench.gateway.messages`)."""

    name: ApiName

    def parse(self, body: dict[str, Any], default_max_tokens: int) -> ParsedRequest:
        """Translate ``body``. Raises: BadRequest: a field is missing, mistyped or unsupported."""
        ...

    def reply(self, completion: Completion, parsed: ParsedRequest, model: str) -> dict[str, Any]:
        """The non-streaming response body."""
        ...

    def events(self, completion: Completion, parsed: ParsedRequest, model: str) -> list[bytes]:
        """The server-sent events of a streamed response, in order."""
        ...

    def error(self, status: int, kind: str, message: str) -> dict[str, Any]:
        """An error body in this API's shape."""
        ...


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def finish_kind(completion: Completion) -> Literal["tool_calls", "length", "stop"]:
    """Why generation stopped, in terms every API can express."""
    if completion.tool_calls:
        return "tool_calls"
    reason = completion.stop_reason.lower()
    if reason in ("length", "max_tokens", "max_output_tokens", "incomplete"):
        return "length"
    return "stop"


def arguments_json(call: ToolCall) -> str:
    return call.raw_arguments or json.dumps(call.arguments, ensure_ascii=False)


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments as the model wrote them, as an object when they are one."""
    try:
        value = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: expected an object")
    return value


def array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(f"{where}: expected an array")
    return value


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where}: expected a string")
    return value


def optional_text(body: dict[str, Any], key: str, where: str = "") -> str | None:
    value = body.get(key)
    return None if value is None else text(value, where + key)


def optional_int(body: dict[str, Any], key: str, *, minimum: int = 1) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadRequest(f"{key}: expected an integer of at least {minimum}")
    return value


def optional_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{key}: expected a number")
    return float(value)


def flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{key}: expected true or false")
    return value


def output_limit(requested: int | None, default: int) -> int:
    return requested if requested is not None else default


def recent_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The messages after the model's last turn (the agent's new input), for the transcript;
    long texts are cut so one huge tool result cannot flood the transcript."""
    start = 0
    for index, message in enumerate(messages):
        if message.role == "assistant":
            start = index + 1
    kept = []
    for message in messages[start:]:
        body = message.joined_text
        entry: dict[str, Any] = {"role": message.role, "text": body[:TRANSCRIPT_TEXT_CHARS]}
        if len(body) > TRANSCRIPT_TEXT_CHARS:
            entry["cut_chars"] = len(body) - TRANSCRIPT_TEXT_CHARS
        if message.tool_call_id:
            entry["tool_call_id"] = message.tool_call_id
        kept.append(entry)
    return kept
