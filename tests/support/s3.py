"""A real S3-compatible server on loopback (moto's, over HTTP) and the environment through which
s3fs reaches it: the standard AWS variables, as a user sets them."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import REPO_ROOT

ACCESS_KEY_ID = "AKIDPAPERBENCHTEST01"
SECRET_ACCESS_KEY = "pbtest-secret-do-not-leak-0123456789abcdef"


@dataclass
class S3Server:
    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """What a user exports for this server (no profile, no config files)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        }

    def url(self, prefix: str = "runs") -> str:
        return f"s3://{self.bucket}/{prefix}"

    def fs(self) -> Any:
        """An s3fs client of its own (no cached instance), to look at the bucket."""
        import s3fs

        return s3fs.S3FileSystem(
            skip_instance_cache=True,
            key=ACCESS_KEY_ID,
            secret=SECRET_ACCESS_KEY,
            endpoint_url=self.endpoint,
        )

    def tree(self, prefix: str = "runs") -> dict[str, bytes]:
        """Every object under ``prefix``, by its key relative to it."""
        fs = self.fs()
        base = f"{self.bucket}/{prefix}"
        return {key[len(base) + 1 :]: fs.cat_file(key) for key in fs.find(base)}


def folder_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by its path relative to it."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the session, on 127.0.0.1 (each test has its own bucket)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """A new, empty bucket, and this process's environment pointing s3fs at it."""
    server = S3Server(moto_endpoint, f"pb-{uuid.uuid4().hex[:16]}")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    server.fs().mkdir(server.bucket)
    return server


#: Where a moto server listens inside a Ray test cluster's own network namespace: below the
#: ephemeral range and outside Ray's worker ports (10002-19999).
NAMESPACE_PORT = 9000
NAMESPACE_ENDPOINT = f"http://127.0.0.1:{NAMESPACE_PORT}"


def in_namespace(netns: str, env: dict[str, str], *args: str) -> str:
    """``python -m tests.support.s3 ARGS`` inside the network namespace ``netns``; its output."""
    done = subprocess.run(
        ["nsenter", f"--net={netns}", sys.executable, "-m", "tests.support.s3", *args],
        env={**env, **S3Server(NAMESPACE_ENDPOINT, "").env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def moto_in_namespace(netns: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A moto server on :data:`NAMESPACE_ENDPOINT` inside ``netns``, once it answers."""
    process = subprocess.Popen(
        [
            "nsenter",
            f"--net={netns}",
            sys.executable,
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            str(NAMESPACE_PORT),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            in_namespace(netns, env, "ping")
            return process
        except AssertionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise
            time.sleep(0.5)


def _main(command: str, *args: str) -> None:
    """``ping``; ``mkbucket BUCKET``; ``dump BUCKET PREFIX FOLDER`` (every object under PREFIX
    into FOLDER), with the endpoint and credentials from the environment."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    if command == "ping":
        fs.ls("")
    elif command == "mkbucket":
        fs.mkdir(args[0])
    elif command == "dump":
        bucket, prefix, folder = args
        base = f"{bucket}/{prefix}"
        for key in fs.find(base):
            target = Path(folder, key[len(base) + 1 :])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fs.cat_file(key))


if __name__ == "__main__":
    _main(*sys.argv[1:])
