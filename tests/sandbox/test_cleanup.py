"""Nothing outlives the harness: a process holding sandboxes is interrupted (SIGINT) or
terminated (SIGTERM) and afterwards no labelled container or volume is left; what a SIGKILL
leaves (containers, volumes and loop disks), ``paperbench sandbox cleanup`` removes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from paperbench.sandbox.cleanup import remove_leftovers
from tests.support.sandbox import leftover_disks, leftovers, new_run_id

HOLDER = Path(__file__).with_name("hold_sandboxes.py")
REPO = Path(__file__).resolve().parents[2]


def start_holder(backend: str, run_id: str, image: str) -> tuple[subprocess.Popen[str], str, str]:
    holder = subprocess.Popen(
        [sys.executable, str(HOLDER), backend, run_id, image],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline().split()
    if not line or line[0] != "ready":
        holder.kill()
        pytest.fail(f"the holder did not start: {holder.communicate()[1]}")
    return holder, line[1], line[2]


def expected_status(signum: int) -> int:
    """SIGINT ends a Python program by re-raising SIGINT; our SIGTERM handler exits 128+15."""
    return -signal.SIGINT if signum == signal.SIGINT else 128 + signal.SIGTERM


@pytest.mark.docker
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_harness_leaves_no_container_or_volume(
    signum: int, docker_engine: docker.DockerClient, base_image: str
) -> None:
    run_id = new_run_id("signal")
    holder, _, _ = start_holder("docker", run_id, base_image)
    assert [item.kind for item in leftovers(docker_engine, run_id)].count("container") == 2
    holder.send_signal(signum)
    status = holder.wait(timeout=60)
    assert leftovers(docker_engine, run_id) == [] and leftover_disks(run_id) == []
    assert status == expected_status(signum), holder.communicate()[1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_harness_leaves_no_local_folder_or_process(signum: int) -> None:
    holder, work_dir, pid = start_holder("local", new_run_id("signal"), "unused")
    holder.send_signal(signum)
    status = holder.wait(timeout=60)
    assert not Path(work_dir).exists()
    proc = Path(f"/proc/{pid}/status")
    assert not proc.exists() or "zombie" in proc.read_text()
    assert status == expected_status(signum), holder.communicate()[1]


def paperbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paperbench", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )


@pytest.mark.docker
def test_sandbox_cleanup_removes_what_a_killed_harness_left(
    docker_engine: docker.DockerClient, base_image: str
) -> None:
    run_id = new_run_id("killed")
    holder, _, _ = start_holder("docker", run_id, base_image)
    holder.kill()
    holder.wait(timeout=60)
    try:
        assert len(leftovers(docker_engine, run_id)) == 4, "SIGKILL allows no cleanup"
        assert len(leftover_disks(run_id)) == 2
        listing = paperbench("sandbox", "ls", "--run", run_id).stdout.splitlines()
        assert sum(run_id in line for line in listing) == 4
        cleaned = paperbench("sandbox", "cleanup", "--run", run_id)
        assert cleaned.returncode == 0, cleaned.stderr
        assert f"removed 2 containers and 2 volumes (run {run_id})" in cleaned.stdout
        assert leftovers(docker_engine, run_id) == []
        assert leftover_disks(run_id) == [], "the loop disks are released too"
    finally:
        remove_leftovers(docker_engine, run_id)


def test_sandbox_cleanup_needs_a_run_or_all() -> None:
    result = paperbench("sandbox", "cleanup")
    assert result.returncode == 2
    assert result.stderr.startswith("error: sandbox cleanup: say which sandboxes to remove")
    assert "Traceback" not in result.stderr
