"""The `paperbench` entry point: registers the command groups and turns user errors into one
line on stderr with exit status 2, never a traceback."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from paperbench import __version__
from paperbench.cli import demo, images, papers, rubric, sandbox
from paperbench.cli import grade as grade_cli
from paperbench.cli import judge_eval as judge_eval_cli
from paperbench.cli import reproduce as reproduce_cli
from paperbench.cli import results as results_cli
from paperbench.cli import run as run_cli
from paperbench.cli import view as view_cli
from paperbench.errors import PaperbenchError

app = typer.Typer(
    name="paperbench",
    help="Measure how well AI agents replicate machine-learning research papers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(rubric.app, name="rubric")
app.add_typer(papers.app, name="papers")
app.add_typer(images.app, name="images")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(judge_eval_cli.app, name="judge-eval")
app.command()(demo.demo)
app.command()(grade_cli.grade)
app.command("reproduce")(reproduce_cli.reproduce_command)
app.command("run")(run_cli.run)
app.command("leaderboard")(results_cli.leaderboard)
app.command("report")(results_cli.report)
app.command("view")(view_cli.view)


@app.command()
def version() -> None:
    """Print the paperbench version."""
    print(__version__)


def main() -> None:
    try:
        app()
    except PaperbenchError as error:
        Console(stderr=True).print(
            f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
