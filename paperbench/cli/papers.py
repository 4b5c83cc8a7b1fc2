"""`paperbench papers`: list, show and import paper bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.options import PapersDirOption, registry
from paperbench.errors import PaperbenchError
from paperbench.paper_import import CONFIG_SET, find_paper_folders, import_paper
from paperbench.papers import AGENT_VISIBLE, imported_papers_dir
from paperbench.rubric import rubric_stats
from paperbench.splits import copy_splits, find_split_folder

app = typer.Typer(help="Find, inspect and import paper bundles.", no_args_is_help=True)
console = Console(highlight=False)


@app.command("list")
def list_papers(papers_dir: PapersDirOption = None) -> None:
    """List every paper bundle found, with its rubric size, and the broken ones with why."""
    table = Table("id", "title", "source", "leaves", "status")
    for entry in registry(papers_dir).entries():
        if entry.bundle is None:
            table.add_row(entry.id, "", entry.source, "", f"[red]{escape(entry.error or '')}[/]")
            continue
        try:
            leaves = str(sum(1 for _ in entry.bundle.rubric.leaves()))
            status = "[green]ok[/]"
        except PaperbenchError as error:
            leaves, status = "?", f"[red]{escape(str(error))}[/]"
        table.add_row(entry.id, escape(entry.bundle.title), entry.source, leaves, status)
    console.print(table)


@app.command()
def show(
    paper_id: Annotated[str, typer.Argument(help="A paper id or bundle folder.")],
    papers_dir: PapersDirOption = None,
) -> None:
    """Show a paper's settings, files, what an agent sees, and its rubric in figures."""
    bundle = registry(papers_dir).get(paper_id)
    config = bundle.config
    console.print(f"[bold]{escape(bundle.title)}[/] ({bundle.id})\n  folder: {bundle.root}")
    console.print(
        f"  agent: network {config.agent.network}, {config.agent.time_limit_seconds} s\n"
        f"  reproduction: network {config.reproduction.network}, "
        f"{config.reproduction.time_limit_seconds} s\n"
        f"  resources: {config.resources.cpus:g} CPUs, {config.resources.memory_mb} MB, "
        f"{config.resources.gpus.describe()}"
    )
    files = Table("file", "present", "who sees it")
    for name in (*AGENT_VISIBLE, "judge.addendum.md", "rubric.json", "solution"):
        present = (bundle.root / name).exists()
        audience = "agent and judge" if name in AGENT_VISIBLE else "judge / harness only"
        files.add_row(name, "yes" if present else "[dim]no[/]", audience)
    console.print(files)
    blacklist = bundle.blacklist
    console.print(f"  blacklist: {', '.join(blacklist) if blacklist else 'empty'}")
    summary = rubric_stats(bundle.rubric)
    shares = ", ".join(f"{k} {v:.0%}" for k, v in summary.share_per_category.items())
    console.print(
        f"  rubric: {summary.leaves} leaves, depth {summary.depth}; share of score: {shares}"
    )


@app.command("import")
def import_papers(
    source: Annotated[Path, typer.Argument(help="PaperBench data/, data/papers/, or one paper.")],
    dest: Annotated[
        Path | None, typer.Option(help="Where to put bundles [default: $PAPERBENCH_HOME/papers].")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace bundles already imported.")] = False,
) -> None:
    """Copy PaperBench papers (and its split files) into paperbench bundles and report what
    could not be brought."""
    destination = dest or imported_papers_dir()
    unusable = 0
    folders = find_paper_folders(source)
    for folder in folders:
        report = import_paper(folder, destination, overwrite=overwrite)
        state = "[green]usable[/]" if report.usable else "[yellow]incomplete[/]"
        unusable += not report.usable
        console.print(
            f"{report.paper_id}: {state}, copied {len(report.copied)} files to {report.destination}"
        )
        for name, reason in report.not_brought.items():
            console.print(f"  not brought: {escape(name)}: {escape(reason)}")
    if folders:
        console.print(f"config.yaml of each: {CONFIG_SET}")
    splits = find_split_folder(source)
    if splits is None:
        console.print(
            "[yellow]no experiments/splits folder next to the data: --split will not know "
            "PaperBench's splits (import from project/paperbench or its data/ folder)[/]"
        )
    else:
        for name, outcome in copy_splits(splits, destination).items():
            console.print(f"split {escape(name)}: {escape(outcome)}")
    if unusable:
        console.print(
            f"[yellow]{unusable} bundles lack paper.md or rubric.json; add them before use[/]"
        )
