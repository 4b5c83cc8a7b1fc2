"""Errors of a model call, sorted by what the caller should do about them.

* :class:`RateLimited`, :class:`ServerError` and :class:`CallTimeout` are transient: the retry
  policy (:mod:`paperbench.llm.retry`) tries again with backoff.
* :class:`RequestRejected` (a 4xx other than 401/403/404/429, e.g. a prompt over the context
  window) is final for that request; the judge marks the item invalid with the reason.
* :class:`ProviderSetupError` (bad key, unknown model, missing extra) is the user's to fix, so it
  is a :class:`~paperbench.errors.PaperbenchError`: grading stops with one line naming the fix.

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


class CallTimeout(LLMError):
    """No complete reply within the request's timeout."""

    retryable = True


class RequestRejected(LLMError):
    """The provider refused this request as malformed or too long; retrying will not help."""


class ProviderSetupError(LLMError, PaperbenchError):
    """The provider cannot be used as configured: bad API key, unknown model, missing extra."""
