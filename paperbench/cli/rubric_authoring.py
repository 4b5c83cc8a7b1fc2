"""`paperbench rubric` authoring commands: new, lint, diff, render, edit, draft.

Thin commands over :mod:`paperbench.rubric` (scaffold, lint, diff, render, editor); they are
added to the ``paperbench rubric`` group defined in :mod:`paperbench.cli.rubric`.
"""

from __future__ import annotations

import json
import webbrowser
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from paperbench.cli.options import PapersDirOption
from paperbench.cli.rubric import app, console, resolve_rubric
from paperbench.errors import RubricError
from paperbench.rubric import load_rubric, save_rubric
from paperbench.rubric.diff import NodeChange, diff_rubrics
from paperbench.rubric.lint import RULES, Advice, LintConfig, lint_file, lint_tree
from paperbench.rubric.model import display_path
from paperbench.rubric.render import render_html, render_markdown
from paperbench.rubric.scaffold import paper_title, read_paper, scaffold_rubric
from paperbench.rubric.wording import shorten


class RenderFormat(StrEnum):
    md = "md"
    html = "html"


class ScaffoldSource(StrEnum):
    auto = "auto"
    contributions = "contributions"
    sections = "sections"


PaperDirArgument = Annotated[
    Path, typer.Argument(help="The paper folder (holding paper.md).", show_default=False)
]
IgnoreOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        help=f"Skip a lint rule (repeatable): {', '.join(RULES)}.",
        show_default=False,
    ),
]
MaxDepthOption = Annotated[
    int, typer.Option(help="Advise on branches deeper than this many levels.")
]
MaxChildrenOption = Annotated[int, typer.Option(help="Advise on nodes with more children.")]


def _lint_config(ignore: list[str] | None, max_depth: int, max_children: int) -> LintConfig:
    return LintConfig(
        max_depth=max_depth, max_children=max_children, ignore=frozenset(ignore or ())
    )


@app.command()
def new(
    paper_dir: PaperDirArgument,
    out: Annotated[
        Path | None, typer.Option(help="Write here instead of PAPER_DIR/rubric.json.")
    ] = None,
    source: Annotated[
        ScaffoldSource,
        typer.Option("--from", help="Subtrees from stated contributions or main sections."),
    ] = ScaffoldSource.auto,
    template: Annotated[
        Path | None, typer.Option(help="Node templates (default rubrics/templates/scaffold.json).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing rubric.")] = False,
) -> None:
    """Start a rubric from the paper's headings: the root and one subtree per contribution."""
    target = out or paper_dir / "rubric.json"
    if target.exists() and not force:
        raise RubricError(f"{target}: already exists; pass --force to replace it or --out PATH")
    tree, origin = scaffold_rubric(read_paper(paper_dir), source=source.value, template=template)
    save_rubric(tree, target)
    leaves = sum(1 for _ in tree.leaves())
    console.print(
        f"wrote {escape(str(target))}: {len(tree.sub_tasks)} subtrees from the {origin}, "
        f"{leaves} placeholder leaves marked TODO"
    )
    console.print(f"next: paperbench rubric edit {escape(str(target))}  (lint lists what is left)")


