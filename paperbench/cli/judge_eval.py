"""`paperbench judge-eval`: measure judge configurations against human gold grades.

``paperbench judge-eval --gold SET... --judge MODEL [grade options]`` (or ``--configs FILE``)
grades every gold set under every configuration, prints the agreement and cost tables, and
writes ``judge_eval.json``, ``judge_eval.md`` and ``judge_eval.html`` with every grade's files.
Its judge options are the grading stage's :class:`~paperbench.grading.options.JudgeOptions`,
under the names ``grade`` and ``run`` give them (one declaration, see :mod:`paperbench.options`);
a ``--configs`` file's tables use the same names. A gold set is a hand-graded folder or a run
directory reviewed in ``paperbench view`` (:mod:`paperbench.judge_eval.reviewed`).
Subcommands: ``import`` (PaperBench's ``data/judge_eval``), ``check`` (a gold set against its
paper's rubric), ``compare`` (a graded tree against a gold set) and ``schema``.

Exit status: 0 when done; 1 when some leaves were left invalid (figures still written), when
``check`` finds problems, or when ``import`` brought nothing; 2 for a user error.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.markup import escape

from paperbench import secrets
from paperbench.cli.config import option
from paperbench.cli.options import from_models, registry
from paperbench.errors import PaperbenchError
from paperbench.grading.options import JudgeOptions
from paperbench.judge_eval.agreement import agreement
from paperbench.judge_eval.config import JudgeConfig, from_options, load_configs
from paperbench.judge_eval.console import print_agreement, print_report
from paperbench.judge_eval.gold import check_gold_set, find_gold_sets
from paperbench.judge_eval.page import html, markdown
from paperbench.judge_eval.paperbench_import import import_judge_eval
from paperbench.judge_eval.result import JudgeEvalReport, judge_eval_schema
from paperbench.judge_eval.reviewed import KIND as REVIEWED_RUN
from paperbench.judge_eval.reviewed import load_gold
from paperbench.judge_eval.runner import bundles_for, evaluate
from paperbench.options import opt
from paperbench.papers import home_dir
from paperbench.resources import resource_dir
from paperbench.secrets_options import SecretsOptions

app = typer.Typer(help="Measure judge configurations against human gold grades.")
console = Console(highlight=False)

PapersDir = Annotated[list[Path] | None, option("papers-dir", "Extra folders of paper bundles.")]


class JudgeEvalOptions(BaseModel):
    """What to measure the judges on, how often, and where the figures go; the judges
    themselves are the grading stage's :class:`JudgeOptions` (or ``--configs FILE``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gold: list[Path] | None = opt(
        None,
        "A gold set, a folder of them, or a run directory reviewed in `paperbench view` "
        "(repeatable).",
        default_help="the bundled gold sets in grader/judge_eval",
    )
    configs: Path | None = opt(
        None,
        "TOML file of judge configurations to compare: one config table each, keyed by judge "
        "option names (the judge options given here are their defaults).",
    )
    repeats: int = opt(
        1, "Grade every set K times to measure self-consistency (then without the cache).", ge=1
    )
    out: Path | None = opt(None, "Output folder.", default_help="judge-eval/TIME")
    papers_dir: list[Path] | None = opt(None, "Extra folders of paper bundles.")


def bundled_gold_dir() -> Path:
    return resource_dir("grader") / "judge_eval"


def _configs(options: JudgeEvalOptions, judge: JudgeOptions) -> list[JudgeConfig]:
    if options.configs is not None:
        return load_configs(options.configs, judge)
    return [from_options(judge)]


def write_report(report: JudgeEvalReport, out_dir: Path) -> None:
    """``judge_eval.json``, ``.md`` and ``.html`` in ``out_dir``, every secret the harness
    knows redacted (a base URL's password, a key in an error the judge's provider returned)."""
    for name, text in (
        ("judge_eval.json", report.model_dump_json(indent=2)),
        ("judge_eval.md", markdown(report)),
        ("judge_eval.html", html(report)),
    ):
        (out_dir / name).write_text(secrets.redact_text(text), encoding="utf-8")


