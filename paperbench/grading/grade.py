"""The grading stage: a paper, a submission and its reproduction, a judge in; a graded tree, a
summary, a ledger and every prompt out.

Its contract (:mod:`paperbench.contracts`): :class:`GradeInputs` in — digests of the paper's
texts, the rubric, the prompt templates, the submission and the reproduction record, and the
judge's options (:class:`~paperbench.grading.options.JudgeOptions`) — and :class:`GradeResult`
(``summary.json``) out, through the one entry point :func:`grade`. It writes into ``out_dir``:

* ``graded_tree.json`` — PaperBench's grade-tree fields plus ``path``, ``evidence``, ``usage``;
* ``summary.json`` — :class:`GradeResult`: score and bounds, invalid items with reasons,
  per-category scores, the judge and its settings, tokens and cost, provenance;
* ``ledger.jsonl``, ``calls.jsonl`` and ``prompts/`` — see :mod:`~paperbench.grading.ledger`
  and :mod:`~paperbench.grading.records`.

What the judge reads follows from the reproduction's status
(:class:`~paperbench.reproduction.result.ReproductionResult`):

* the script ran (whatever its exit status, a timeout or an out-of-memory kill): the executed
  submission (``DIR/submission``, with what the run created) and the log;
* it did not run (no ``reproduce.sh``, one bash cannot parse): the submission as captured;
  execution and result leaves score 0 by rule, saying why;
* there is nothing to show (an empty submission, a refused archive, no capture): no call is
  made and every leaf scores 0 by rule, with the reason — a graded record, never an abort.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from paperbench import __version__
from paperbench.contracts import Failure, StageInputs, StageResult, located, tree_sha256
from paperbench.files import write_json_atomic
from paperbench.grading.aggregate import ItemResult, ScoreSummary, graded_tree, summarise
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
from paperbench.grading.options import JudgeOptions as JudgeChoice
from paperbench.grading.plan import PlanNode, build_plan, items_of
from paperbench.grading.prompts import PromptBuilder, Templates
from paperbench.grading.records import CallRecorder
from paperbench.grading.verdicts import reply_format_sha256
from paperbench.llm import open_provider
from paperbench.llm.catalog import ModelSpec, PriceTable, load_price_table, parse_model_name
from paperbench.llm.local import COMPACT_JSON
from paperbench.llm.provider import Provider
from paperbench.llm.retry import RetryPolicy
from paperbench.llm.tokens import encoding_name
from paperbench.llm.types import GenerateSettings
from paperbench.papers import PaperBundle, load_bundle
from paperbench.reproduction.result import NOTHING_TO_GRADE, RESULT_FILE
from paperbench.revision import git_revision

TREE_FILE = "graded_tree.json"
SUMMARY_FILE = "summary.json"
PAPER_TEXTS = ("paper.md", "addendum.md", "judge.addendum.md")


class GradeInputs(StageInputs):
    """Everything a grade depends on, resolved (see :meth:`resolve`).

    ``submission_dir`` is the submission as captured; ``reproduction_dir`` what the
    reproduction stage left (None in Code-Dev mode, or to grade code alone). With neither,
    ``nothing_to_grade`` says why, and every leaf scores 0 by rule.
    """

    paper_id: str
    paper_root: Path = located()
    paper_sha256: str
    rubric_sha256: str
    prompt_templates_sha256: str
    reply_format_sha256: str = Field(description="the verdict schemas the judge answers in")
    judge: JudgeChoice
    judge_context_window: int = Field(gt=0, description="resolved: the table's, given, or asked")
    submission_dir: Path | None = located(None)
    submission_sha256: str | None = None
    reproduction_dir: Path | None = located(None)
    reproduction_sha256: str | None = None
    nothing_to_grade: str | None = None

    @classmethod
    def resolve(
        cls,
        paper: PaperBundle,
        judge: JudgeChoice,
        *,
        submission: Path | None = None,
        reproduction: Path | None = None,
        nothing_to_grade: str | None = None,
        table: PriceTable | None = None,
    ) -> GradeInputs:
        """The inputs of grading ``submission`` (a folder) and/or ``reproduction`` (a folder as
        the reproduction stage writes it) of ``paper`` with ``judge``.

        Raises:
            InputError: none of the three is given, or a folder does not exist.
            ModelNameError: the judge's name is malformed or its context window unknown.
        """
        judge = judge.resolved()
        if submission is None and reproduction is None and nothing_to_grade is None:
            raise InputError("nothing to grade: give --submission DIR or --reproduction DIR")
        for folder in (submission, reproduction):
            if folder is not None and not folder.is_dir():
                raise InputError(f"{folder}: no such folder")
        spec = judge_spec(judge, table)
        local = spec.provider == "local"  # LocalProvider: bounded schemas, compact JSON
        return cls(
            paper_id=paper.id,
            paper_root=paper.root,
            paper_sha256=_texts_sha256(paper),
            rubric_sha256=hashlib.sha256(paper.rubric_path.read_bytes()).hexdigest(),
            prompt_templates_sha256=Templates(judge.judge_prompts).digest(),
            reply_format_sha256=reply_format_sha256(local, COMPACT_JSON if local else None),
            judge=judge,
            judge_context_window=spec.context_window,
            submission_dir=submission,
            submission_sha256=tree_sha256(submission) if submission else None,
            reproduction_dir=reproduction,
            reproduction_sha256=_reproduction_sha256(reproduction) if reproduction else None,
            nothing_to_grade=nothing_to_grade,
        )


def judge_spec(judge: JudgeChoice, table: PriceTable | None = None) -> ModelSpec:
    """The judge's model spec (context window from the options, the table, or the server).

    Raises:
        ModelNameError: the name is malformed or its context window cannot be found.
    """
    return parse_model_name(
        judge.model_name,
        context_window=judge.judge_context_window,
        table=table or load_price_table(judge.prices),
        base_url=judge.judge_base_url,
        window_option="--judge-context-window",
    )


def _texts_sha256(paper: PaperBundle) -> str:
    digest = hashlib.sha256()
    for name in PAPER_TEXTS:
        path = paper.root / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"\0absent")
    return digest.hexdigest()


def _reproduction_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in (RESULT_FILE, "reproduce.log"):
        path = folder / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"\0absent")
    return digest.hexdigest()


class JudgeRecord(BaseModel):
    """The judge as it ran: who answered, with which sampling settings, at what price."""

    judge: str
    provider: str
    model: str
    context_window: int
    temperature: float | None = None
    seed: int | None = None
    reasoning_effort: str | None = None
    model_versions: dict[str, int] = Field(default_factory=dict)
    priced: bool
    price_table: str


class GradeMode(BaseModel):
    """What was graded and how: the rubric's reductions and what the judge read."""

    code_dev: bool
    resources_provided: bool = Field(
        default=False, description="Dataset and Model Acquisition leaves weighed 0"
    )
    max_depth: int | None
    batch: int
    reproduction: str | None = None
    reproduction_status: str | None = None
    submission: str | None = None
    scored_by_rule: str | None = Field(
        default=None, description="why every item was scored 0 by rule, when they all were"
    )


