"""Errors of a model call, sorted by what the caller should do about them.

* :class:`RateLimited`, :class:`ServerError` and :class:`CallTimeout` are transient: the retry
  policy (:mod:`paperbench.llm.retry`) tries again with backoff.
* :class:`RequestRejected` (a 4xx other than 401/403/404/429, e.g. a prompt over the context
  window) is final for that request; the judge marks the item invalid with the reason.
* :class:`ProviderSetupError` (bad key, unknown model, missing extra, a server that refuses the
  connection before it ever answered) is the user's to fix, so it is a
  :class:`~paperbench.errors.PaperbenchError`: grading stops at once with one line naming the
  fix, instead of spending minutes of retries per leaf on a dead port.
* :class:`ConnectFailed` (the connection could not be made) is a :class:`ServerError` once the
  provider has answered before — a blip in a long run is retried — and a
  :class:`ProviderUnreachable` when it never has.

Every error keeps ``attempts``: the messages of the attempts that led to it, oldest first.
"""

from __future__ import annotations

from paperbench.errors import PaperbenchError


class LLMError(Exception):
    """A model call failed; ``str(error)`` says how, in one line."""

    retryable = False

    def __init__(self, message: str, *, attempts: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.attempts = attempts


class RateLimited(LLMError):
    """HTTP 429; ``retry_after`` is the provider's requested wait in seconds, when given."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(LLMError):
    """HTTP 5xx, or the connection failed or broke."""

    retryable = True


class ConnectFailed(ServerError):
    """The connection could not be made (refused, no such host, connect timeout)."""


class CallTimeout(LLMError):
    """No complete reply within the request's timeout."""

    retryable = True


class RequestRejected(LLMError):
    """The provider refused this request as malformed or too long; retrying will not help."""


class ProviderSetupError(LLMError, PaperbenchError):
    """The provider cannot be used as configured: bad API key, unknown model, missing extra."""


class ProviderUnreachable(ProviderSetupError):
    """The provider's server refused the connection (or could not be found) and has never
    answered in this process: a wrong URL or a server that is not running."""
