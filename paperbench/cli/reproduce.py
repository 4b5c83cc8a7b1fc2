"""`paperbench reproduce`: run the reproduction stage alone on a submission."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.options import PapersDirOption, registry
from paperbench.reproduction import ReproductionOptions, ReproductionResult, reproduce
from paperbench.sandbox.docker_backend import DockerSandbox, shared_client
from paperbench.sandbox.images import REPRODUCER_IMAGE, require_image

console = Console(highlight=False, soft_wrap=True)


def summarise(result: ReproductionResult, out_dir: Path) -> None:
    table = Table("attempt", "status", "exit", "seconds", "log")
    for attempt in result.attempts:
        marker = " (graded)" if attempt.number == result.graded_attempt else ""
        table.add_row(
            f"{attempt.number}{marker}",
            attempt.status,
            "" if attempt.exit_code is None else str(attempt.exit_code),
            f"{attempt.duration_seconds:.1f}",
            attempt.log_file or escape(attempt.error or ""),
        )
    console.print(table)
    console.print(
        f"{len(result.files_created)} files created, {len(result.files_changed)} changed, "
        f"{len(result.excluded_files)} left out of the archive"
    )
    for excluded in result.excluded_files:
        console.print(
            f"  left out: {escape(excluded.path)} ({excluded.size} bytes): {excluded.reason}"
        )
    for note in result.notes:
        console.print(f"  note: {escape(note)}")
    log = (out_dir / "reproduce.log").read_text(encoding="utf-8", errors="replace")
    tail = log.rstrip().splitlines()[-8:]
    if tail:
        console.rule("end of reproduce.log")
        for line in tail:
            console.print(escape(line))
    colour = "green" if result.succeeded else "red"
    console.print(f"[{colour}]{result.status}[/]: record in {out_dir / 'reproduction.json'}")


def reproduce_command(
    submission: Annotated[Path, typer.Argument(help="Submission folder or tar archive.")],
    paper: Annotated[str, typer.Option(help="Paper id or bundle folder.")],
    out: Annotated[Path | None, typer.Option(help="Where to write the record.")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds for reproduce.sh [default: the paper's limit].")
    ] = None,
    retries: Annotated[
        int, typer.Option(min=0, help="Extra attempts after a failed run (each in a fresh box).")
    ] = 0,
    image: Annotated[str, typer.Option(help="Image to reproduce in.")] = REPRODUCER_IMAGE,
    papers_dir: PapersDirOption = None,
) -> None:
    """Run a submission's reproduce.sh in a fresh container and record what happened.

    Exits 0 when the script succeeded, 1 when it did not (the record says why), 2 on a usage
    or setup error.
    """
    bundle = registry(papers_dir).get(paper)
    require_image(shared_client(), image)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out or Path("reproductions") / f"{bundle.id}-{stamp}"
    options = ReproductionOptions(image=image, timeout_seconds=timeout, retries=retries)
    result = asyncio.run(reproduce(submission, bundle, out_dir, options, DockerSandbox))
    summarise(result, out_dir)
    if not result.succeeded:
        raise typer.Exit(1)
