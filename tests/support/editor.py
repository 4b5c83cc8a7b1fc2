"""Helpers for the editor tests: a running editor on a temporary rubric, and raw HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paperbench.rubric.editor import EditorServer
from tests.support.trees import leaf, node


def sample_rubric() -> dict[str, Any]:
    """Three subtrees, an unknown key to keep, ints as weights: what PaperBench files hold."""
    data = node(
        "The paper has been reproduced.",
        [
            node(
                "The method has been implemented.",
                [
                    leaf("The data loader is implemented as in Section 2.", 2),
                    leaf("The optimizer is implemented as in Equation 3."),
                ],
            ),
            node(
                "The experiments have been run.",
                [leaf("Training has run for 4000 steps.", 1, "Code Execution")],
            ),
            leaf("The final loss is below 0.1, as in Table 1.", 1, "Result Analysis"),
        ],
    )
    data["sub_tasks"][0]["author_note"] = {"kept": True}
    return data


@contextmanager
def running_editor(path: Path) -> Iterator[EditorServer]:
    server = EditorServer(path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def request(
    server: EditorServer,
    route: str,
    body: Any = None,
    *,
    token: str | None = "default",
    host: str | None = None,
) -> tuple[int, Any]:
    """Send one request; ``token=None`` sends none, ``"default"`` the server's own."""
    url = f"http://127.0.0.1:{server.port}{route}"
    headers = {"Content-Type": "application/json"}
    if token == "default":
        headers["X-Paperbench-Token"] = server.token
    elif token is not None:
        headers["X-Paperbench-Token"] = token
    if host is not None:
        headers["Host"] = host
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()
