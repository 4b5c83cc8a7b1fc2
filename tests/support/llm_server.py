"""A scripted LLM server on 127.0.0.1 speaking OpenAI Chat Completions, OpenAI Responses and
Anthropic Messages, so tests drive the real ``openai`` and ``anthropic`` clients over a socket.

Script format: a queue of :class:`Reply` values, consumed one per request in arrival order,
then a default (a ``Reply`` or a function of the :class:`RecordedRequest`). A reply can be

* text (``content``, which may be deliberately invalid JSON) or a JSON value (``json``);
* tool calls (``tool_calls=[ScriptedToolCall(name, arguments)]``), rendered in each API's shape;
* an HTTP error (``status=429, headers={"retry-after": "2"}``, ``status=500``);
* slow (``delay`` seconds before answering; the server waits, the test never sleeps).

Every request is recorded: its API, body (unless ``keep_bodies=False``), and its prompt as
ordered text *segments* (system, each content part, tool calls/results) with a hash and token
count each, and when it arrived and was answered; ``max_in_flight`` is the most requests the
server was handling at once. Usage is reported with real token counts (tiktoken) and simulated
prompt caching: the cached tokens of a request are the longest run of leading segments that an
earlier request already sent, which is how providers' prefix caches behave at part granularity.

Run as a process (for the benchmark) with ``python -m tests.support.llm_server --help``; then
``GET /_scripted/stats`` returns per-request summaries.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from paperbench.llm.tokens import count_tokens


@dataclass
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    content: str | None = None
    json: Any = None
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    model: str | None = None
    error_message: str = "scripted error"

    @property
    def text(self) -> str:
        if self.content is not None:
            return self.content
        return json.dumps(self.json) if self.json is not None else ""


@dataclass
class Segment:
    role: str
    key: str
    tokens: int
    text: str = ""
    cache_mark: bool = False


@dataclass
class RecordedRequest:
    api: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    segments: list[Segment]
    status: int = 200
    usage: dict[str, int] = field(default_factory=dict)
    received_at: float = field(default_factory=time.monotonic)
    answered_at: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(segment.text for segment in self.segments)

    @property
    def input_tokens(self) -> int:
        return sum(segment.tokens for segment in self.segments)

    requested_schema: dict[str, Any] | None = None

    @property
    def schema(self) -> dict[str, Any] | None:
        return self.requested_schema


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    found = (
        body.get("response_format", {}).get("json_schema", {}).get("schema")
        or body.get("text", {}).get("format", {}).get("schema")
        or body.get("output_config", {}).get("format", {}).get("schema")
    )
    return found if isinstance(found, dict) else None


Responder = Callable[[RecordedRequest], Reply]


def fill_schema(schema: dict[str, Any], values: dict[str, Any]) -> Any:
    """An instance of ``schema`` with properties named in ``values`` set to those values."""

    def build(node: dict[str, Any], name: str) -> Any:
        if name in values:
            value = values[name]
            return value(name) if callable(value) else value
        kind = node.get("type")
        if "enum" in node:
            return node["enum"][-1]
        if kind == "object":
            return {key: build(sub, key) for key, sub in node.get("properties", {}).items()}
        if kind == "array":
            return []
        if kind in ("number", "integer"):
            return node.get("maximum", 1)
        if kind == "boolean":
            return True
        return f"scripted {name}"

    return build(schema, "")


def schema_responder(**values: Any) -> Responder:
    """Answer every request with an instance of its own JSON schema (see :func:`fill_schema`)."""

    def respond(request: RecordedRequest) -> Reply:
        schema = request.schema
        return Reply(json=fill_schema(schema, values) if schema else {"ok": True})

    return respond


def _segments_of(api: str, body: dict[str, Any], keep: bool) -> list[Segment]:
    raw: list[tuple[str, str, bool]] = []

    def add(role: str, content: Any) -> None:
        if isinstance(content, str):
            raw.append((role, content, False))
            return
        for part in content or []:
            kind = part.get("type")
            if kind in ("text", "input_text", "output_text"):
                raw.append((role, part.get("text", ""), "cache_control" in part))
            elif kind == "tool_use":
                raw.append((role, json.dumps(part.get("input")), False))
            elif kind == "tool_result":
                add("tool", part.get("content"))

    if api == "chat":
        for message in body.get("messages", []):
            add(message.get("role", ""), message.get("content"))
            for call in message.get("tool_calls") or []:
                raw.append(("assistant", json.dumps(call.get("function")), False))
    elif api == "responses":
        if body.get("instructions"):
            raw.append(("system", body["instructions"], False))
        items = body.get("input", [])
        for item in [{"role": "user", "content": items}] if isinstance(items, str) else items:
            if item.get("type") == "function_call":
                raw.append(("assistant", item.get("arguments", ""), False))
            elif item.get("type") == "function_call_output":
                raw.append(("tool", item.get("output", ""), False))
            else:
                add(item.get("role", ""), item.get("content"))
    else:
        add("system", body.get("system"))
        for message in body.get("messages", []):
            add(message.get("role", ""), message.get("content"))
    return [
        Segment(
            role=role,
            key=hashlib.sha256(f"{role}\0{text}".encode()).hexdigest()[:32],
            tokens=count_tokens(text),
            text=text if keep else "",
            cache_mark=mark,
        )
        for role, text, mark in raw
    ]


class ScriptedLLMServer:
    """The server; use as a context manager. ``url`` is its root, ``openai_url`` adds ``/v1``."""

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        default: Reply | Responder | None = None,
        latency: float = 0.0,
        keep_bodies: bool = True,
        model_version: str | None = None,
        pages: dict[str, Any] | None = None,
    ) -> None:
        """``pages`` maps a GET path (``/v1/models``, ``/props``) to the JSON it answers, as
        self-hosted servers report their settings."""
        self.script = list(script)
        self.pages = dict(pages or {})
        self.default = default
        self.latency = latency
        self.keep_bodies = keep_bodies
        self.model_version = model_version
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._seen_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ScriptedLLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the body would wait
            # for the client's delayed ACK (40 ms on Linux), which no real provider makes us pay.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.startswith("/_scripted/stats"):
                    self._send(200, {}, json.dumps(server.stats()).encode())
                elif self.path in server.pages:
                    self._send(200, {}, json.dumps(server.pages[self.path]).encode())
                else:
                    self._send(404, {}, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    status, headers, payload, delay, request = server.handle(
                        self.path, dict(self.headers.items()), body
                    )
                    if delay > 0:
                        time.sleep(delay)
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self._send(status, headers, payload)
                    if request is not None:
                        request.answered_at = time.monotonic()
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 256
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    # -- script ----------------------------------------------------------------------------
    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        if isinstance(self.default, Reply):
            return self.default
        if self.default is not None:
            return self.default(request)
        raise AssertionError(f"script exhausted at request {len(self.requests)}")

    def handle(
        self, path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes, float, RecordedRequest | None]:
        if path.rstrip("/").endswith("/chat/completions"):
            api = "chat"
        elif path.rstrip("/").endswith("/responses"):
            api = "responses"
        elif path.rstrip("/").endswith("/messages"):
            api = "messages"
        else:
            return 404, {}, b'{"error": {"message": "no such endpoint"}}', 0.0, None
        segments = _segments_of(api, body, self.keep_bodies)
        request = RecordedRequest(
            api=api,
            path=path,
            headers={k.lower(): v for k, v in headers.items()} if self.keep_bodies else {},
            body=body if self.keep_bodies else {},
            segments=segments,
            requested_schema=_schema_of(body),
        )
        reply = self._next_reply(request)
        request.status = reply.status
        delay = self.latency + reply.delay
        if reply.status != 200:
            with self._lock:
                self.requests.append(request)
            return reply.status, reply.headers, self._error(api, reply), delay, request
        usage = self._usage(segments, reply)
        request.usage = usage
        with self._lock:
            self.requests.append(request)
        model = reply.model or self.model_version or str(body.get("model", "scripted"))
        payload = _render(api, reply, usage, model, len(self.requests))
        return 200, reply.headers, json.dumps(payload).encode(), delay, request

    def _usage(self, segments: list[Segment], reply: Reply) -> dict[str, int]:
        chain = hashlib.sha256()
        cached = running = 0
        mark_at = 0
        keys: list[str] = []
        for segment in segments:
            chain.update(segment.key.encode())
            keys.append(chain.hexdigest())
            running += segment.tokens
            if segment.cache_mark:
                mark_at = running
        with self._lock:
            running = 0
            for key, segment in zip(keys, segments, strict=True):
                if key not in self._seen_prefixes:
                    break
                running += segment.tokens
                cached = running
            self._seen_prefixes.update(keys)
        output = count_tokens(reply.text) + sum(
            count_tokens(json.dumps(call.arguments)) for call in reply.tool_calls
        )
        total = sum(segment.tokens for segment in segments)
        return {
            "input": total,
            "cached": cached,
            "cache_write": max(0, mark_at - cached),
            "output": output,
        }

    @staticmethod
    def _error(api: str, reply: Reply) -> bytes:
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(reply.status, "api_error")
        if api == "messages":
            body = {"type": "error", "error": {"type": kind, "message": reply.error_message}}
        else:
            body = {"error": {"message": reply.error_message, "type": kind, "code": None}}
        return json.dumps(body).encode()

    def stats(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "api": request.api,
                    "status": request.status,
                    "segments": [[s.role, s.key, s.tokens] for s in request.segments],
                    "usage": request.usage,
                }
                for request in self.requests
            ]


def _render(api: str, reply: Reply, usage: dict[str, int], model: str, n: int) -> dict[str, Any]:
    calls = [
        (
            call.id or f"call_{n}_{i}",
            call.name,
            call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
        )
        for i, call in enumerate(reply.tool_calls)
    ]
    text = reply.text
    if api == "chat":
        message: dict[str, Any] = {"role": "assistant", "content": text if text else None}
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in calls
            ]
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": usage["input"],
                "completion_tokens": usage["output"],
                "total_tokens": usage["input"] + usage["output"],
                "prompt_tokens_details": {"cached_tokens": usage["cached"]},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }
    if api == "responses":
        output: list[dict[str, Any]] = []
        if text:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{n}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
        output += [
            {
                "type": "function_call",
                "id": f"fc_{cid}",
                "call_id": cid,
                "name": name,
                "arguments": args,
                "status": "completed",
            }
            for cid, name, args in calls
        ]
        return {
            "id": f"resp_{n}",
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "status": "completed",
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": usage["input"],
                "input_tokens_details": {"cached_tokens": usage["cached"]},
                "output_tokens": usage["output"],
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": usage["input"] + usage["output"],
            },
        }
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [
        {"type": "tool_use", "id": cid, "name": name, "input": json.loads(args or "{}")}
        for cid, name, args in calls
    ]
    read, write = usage["cached"], usage["cache_write"]
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage["input"] - read - write,
            "output_tokens": usage["output"],
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--score", type=int, default=1, help="score put in every grade")
    parser.add_argument("--address-file", type=Path, required=True)
    args = parser.parse_args()
    server = ScriptedLLMServer(
        default=schema_responder(score=args.score), latency=args.latency, keep_bodies=False
    ).start()
    args.address_file.write_text(server.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
