"""Python packages for images built without a registry: wheels fetched on the host, installed
in the build with ``pip install --no-index``.

A ``pip install`` inside a Docker build has no network it can trust on the machines this project
is built on (their TLS is intercepted by a CA only the host trusts), so an image that needs
Python packages — the egress proxy, a user's agent — gets them as wheels in its build context.
Our images run Debian bookworm's Python 3.11; when the host interpreter is a CPython 3.11 too,
``pip wheel`` fetches the wheels and builds the few sdist-only packages (pure Python ones such
as pyperclip) into wheels; otherwise ``pip download`` asks for 3.11 binary wheels for the
host's architecture, which works whenever every package publishes one.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from paperbench.errors import PaperbenchError

IMAGE_PYTHON = (3, 11)


def download_wheels(requirements: list[str], dest: Path, *, timeout: float = 900) -> None:
    """Put wheels for ``requirements`` (pip requirement strings) and their dependencies into
    ``dest``, plus a ``requirements.txt`` naming them, for ``pip install --no-index -r``.

    Raises:
        PaperbenchError: pip failed (no index reachable, no wheel for 3.11, a bad requirement);
            the message carries pip's last lines.
    """
    dest.mkdir(parents=True, exist_ok=True)
    listing = dest / "requirements.txt"
    listing.write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")
    if sys.implementation.name == "cpython" and sys.version_info[:2] == IMAGE_PYTHON:
        command = [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(dest), "-r", str(listing)]
    else:
        machine = platform.machine()
        command = [
            sys.executable, "-m", "pip", "download", "-q", "-d", str(dest), "-r", str(listing),
            "--only-binary=:all:", "--implementation", "cp",
            "--python-version", "".join(map(str, IMAGE_PYTHON)),
            *(f"--platform={tag}_{machine}" for tag in ("manylinux_2_36", "manylinux_2_34",
                                                          "manylinux_2_28", "manylinux2014",
                                                          "manylinux1", "linux")),
        ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PaperbenchError(f"fetching wheels for {', '.join(requirements)} timed out") from None
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise PaperbenchError(
            f"could not fetch wheels for {', '.join(requirements)} (pip exit {done.returncode}): "
            f"{tail}"
        )
