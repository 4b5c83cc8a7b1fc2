"""`paperbench reproduce`: run the reproduction stage alone on a submission."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.cli.options import from_models, registry
from paperbench.errors import PaperbenchError
from paperbench.options import opt
from paperbench.reproduction import (
    ReproductionInputs,
    ReproductionOptions,
    ReproductionResult,
    reproduce,
)
from paperbench.sandbox.docker_backend import DockerSandbox, shared_client
from paperbench.sandbox.images import image_provenance, require_image

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


class ReproduceCommandOptions(BaseModel):
    """What to reproduce and where the record goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    submission: Path = opt(..., "Submission folder or tar archive.", argument=True)
    paper: str = opt(..., "Paper id or bundle folder.")
    out: Path | None = opt(
        None, "Where to write the record.", default_help="reproductions/PAPER-TIME"
    )
    papers_dir: list[Path] | None = opt(None, "Extra folders of paper bundles.")


@from_models(ReproduceCommandOptions, ReproductionOptions)
def reproduce_command(
    ctx: typer.Context, options: ReproduceCommandOptions, reproduction: ReproductionOptions
) -> None:
    """Run a submission's reproduce.sh in a fresh container and record what happened.

    Exits 0 when the script succeeded, 1 when it did not (the record says why), 2 on a usage
    or setup error.
    """
    bundle = registry(options.papers_dir).get(options.paper)
    client = shared_client()
    require_image(client, reproduction.reproducer_image)
    image_id = image_provenance(client, [reproduction.reproducer_image]).get(
        reproduction.reproducer_image, ""
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = options.out or Path("reproductions") / f"{bundle.id}-{stamp}"
    try:
        inputs = ReproductionInputs.resolve(
            bundle, options.submission, reproduction, image_id=image_id
        )
    except FileNotFoundError as error:
        raise PaperbenchError(str(error)) from None
    result = asyncio.run(reproduce(inputs, out_dir, DockerSandbox))
    summarise(result, out_dir)
    if not result.succeeded:
        raise typer.Exit(1)
