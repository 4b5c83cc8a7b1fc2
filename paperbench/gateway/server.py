"""The model gateway's HTTP server: one per run, on the host, in the harness's event loop.

An agent in a container calls it as it would call OpenAI or Anthropic — the SDKs' base URL is
the gateway, their API key the run's token — and the gateway answers in the same API:

=========================================  ==============================================
``POST /v1/chat/completions``              OpenAI Chat Completions (:mod:`.chat`)
``POST /v1/responses``                     OpenAI Responses (:mod:`.responses`)
``POST /v1/messages``                      Anthropic Messages (:mod:`.messages`)
``POST /v1/messages/count_tokens``         Anthropic's token count (an estimate)
``GET /v1/models``                         the one model this run may use
=========================================  ==============================================

(The same paths without ``/v1`` work too.) Whatever model a request names, the run's model
answers: the agent cannot pick a pricier one.

**The key stays here.** The provider (:func:`paperbench.llm.open_provider`) is opened on the
host with the real key; the container is given :attr:`ModelGateway.token`, 32 random bytes that
mean nothing to any provider and are checked here in constant time (as ``Authorization:
Bearer``, ``x-api-key`` or ``api-key``). A wrong token is a 401 before the body is read.

**The agent is an adversary.** Bodies are capped (``max_body_bytes``; 413), must be a JSON
object (400, also for a body nested deeper than the JSON decoder's recursion limit), and every
field the translation reads is type-checked (400 naming it). At most ``max_active`` requests are
handled at once (503 beyond, as an overloaded provider would answer), and the provider sees at
most its own concurrency. A client that disconnects mid-stream loses only its own reply: the
call was already metered and written to the transcript. Streams are written in full once the
reply is complete, which is also what makes metering exact.

**Refusals end the run.** Over a limit the gateway answers HTTP 429 with ``x-should-retry:
false`` (the OpenAI and Anthropic SDKs then give up at once) and an error naming the limit,
and :attr:`GatewaySession.ended` tells the agent's runner to stop the container's command.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from paperbench.gateway.chat import ChatCompletionsApi
from paperbench.gateway.messages import MessagesApi, count_input_tokens
from paperbench.gateway.responses import ResponsesApi
from paperbench.gateway.session import CallRefused, GatewaySession
from paperbench.gateway.wire import BadRequest, WireApi
from paperbench.llm.errors import (
    CallTimeout,
    LLMError,
    ProviderSetupError,
    RateLimited,
    RequestRejected,
)

MiB = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    """A run's gateway token: random, and worthless to anything but this run's gateway."""
    return "pb-gw-" + secrets.token_urlsafe(32)


class ModelGateway:
    """The server of one run (see the module docstring). Start it, :meth:`arm` it with the
    run's :class:`GatewaySession` when the agent starts, :meth:`close` it when the run ends."""

    def __init__(
        self,
        *,
        token: str | None = None,
        max_body_bytes: int = 32 * MiB,
        max_active: int = 64,
    ) -> None:
        self.token = token or new_token()
        self.max_body_bytes = max_body_bytes
        self.max_active = max_active
        self.session: GatewaySession | None = None
        self.active = 0
        self.requests = 0
        self.rejected = 0
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host`` (the only address the run's egress container can reach).

        Raises:
            OSError: the address cannot be bound.
        """
        app = web.Application(client_max_size=self.max_body_bytes)
        chat, responses, messages = ChatCompletionsApi(), ResponsesApi(), MessagesApi()
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/chat/completions", self._route(chat))
            app.router.add_post(f"{prefix}/responses", self._route(responses))
            app.router.add_post(f"{prefix}/messages", self._route(messages))
            app.router.add_post(f"{prefix}/messages/count_tokens", self._count_tokens)
            app.router.add_get(f"{prefix}/models", self._models)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError:
            listener.close()
            await runner.cleanup()
            raise
        await web.SockSite(runner, listener, backlog=256).start()
        self._runner, self._socket = runner, listener

    @property
    def host(self) -> str:
        assert self._socket is not None, "the gateway is not started"
        return str(self._socket.getsockname()[0])

    @property
    def port(self) -> int:
        assert self._socket is not None, "the gateway is not started"
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def arm(self, session: GatewaySession) -> None:
        """Serve ``session``'s run; until then every call is a 503."""
        self.session = session

    async def close(self) -> None:
        """Stop listening and drop open connections; idempotent."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        self._socket = None

    async def __aenter__(self) -> ModelGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests -------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        headers = request.headers
        given = headers.get("x-api-key") or headers.get("api-key") or ""
        bearer = headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = given or bearer[7:].strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _route(self, api: WireApi) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            if not self._authorised(request):
                return self._error(api, 401, "authentication_error", "invalid gateway token")
            if self.active >= self.max_active:
                return self._error(
                    api, 503, "overloaded_error", f"more than {self.max_active} requests at once"
                )
            self.active += 1
            try:
                return await self._serve(request, api)
            finally:
                self.active -= 1

        return handle

    async def _serve(self, request: web.Request, api: WireApi) -> web.StreamResponse:
        session = self.session
        if session is None:
            return self._error(api, 503, "overloaded_error", "the run has not started yet")
        try:
            session.check()
            body = await self._body(request)
            parsed = api.parse(body, session.default_max_tokens)
            completion = await session.generate(api.name, parsed)
        except _TooLarge:
            return self._error(
                api, 413, "request_too_large", f"request body over {self.max_body_bytes} bytes"
            )
        except BadRequest as error:
            return self._error(api, 400, "invalid_request_error", str(error))
        except CallRefused as refused:
            return self._error(
                api, 429, "insufficient_quota", str(refused), headers={"x-should-retry": "false"}
            )
        except LLMError as error:
            status, kind, headers = _upstream_status(error)
            return self._error(api, status, kind, f"upstream model error: {error}", headers)
        model = completion.model_version or session.model.model
        if not parsed.stream:
            return _json(200, api.reply(completion, parsed, model))
        response = web.StreamResponse(
            status=200,
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
            },
        )
        try:
            await response.prepare(request)
            for event in api.events(completion, parsed, model):
                await response.write(event)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client went away; the call is metered and recorded already
        return response

    async def _body(self, request: web.Request) -> dict[str, Any]:
        """Raises: _TooLarge, BadRequest."""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _TooLarge from None
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _error(
        self,
        api: WireApi,
        status: int,
        kind: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.rejected += 1
        return _json(status, api.error(status, kind, message), headers)

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        api = MessagesApi()
        if not self._authorised(request):
            return self._error(api, 401, "authentication_error", "invalid gateway token")
        session = self.session
        if session is None:
            return self._error(api, 503, "overloaded_error", "the run has not started yet")
        try:
            body = await self._body(request)
            tokens = count_input_tokens(body, session.provider.token_counter())
        except _TooLarge:
            return self._error(api, 413, "request_too_large", "request body too large")
        except BadRequest as error:
            return self._error(api, 400, "invalid_request_error", str(error))
        return _json(200, {"input_tokens": tokens})

    async def _models(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return self._error(ChatCompletionsApi(), 401, "authentication_error", "invalid token")
        name = self.session.model.model if self.session else ""
        entry = {"id": name, "object": "model", "created": 0, "owned_by": "paperbench"}
        return _json(200, {"object": "list", "data": [entry] if name else []})


class _TooLarge(Exception):
    pass


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
        headers=headers,
    )


def _upstream_status(error: LLMError) -> tuple[int, str, dict[str, str]]:
    """How a provider failure (after the provider's own retries) is passed on."""
    if isinstance(error, RateLimited):
        wait = {"retry-after": f"{error.retry_after:g}"} if error.retry_after else {}
        return 429, "rate_limit_exceeded", wait
    if isinstance(error, RequestRejected):
        return 400, "invalid_request_error", {}
    if isinstance(error, ProviderSetupError):
        return 502, "api_error", {"x-should-retry": "false"}
    if isinstance(error, CallTimeout):
        return 504, "timeout", {}
    return 502, "api_error", {}
