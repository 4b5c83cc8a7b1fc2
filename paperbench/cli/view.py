"""`paperbench view`: see runs in the browser and review their grades by hand."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer


def view(
    runs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folders of runs, or run directories [default: runs].", show_default=False
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL; do not open a browser.")
    ] = False,
    reviewer: Annotated[
        str | None,
        typer.Option(help="The name overrides are recorded under [default: your user name]."),
    ] = None,
) -> None:
    """Browse runs, their transcripts, reproductions and graded trees, and override grades:
    a local viewer on 127.0.0.1 behind a random token."""
    from paperbench.view.server import ViewServer

    server = ViewServer(runs or [Path("runs")], port=port, reviewer=reviewer)
    server.start()
    try:
        opened = not no_browser and webbrowser.open(server.url)
        folders = ", ".join(str(root) for root in server.state.roots)
        print(f"viewing {folders} at {server.url}", flush=True)
        if no_browser or opened:
            print("(only this URL works: it carries the access token; Ctrl+C stops)", flush=True)
        else:
            print("(no browser could be opened: open the URL above; Ctrl+C stops)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.stop()