@app.command()
def lint(
    targets: Annotated[list[str], typer.Argument(help="Rubric files, paper folders or ids.")],
    strict: Annotated[bool, typer.Option(help="Exit 1 when there is any advice.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ignore: IgnoreOption = None,
    max_depth: MaxDepthOption = LintConfig.max_depth,
    max_children: MaxChildrenOption = LintConfig.max_children,
    papers_dir: PapersDirOption = None,
) -> None:
    """Validate, then advise where grading will be unreliable or the score lopsided.

    Rules: bundled leaves, vague wording, results with no target, duplicates, equal weights on
    unlike children, very deep or broad nodes, placeholders. Exits 1 when a rubric has errors,
    or with --strict when there is any advice.
    """
    config = _lint_config(ignore, max_depth, max_children)
    failed = False
    reports = []
    for target in targets:
        report = lint_file(resolve_rubric(target, papers_dir), config)
        reports.append(report)
        failed = failed or bool(report.errors) or (strict and bool(report.advice))
        if as_json:
            continue
        for problem in report.errors:
            console.print(f"[red]{escape(problem.describe())}[/]")
        for item in report.advice:
            console.print(escape(item.describe()))
        counts = ", ".join(f"{rule} {count}" for rule, count in report.counts().items())
        warnings = len(report.problems) - len(report.errors)
        tail = f"; {warnings} validation warnings (see rubric validate)" if warnings else ""
        if report.errors:
            summary = f"[red]{escape(report.source)}: invalid ({len(report.errors)} errors)[/]"
        elif report.advice:
            summary = (
                f"[yellow]{escape(report.source)}: valid; advice on "
                f"{sum(report.counts().values())} nodes ({counts})[/]"
            )
        else:
            summary = f"[green]{escape(report.source)}: valid, no advice[/]"
        console.print(summary + escape(tail))
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "source": report.source,
                        "errors": [
                            problem.describe(with_source=False) for problem in report.errors
                        ],
                        "advice": [item.to_json() for item in report.advice],
                        "counts": report.counts(),
                    }
                    for report in reports
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
    if failed:
        raise typer.Exit(1)


def _rubric_or_path(target: str, papers_dir: list[Path] | None) -> Path:
    """Like ``resolve_rubric``, but any readable non-folder path works (``<(git show ...)``)."""
    path = Path(target)
    if path.exists() and not path.is_dir():
        return path
    return resolve_rubric(target, papers_dir)


def _describe_change(change: NodeChange) -> str:
    kinds = ", ".join(change.kinds)
    if change.old_path is None:
        where = display_path(change.new_path or "")
    elif change.new_path is None or change.old_path == change.new_path:
        where = display_path(change.old_path)
    else:
        where = f"{display_path(change.old_path)} → {display_path(change.new_path)}"
    text = change.new_requirements if change.new_requirements is not None else ""
    details: list[str] = []
    if "added" in change.kinds or "removed" in change.kinds:
        weight = change.new_weight if change.new_weight is not None else change.old_weight
        share = change.new_share if change.new_share is not None else change.old_share
        details.append(f"w {weight:g}, {share or 0:.2%}")
        if change.descendants:
            details.append(f"with {change.descendants} nodes below")
        text = change.new_requirements or change.old_requirements or ""
    if "reweighted" in change.kinds:
        details.append(
            f"w {change.old_weight:g} → {change.new_weight:g}, "
            f"share {change.old_share or 0:.2%} → {change.new_share or 0:.2%}"
        )
    if "recategorized" in change.kinds:
        details.append(f"{change.old_category or 'none'} → {change.new_category or 'none'}")
    line = f"{kinds:<12} {where}"
    if details:
        line += f" ({'; '.join(details)})"
    if "reworded" in change.kinds:
        line += (
            f': "{shorten(change.old_requirements or "", 70)}" → '
            f'"{shorten(change.new_requirements or "", 70)}"'
        )
    else:
        line += f': "{shorten(text, 90)}"'
    return line


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The earlier rubric (file, folder or paper id).")],
    new: Annotated[str, typer.Argument(help="The later rubric.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the rubrics differ.")
    ] = False,
    papers_dir: PapersDirOption = None,
) -> None:
    """What changed between two rubrics, node by node and in each category's share.

    Nodes are matched by path and by wording and reported as added, removed, moved, reworded,
    reweighted or recategorized. With --exit-code, exits 1 when the rubrics differ.
    """
    old_path, new_path = _rubric_or_path(old, papers_dir), _rubric_or_path(new, papers_dir)
    result = diff_rubrics(load_rubric(old_path), load_rubric(new_path))
    if as_json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        counts = ", ".join(f"{count} {kind}" for kind, count in result.counts().items())
        console.print(
            f"{escape(str(old_path))} → {escape(str(new_path))}: {counts or 'no node changed'}"
        )
        for change in result.changes:
            console.print(escape(_describe_change(change)))
        console.print("share of the score by category:")
        for category, (before, after) in result.category_shares.items():
            moved = (after - before) * 100
            console.print(f"  {category:<18} {before:7.2%} → {after:7.2%}  ({moved:+.2f} points)")
    if exit_code and not result.is_empty:
        raise typer.Exit(1)


@app.command()
def render(
    target: Annotated[str, typer.Argument(help="A rubric.json, a paper folder, or a paper id.")],
    format: Annotated[RenderFormat, typer.Option("--format", "-f", help="md or html.")] = (
        RenderFormat.md
    ),
    out: Annotated[Path | None, typer.Option(help="Write to this file, not stdout.")] = None,
    with_lint: Annotated[
        bool, typer.Option("--lint", help="Show lint advice next to the nodes.")
    ] = False,
    title: Annotated[str | None, typer.Option(help="Document title.")] = None,
    papers_dir: PapersDirOption = None,
) -> None:
    """A readable Markdown or HTML document of the rubric for reviewers.

    Every node with its path, weight, share of the score and categories; --lint adds the
    advice next to the nodes it concerns.
    """
    path = resolve_rubric(target, papers_dir)
    tree = load_rubric(path)
    advice = lint_tree(tree, path) if with_lint else []
    heading = title or paper_title(path.parent) or f"Rubric {path}"
    renderer = render_html if format is RenderFormat.html else render_markdown
    document = renderer(tree, title=heading, advice=advice)
    if out is None:
        print(document, end="")
    else:
        out.write_text(document, encoding="utf-8")
        console.print(f"wrote {escape(str(out))}")


