"""The grading stage's entry point: a paper, a submission (and its reproduction), a judge model
in; a graded tree, a summary, a ledger and every prompt out.

:func:`grade_submission` reads the paper bundle, the reproduction directory (or a plain
submission folder), builds the plan (:mod:`~paperbench.grading.plan`), the prompts
(:mod:`~paperbench.grading.prompts`) and the judge (:mod:`~paperbench.grading.judge`), runs it,
and writes into ``out_dir``:

* ``graded_tree.json`` — PaperBench's grade-tree fields plus ``path``, ``evidence``, ``usage``;
* ``summary.json`` — :class:`GradeResult`: score and bounds, invalid items with reasons,
  per-category scores, judge model, versions and settings, tokens and cost, provenance;
* ``ledger.jsonl``, ``calls.jsonl`` and ``prompts/`` — see :mod:`~paperbench.grading.ledger`
  and :mod:`~paperbench.grading.records`.

With a reproduction, the judge reads ``DIR/submission`` (the executed copy, with what the run
created); a plain ``--submission`` folder is then not needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from paperbench import __version__
from paperbench.grading.aggregate import ScoreSummary, graded_tree, summarise
from paperbench.grading.cache import JudgeCache, default_cache_path
from paperbench.grading.inputs import (
    InputError,
    Reproduction,
    load_reproduction,
    read_submission,
    reading_budget,
)
from paperbench.grading.judge import Judge, JudgeOptions
from paperbench.grading.ledger import Ledger, LedgerTotals
from paperbench.grading.plan import build_plan, items_of
from paperbench.grading.prompts import PromptBuilder, Templates
from paperbench.grading.records import CallRecorder
from paperbench.llm import open_provider
from paperbench.llm.catalog import load_price_table, parse_model_name
from paperbench.llm.provider import Provider
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.tokens import encoding_name
from paperbench.llm.types import GenerateSettings, ReasoningEffort
from paperbench.papers import PaperBundle
from paperbench.runs.provenance import git_revision
from paperbench.secrets import redact_text


class GradeOptions(BaseModel):
    """What the user chooses; the CLI's options map one to one."""

    judge: str
    code_dev: bool = False
    max_depth: int | None = Field(default=None, ge=1)
    batch: int = Field(default=1, ge=1)
    concurrency: int | None = Field(default=None, ge=1)
    context_window: int | None = Field(default=None, gt=0)
    temperature: float | None = None
    seed: int | None = None
    reasoning_effort: ReasoningEffort | None = None
    max_output_tokens: int = Field(default=8192, gt=0)
    timeout_seconds: float = Field(default=600.0, gt=0)
    use_cache: bool = True
    cache_path: Path | None = None
    prices_path: Path | None = None
    base_url: str | None = None


class GradeResult(BaseModel):
    paper_id: str
    out_dir: str
    summary: ScoreSummary
    ledger: LedgerTotals
    judge: dict[str, Any]
    mode: dict[str, Any]
    provenance: dict[str, Any]
    calls_planned: int
    seconds: float


def _settings(options: GradeOptions, provider_kind: str) -> GenerateSettings:
    local = provider_kind == "local"
    return GenerateSettings(
        temperature=options.temperature
        if options.temperature is not None
        else (0.0 if local else None),
        seed=options.seed if options.seed is not None else (0 if local else None),
        reasoning_effort=options.reasoning_effort,
        max_output_tokens=options.max_output_tokens,
        timeout_seconds=options.timeout_seconds,
    )