@app.callback(invoke_without_command=True)
@from_models(JudgeEvalOptions, JudgeOptions, SecretsOptions)
def judge_eval(
    ctx: typer.Context,
    options: JudgeEvalOptions,
    judge: JudgeOptions,
    secrets_options: SecretsOptions,
) -> None:
    """Grade gold sets with each judge configuration and measure agreement, consistency and
    cost (subcommands: import, check, compare, schema)."""
    if ctx.invoked_subcommand is not None:
        return
    secrets_options.apply()
    chosen = _configs(options, judge)
    if not options.gold and not find_bundled():
        raise PaperbenchError(
            f"judge-eval: no gold sets are bundled in {bundled_gold_dir()}; give --gold SET"
        )
    papers = registry(options.papers_dir)
    folders = find_gold_sets(options.gold or [bundled_gold_dir()])
    golds = [load_gold(folder, papers) for folder in folders]
    bundles = bundles_for(golds, papers)
    out_dir = options.out or Path("judge-eval") / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    console.print(
        f"{len(golds)} gold sets, {len(chosen)} configurations, {options.repeats} repeats; "
        f"writing {escape(str(out_dir))}"
    )
    report = asyncio.run(
        evaluate(
            golds,
            chosen,
            repeats=options.repeats,
            bundles=bundles,
            out_dir=out_dir,
            progress=lambda line: console.print(f"[dim]{escape(line)}[/]"),
        )
    )
    write_report(report, out_dir)
    print_report(report, console)
    console.print(
        f"wrote {escape(str(out_dir / 'judge_eval.json'))}, judge_eval.md and judge_eval.html"
    )
    if any(config.metrics.overall.invalid for config in report.configurations):
        raise typer.Exit(1)


def find_bundled() -> list[Path]:
    folder = bundled_gold_dir()
    return find_gold_sets([folder]) if folder.is_dir() and any(folder.iterdir()) else []


@app.command("import")
def import_command(
    source: Annotated[
        Path, typer.Argument(help="PaperBench's project folder, its data/, or data/judge_eval.")
    ],
    dest: Annotated[
        Path | None,
        typer.Option(help="Where the gold sets go (default: $PAPERBENCH_HOME/judge_eval)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace sets imported before.")] = False,
) -> None:
    """Import PaperBench's judge-evaluation examples as gold sets, saying what could not be."""
    destination = dest or home_dir() / "judge_eval"
    report = import_judge_eval(source, destination, overwrite=overwrite)
    for set_id in report.imported:
        console.print(f"[green]imported[/] {escape(set_id)}")
    for set_id, reason in report.skipped.items():
        console.print(f"[yellow]not imported[/] {escape(set_id)}: {escape(reason)}")
    console.print(
        f"{len(report.imported)} imported into {escape(str(destination))}, "
        f"{len(report.skipped)} not; use them with --gold {escape(str(destination))}"
    )
    if not report.imported:
        raise typer.Exit(1)


@app.command()
def check(
    sets: Annotated[
        list[Path], typer.Argument(help="Gold sets, reviewed runs, or folders of them.")
    ],
    papers_dir: PapersDir = None,
) -> None:
    """Check gold sets against their papers' rubrics: structure, rubric hash, reasons and
    evidence on every leaf (a reviewed run: that its reviewed leaves are of the rubric)."""
    papers = registry(papers_dir)
    failed = 0
    for folder in find_gold_sets(sets):
        gold = load_gold(folder, papers)
        if gold.source == REVIEWED_RUN:
            console.print(f"[green]ok[/] {escape(gold.id)}: {escape(gold.meta.description)}")
            continue
        bundle = papers.get(gold.paper_id)
        problems = check_gold_set(gold, bundle.rubric, bundle.rubric_path)
        if not problems:
            console.print(f"[green]ok[/] {escape(gold.id)} ({escape(str(folder))})")
            continue
        failed += 1
        console.print(f"[red]{len(problems)} problems[/] {escape(gold.id)} ({escape(str(folder))})")
        for problem in problems:
            console.print(f"  {escape(problem)}")
    if failed:
        raise typer.Exit(1)


@app.command()
def compare(
    graded_tree: Annotated[Path, typer.Argument(help="graded_tree.json from paperbench grade.")],
    gold: Annotated[Path, typer.Argument(help="A gold set folder or its expected_result.json.")],
    code_dev: Annotated[bool, typer.Option(help="The tree was graded with --code-dev.")] = False,
) -> None:
    """Compare a graded tree with a gold set's grades (what `grade --gold` prints)."""
    print_agreement(agreement(graded_tree, gold, code_dev=code_dev), console)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Write it here instead of printing.")] = None,
) -> None:
    """The JSON Schema of judge_eval.json."""
    text = json.dumps(judge_eval_schema(), indent=2) + "\n"
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
