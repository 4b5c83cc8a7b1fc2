"""Material for the viewer tests: a real run directory, made by the replay agent and a scripted
judge, with hostile text in every place the viewer shows; a running viewer; raw HTTP.

The run is made by the orchestrator in-process on the local sandbox backend (no Docker), as
``tests/runs/test_failures.py`` does: agent stage, capture, monitor, reproduction and grading
all run for real and write the files ``paperbench run`` writes. :func:`generate_run` is the one
place that knows the orchestrator's API; :func:`generate_run_in_docker` makes the same run with
the ``paperbench run`` command on Docker, as the end-to-end tests do.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paperbench.papers import load_bundle
from paperbench.view.server import ViewServer
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, fill_schema
from tests.support.runs import paperbench_process, run_settings, write_paper

#: Would run if the page ever put untrusted text into HTML; tests check it never does.
HOSTILE = '<img src=x onerror="window.pwned=1">'
HOSTILE_SCRIPT = "<script>window.pwned=1</script>"
HOSTILE_FILE = "<img src=x onerror=window.pwned=1>.txt"
DOCKER_PAPER = "view-toy"

REPLAY = """\
- bash: |
    cat > reproduce.sh <<'SCRIPT'
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p results
    echo 'training for 3 epochs'
    echo '<script>window.pwned=1</script>'
    python3 -c 'print("accuracy", 0.91)' | tee results/accuracy.txt
    SCRIPT
    printf 'import math\\n\\n\\ndef train():\\n    return 0.91\\n' > train.py
    printf '<b>not bold</b>\\n' > '<img src=x onerror=window.pwned=1>.txt'
- bash: echo '<script>window.pwned=1</script>'
- submit: done
"""


def judge_with_hostile_explanations(request: RecordedRequest) -> Reply:
    """Code Development leaves pass, the others fail; every explanation carries HTML and every
    grade cites the source, the log, and a path outside the run."""
    categories = re.findall(r"Requirement `[^`]*` \(([^)]*)\)", request.text)
    score = 1 if categories and categories[-1] == "Code Development" else 0
    values = {
        "score": score,
        "explanation": f"Judged from the code. {HOSTILE}",
        "evidence": ["train.py:4-5", "reproduce.log:2", "../../../../etc/passwd"],
    }
    return Reply(json=fill_schema(request.schema or {}, values))


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def generate_run(folder: Path, *, snapshot_interval: float | None = None) -> Path:
    """Run the replay agent on a toy paper into ``folder/runs``; return the run directory."""
    from paperbench.runs.orchestrator import Orchestrator
    from tests.support.inprocess import local

    script = folder / "replay.yaml"
    script.write_text(REPLAY)
    paper = load_bundle(write_paper(folder / "papers", "toy-a", (1, 1, 1)))
    with (
        _environment(PAPERBENCH_HOME=str(folder / "home")),
        ScriptedLLMServer(default=judge_with_hostile_explanations) as judge,
    ):
        settings = run_settings(folder / "runs", judge.openai_url, replay=script)
        settings = settings.model_copy(
            update={
                "agent": settings.agent.model_copy(update={"snapshot_interval": snapshot_interval})
            }
        )
        orchestrator = Orchestrator(settings, [paper], local)
        asyncio.run(orchestrator.run_all())
    return orchestrator.statuses[0].paths.root


def generate_run_in_docker(folder: Path) -> Path:
    """``paperbench run`` of the replay agent on Docker into ``folder/runs``; the run directory.
    The paper has its own id, so the run's containers carry labels no other test uses.

    Raises:
        AssertionError: the command failed (its output is in the message).
    """
    script = folder / "replay.yaml"
    script.write_text(REPLAY)
    write_paper(folder / "papers", DOCKER_PAPER, (1, 1, 1))
    with ScriptedLLMServer(default=judge_with_hostile_explanations) as judge:
        process = paperbench_process(
            "run",
            "--papers",
            DOCKER_PAPER,
            "--agent",
            "replay",
            "--replay-script",
            str(script),
            "--papers-dir",
            str(folder / "papers"),
            "--runs-dir",
            str(folder / "runs"),
            "--no-live",
            "--judge",
            f"openai-compatible/judge@{judge.openai_url}",
            "--judge-context-window",
            "32000",
            home=folder / "home",
        )
        out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{out}\n{err}"
    [record] = (folder / "runs").rglob("run.json")
    return record.parent


@contextmanager
def running_viewer(*roots: Path, reviewer: str = "tester") -> Iterator[ViewServer]:
    server = ViewServer(list(roots), reviewer=reviewer)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def request(
    server: ViewServer,
    route: str,
    body: Any = None,
    *,
    token: str | None = "default",
    host: str | None = None,
) -> tuple[int, Any]:
    """One request; ``token=None`` sends none, ``"default"`` the server's own."""
    headers = {"Content-Type": "application/json"}
    if token == "default":
        headers["X-Paperbench-Token"] = server.token
    elif token is not None:
        headers["X-Paperbench-Token"] = token
    if host is not None:
        headers["Host"] = host
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{route}",
        data=data,
        headers=headers,
        method="POST" if data else "GET",
    )
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()