class GradeProvenance(BaseModel):
    harness_version: str
    git_revision: str | None
    rubric_sha256: str
    prompt_templates_sha256: str
    submission_sha256: str | None
    tokenizer: str
    inputs_fingerprint: str


class GradeResult(StageResult):
    """The record of one grade (``summary.json``)."""

    FILE: ClassVar[str] = SUMMARY_FILE

    paper_id: str
    out_dir: str
    summary: ScoreSummary
    ledger: LedgerTotals
    judge: JudgeRecord
    mode: GradeMode
    provenance: GradeProvenance
    calls_planned: int
    seconds: float

    def failures(self) -> list[Failure]:
        if not self.summary.invalid:
            return []
        return [
            Failure(
                kind="judge_invalid",
                stage="grading",
                reason=f"{len(self.summary.invalid)} of {self.summary.items} items invalid: "
                f"{self.summary.invalid[0].reason}",
            )
        ]

    def complete(self) -> bool:
        """A grade with invalid items is not complete: grading again retries just those (the
        others come from the reply cache)."""
        return not self.summary.invalid


def _settings(options: JudgeChoice, provider_kind: str) -> GenerateSettings:
    local = provider_kind == "local"
    temperature = options.judge_temperature
    seed = options.judge_seed
    return GenerateSettings(
        temperature=temperature if temperature is not None else (0.0 if local else None),
        seed=seed if seed is not None else (0 if local else None),
        reasoning_effort=options.reasoning_effort,
        max_output_tokens=options.judge_max_output_tokens,
        timeout_seconds=options.judge_timeout,
    )


