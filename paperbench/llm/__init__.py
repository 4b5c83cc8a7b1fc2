"""The model provider layer, shared by the judge and the agents.

Use :func:`open_provider` with a model name (see :mod:`paperbench.llm.catalog`) and call
:meth:`Provider.generate` with a :class:`GenerateRequest`: messages, and either an
:class:`OutputSchema` (structured output) or :class:`ToolSpec` tools. The reply is a
:class:`Completion` with text, tool calls, normalised :class:`Usage` and the exact model
version. Transient failures are retried by the provider; what remains is an
:class:`~paperbench.llm.errors.LLMError`.
"""

from __future__ import annotations

from pathlib import Path

from paperbench.llm.catalog import ModelSpec, PriceTable, load_price_table, parse_model_name
from paperbench.llm.errors import (
    CallTimeout,
    LLMError,
    ProviderSetupError,
    RateLimited,
    RequestRejected,
    ServerError,
)
from paperbench.llm.provider import Provider
from paperbench.llm.retry import RateGate, RetryPolicy
from paperbench.llm.types import (
    Completion,
    GenerateRequest,
    GenerateSettings,
    Message,
    OutputSchema,
    TextPart,
    ToolCall,
    ToolSpec,
    Usage,
)


def open_provider(
    spec: ModelSpec, *, retry: RetryPolicy | None = None, log_dir: Path | None = None
) -> Provider:
    """The provider for ``spec``; close it (``async with``) to free connections and servers.

    Raises:
        ProviderSetupError: a key is missing, or the local extra is not installed.
    """
    if spec.provider in ("openai", "openai-compatible"):
        from paperbench.llm.openai_api import OpenAIChatProvider

        return OpenAIChatProvider(spec, retry=retry)
    if spec.provider == "openai-responses":
        from paperbench.llm.openai_api import OpenAIResponsesProvider

        return OpenAIResponsesProvider(spec, retry=retry)
    if spec.provider == "anthropic":
        from paperbench.llm.anthropic_api import AnthropicProvider

        return AnthropicProvider(spec, retry=retry)
    from paperbench.llm.local import LocalProvider

    log = log_dir / "local-model-server.log" if log_dir else None
    return LocalProvider(spec, retry=retry, log_path=log)


__all__ = [
    "CallTimeout",
    "Completion",
    "GenerateRequest",
    "GenerateSettings",
    "LLMError",
    "Message",
    "ModelSpec",
    "OutputSchema",
    "PriceTable",
    "Provider",
    "ProviderSetupError",
    "RateGate",
    "RateLimited",
    "RequestRejected",
    "RetryPolicy",
    "ServerError",
    "TextPart",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "load_price_table",
    "open_provider",
    "parse_model_name",
]