async def grade_submission_async(
    bundle: PaperBundle,
    *,
    out_dir: Path,
    options: GradeOptions,
    submission: Path | None = None,
    reproduction: Path | None = None,
    provider: Provider | None = None,
    retry: RetryPolicy | None = None,
) -> GradeResult:
    """Grade and write the results into ``out_dir`` (see the module docstring).

    ``provider`` replaces the one named by ``options.judge`` (for tests and embedding); it is
    not closed here. ``retry`` sets the retry policy of a provider opened here.

    Raises:
        InputError: no submission or reproduction, or a malformed one.
        PaperbenchError: bad judge name, missing key or extra, malformed paper or rubric.
    """
    started = time.monotonic()
    table = load_price_table(options.prices_path)
    spec = (
        provider.spec
        if provider is not None
        else parse_model_name(
            options.judge,
            context_window=options.context_window,
            table=table,
            base_url=options.base_url,
        )
    )
    repro: Reproduction | None = load_reproduction(reproduction) if reproduction else None
    budget = reading_budget(spec.context_window)
    query = " ".join(node.requirements for _, node in bundle.rubric.walk())
    if repro is not None:
        created = {item.path for item in repro.record.files_created}
        files = read_submission(
            repro.submission_dir, created=created, max_total_bytes=budget, query=query
        )
    elif submission is not None:
        files = read_submission(submission, max_total_bytes=budget, query=query)
    else:
        raise InputError("nothing to grade: give --submission PATH or --reproduction DIR")
    plan = build_plan(bundle.rubric, code_dev=options.code_dev, max_depth=options.max_depth)
    if plan is None:
        raise InputError(
            f"{bundle.rubric_path}: no Code Development leaves to grade in Code-Dev mode"
        )
    items = items_of(plan)

    out_dir.mkdir(parents=True, exist_ok=True)
    own_provider = provider is None
    active = provider or open_provider(spec, retry=retry, log_dir=out_dir)
    cache = JudgeCache(options.cache_path or default_cache_path()) if options.use_cache else None
    recorder = CallRecorder(out_dir)
    templates = Templates()
    try:
        builder = PromptBuilder(
            paper=bundle.paper_md.read_text(encoding="utf-8"),
            addendum=bundle.optional_text("addendum.md"),
            judge_addendum=bundle.optional_text("judge.addendum.md"),
            submission=files,
            reproduction=repro,
            templates=templates,
            prefix_budget=spec.context_window,
            counter=active.token_counter(),
        )
        ledger = Ledger(spec.name, spec.price)
        judge = Judge(
            active,
            builder,
            JudgeOptions(
                batch=options.batch,
                concurrency=options.concurrency,
                settings=_settings(options, spec.provider),
            ),
            ledger=ledger,
            cache=cache,
            recorder=recorder,
            has_reproduction=repro is not None or options.code_dev,
        )
        results = await judge.run(items)
    finally:
        recorder.close()
        if cache is not None:
            cache.close()
        if own_provider:
            await active.aclose()

    settings = judge.recorded_settings()
    tree = graded_tree(plan, results, settings)
    summary = summarise(plan, results)
    ledger.write(out_dir / "ledger.jsonl")
    result = GradeResult(
        paper_id=bundle.id,
        out_dir=str(out_dir),
        summary=summary,
        ledger=ledger.totals(),
        judge={
            **settings,
            "provider": spec.provider,
            "model": spec.model,
            "context_window": spec.context_window,
            "model_versions": dict(judge.model_versions),
            "priced": spec.price is not None,
            "price_table": table.source,
        },
        mode={
            "code_dev": options.code_dev,
            "max_depth": options.max_depth,
            "batch": options.batch,
            "reproduction": str(reproduction) if reproduction else None,
            "submission": str(files.root),
        },
        provenance={
            "harness_version": __version__,
            "git_revision": git_revision()[0],
            "rubric_sha256": hashlib.sha256(bundle.rubric_path.read_bytes()).hexdigest(),
            "prompt_templates_sha256": templates.digest(),
            "submission_sha256": files.digest(),
            "tokenizer": encoding_name(),
        },
        calls_planned=len(judge.calls),
        seconds=round(time.monotonic() - started, 3),
    )
    (out_dir / "graded_tree.json").write_text(
        redact_text(json.dumps(tree, indent=2)), encoding="utf-8"
    )
    (out_dir / "summary.json").write_text(
        redact_text(result.model_dump_json(indent=2)), encoding="utf-8"
    )
    return result


def grade_submission(
    bundle: PaperBundle,
    *,
    out_dir: Path,
    options: GradeOptions,
    submission: Path | None = None,
    reproduction: Path | None = None,
) -> GradeResult:
    """Synchronous :func:`grade_submission_async` (opens and closes its own provider)."""
    return asyncio.run(
        grade_submission_async(
            bundle,
            out_dir=out_dir,
            options=options,
            submission=submission,
            reproduction=reproduction,
        )
    )
