"""`paperbench demo`: the README's first command.

Until the evaluation pipeline lands, the demo shows what paperbench ships: the bundled papers,
one paper's settings, and its rubric tree with each node's share of the score.
"""

from __future__ import annotations

import typer
from rich.console import Console

from paperbench.cli import papers, rubric
from paperbench.errors import PaperError
from paperbench.papers import PaperRegistry

console = Console(highlight=False)


def demo(
    paper: str = typer.Option("", help="Paper id to show (default: the first bundled paper)."),
) -> None:
    """Show the bundled papers and one paper's rubric."""
    bundled = [e for e in PaperRegistry(include_imported=False).entries() if e.bundle]
    if not bundled:
        raise PaperError("no bundled papers found; reinstall paperbench")
    paper_id = paper or bundled[0].id
    console.rule("Bundled papers")
    papers.list_papers(papers_dir=None)
    console.rule(f"Paper {paper_id}")
    papers.show(paper_id, papers_dir=None)
    console.rule(f"Rubric of {paper_id} (two levels; `paperbench rubric show {paper_id}` for all)")
    rubric.show(paper_id, depth=2, node="", papers_dir=None)
