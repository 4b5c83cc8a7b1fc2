"""`paperbench images`: build the sandbox images."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from paperbench.errors import PaperbenchError
from paperbench.sandbox.egress_image import build_egress_image
from paperbench.sandbox.engine import docker_client
from paperbench.sandbox.images import BASE_IMAGE, build_images

app = typer.Typer(help="Build the images that sandboxes run.", no_args_is_help=True)
console = Console()

HOW = {
    "reused": "reused (recipe unchanged)",
    "registry": "built from a registry base image",
    "debootstrap": "built offline from a debootstrap rootfs",
    "dockerfile": "built on {base} (no network)",
    "given": "given as the base",
}


@app.command()
def build(
    offline: bool = typer.Option(
        False, "--offline", help="Build the base from a debootstrap rootfs, not a registry image."
    ),
    force: bool = typer.Option(False, "--force", help="Rebuild even when recipes are unchanged."),
    base: str | None = typer.Option(
        None, "--base", help="Build the agent and reproducer images on this image instead."
    ),
    reproducer_base: str | None = typer.Option(
        None, "--reproducer-base", help="A different base for the reproducer (default: the same)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the image ids as JSON."),
) -> None:
    """Build the base, agent, reproducer and egress images (each reused when its recipe is
    unchanged). The egress image (mitmproxy, for the ``filtered`` network policy) needs PyPI on
    the host; when it cannot be built the others still are, and a warning says why."""
    client = docker_client()
    if not as_json:
        console.print("checking the images...")
    built = build_images(
        client, offline=offline, force=force, base=base, reproducer_base=reproducer_base
    )
    try:
        built.append(build_egress_image(client, base=base or BASE_IMAGE, force=force))
    except PaperbenchError as error:
        print(f"warning: {error}; runs with --agent-network filtered need it", file=sys.stderr)
    if as_json:
        print(json.dumps({image.name: image.__dict__ for image in built}, indent=2))
        return
    for image in built:
        how = HOW[image.method].format(base=image.base)
        console.print(f"{image.name}: {how}, id {image.image_id}", highlight=False)
