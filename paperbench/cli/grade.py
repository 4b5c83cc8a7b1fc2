"""`paperbench grade`: score a submission (and its reproduction) against a paper's rubric.

It takes the judge options ``run`` and ``demo`` take, under the same names. With
``--submissions DIR`` it grades many existing submissions — run directories of ours, or
PaperBench's ``PAPER-ID/SUBMISSION/`` folders — with one shared reply cache and one summary
(:mod:`paperbench.runs.batch_grade`). With ``--gold SET`` it then prints how the grade agrees
with a hand-graded gold set (checked to grade the same rubric before any judge call), as
``paperbench judge-eval compare`` does. Exit status: 0 when every item was graded; 1 when some
items are invalid (the judge failed on them after its retries — the tree and summary are still
written, and re-running the same command retries only those, the rest coming from the cache)
or a submission of a batch could not be graded; 2 for a user error, including a judge that
cannot be used at all (a refused connection, key or model name), which stops at once.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.options import from_models, registry
from paperbench.errors import PaperbenchError
from paperbench.grading import GradeInputs, GradeResult, grade_sync
from paperbench.grading.grade import TREE_FILE
from paperbench.grading.options import JudgeOptions
from paperbench.judge_eval.agreement import agreement, load_gold_tree
from paperbench.judge_eval.console import print_agreement
from paperbench.judge_eval.gold import GoldNode, GoldSetError, structure_differences
from paperbench.options import opt
from paperbench.papers import PaperBundle
from paperbench.runs.batch_grade import find_submissions, grade_submissions
from paperbench.runs.leaderboard import Estimate
from paperbench.secrets_options import SecretsOptions
from paperbench.splits import SplitName, paper_selection

console = Console(highlight=False)


class GradeCommandOptions(BaseModel):
    """What to grade and where the grade goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paper: str | None = opt(None, "Paper id or bundle folder (not with --submissions).")
    submission: Path | None = opt(None, "Submission folder (graded without a reproduction).")
    submissions: Path | None = opt(
        None,
        "Grade every submission under this folder: run directories, or PaperBench's "
        "PAPER-ID/SUBMISSION/ folders (papers x seeds), with one cache and one summary.",
    )
    split: SplitName | None = opt(
        None, "With --submissions: the PaperBench split a seed must cover (missing ones are 0)."
    )
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


def _grade_many(options: GradeCommandOptions, judge: JudgeOptions, root: Path) -> None:
    papers = registry(options.papers_dir)
    layout, found = find_submissions(root)
    split = paper_selection([], options.split, papers)[0] if options.split else None
    out = options.out or Path("grades") / f"submissions-{time.strftime('%Y%m%d-%H%M%S')}"
    console.print(f"{len(found)} submissions ({layout} layout) under {escape(str(root))}")
    summary = asyncio.run(
        grade_submissions(
            found,
            papers,
            judge,
            out,
            papers=split,
            layout=layout,
            say=lambda text: console.print(escape(text)),
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    table = Table("submissions", "score", "seeds", *summary.papers, title="Grades")
    for entry in summary.summaries:
        table.add_row(
            escape(entry.label),
            _estimate(entry.score),
            str(entry.seeds),
            *(_estimate(entry.per_paper[paper]) for paper in summary.papers),
        )
    console.print(table)
    cost = summary.judge_cost_usd
    console.print(
        f"judge {escape(summary.judge)}, cost "
        f"{'unknown (no price)' if cost is None else f'${cost:.4f}'}; "
        f"grades and summary.json in {escape(str(out))}"
    )
    bad = [entry for entry in summary.graded if entry.error or entry.invalid_leaves]
    if bad:
        console.print(f"[red]{len(bad)} submissions not graded or with invalid leaves[/]")
        raise typer.Exit(1)


def _estimate(value: Estimate) -> str:
    if value.mean is None:
        return "-"
    spread = f" ± {value.stderr:.3f}" if value.stderr is not None else ""
    return f"{value.mean:.3f}{spread}"


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
    """Grade a submission, or many (--submissions DIR), against its paper's rubric."""
    secrets.apply()
    if judge.grade_at:
        raise PaperbenchError(
            "--grade-at grades a run's snapshots: use it with `paperbench run` (whose runs keep "
            "them)"
        )
    if options.submissions is not None:
        if options.paper or options.submission or options.reproduction:
            raise PaperbenchError(
                "--submissions grades every submission under a folder: drop --paper, "
                "--submission and --reproduction"
            )
        _grade_many(options, judge, options.submissions)
        return
    if options.paper is None:
        raise PaperbenchError("--paper: give the paper graded (or --submissions DIR)")
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
