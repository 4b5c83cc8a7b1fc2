"""What is particular to the local backend: the explicit opt-in, and a clean environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperbench.sandbox import LocalSandbox, SandboxSpec
from paperbench.sandbox.errors import UnsafeLocalSandboxError
from paperbench.sandbox.local_backend import OPT_IN_ENV
from tests.support.sandbox import run


def test_the_local_backend_refuses_without_an_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OPT_IN_ENV, raising=False)
    with pytest.raises(UnsafeLocalSandboxError) as caught:
        LocalSandbox(SandboxSpec())
    message = str(caught.value)
    assert "no isolation" in message and "allow_unsafe_local=True" in message
    assert OPT_IN_ENV in message


def test_the_environment_variable_is_an_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OPT_IN_ENV, "1")
    assert LocalSandbox(SandboxSpec()).backend == "local"


def test_the_harness_environment_does_not_reach_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-stay-on-the-host")

    async def scenario() -> str:
        async with LocalSandbox(SandboxSpec(allow_unsafe_local=True)) as sandbox:
            return (await sandbox.exec(["env"])).stdout

    assert "sk-must-stay-on-the-host" not in run(scenario())


def test_closing_removes_the_work_folder_and_background_processes() -> None:
    async def scenario() -> tuple[str, str]:
        async with LocalSandbox(SandboxSpec(allow_unsafe_local=True)) as sandbox:
            script = "sleep 300 > /dev/null 2>&1 & echo $!"
            pid = (await sandbox.exec(["sh", "-c", script])).stdout.strip()
            return sandbox.work_dir, pid

    work_dir, pid = run(scenario())
    assert not Path(work_dir).exists()
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text()
