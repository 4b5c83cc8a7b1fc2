"""`paperbench images`: build the sandbox images."""

from __future__ import annotations

import typer
from rich.console import Console

from paperbench.sandbox.engine import docker_client
from paperbench.sandbox.images import build_base_image

app = typer.Typer(help="Build the images that sandboxes run.", no_args_is_help=True)
console = Console()


@app.command()
def build(
    offline: bool = typer.Option(
        False, "--offline", help="Build from a debootstrap rootfs instead of a registry image."
    ),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the recipe is unchanged."),
) -> None:
    """Build the base image (reused when its recipe is unchanged)."""
    client = docker_client()
    if not force:
        console.print("checking the base image...")
    built = build_base_image(client, offline=offline, force=force)
    how = {
        "reused": "reused (recipe unchanged)",
        "registry": "built from a registry base image",
        "debootstrap": "built offline from a debootstrap rootfs",
    }[built.method]
    console.print(f"{built.name}: {how}, id {built.image_id}")
