"""`paperbench grade`: score a submission (and its reproduction) against a paper's rubric.

It takes the judge options ``run`` and ``demo`` take, under the same names. With ``--gold SET``
it then prints how the grade agrees with a hand-graded gold set (checked to grade the same
rubric before any judge call), as ``paperbench judge-eval compare`` does. Exit status: 0
when every item was graded; 1 when some items are invalid (the judge failed on them after its
retries — the tree and summary are still written, and re-running the same command retries only
those, the rest coming from the cache); 2 for a user error, including a judge that cannot be
used at all (a refused connection, key or model name), which stops at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.options import from_models, registry
from paperbench.grading import GradeInputs, GradeResult, grade_sync
from paperbench.grading.grade import TREE_FILE
from paperbench.grading.options import JudgeOptions
from paperbench.judge_eval.agreement import agreement, load_gold_tree
from paperbench.judge_eval.console import print_agreement
from paperbench.judge_eval.gold import GoldNode, GoldSetError, structure_differences
from paperbench.options import opt
from paperbench.papers import PaperBundle
from paperbench.secrets_options import SecretsOptions

console = Console(highlight=False)


class GradeCommandOptions(BaseModel):
    """What to grade and where the grade goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paper: str = opt(..., "Paper id or bundle folder.")
    submission: Path | None = opt(None, "Submission folder (graded without a reproduction).")
    reproduction: Path | None = opt(
        None, "Reproduction directory, as `paperbench reproduce` writes it."
    )
    out: Path | None = opt(None, "Output folder.", default_help="grades/PAPER-TIME")
    papers_dir: list[Path] | None = opt(None, "Extra folders of paper bundles.")
    gold: Path | None = opt(
        None,
        "A gold set (folder) or its grading/expected_result.json: print the grade's agreement "
        "with it, leaf by leaf, after grading.",
    )


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
    versions = ", ".join(result.judge.model_versions) or "-"
    console.print(
        f"judge {escape(result.judge.judge)} (answered by {escape(versions)}): "
        f"{ledger.requests_sent} requests, {ledger.cache_hits} cache hits, "
        f"{ledger.input_tokens} input tokens ({ledger.cached_input_tokens} cached), "
        f"{ledger.output_tokens} output tokens, cost {cost}, {result.seconds:.1f} s"
    )
    if result.mode.scored_by_rule:
        console.print(
            f"[yellow]every item scored 0 by rule: {escape(result.mode.scored_by_rule)}[/]"
        )
    elif summary.scored_by_rule:
        console.print(
            f"[yellow]{summary.scored_by_rule} execution and result items scored 0 by rule: "
            "nothing was run (give --reproduction DIR, or use --code-dev)[/]"
        )
    for item in summary.invalid[:10]:
        console.print(f"[red]invalid[/] {item.path}: {escape(item.reason)}")
    if len(summary.invalid) > 10:
        console.print(f"[red]... and {len(summary.invalid) - 10} more invalid items[/]")
    console.print(f"graded tree and records in {escape(result.out_dir)}")


def _gold_tree(path: Path, bundle: PaperBundle) -> GoldNode:
    """The ``--gold`` tree, checked before any judge call: it must grade this paper's rubric.

    Raises:
        GoldSetError: the file is missing or malformed, or grades another rubric.
    """
    tree = load_gold_tree(path)
    differences = structure_differences(tree, bundle.rubric, limit=1)
    if differences:
        raise GoldSetError(
            f"--gold {path}: not a grade of {bundle.id}'s rubric ({differences[0]}); "
            "give the gold set of this paper"
        )
    return tree


@from_models(GradeCommandOptions, JudgeOptions, SecretsOptions)
def grade(
    ctx: typer.Context, options: GradeCommandOptions, judge: JudgeOptions, secrets: SecretsOptions
) -> None:
    """Grade a submission against its paper's rubric with an LLM judge."""
    secrets.apply()
    bundle = registry(options.papers_dir).get(options.paper)
    gold = _gold_tree(options.gold, bundle) if options.gold is not None else None
    out_dir = options.out or Path("grades") / f"{bundle.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    inputs = GradeInputs.resolve(
        bundle, judge, submission=options.submission, reproduction=options.reproduction
    )
    result = grade_sync(inputs, out_dir)
    _print(result)
    if gold is not None:
        print_agreement(
            agreement(Path(result.out_dir) / TREE_FILE, gold, code_dev=judge.code_dev), console
        )
    if result.summary.invalid:
        raise typer.Exit(1)
