"""A real S3-compatible server on loopback (moto's, over HTTP) and the environment through which
s3fs reaches it: the standard AWS variables, as a user sets them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
