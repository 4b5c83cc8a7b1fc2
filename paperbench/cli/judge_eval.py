"""`paperbench judge-eval`: measure judge configurations against human gold grades.

``paperbench judge-eval --gold SET... --judge MODEL [grade options]`` (or ``--configs FILE``)
grades every gold set under every configuration, prints the agreement and cost tables, and
writes ``judge_eval.json``, ``judge_eval.md`` and ``judge_eval.html`` with every grade's files.
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
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from paperbench.cli.config import option
from paperbench.cli.options import registry
from paperbench.errors import PaperbenchError
from paperbench.judge_eval.agreement import agreement
from paperbench.judge_eval.config import JudgeConfig, RunSettings, build_config, load_configs
from paperbench.judge_eval.console import print_agreement, print_report
from paperbench.judge_eval.gold import check_gold_set, find_gold_sets, load_gold_set
from paperbench.judge_eval.page import html, markdown
from paperbench.judge_eval.paperbench_import import import_judge_eval
from paperbench.judge_eval.result import judge_eval_schema
from paperbench.judge_eval.runner import bundles_for, evaluate
from paperbench.llm.types import ReasoningEffort
from paperbench.papers import home_dir
from paperbench.resources import resource_dir

app = typer.Typer(help="Measure judge configurations against human gold grades.")
console = Console(highlight=False)

GoldOption = Annotated[
    list[Path] | None,
    option(
        "gold",
        "A gold set, or a folder of them (repeatable) [default: the bundled gold sets].",
    ),
]
PapersDir = Annotated[list[Path] | None, option("papers-dir", "Extra folders of paper bundles.")]


def bundled_gold_dir() -> Path:
    return resource_dir("grader") / "judge_eval"


def _configs(configs_file: Path | None, values: dict[str, Any]) -> list[JudgeConfig]:
    if configs_file is not None:
        return load_configs(configs_file, values)
    if values.get("judge") is None:
        raise PaperbenchError("judge-eval: give --judge MODEL or --configs FILE")
    return [build_config(values)]


@app.callback(invoke_without_command=True)
def judge_eval(
    ctx: typer.Context,
    gold: GoldOption = None,
    judge: Annotated[str | None, option("judge", "Judge model (as for paperbench grade).")] = None,
    configs: Annotated[
        Path | None, option("configs", "TOML file of judge configurations to compare.")
    ] = None,
    repeats: Annotated[
        int, option("repeats", "Grade every set K times (self-consistency).", min=1)
    ] = 1,
    batch: Annotated[int | None, option("batch", "Leaves graded per call.", min=1)] = None,
    max_depth: Annotated[
        int | None, option("max-depth", "Grade subtrees this deep as one item.", min=1)
    ] = None,
    reasoning_effort: Annotated[
        ReasoningEffort | None, option("reasoning-effort", "Reasoning effort, where supported.")
    ] = None,
    judge_context_window: Annotated[
        int | None,
        option("judge-context-window", "Context window of a model not in the table.", min=1),
    ] = None,
    temperature: Annotated[float | None, option("temperature", "Sampling temperature.")] = None,
    seed: Annotated[int | None, option("seed", "Sampling seed, where supported.")] = None,
    max_output_tokens: Annotated[
        int | None, option("max-output-tokens", "Output limit per call.", min=1)
    ] = None,
    code_dev: Annotated[
        bool | None, option("code-dev", "Grade only Code Development leaves.", negative=True)
    ] = None,
    judge_concurrency: Annotated[
        int | None,
        option("judge-concurrency", "Judge calls at once (default: per provider).", min=1),
    ] = None,
    cache: Annotated[
        bool,
        option("cache", "Reuse judge replies from the cache (single repeat only).", negative=True),
    ] = True,
    cache_path: Annotated[Path | None, option("cache-path", "Judge cache file.")] = None,
    prices: Annotated[Path | None, option("prices", "Model table with prices.")] = None,
    timeout: Annotated[float, option("timeout", "Seconds to wait for one reply.", min=1)] = 600,
    out: Annotated[Path | None, option("out", "Output folder (default: judge-eval/TIME).")] = None,
    papers_dir: PapersDir = None,
) -> None:
    """Grade gold sets with each judge configuration and measure agreement, consistency and
    cost (subcommands: import, check, compare, schema)."""
    if ctx.invoked_subcommand is not None:
        return
    values = {
        "judge": judge,
        "batch": batch,
        "max_depth": max_depth,
        "reasoning_effort": reasoning_effort,
        "context_window": judge_context_window,
        "temperature": temperature,
        "seed": seed,
        "max_output_tokens": max_output_tokens,
        "code_dev": code_dev,
    }
    chosen = _configs(configs, values)
    settings = RunSettings(
        repeats=repeats,
        concurrency=judge_concurrency,
        use_cache=cache,
        cache_path=cache_path,
        prices_path=prices,
        timeout_seconds=timeout,
    )
    roots = gold or [bundled_gold_dir()]
    if not gold and not find_bundled():
        raise PaperbenchError(
            f"judge-eval: no gold sets are bundled in {bundled_gold_dir()} yet; give --gold SET"
        )
    golds = [load_gold_set(folder) for folder in find_gold_sets(roots)]
    bundles = bundles_for(golds, registry(papers_dir))
    out_dir = out or Path("judge-eval") / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    console.print(
        f"{len(golds)} gold sets, {len(chosen)} configurations, {repeats} repeats; "
        f"writing {escape(str(out_dir))}"
    )
    report = asyncio.run(
        evaluate(
            golds,
            chosen,
            settings,
            bundles=bundles,
            out_dir=out_dir,
            progress=lambda line: console.print(f"[dim]{escape(line)}[/]"),
        )
    )
    (out_dir / "judge_eval.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    (out_dir / "judge_eval.md").write_text(markdown(report), encoding="utf-8")
    (out_dir / "judge_eval.html").write_text(html(report), encoding="utf-8")
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
    sets: Annotated[list[Path], typer.Argument(help="Gold sets or folders of them.")],
    papers_dir: PapersDir = None,
) -> None:
    """Check gold sets against their papers' rubrics: structure, rubric hash, reasons and
    evidence on every leaf."""
    papers = registry(papers_dir)
    failed = 0
    for folder in find_gold_sets(sets):
        gold = load_gold_set(folder)
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
