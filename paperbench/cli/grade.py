"""`paperbench grade`: score a submission (and its reproduction) against a paper's rubric.

Exit status: 0 when every item was graded; 1 when some items are invalid (the judge failed
on them after its retries — the tree and summary are still written, and re-running the same
command retries only those, the rest coming from the cache); 2 for a user error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.config import ConfigOption, option
from paperbench.cli.options import registry
from paperbench.grading import GradeOptions, GradeResult, grade_submission
from paperbench.llm.types import ReasoningEffort

console = Console(highlight=False)


def _print(result: GradeResult) -> None:
    summary = result.summary
    table = Table("category", "items", "invalid", "score", "share of total", title="Grade")
    for category, entry in summary.per_category.items():
        score = "-" if entry.score is None else f"{entry.score:.3f}"
        table.add_row(
            category, str(entry.items), str(entry.invalid), score, f"{entry.share_of_total:.0%}"
        )
    console.print(table)
    bounds = (
        f" (between {summary.score:.3f} and {summary.score_if_invalid_passed:.3f}: "
        f"{len(summary.invalid)} of {summary.items} items invalid)"
        if summary.invalid
        else f" ({summary.items} items, none invalid)"
    )
    console.print(f"[bold]score {summary.score:.3f}[/]{bounds}")
    ledger = result.ledger
    cost = "unknown (no price)" if ledger.cost_usd is None else f"${ledger.cost_usd:.4f}"
    versions = ", ".join(result.judge["model_versions"]) or "-"
    console.print(
        f"judge {escape(result.judge['judge'])} (answered by {escape(versions)}): "
        f"{ledger.requests_sent} requests, {ledger.cache_hits} cache hits, "
        f"{ledger.input_tokens} input tokens ({ledger.cached_input_tokens} cached), "
        f"{ledger.output_tokens} output tokens, cost {cost}, {result.seconds:.1f} s"
    )
    if summary.scored_by_rule:
        console.print(
            f"[yellow]{summary.scored_by_rule} execution and result items scored 0: no "
            "reproduction was given (use --reproduction DIR, or --code-dev)[/]"
        )
    for item in summary.invalid[:10]:
        console.print(f"[red]invalid[/] {item.path}: {escape(item.reason)}")
    if len(summary.invalid) > 10:
        console.print(f"[red]... and {len(summary.invalid) - 10} more invalid items[/]")
    console.print(f"graded tree and records in {result.out_dir}")


def grade(
    paper: Annotated[str, option("paper", "Paper id or bundle folder.")],
    judge: Annotated[
        str,
        option(
            "judge",
            "Judge model: openai/MODEL, openai-responses/MODEL, anthropic/MODEL, "
            "openai-compatible/MODEL@URL, local/smollm2.",
        ),
    ],
    submission: Annotated[
        Path | None, option("submission", "Submission folder (no reproduction).")
    ] = None,
    reproduction: Annotated[
        Path | None, option("reproduction", "Reproduction directory (reads DIR/submission).")
    ] = None,
    code_dev: Annotated[bool, option("code-dev", "Grade only Code Development leaves.")] = False,
    max_depth: Annotated[
        int | None, option("max-depth", "Grade subtrees this deep as one item.", min=1)
    ] = None,
    batch: Annotated[
        int, option("batch", "Grade up to K neighbouring leaves per call.", min=1)
    ] = 1,
    out: Annotated[
        Path | None, option("out", "Output folder (default: grades/PAPER-TIME).")
    ] = None,
    concurrency: Annotated[
        int | None, option("concurrency", "Calls at once (default: per provider).", min=1)
    ] = None,
    context_window: Annotated[
        int | None, option("context-window", "Context window of a model not in the table.", min=1)
    ] = None,
    temperature: Annotated[float | None, option("temperature", "Sampling temperature.")] = None,
    seed: Annotated[int | None, option("seed", "Sampling seed, where supported.")] = None,
    reasoning_effort: Annotated[
        ReasoningEffort | None, option("reasoning-effort", "Reasoning effort, where supported.")
    ] = None,
    max_output_tokens: Annotated[
        int, option("max-output-tokens", "Output limit per call.", min=1)
    ] = 8192,
    timeout: Annotated[float, option("timeout", "Seconds to wait for one reply.", min=1)] = 600,
    cache: Annotated[
        bool, option("cache", "Reuse replies from the judge cache.", negative=True)
    ] = True,
    cache_path: Annotated[
        Path | None, option("cache-path", "Cache file (default: under $PAPERBENCH_HOME/cache).")
    ] = None,
    prices: Annotated[
        Path | None, option("prices", "Model table with prices (default: grader/prices.json).")
    ] = None,
    papers_dir: Annotated[
        list[Path] | None, option("papers-dir", "Extra folders of paper bundles.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Grade a submission against its paper's rubric with an LLM judge."""
    del config
    bundle = registry(papers_dir).get(paper)
    out_dir = out or Path("grades") / f"{bundle.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    options = GradeOptions(
        judge=judge,
        code_dev=code_dev,
        max_depth=max_depth,
        batch=batch,
        concurrency=concurrency,
        context_window=context_window,
        temperature=temperature,
        seed=seed,
        reasoning_effort=reasoning_effort,
        max_output_tokens=max_output_tokens,
        timeout_seconds=timeout,
        use_cache=cache,
        cache_path=cache_path,
        prices_path=prices,
    )
    result = grade_submission(
        bundle, out_dir=out_dir, options=options, submission=submission, reproduction=reproduction
    )
    _print(result)
    if result.summary.invalid:
        raise typer.Exit(1)
