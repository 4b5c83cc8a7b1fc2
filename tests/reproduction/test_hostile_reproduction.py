"""A hostile ``reproduce.sh`` runs as root in the reproducer's container: it fills the disk,
replaces the container's tools, leaves processes behind and writes names with control
characters. Each is contained and recorded, and the harness goes on."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import docker
import pytest

from paperbench.papers import PaperBundle, load_bundle
from paperbench.reproduction import ReproductionResult
from paperbench.sandbox.docker_backend import DockerSandbox
from tests.support.papers import make_bundle
from tests.support.reproduction import reproduce_with
from tests.support.sandbox import host_free_bytes, host_processes

pytestmark = pytest.mark.docker
MiB = 1024 * 1024


@pytest.fixture
def paper(tmp_path: Path) -> PaperBundle:
    config = (
        "id: toy\ntitle: Toy\nreproduction:\n  time_limit_seconds: 120\n"
        "resources:\n  cpus: 1\n  memory_mb: 256\n  disk_mb: 128\n"
    )
    return load_bundle(make_bundle(tmp_path / "paper", config=config))


def reproduce_script(
    tmp_path: Path, script: str, image: str, paper: PaperBundle
) -> ReproductionResult:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "reproduce.sh").write_text("#!/usr/bin/env bash\n" + script)
    run_id = f"hostile-{uuid.uuid4().hex[:8]}"
    return reproduce_with(
        folder, paper, tmp_path / "out", DockerSandbox, image=image, run_id=run_id
    )


#: Refuses to go on unless the quota is in force (so a broken quota fails the test instead of
#: filling the host), then asks for two terabytes and waits.
FILL = """
set -- $(stat -f -c '%b %S' /home)
[ $(( $1 * $2 )) -le 209715200 ] || exit 3
fallocate -l 2T huge.bin
sleep 100
"""


def test_a_script_that_fills_the_disk_is_stopped_and_recorded(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str, docker_engine: docker.DockerClient
) -> None:
    free_before = host_free_bytes(docker_engine)

    result = reproduce_script(tmp_path, FILL, reproducer_image, paper)

    assert result.status == "disk_limit_exceeded" and result.disk_limit_exceeded
    assert result.attempts[0].disk_limit_exceeded and result.duration_seconds < 60
    assert host_free_bytes(docker_engine) > free_before - 256 * MiB


#: Writes its results, then replaces the tools a listing inside the container would use with
#: fakes that flood their output and forge a listing.
SABOTAGE = r"""
mkdir -p results && printf '0.93\n' > results/accuracy.txt
for tool in /usr/bin/find /usr/bin/python3 /usr/bin/tar /usr/bin/sha256sum; do
  [ -e "$tool" ] || continue
  cat > "$tool.fake" <<'FAKE'
#!/bin/bash
head -c 9437184 /dev/zero | tr '\0' x
echo '{"fake.txt": [1, "0"]}'
FAKE
  chmod +x "$tool.fake" && mv -f "$tool.fake" "$tool"
done
"""


def test_the_files_a_script_made_are_listed_on_the_host_whatever_it_did_to_the_tools(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = reproduce_script(tmp_path, SABOTAGE, reproducer_image, paper)

    assert result.status == "succeeded"
    created = {record.path: record for record in result.files_created}
    assert set(created) == {"results/accuracy.txt"}
    assert created["results/accuracy.txt"].sha256 == hashlib.sha256(b"0.93\n").hexdigest()
    assert (tmp_path / "out" / "submission" / "results" / "accuracy.txt").read_text() == "0.93\n"


def test_a_process_the_script_left_running_is_killed_before_the_files_are_listed(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    """A writer that escaped the script (new session, empty environment) appends to a file as
    fast as it can; the sandbox is stopped before the listing, so the reading is whole and the
    listed hash is the kept file's."""
    token = f"ticker-{uuid.uuid4().hex[:12]}"
    script = (
        f"setsid env -i sh -c 'while :; do echo tick >> ticks.txt; done' {token} >&- 2>&- &\n"
        "while [ ! -s ticks.txt ]; do :; done\n"
    )

    result = reproduce_script(tmp_path, script, reproducer_image, paper)

    assert result.status == "succeeded" and result.executed_archive is not None
    kept = (tmp_path / "out" / "submission" / "ticks.txt").read_bytes()
    created = {record.path: record for record in result.files_created}
    assert created["ticks.txt"].sha256 == hashlib.sha256(kept).hexdigest()
    assert host_processes(token) == []


NAMES = r"""
printf ok > fine.txt
printf x > "$(printf 'forged\nline.txt')"
printf x > "$(printf 'clear\033[2J.txt')"
"""


def test_names_with_control_characters_are_listed_escaped_and_kept_out_of_the_archive(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = reproduce_script(tmp_path, NAMES, reproducer_image, paper)

    created = {record.path for record in result.files_created}
    assert created == {"fine.txt", "forged\\nline.txt", "clear\\x1b[2J.txt"}
    excluded = {entry.path: entry.reason for entry in result.excluded_files}
    assert excluded["forged\\nline.txt"] == "its name holds control characters"
    executed = tmp_path / "out" / "submission"
    assert sorted(p.name for p in executed.iterdir()) == ["fine.txt", "reproduce.sh"]
