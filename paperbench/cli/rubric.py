"""`paperbench rubric`: validate, show and summarise rubric trees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from paperbench.cli.options import PapersDirOption, registry
from paperbench.errors import PaperbenchError, RubricError
from paperbench.rubric import (
    RubricNode,
    display_path,
    effective_shares,
    load_rubric,
    rubric_stats,
    validate_file,
)
from paperbench.rubric.model import join_path
from paperbench.rubric.schema import committed_schema_path, schema_text

app = typer.Typer(help="Validate, show and summarise rubric trees.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)

RubricArgument = Annotated[
    str, typer.Argument(help="A rubric.json, a paper folder, or a paper id.", show_default=False)
]


def resolve_rubric(target: str, papers_dir: list[Path] | None) -> Path:
    """A rubric file from a file path, a folder holding rubric.json, or a registered paper id.

    Raises:
        RubricError: the target is none of these.
    """
    path = Path(target)
    if path.is_file():
        return path
    if path.is_dir():
        if (path / "rubric.json").is_file():
            return path / "rubric.json"
        raise RubricError(f"{path}: folder has no rubric.json")
    try:
        return registry(papers_dir).get(target).rubric_path
    except PaperbenchError:
        raise RubricError(f"{target}: no such rubric file, folder, or paper id") from None


@app.command()
def validate(
    targets: Annotated[list[str], typer.Argument(help="Rubric files, paper folders or ids.")],
    papers_dir: PapersDirOption = None,
) -> None:
    """Check rubrics; print one line per problem and exit 1 when any has an error."""
    failed = False
    for target in targets:
        path = resolve_rubric(target, papers_dir)
        tree, problems = validate_file(path)
        for problem in problems:
            style = "red" if problem.severity == "error" else "yellow"
            console.print(f"[{style}]{escape(problem.describe())}[/]", soft_wrap=True)
        errors = sum(problem.severity == "error" for problem in problems)
        if errors:
            failed = True
            console.print(f"[red]{escape(str(path))}: invalid ({errors} errors)[/]")
        elif tree is not None:
            leaves = sum(1 for _ in tree.leaves())
            warnings = len(problems)
            console.print(
                f"[green]{escape(str(path))}: valid[/] ({leaves} leaves, {warnings} warnings)"
            )
    if failed:
        raise typer.Exit(1)


def _label(node: RubricNode, path: str, share: float) -> str:
    category = f" · [cyan]{node.task_category}[/]" if node.task_category else ""
    requirement = node.requirements.replace("\n", " ")
    if len(requirement) > 110:
        requirement = requirement[:107] + "..."
    return (
        f"[dim]{display_path(path)}[/] [bold]w={node.weight:g}[/] "
        f"[magenta]{share:.2%}[/]{category} {escape(requirement)}"
    )


@app.command()
def show(
    target: RubricArgument,
    depth: Annotated[
        int | None, typer.Option(help="Show this many levels below the start.")
    ] = None,
    node: Annotated[str, typer.Option(help="Start at this node path, e.g. 0/2.")] = "",
    papers_dir: PapersDirOption = None,
) -> None:
    """Print the tree with each node's weight and effective share of the total score."""
    tree = load_rubric(resolve_rubric(target, papers_dir))
    shares = effective_shares(tree)
    try:
        start = tree.node_at(node)
    except KeyError as error:
        raise RubricError(f"--node: {error.args[0]}") from None
    start_path = "/".join(step for step in node.strip("/").split("/") if step)
    root = Tree(_label(start, start_path, shares[start_path]))

    def add(parent: Tree, current: RubricNode, path: str, level: int) -> None:
        if depth is not None and level >= depth and current.sub_tasks:
            leaves = sum(1 for _ in current.leaves())
            parent.add(f"[dim]... {len(current.sub_tasks)} children, {leaves} leaves[/]")
            return
        for index, child in enumerate(current.sub_tasks):
            child_path = join_path(path, index)
            add(
                parent.add(_label(child, child_path, shares[child_path])),
                child,
                child_path,
                level + 1,
            )

    add(root, start, start_path, 0)
    console.print(root)


@app.command()
def stats(
    target: RubricArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    papers_dir: PapersDirOption = None,
) -> None:
    """Leaves per category and finegrained category, depth, and each category's share."""
    summary = rubric_stats(load_rubric(resolve_rubric(target, papers_dir)))
    if as_json:
        print(json.dumps(summary.model_dump(), indent=2))
        return
    console.print(
        f"{summary.nodes} nodes, {summary.leaves} leaves, depth {summary.depth}, "
        f"at most {summary.max_children} children per node"
    )
    table = Table("category", "leaves", "share of score")
    for category, share in summary.share_per_category.items():
        table.add_row(category, str(summary.leaves_per_category.get(category, 0)), f"{share:.1%}")
    console.print(table)
    fine = Table("finegrained category", "leaves")
    for category, count in summary.leaves_per_finegrained_category.items():
        fine.add_row(escape(category), str(count))
    console.print(fine)


@app.command()
def schema(
    write: Annotated[
        bool, typer.Option("--write", help="Write it to rubrics/rubric.schema.json.")
    ] = False,
) -> None:
    """Print the rubric JSON Schema generated from the model (or write the committed copy)."""
    if write:
        path = committed_schema_path()
        path.write_text(schema_text(), encoding="utf-8")
        console.print(f"wrote {path}")
    else:
        print(schema_text(), end="")


# The authoring commands (new, lint, diff, render, edit, draft) live in their own module and
# register themselves on `app`.
from paperbench.cli import rubric_authoring  # noqa: E402, F401
