"""The judge: plans the calls for a rubric's items, makes them, and turns replies into results.

Economics (see design.md, "Judge economics"):

* **At most one call per item.** The reply is structured output validated by pydantic; there is
  no separate file-ranking or parsing call. With ``batch=K``, up to K leaves that sit next to
  each other in the rubric (siblings first, then cousins) and share a prompt prefix are graded
  in one call, each with its own explanation, evidence and score. A leaf missing from a batched
  reply, or whose entry does not validate, is regraded alone.
* **Shared prefixes, warm first.** Items are grouped by prefix (category view, and subtree when
  files had to be chosen). Calls run category by category, in rubric order, over a bounded pool
  of workers; the first call of each prefix runs before the others of that prefix start, so the
  provider's prompt cache is written once and read by every later call (at concurrency 1 — the
  local model — this also keeps llama.cpp's single slot on one prefix at a time).
* **Cache.** Each call is looked up in the content-addressed cache first; re-grading unchanged
  inputs makes no call. A reply accepted on a retry is also stored under the original prompt's
  key, so a re-grade does not repeat the failed first attempt.

No silent zeros: a reply that does not validate is retried ``reply_attempts`` times with a note
saying what was wrong; a call that still fails (after the provider's own retries of rate limits,
server errors and timeouts) makes its items *invalid* with the reason. Only a setup error (bad
key, unknown model) stops the grade.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from paperbench.grading.aggregate import ItemResult
from paperbench.grading.cache import JudgeCache, cache_key
from paperbench.grading.ledger import Ledger
from paperbench.grading.plan import GradingItem
from paperbench.grading.prompts import Prefix, PromptBuilder
from paperbench.grading.records import CallRecorder
from paperbench.grading.verdicts import (
    ReplyProblem,
    Verdict,
    batch_keys,
    batch_schema,
    leaf_schema,
    parse_batch,
    parse_single,
    subtree_schema,
)
from paperbench.llm.errors import LLMError, ProviderSetupError
from paperbench.llm.provider import Provider
from paperbench.llm.types import (
    Completion,
    GenerateRequest,
    GenerateSettings,
    OutputSchema,
    Usage,
)
from paperbench.rubric import TASK_CATEGORIES

NO_REPRODUCTION = (
    "Not graded by the judge: no reproduction was run, so nothing was executed and no result "
    "was produced; execution and result requirements cannot be met (scored 0 by rule). Grade "
    "with --reproduction DIR, or use --code-dev to grade code only."
)


@dataclass
class JudgeOptions:
    batch: int = 1
    concurrency: int | None = None
    reply_attempts: int = 3
    min_group_items: int = 4
    settings: GenerateSettings = field(default_factory=GenerateSettings)


@dataclass
class PlannedCall:
    id: int
    prefix: Prefix
    items: list[GradingItem]
    suffix: str
    schema: OutputSchema
    kind: Literal["leaf", "batch", "subtree"]


def _view_order(view: tuple[str, ...]) -> tuple[int, int, tuple[int, ...]]:
    ranks = tuple(TASK_CATEGORIES.index(category) for category in view)
    return (len(view) > 1, ranks[0], ranks)


class Judge:
    """Grades items of one submission with one provider; results accumulate in ``results``."""

    def __init__(
        self,
        provider: Provider,
        builder: PromptBuilder,
        options: JudgeOptions,
        *,
        ledger: Ledger,
        cache: JudgeCache | None = None,
        recorder: CallRecorder | None = None,
        has_reproduction: bool = True,
        no_run_reason: str = "",
    ) -> None:
        self.provider = provider
        self.builder = builder
        self.options = options
        self.ledger = ledger
        self.cache = cache
        self.recorder = recorder
        self.has_reproduction = has_reproduction
        self.no_run_reason = no_run_reason or NO_REPRODUCTION
        self.results: dict[str, ItemResult] = {}
        self.model_versions: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self.calls: list[PlannedCall] = []

    # -- settings --------------------------------------------------------------------------
    def settings_for(self, items: int) -> GenerateSettings:
        """The sampling settings of a call of ``items`` items, as actually sent."""
        base = self.options.settings
        update: dict[str, Any] = {}
        if not self.provider.supports_temperature:
            update["temperature"] = None
        if not self.provider.supports_seed:
            update["seed"] = None
        window = self.provider.spec.context_window
        if window <= 32_768:
            update["max_output_tokens"] = min(
                base.max_output_tokens, 384 * items + 128, window // 4
            )
        return base.model_copy(update=update)

    def recorded_settings(self) -> dict[str, Any]:
        settings = self.settings_for(1)
        return {
            "judge": self.provider.spec.name,
            "temperature": settings.temperature,
            "seed": settings.seed,
            "reasoning_effort": settings.reasoning_effort,
        }

    # -- planning --------------------------------------------------------------------------
    def plan(self, items: list[GradingItem]) -> list[PlannedCall]:
        """Decide prefixes and calls for the judge's items (rule-scored ones are set aside)."""
        judged: list[GradingItem] = []
        for item in items:
            if item.needs_run and not self.has_reproduction:
                self.results[item.path] = ItemResult(
                    score=0.0, explanation=self.no_run_reason, judged_by="rule"
                )
            else:
                judged.append(item)
        by_view: dict[tuple[str, ...], list[GradingItem]] = {}
        for item in judged:
            by_view.setdefault(item.categories, []).append(item)
        self._fit_budget(judged)
        calls: list[PlannedCall] = []
        for view in sorted(by_view, key=_view_order):
            for prefix, group in self._groups(view, by_view[view]):
                calls += self._calls_for(prefix, group)
        self.calls = calls
        return calls

    def _fit_budget(self, items: list[GradingItem]) -> None:
        window = self.provider.spec.context_window
        k = max(1, self.options.batch)
        count = self.provider.token_counter()
        longest = max(
            [count(self.builder.leaf_suffix(item)) for item in items if item.kind == "leaf"]
            + [count(self.builder.subtree_suffix(item)) for item in items if item.kind == "subtree"]
            + [0]
        )
        suffix_room = (longest + 40) * (k if k > 1 else 1) + 200
        retry_room = 120
        margin = int(window * 0.03) + 200
        output = self.settings_for(k).max_output_tokens
        self.builder.budget = window - output - suffix_room - retry_room - margin

    def _groups(
        self, view: tuple[str, ...], items: list[GradingItem]
    ) -> list[tuple[Prefix, list[GradingItem]]]:
        whole = self.builder.prefix(view)
        if whole.complete:
            return [(whole, items)]
        counts: Counter[str] = Counter()
        for item in items:
            steps = item.path.split("/")
            for depth in range(len(steps)):
                counts["/".join(steps[:depth])] += 1

        def group_of(item: GradingItem) -> str:
            steps = item.path.split("/")
            for depth in range(len(steps) - 1, -1, -1):
                candidate = "/".join(steps[:depth])
                if counts[candidate] >= self.options.min_group_items:
                    return candidate
            return ""

        groups: dict[str, list[GradingItem]] = {}
        for item in items:
            groups.setdefault(group_of(item), []).append(item)
        result = []
        for group_path, members in groups.items():
            depth = len(group_path.split("/")) if group_path else 0
            context = [node.requirements for node in members[0].ancestors[: depth + 1]]
            texts = [leaf.requirements for member in members for _, leaf in member.node.walk()]
            query = " ".join(context + texts)
            result.append((self.builder.prefix(view, query=query, group=group_path), members))
        return result

    def _calls_for(self, prefix: Prefix, items: list[GradingItem]) -> list[PlannedCall]:
        calls: list[PlannedCall] = []
        pending: list[GradingItem] = []

        def flush() -> None:
            if len(pending) == 1:
                calls.append(self._single(pending[0], prefix))
            elif pending:
                keys = batch_keys(len(pending))
                calls.append(
                    PlannedCall(
                        id=next(self._ids),
                        prefix=prefix,
                        items=list(pending),
                        suffix=self.builder.batch_suffix(pending, keys),
                        schema=batch_schema(len(pending), self.provider.bounded_output),
                        kind="batch",
                    )
                )
            pending.clear()

        for item in items:
            if item.kind == "subtree" or self.options.batch <= 1:
                flush()
                calls.append(self._single(item, prefix))
                continue
            pending.append(item)
            if len(pending) >= self.options.batch:
                flush()
        flush()
        return calls

    def _single(self, item: GradingItem, prefix: Prefix) -> PlannedCall:
        if item.kind == "subtree":
            bounded = self.provider.bounded_output
            suffix, schema = self.builder.subtree_suffix(item), subtree_schema(bounded)
        else:
            suffix, schema = (
                self.builder.leaf_suffix(item),
                leaf_schema(self.provider.bounded_output),
            )
        return PlannedCall(next(self._ids), prefix, [item], suffix, schema, item.kind)

    # -- running ---------------------------------------------------------------------------
    async def run(self, items: list[GradingItem]) -> dict[str, ItemResult]:
        """Grade ``items``; returns results for all of them (valid or invalid, never missing).

        Raises:
            ProviderSetupError: the provider cannot be used (bad key, unknown model).
        """
        calls = self.plan(items)
        queue = deque(calls)
        warmer: dict[str, int] = {}
        for call in calls:
            warmer.setdefault(call.prefix.key, call.id)
        warmed = {key: asyncio.Event() for key in warmer}
        workers = max(1, self.options.concurrency or self.provider.max_concurrency)

        async def worker() -> None:
            while queue:
                call = queue.popleft()
                key = call.prefix.key
                if warmer[key] != call.id:
                    await warmed[key].wait()
                try:
                    await self._execute(call)
                finally:
                    if warmer[key] == call.id:
                        warmed[key].set()

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(workers, len(calls)) or 0):
                    group.create_task(worker())
        except* ProviderSetupError as failed:
            raise failed.exceptions[0] from None
        return self.results

    def _parse(self, call: PlannedCall, text: str) -> dict[str, Verdict | str]:
        if call.kind == "batch":
            entries = parse_batch(text, len(call.items))
            keys = batch_keys(len(call.items))
            return {item.path: entries[key] for item, key in zip(call.items, keys, strict=True)}
        verdict = parse_single(text, continuous=call.kind == "subtree")
        return {call.items[0].path: verdict}

    def _record(
        self,
        call: PlannedCall,
        attempt: int,
        suffix: str,
        completion: Completion | None,
        outcome: str,
        from_cache: bool,
        problem: str = "",
    ) -> None:
        if self.recorder is None:
            return
        self.recorder.record(
            call=call.id,
            attempt=attempt,
            items=[item.path for item in call.items],
            prefix=call.prefix,
            suffix=suffix,
            schema=call.schema.name,
            reply=completion.text if completion else "",
            outcome=outcome,
            usage=completion.usage if completion else Usage(),
            model_version=completion.model_version if completion else "",
            from_cache=from_cache,
            problem=problem,
        )

    async def _execute(self, call: PlannedCall) -> None:
        paths = [item.path for item in call.items]
        settings = self.settings_for(len(call.items))
        block_keys = [block.key for block in call.prefix.blocks]
        spec = self.provider.spec
        first_key = cache_key(spec, settings, call.schema, block_keys, call.suffix)
        problem = ""
        for attempt in range(1, self.options.reply_attempts + 1):
            suffix = call.suffix + (self.builder.retry_note(problem) if problem else "")
            key = (
                first_key
                if attempt == 1
                else cache_key(spec, settings, call.schema, block_keys, suffix)
            )
            started = time.monotonic()
            completion = self.cache.get(key) if self.cache else None
            from_cache = completion is not None
            if completion is None:
                request = GenerateRequest(
                    messages=self.builder.messages(call.prefix, suffix),
                    output_schema=call.schema,
                    settings=settings,
                )
                try:
                    completion = await self.provider.generate(request)
                except ProviderSetupError:
                    raise
                except LLMError as error:
                    seconds = time.monotonic() - started
                    self.ledger.record(
                        call.id, paths, "failed", failed_attempts=error.attempts, seconds=seconds
                    )
                    self._record(call, attempt, suffix, None, "failed", False, str(error))
                    for item in call.items:
                        self._invalid(item, f"the judge call failed: {error}", call.id)
                    return
            seconds = time.monotonic() - started
            try:
                verdicts = self._parse(call, completion.text)
            except ReplyProblem as error:
                problem = str(error)
                if not from_cache:
                    self.ledger.record(
                        call.id,
                        paths,
                        "invalid-reply",
                        usage=completion.usage,
                        model_version=completion.model_version,
                        failed_attempts=completion.failed_attempts,
                        seconds=seconds,
                        note=problem,
                    )
                self._record(
                    call, attempt, suffix, completion, "invalid-reply", from_cache, problem
                )
                continue
            if not from_cache and self.cache is not None:
                self.cache.put(key, completion)
                if key != first_key:
                    self.cache.put(first_key, completion)
            self.ledger.record(
                call.id,
                paths,
                "cache-hit" if from_cache else "graded",
                usage=completion.usage,
                model_version=completion.model_version,
                failed_attempts=completion.failed_attempts,
                seconds=seconds,
            )
            self._record(call, attempt, suffix, completion, "graded", from_cache)
            self.model_versions[completion.model_version] += 1
            await self._accept(call, verdicts, completion, from_cache)
            return
        for item in call.items:
            self._invalid(
                item,
                f"the judge's reply did not validate after {self.options.reply_attempts} "
                f"attempts: {problem}",
                call.id,
            )

    async def _accept(
        self,
        call: PlannedCall,
        verdicts: dict[str, Verdict | str],
        completion: Completion,
        from_cache: bool,
    ) -> None:
        n = len(call.items)
        usage = completion.usage
        share = usage.model_copy(
            update={name: value // n for name, value in usage.model_dump().items()}
        )
        regrade: list[GradingItem] = []
        for item in call.items:
            verdict = verdicts[item.path]
            if isinstance(verdict, str):
                regrade.append(item)
                continue
            self.results[item.path] = ItemResult(
                score=float(verdict.score),
                explanation=verdict.explanation,
                evidence=list(verdict.evidence),
                judged_by="cache" if from_cache else "judge",
                call=call.id,
                usage=share,
                model_version=completion.model_version,
            )
        for item in regrade:
            await self._execute(self._single(item, call.prefix))

    def _invalid(self, item: GradingItem, reason: str, call: int | None) -> None:
        self.results[item.path] = ItemResult(
            score=None, explanation="", reason=reason, call=call, judged_by="judge"
        )
