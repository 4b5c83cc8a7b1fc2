"""Judge model names, and the user-replaceable table of context windows and prices.

A model is named by one string:

=====================================  ==================================================
``openai/<model>``                     OpenAI Chat Completions
``openai-responses/<model>``           OpenAI Responses API
``anthropic/<model>``                  Anthropic Messages, prompt caching on the prefix
``openai-compatible/<model>@<url>``    any Chat Completions server: vLLM, Ollama, llama.cpp
``local/smollm2``                      the embedded model (extra ``local``), no key needed
``local/<path/to/model.gguf>``         any GGUF file, served by the same embedded server
=====================================  ==================================================

The table (``grader/prices.json``, or ``--prices FILE`` / ``$PAPERBENCH_PRICES``) gives each
known model's context window and prices per million tokens; keys may end in ``*`` so one entry
covers dated snapshots. A name missing from the table still works when the user gives its
context window — unlike PaperBench, which rejects any model it does not list — and its calls are
then counted in the ledger without a price. OpenAI's Responses API shares OpenAI's prices.
"""

from __future__ import annotations

import fnmatch
import json
import os
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paperbench.errors import PaperbenchError
from paperbench.llm.discovery import server_context_window
from paperbench.llm.types import Usage
from paperbench.resources import resource_dir
from paperbench.secrets import strip_userinfo

ProviderKind = Literal["openai", "openai-responses", "anthropic", "openai-compatible", "local"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = (
    "openai",
    "openai-responses",
    "anthropic",
    "openai-compatible",
    "local",
)
PRICES_ENV = "PAPERBENCH_PRICES"


class ModelNameError(PaperbenchError):
    """A model name that cannot be parsed or whose context window is unknown."""


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    output: float = Field(ge=0)
    context_window: int | None = Field(default=None, gt=0)


def price_of(usage: Usage, price: Price | None) -> float | None:
    """US dollars for ``usage`` at ``price`` (``None`` when the model has no price).

    Cached prompt tokens are billed at the cached rate and cache writes at the write rate,
    each falling back to the plain input rate when the table has none.
    """
    if price is None:
        return None
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    fresh = max(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens, 0)
    return (
        fresh * price.input
        + usage.cached_input_tokens * cached_rate
        + usage.cache_write_tokens * write_rate
        + usage.output_tokens * price.output
    ) / 1e6


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    about: str = ""
    models: dict[str, Price]
    source: str = ""

    def lookup(self, key: str) -> Price | None:
        """The entry for ``key``: an exact key first, else the longest matching pattern."""
        if key in self.models:
            return self.models[key]
        patterns = [p for p in self.models if "*" in p and fnmatch.fnmatchcase(key, p)]
        return self.models[max(patterns, key=len)] if patterns else None


class ModelSpec(BaseModel):
    """A parsed model name with what the harness needs to call it."""

    model_config = ConfigDict(frozen=True)

    name: str
    provider: ProviderKind
    model: str
    base_url: str | None = None
    context_window: int
    price: Price | None = None

    @property
    def price_key(self) -> str:
        vendor = "openai" if self.provider == "openai-responses" else self.provider
        return f"{vendor}/{self.model}"


def default_prices_path() -> Path:
    return resource_dir("grader") / "prices.json"


@cache
def _load_table(path: Path) -> PriceTable:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PaperbenchError(f"{path}: price table not found") from None
    except json.JSONDecodeError as error:
        raise PaperbenchError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    try:
        return PriceTable.model_validate({**raw, "source": str(path)})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PaperbenchError(f"{path}: {where}: {first['msg']}") from None


def load_price_table(path: Path | None = None) -> PriceTable:
    """Load the table at ``path``, ``$PAPERBENCH_PRICES``, or the bundled one.

    Raises:
        PaperbenchError: the file is missing, not JSON, or has a malformed entry.
    """
    chosen = path or (Path(os.environ[PRICES_ENV]) if os.environ.get(PRICES_ENV) else None)
    return _load_table((chosen or default_prices_path()).resolve())


def parse_model_name(
    name: str,
    *,
    context_window: int | None = None,
    table: PriceTable | None = None,
    base_url: str | None = None,
    window_option: str = "--judge-context-window",
    discover: bool = True,
) -> ModelSpec:
    """Parse ``name`` (see the module docstring) and look it up in the table.

    ``context_window`` overrides the table's; ``base_url`` points a hosted provider elsewhere
    (the SDKs' ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` are honoured too). For a model the
    table does not know on an OpenAI-compatible server, the server is asked for its context
    window (:func:`paperbench.llm.discovery.server_context_window`) before the user is;
    ``window_option`` is the flag the error message tells the user to set. A user and password
    in a URL are registered as secrets (:mod:`paperbench.secrets`) and left out of the spec's
    ``name``, which results record; ``base_url`` keeps them, for the client.

    Raises:
        ModelNameError: the name has no known provider prefix, lacks a model or URL, or its
            context window is neither in the table, given, nor reported by the server.
    """
    table = table or load_price_table()
    shown = strip_userinfo(name)
    kind, slash, rest = name.partition("/")
    if not slash or kind not in PROVIDER_KINDS or not rest.strip():
        raise ModelNameError(
            f"model {shown!r}: expected PROVIDER/MODEL with PROVIDER one of "
            f"{', '.join(PROVIDER_KINDS)} (e.g. openai/o3-mini, local/smollm2)"
        )
    provider: ProviderKind = kind
    model = rest
    if provider == "openai-compatible":
        model, at, url = rest.partition("@http")
        url = "http" + url
        if not at or not model or not url.startswith(("http://", "https://")):
            raise ModelNameError(
                f"model {shown!r}: write openai-compatible/MODEL@URL, "
                "e.g. openai-compatible/llama3@http://127.0.0.1:8080/v1"
            )
        base_url = url
        name = f"{kind}/{model}@{strip_userinfo(url)}"
    elif base_url is not None:
        strip_userinfo(base_url)
    spec_key = f"{'openai' if provider == 'openai-responses' else provider}/{model}"
    price = table.lookup(spec_key)
    if provider == "local" and model.endswith(".gguf") and price is None:
        price = Price(input=0, cached_input=0, output=0)
    window = context_window or (price.context_window if price else None)
    if window is None and discover and provider == "openai-compatible" and base_url:
        window = server_context_window(base_url, model)
    if window is None:
        asked = " (the server did not report one)" if provider == "openai-compatible" else ""
        raise ModelNameError(
            f"model {shown!r} is not in the model table {table.source}{asked}; give its "
            f"context window with {window_option} TOKENS (its calls will be counted without "
            "a price)"
        )
    return ModelSpec(
        name=name,
        provider=provider,
        model=model,
        base_url=base_url,
        context_window=window,
        price=price,
    )
