"""The egress image: mitmproxy for the egress container of ``filtered`` runs
(``sandbox/egress/``), built on our base image with no network from wheels fetched on the host.

Like the agent and reproducer images it carries a recipe hash (its folder and the base image's
id) and is rebuilt only when that changes. Only ``filtered`` runs need it; a ``gateway`` run's
egress container is the agent image running the standard-library forwarder.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import docker
from docker.errors import BuildError, ImageNotFound

from paperbench.errors import PaperbenchError
from paperbench.resources import resource_dir
from paperbench.sandbox.images import (
    BASE_ID_LABEL,
    BASE_IMAGE,
    RECIPE_LABEL,
    BuiltImage,
    require_image,
)
from paperbench.sandbox.wheels import download_wheels

EGRESS_IMAGE = "paperbench/egress:bookworm"


def egress_recipe() -> Path:
    return resource_dir("sandbox") / "egress"


def egress_recipe_hash(base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode() + b"\0")
    for path in sorted(egress_recipe().iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_egress_image(
    client: docker.DockerClient, *, base: str = BASE_IMAGE, force: bool = False
) -> BuiltImage:
    """Build (or reuse) :data:`EGRESS_IMAGE` on ``base``.

    Raises:
        ImageMissingError: ``base`` is not built.
        PaperbenchError: the wheels could not be fetched or the build failed.
    """
    base_id = require_image(client, base)
    wanted = egress_recipe_hash(base_id)
    if not force:
        try:
            image = client.images.get(EGRESS_IMAGE)
            if (image.labels or {}).get(RECIPE_LABEL) == wanted:
                return BuiltImage(EGRESS_IMAGE, str(image.id), "reused", base)
        except ImageNotFound:
            pass
    recipe = egress_recipe()
    requirements = [
        line.strip()
        for line in (recipe / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    with tempfile.TemporaryDirectory(prefix="paperbench-egress-") as work:
        context = Path(work)
        for path in recipe.iterdir():
            if path.is_file():
                shutil.copy2(path, context / path.name)
        download_wheels(requirements, context / "wheels")
        try:
            image, _ = client.images.build(
                path=str(context),
                tag=EGRESS_IMAGE,
                buildargs={"BASE_IMAGE": base},
                labels={RECIPE_LABEL: wanted, BASE_ID_LABEL: base_id},
                network_mode="none",
                pull=False,
                rm=True,
            )
        except BuildError as error:
            raise PaperbenchError(
                f"building {EGRESS_IMAGE} on {base} failed: {error.msg} "
                "(recipe: sandbox/egress/Dockerfile)"
            ) from None
    return BuiltImage(EGRESS_IMAGE, str(image.id), "dockerfile", base)
