"""Build paperbench's images: the base, and the agent and reproducer images on top of it.

With a registry, the base is ``debian:bookworm-slim`` plus the packages in
``sandbox/base/packages.txt`` (``sandbox/base/Dockerfile``). Without one (this project's CI
machines reach Debian's package mirror but no registry), the same packages are installed into a
rootfs by ``debootstrap`` and the rootfs is imported as an image. Either way the image carries a
label with the hash of the recipe, so a changed recipe is rebuilt and an unchanged one reused.

The agent and reproducer images (``sandbox/agent``, ``sandbox/reproducer``) are built on a base
(ours unless told otherwise) with no network, and by default both on the same one, so a
``reproduce.sh`` that works where the agent wrote it works in the fresh container. Their recipe
hash covers their folder and the base image's id, so a new base rebuilds them; the base id is
also kept in a label, and :func:`image_provenance` reports the ids a run used.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
from docker.errors import ImageNotFound

from paperbench.errors import ImageMissingError, PaperbenchError
from paperbench.resources import resource_dir

BASE_IMAGE = "paperbench/base:bookworm"
AGENT_IMAGE = "paperbench/agent:bookworm"
REPRODUCER_IMAGE = "paperbench/reproducer:bookworm"
RECIPE_LABEL = "org.paperbench.recipe"
BASE_ID_LABEL = "org.paperbench.base-image-id"
StageRole = Literal["agent", "reproducer"]
STAGE_IMAGES: dict[StageRole, str] = {"agent": AGENT_IMAGE, "reproducer": REPRODUCER_IMAGE}
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BUILD_HINT = "build it with `paperbench images build --offline` (or `bash sandbox/host-setup.sh`)"


@dataclass(frozen=True)
class BuiltImage:
    """One image after a build: its name, id, how it came to be, and what it was built on."""

    name: str
    image_id: str
    method: Literal["reused", "registry", "debootstrap", "dockerfile", "given"]
    base: str | None = None


def base_packages() -> list[str]:
    text = (resource_dir("sandbox") / "base" / "packages.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def recipe_hash() -> str:
    """A short hash of everything that decides the base image's contents."""
    digest = hashlib.sha256()
    for path in sorted((resource_dir("sandbox") / "base").iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def require_image(client: docker.DockerClient, name: str = BASE_IMAGE) -> str:
    """Return the id of image ``name``.

    Raises:
        ImageMissingError: the image is not built; the message says how to build it.
    """
    try:
        image_id = str(client.images.get(name).id)
    except ImageNotFound:
        raise ImageMissingError(f"image {name} is not built: {BUILD_HINT}") from None
    return image_id


def build_base_image(
    client: docker.DockerClient, *, offline: bool, force: bool = False
) -> BuiltImage:
    """Build (or reuse) the base image.

    Raises:
        PaperbenchError: the build failed; the message names the step and its output tail.
    """
    wanted = recipe_hash()
    if not force:
        try:
            image = client.images.get(BASE_IMAGE)
            if (image.labels or {}).get(RECIPE_LABEL) == wanted:
                return BuiltImage(BASE_IMAGE, str(image.id), "reused")
        except ImageNotFound:
            pass
    if offline:
        return _build_from_debootstrap(client, wanted)
    return _build_from_registry(client, wanted)


def _build_from_registry(client: docker.DockerClient, wanted: str) -> BuiltImage:
    repository, tag = BASE_IMAGE.split(":")
    try:
        image, _ = client.images.build(
            path=str(resource_dir("sandbox") / "base"),
            tag=BASE_IMAGE,
            labels={RECIPE_LABEL: wanted},
            rm=True,
        )
    except docker.errors.BuildError as error:
        raise PaperbenchError(
            f"building {BASE_IMAGE} from a registry failed ({error.msg}); without a registry, "
            "use `paperbench images build --offline`"
        ) from None
    return BuiltImage(f"{repository}:{tag}", str(image.id), "registry")


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line format), else the default."""
    candidates = sorted((sources_dir / "sources.list.d").glob("*.sources"))
    for path in candidates:
        for stanza in path.read_text(encoding="utf-8").split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.MULTILINE)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
    one_line = sources_dir / "sources.list"
    if one_line.is_file():
        for line in one_line.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", line)
            if match:
                return match.group(1)
    return DEFAULT_MIRROR


def _build_from_debootstrap(client: docker.DockerClient, wanted: str) -> BuiltImage:
    if shutil.which("debootstrap") is None:
        raise PaperbenchError(
            "offline image build needs debootstrap: `apt-get install -y debootstrap` (as root)"
        )
    with tempfile.TemporaryDirectory(prefix="paperbench-rootfs-") as work:
        rootfs = Path(work) / "rootfs"
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(base_packages())}",
            SUITE,
            str(rootfs),
            debian_mirror(),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            tail = (completed.stdout + completed.stderr).strip().splitlines()[-3:]
            raise PaperbenchError(
                f"debootstrap failed (exit {completed.returncode}): {' | '.join(tail)}"
            )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / cache).glob("*.deb"):
                entry.unlink()
        archive = Path(work) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            for entry in sorted(rootfs.iterdir()):
                tar.add(entry, arcname=entry.name)
        repository, tag = BASE_IMAGE.split(":")
        client.api.import_image(
            src=str(archive),
            repository=repository,
            tag=tag,
            changes=[
                f"LABEL {RECIPE_LABEL}={wanted}",
                'CMD ["/bin/bash"]',
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
            ],
        )
    return BuiltImage(BASE_IMAGE, require_image(client), "debootstrap")


def stage_recipe_hash(role: StageRole, base_id: str) -> str:
    """A short hash of a stage image's recipe folder and the id of the base it builds on."""
    digest = hashlib.sha256(base_id.encode() + b"\0")
    for path in sorted((resource_dir("sandbox") / role).iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_stage_image(
    client: docker.DockerClient, role: StageRole, *, base: str = BASE_IMAGE, force: bool = False
) -> BuiltImage:
    """Build (or reuse) the agent or reproducer image on ``base``, with no network.

    Raises:
        ImageMissingError: ``base`` is not built.
        PaperbenchError: the build failed; the message names the image and the failing step.
    """
    base_id = require_image(client, base)
    wanted = stage_recipe_hash(role, base_id)
    name = STAGE_IMAGES[role]
    if not force:
        try:
            image = client.images.get(name)
            if image.labels.get(RECIPE_LABEL) == wanted:
                return BuiltImage(name, str(image.id), "reused", base)
        except ImageNotFound:
            pass
    try:
        image, _ = client.images.build(
            path=str(resource_dir("sandbox") / role),
            tag=name,
            buildargs={"BASE_IMAGE": base},
            labels={RECIPE_LABEL: wanted, BASE_ID_LABEL: base_id},
            network_mode="none",
            pull=False,
            rm=True,
        )
    except docker.errors.BuildError as error:
        raise PaperbenchError(
            f"building {name} on {base} failed: {error.msg} (recipe: sandbox/{role}/Dockerfile)"
        ) from None
    return BuiltImage(name, str(image.id), "dockerfile", base)


def build_images(
    client: docker.DockerClient,
    *,
    offline: bool,
    force: bool = False,
    base: str | None = None,
    reproducer_base: str | None = None,
) -> list[BuiltImage]:
    """Build the base (unless ``base`` names another image), then the agent image on it and
    the reproducer image on ``reproducer_base``, which defaults to the agent's base.

    Raises:
        ImageMissingError: a given base image is not present.
        PaperbenchError: a build failed.
    """
    if base is None:
        built = [build_base_image(client, offline=offline, force=force)]
        base = BASE_IMAGE
    else:
        built = [BuiltImage(base, require_image(client, base), "given")]
    built.append(build_stage_image(client, "agent", base=base, force=force))
    reproducer_base = reproducer_base or base
    if reproducer_base != base:
        built.append(BuiltImage(reproducer_base, require_image(client, reproducer_base), "given"))
    built.append(build_stage_image(client, "reproducer", base=reproducer_base, force=force))
    return built


def image_provenance(client: docker.DockerClient, names: list[str]) -> dict[str, str]:
    """The id of each image by name, for a run's provenance record.

    Raises:
        ImageMissingError: one of them is not built.
    """
    return {name: require_image(client, name) for name in names}
