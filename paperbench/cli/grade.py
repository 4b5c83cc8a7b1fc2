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

from paperbench.cli.options import PapersDirOption, registry
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
    paper: Annotated[str, typer.Option("--paper", help="Paper id or bundle folder.")],
    judge: Annotated[
        str,
        typer.Option(
            "--judge",
            help="Judge model: openai/MODEL, openai-responses/MODEL, anthropic/MODEL, "
            "openai-compatible/MODEL@URL, local/smollm2.",
        ),
    ],
    submission: Annotated[
        Path | None, typer.Option("--submission", help="Submission folder (no reproduction).")
    ] = None,
    reproduction: Annotated[
        Path | None,
        typer.Option("--reproduction", help="Reproduction directory (reads DIR/submission)."),
    ] = None,
    code_dev: Annotated[
        bool, typer.Option("--code-dev", help="Grade only Code Development leaves.")
    ] = False,
    max_depth: Annotated[
        int | None,
        typer.Option("--max-depth", min=1, help="Grade subtrees this deep as one item."),
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Grade up to K neighbouring leaves per call.")
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: grades/PAPER-TIME).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Calls at once (default: per provider).")
    ] = None,
    context_window: Annotated[
        int | None, typer.Option(min=1, help="Context window of a model not in the table.")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed, where supported.")] = None,
    reasoning_effort: Annotated[
        ReasoningEffort | None, typer.Option(help="Reasoning effort, where supported.")
    ] = None,
    max_output_tokens: Annotated[int, typer.Option(min=1, help="Output limit per call.")] = 8192,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for one reply.")] = 600,
    cache: Annotated[bool, typer.Option(help="Reuse replies from the judge cache.")] = True,
    cache_path: Annotated[
        Path | None, typer.Option(help="Cache file (default: under $PAPERBENCH_HOME/cache).")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option(help="Model table with prices (default: grader/prices.json).")
    ] = None,
    papers_dir: PapersDirOption = None,
) -> None:
    """Grade a submission against its paper's rubric with an LLM judge."""
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
