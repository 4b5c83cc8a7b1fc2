"""The provider interface: one async method that turns a :class:`GenerateRequest` into a
:class:`Completion`, whatever the API behind it.

An implementation makes *one attempt* in :meth:`Provider._attempt` and translates its SDK's
exceptions into :mod:`paperbench.llm.errors`; the base class adds retries with backoff
(:mod:`paperbench.llm.retry`), so every provider retries alike. Providers are async context
managers: leaving the context closes HTTP connections and stops any server they started.

It is an abstract class rather than a Protocol because implementations carry state and a
lifecycle (a client, a child process); the judge and the agents' tool loop depend only on
:meth:`generate`, :meth:`token_counter` and the attributes below.
"""

from __future__ import annotations

import email.utils
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType

from paperbench.llm.catalog import ModelSpec
from paperbench.llm.errors import (
    CallTimeout,
    ConnectFailed,
    LLMError,
    ProviderSetupError,
    ProviderUnreachable,
    RateLimited,
    RequestRejected,
    ServerError,
)
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.tokens import TokenCounter, count_tokens
from paperbench.llm.types import Completion, GenerateRequest


class Provider(ABC):
    """A judge or agent model behind some API.

    Attributes:
        spec: the parsed model name, context window and price.
        max_concurrency: how many calls this backend serves at once to good effect.
        supports_seed: whether ``settings.seed`` reaches the model (recorded with grades).
        supports_temperature: whether ``settings.temperature`` reaches the model.
        bounded_output: whether structured replies should carry length bounds in their schema
            (a small model's constrained decoder honours them; hosted APIs may reject them).
    """

    max_concurrency = 16
    bounded_output = False
    supports_seed = True
    supports_temperature = True

    def __init__(self, spec: ModelSpec, *, retry: RetryPolicy | None = None) -> None:
        self.spec = spec
        self.retry = retry or RetryPolicy()
        self.answered = False

    async def generate(self, request: GenerateRequest) -> Completion:
        """Call the model, retrying transient failures.

        Raises:
            RequestRejected: the provider refused the request (e.g. over the context window).
            RateLimited, ServerError, CallTimeout: still failing when the retry budget ran out.
            ProviderSetupError: bad key, unknown model, or a server that refused the connection
                and never answered before; not retried.
        """

        async def attempt() -> Completion:
            try:
                completion = await self._attempt(request)
            except ConnectFailed as error:
                if self.answered:
                    raise
                where = self.spec.base_url or self.spec.provider
                raise ProviderUnreachable(
                    f"cannot reach model {self.spec.name} at {where}: {error}; is the server "
                    "running and the URL right?"
                ) from None
            self.answered = True
            return completion

        completion, failures = await self.retry.run(attempt)
        if failures:
            completion = completion.model_copy(update={"failed_attempts": failures})
        return completion

    @abstractmethod
    async def _attempt(self, request: GenerateRequest) -> Completion:
        """One call, no retries; raises only :class:`~paperbench.llm.errors.LLMError`."""

    def token_counter(self) -> TokenCounter:
        """Counts tokens as this model does, or as closely as the harness can (tiktoken)."""
        return count_tokens

    async def aclose(self) -> None:  # noqa: B027 - a no-op is the right default
        """Release connections and child processes; safe to call twice."""

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return float(lowered["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def translate_status(
    status: int, message: str, headers: Mapping[str, str] | None, *, key_hint: str
) -> LLMError:
    """Map an HTTP error status to our error kinds (shared by the OpenAI and Anthropic SDKs)."""
    short = " ".join(message.split())[:300]
    if status == 429 or status == 529:
        return RateLimited(f"HTTP {status}: {short}", retry_after=parse_retry_after(headers))
    if status in (401, 403):
        return ProviderSetupError(
            f"the provider refused the credentials (HTTP {status}); {key_hint}"
        )
    if status == 404:
        return ProviderSetupError(
            f"HTTP 404 from the provider: the model name or base URL is wrong ({short})"
        )
    if status in (408, 409) or status >= 500:
        return ServerError(f"HTTP {status}: {short}")
    return RequestRejected(f"HTTP {status}: {short}")


def timeout_error(seconds: float) -> CallTimeout:
    return CallTimeout(f"no reply within {seconds:g} s")


_CONNECT_ERRORS = frozenset({"ConnectError", "ConnectTimeout"})


def connection_error(error: BaseException) -> ServerError:
    """The error for an SDK's connection failure: :class:`ConnectFailed` when the connection was
    never made (refused, unknown host, connect timeout), else a broken connection to retry."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError | socket.gaierror) or (
            type(seen).__name__ in _CONNECT_ERRORS
        ):
            return ConnectFailed(f"connection failed: {seen}")
        seen = seen.__cause__ or seen.__context__
    return ServerError(f"connection failed: {error}")
