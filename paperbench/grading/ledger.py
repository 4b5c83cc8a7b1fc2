"""The cost ledger: every judge call, its tokens and its price.

One entry per call attempt that reached a reply, per cache hit, and per call that failed after
its retries (with the failed attempts listed and no tokens, since providers do not bill them).
Tokens are the provider's own counts: ``input`` (all prompt tokens), ``cached`` (read from the
provider's prompt cache), ``cache_write`` (Anthropic's cache writes) and ``output``. Prices come
from the model table (:mod:`paperbench.llm.catalog`); a model without a price is counted in
tokens and its cost reported as unknown, never as zero. A cache hit costs nothing and is
recorded as such, with the tokens it would have cost kept for reference.

Entries are redacted on their way to the file (:func:`paperbench.secrets.redact_text`): a
failed call's message or a model string can carry a key or a URL's password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from paperbench.llm.catalog import Price, price_of
from paperbench.llm.types import Usage
from paperbench.secrets import redact_text

Outcome = Literal["graded", "invalid-reply", "failed", "cache-hit"]


class LedgerEntry(BaseModel):
    call: int
    items: list[str]
    outcome: Outcome
    model: str
    model_version: str = ""
    usage: Usage = Usage()
    cost_usd: float | None = None
    failed_attempts: list[str] = []
    seconds: float = 0.0
    note: str = ""


class LedgerTotals(BaseModel):
    requests_sent: int
    replies: int
    cache_hits: int
    failed_calls: int
    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    cost_usd: float | None


class Ledger:
    def __init__(self, model: str, price: Price | None) -> None:
        self.model = model
        self.price = price
        self.entries: list[LedgerEntry] = []

    def record(
        self,
        call: int,
        items: list[str],
        outcome: Outcome,
        *,
        usage: Usage | None = None,
        model_version: str = "",
        failed_attempts: tuple[str, ...] = (),
        seconds: float = 0.0,
        note: str = "",
    ) -> LedgerEntry:
        usage = usage or Usage()
        cost = 0.0 if outcome == "cache-hit" else price_of(usage, self.price)
        entry = LedgerEntry(
            call=call,
            items=items,
            outcome=outcome,
            model=self.model,
            model_version=model_version,
            usage=usage,
            cost_usd=cost,
            failed_attempts=list(failed_attempts),
            seconds=round(seconds, 3),
            note=note,
        )
        self.entries.append(entry)
        return entry

    def totals(self) -> LedgerTotals:
        billed = [entry for entry in self.entries if entry.outcome != "cache-hit"]
        usage = sum((entry.usage for entry in billed), Usage())
        costs = [entry.cost_usd for entry in billed]
        return LedgerTotals(
            requests_sent=sum(
                len(entry.failed_attempts) + (entry.outcome != "failed") for entry in billed
            ),
            replies=sum(entry.outcome in ("graded", "invalid-reply") for entry in billed),
            cache_hits=sum(entry.outcome == "cache-hit" for entry in self.entries),
            failed_calls=sum(entry.outcome == "failed" for entry in self.entries),
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=None if any(cost is None for cost in costs) else sum(c or 0.0 for c in costs),
        )

    def write(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            for entry in self.entries:
                handle.write(redact_text(entry.model_dump_json()) + "\n")