@app.command()
def edit(
    target: Annotated[str, typer.Argument(help="A rubric.json, a paper folder, or a paper id.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL; do not open a browser.")
    ] = False,
    papers_dir: PapersDirOption = None,
) -> None:
    """Edit a rubric in the browser: a local editor on 127.0.0.1 behind a random token."""
    from paperbench.rubric.editor import EditorServer

    server = EditorServer(resolve_rubric(target, papers_dir), port=port)
    server.start()
    try:
        opened = not no_browser and webbrowser.open(server.url)
        print(f"editing {server.session.path} at {server.url}", flush=True)
        if no_browser or opened:
            print("(only this URL works: it carries the access token; Ctrl+C stops)", flush=True)
        else:
            print("(no browser could be opened: open the URL above; Ctrl+C stops)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.stop()


@app.command()
def draft(
    paper_dir: PaperDirArgument,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="openai/MODEL, openai-responses/MODEL, anthropic/MODEL, "
            "openai-compatible/MODEL@URL or local/smollm2.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write here instead of PAPER_DIR/rubric.json.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing rubric.")] = False,
    context_window: Annotated[
        int | None, typer.Option(help="The model's context window, if not in the price table.")
    ] = None,
    attempts: Annotated[
        int, typer.Option(min=1, help="Calls allowed when a reply is not a valid rubric.")
    ] = 2,
    max_output_tokens: Annotated[
        int | None, typer.Option(min=1, help="Longest reply allowed [default: 16384].")
    ] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
) -> None:
    """Have a model draft a rubric from the paper; it is validated and linted before it is
    written.

    A reply that is not a valid rubric is sent back once with its problems; if it is still not
    valid, nothing is written and the reply is kept next to the target for inspection.
    """
    from paperbench.llm import GenerateSettings, open_provider, parse_model_name
    from paperbench.rubric.draft import DEFAULT_MAX_OUTPUT_TOKENS, DraftError, run_draft

    target = out or paper_dir / "rubric.json"
    if target.exists() and not force:
        raise RubricError(f"{target}: already exists; pass --force to replace it or --out PATH")
    outline = read_paper(paper_dir)
    addendum_path = paper_dir / "addendum.md"
    addendum = addendum_path.read_text(encoding="utf-8") if addendum_path.is_file() else ""
    spec = parse_model_name(model, context_window=context_window, window_option="--context-window")
    settings = GenerateSettings(
        max_output_tokens=max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS, temperature=temperature
    )
    console.print(f"drafting a rubric for {escape(outline.title)} with {escape(spec.name)} ...")
    try:
        result = run_draft(
            open_provider(spec),
            (paper_dir / "paper.md").read_text(encoding="utf-8"),
            outline,
            addendum=addendum,
            attempts=attempts,
            settings=settings,
        )
    except DraftError as error:
        if not error.reply:
            raise
        kept = target.with_name(target.name + ".draft-reply.txt")
        kept.write_text(error.reply, encoding="utf-8")
        raise DraftError(f"{error}; nothing written, the last reply is in {kept}") from None
    save_rubric(result.tree, target)
    leaves = sum(1 for _ in result.tree.leaves())
    usage = result.usage
    console.print(
        f"wrote {escape(str(target))}: {leaves} leaves in {len(result.tree.sub_tasks)} subtrees "
        f"(attempt {result.attempts}; {usage.input_tokens} input and {usage.output_tokens} output "
        f"tokens; model {escape(result.model_version or spec.model)})"
    )
    for item in result.advice:
        console.print(escape(item.describe(with_source=False)))
    counts = ", ".join(f"{rule} {count}" for rule, count in _advice_counts(result.advice).items())
    console.print(f"lint: {counts or 'no advice'}; review it with: paperbench rubric edit {target}")


def _advice_counts(advice: list[Advice]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in advice:
        totals[item.rule] = totals.get(item.rule, 0) + item.count
    return totals