def rule_results(plan: PlanNode, reason: str) -> dict[str, ItemResult]:
    """Every item of ``plan`` scored 0 by rule, explained by ``reason``."""
    return {
        item.path: ItemResult(score=0.0, explanation=reason, judged_by="rule")
        for item in items_of(plan)
    }


def rule_summary(paper: PaperBundle, judge: JudgeChoice, reason: str) -> ScoreSummary:
    """The summary of a grade in which every item scored 0 by rule: what a run that could not
    be graded counts as, so every aggregate has the same items in its denominator.

    Raises:
        RubricError: the paper's rubric is malformed.
    """
    plan = _plan(paper, judge)
    return summarise(plan, rule_results(plan, reason))


def _plan(paper: PaperBundle, judge: JudgeChoice) -> PlanNode:
    plan = build_plan(
        paper.rubric,
        code_dev=judge.code_dev,
        max_depth=judge.max_depth,
        resources_given=judge.resources_provided,
    )
    if plan is None:
        raise InputError(
            f"{paper.rubric_path}: no Code Development leaves to grade in Code-Dev mode"
        )
    return plan


async def grade(
    inputs: GradeInputs,
    out_dir: Path,
    *,
    provider: Provider | None = None,
    retry: RetryPolicy | None = None,
) -> GradeResult:
    """Grade and write the results into ``out_dir`` (see the module docstring).

    ``provider`` replaces the one the judge's name opens (for tests and embedding); it is not
    closed here. ``retry`` sets the retry policy of a provider opened here.

    Raises:
        InputError: a submission or reproduction folder is malformed.
        ProviderSetupError: the judge cannot be used (refused connection, key or model); no
            leaf is marked invalid for it.
        PaperbenchError: bad judge name, missing key or extra, malformed paper or rubric.
    """
    started = time.monotonic()
    options = inputs.judge
    bundle = load_bundle(inputs.paper_root)
    table = load_price_table(options.prices)
    spec = provider.spec if provider is not None else judge_spec(options, table)
    plan = _plan(bundle, options)
    items = items_of(plan)
    repro: Reproduction | None = (
        load_reproduction(inputs.reproduction_dir) if inputs.reproduction_dir else None
    )
    rule_all = inputs.nothing_to_grade
    if repro is not None and repro.record.status in NOTHING_TO_GRADE:
        rule_all = repro.record.status_line()
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(spec.name, spec.price)
    templates = Templates(options.judge_prompts)
    files_root: Path | None = None
    files_digest: str | None = inputs.submission_sha256
    calls_planned = 0
    model_versions: dict[str, int] = {}
    recorded: dict[str, Any] = {"temperature": None, "seed": None, "reasoning_effort": None}
    if rule_all is not None:
        results = rule_results(plan, f"Not graded by the judge: {rule_all} (scored 0 by rule).")
    else:
        ran = repro is not None and repro.record.ran
        executed = repro.submission_dir if repro is not None and ran else None
        files_root = executed or inputs.submission_dir
        if files_root is None:
            raise InputError("nothing to grade: the reproduction kept no submission folder")
        created = (
            {item.path for item in repro.record.files_created} if executed and repro else set()
        )
        query = " ".join(node.requirements for _, node in bundle.rubric.walk())
        files = read_submission(
            files_root,
            created=created,
            max_total_bytes=reading_budget(spec.context_window),
            query=query,
        )
        files_digest = files.digest()
        no_run_reason = ""
        if repro is not None and not ran:
            no_run_reason = (
                f"Not graded by the judge: {repro.record.status_line()} Nothing was executed "
                "and no result was produced, so this requirement cannot be met (scored 0 by "
                "rule)."
            )
        own_provider = provider is None
        active = provider or open_provider(spec, retry=retry, log_dir=out_dir)
        cache = JudgeCache(options.cache_path or default_cache_path()) if options.cache else None
        recorder = CallRecorder(out_dir)
        try:
            builder = PromptBuilder(
                paper=bundle.paper_md.read_text(encoding="utf-8"),
                addendum=bundle.optional_text("addendum.md"),
                judge_addendum=bundle.optional_text("judge.addendum.md"),
                submission=files,
                reproduction=repro if ran else None,
                templates=templates,
                prefix_budget=spec.context_window,
                counter=active.token_counter(),
            )
            judge = Judge(
                active,
                builder,
                JudgeOptions(
                    batch=options.batch_size,
                    concurrency=options.judge_concurrency,
                    settings=_settings(options, spec.provider),
                ),
                ledger=ledger,
                cache=cache,
                recorder=recorder,
                has_reproduction=ran or options.code_dev,
                no_run_reason=no_run_reason,
            )
            results = await judge.run(items)
        finally:
            recorder.close()
            if cache is not None:
                cache.close()
            if own_provider:
                await active.aclose()
        recorded = judge.recorded_settings()
        calls_planned = len(judge.calls)
        model_versions = dict(judge.model_versions)

    tree = graded_tree(plan, results, {"judge": spec.name, **recorded})
    summary = summarise(plan, results)
    ledger.write(out_dir / "ledger.jsonl")
    result = GradeResult(
        paper_id=bundle.id,
        out_dir=str(out_dir),
        summary=summary,
        ledger=ledger.totals(),
        judge=JudgeRecord(
            judge=spec.name,
            provider=spec.provider,
            model=spec.model,
            context_window=spec.context_window,
            temperature=recorded.get("temperature"),
            seed=recorded.get("seed"),
            reasoning_effort=recorded.get("reasoning_effort"),
            model_versions=model_versions,
            priced=spec.price is not None,
            price_table=table.source,
        ),
        mode=GradeMode(
            code_dev=options.code_dev,
            resources_provided=options.resources_provided,
            max_depth=options.max_depth,
            batch=options.batch_size,
            reproduction=str(inputs.reproduction_dir) if inputs.reproduction_dir else None,
            reproduction_status=repro.record.status if repro else None,
            submission=str(files_root) if files_root else None,
            scored_by_rule=rule_all,
        ),
        provenance=GradeProvenance(
            harness_version=__version__,
            git_revision=git_revision()[0],
            rubric_sha256=inputs.rubric_sha256,
            prompt_templates_sha256=inputs.prompt_templates_sha256,
            submission_sha256=files_digest,
            tokenizer=encoding_name(),
            inputs_fingerprint=inputs.fingerprint(),
        ),
        calls_planned=calls_planned,
        seconds=round(time.monotonic() - started, 3),
    )
    write_json_atomic(out_dir / TREE_FILE, json.dumps(tree, indent=2))
    result.save(out_dir)
    return result


def grade_sync(inputs: GradeInputs, out_dir: Path) -> GradeResult:
    """:func:`grade` from synchronous code (opens and closes its own provider)."""
    return asyncio.run(grade(inputs, out_dir))
