"""Hostile code against the Docker backend. After each case the sandbox still answers (where it
should), the limit held, and no labelled container or volume of the run is left (``fresh_run``).
"""

from __future__ import annotations

import asyncio
import errno
import io
import tarfile
import uuid
from pathlib import Path

import docker
import pytest

from paperbench.sandbox import DockerSandbox
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.errors import UnsafeArchiveError
from tests.support.sandbox import host_free_bytes, host_processes, run, spec

pytestmark = pytest.mark.docker

FORK_COUNT = """
import os, signal
children = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            os.close(1)
            os.close(2)
            os.execvp("sleep", ["sleep", "300"])
        children.append(pid)
except OSError as error:
    failure = error.errno
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(len(children), failure)
"""


def test_forking_stops_at_the_pids_limit(base_image: str, fresh_run: str) -> None:
    async def scenario() -> tuple[str, str]:
        async with DockerSandbox(spec(base_image, fresh_run, pids_limit=64)) as sandbox:
            forked = await sandbox.exec(["python3", "-c", FORK_COUNT], timeout=60)
            after = await sandbox.exec(["echo", "still here"])
            return forked.stdout, after.stdout

    forked, after = run(scenario())
    children, error = forked.split()
    assert int(children) < 64 and int(error) == errno.EAGAIN
    assert after == "still here\n"


def test_a_fork_bomb_is_contained_and_killed_at_its_timeout(
    base_image: str, fresh_run: str
) -> None:
    async def scenario() -> tuple[bool, str]:
        async with DockerSandbox(spec(base_image, fresh_run, pids_limit=64)) as sandbox:
            bomb = await sandbox.exec(["bash", "-c", "b() { b | b; }; b"], timeout=3)
            count = await sandbox.exec(["sh", "-c", "ls -d /proc/[0-9]* | wc -l"])
            return bomb.timed_out, count.stdout

    timed_out, processes = run(scenario())
    assert timed_out
    assert int(processes) < 10, "the bomb's processes must all be gone"


def test_a_memory_hog_is_reported_as_oom_killed(base_image: str, fresh_run: str) -> None:
    async def scenario() -> tuple[int, bool, bool, str]:
        async with DockerSandbox(spec(base_image, fresh_run, memory_mb=128)) as sandbox:
            hog = await sandbox.exec(["python3", "-c", "x = 'a' * (1 << 30)"], timeout=60)
            after = await sandbox.exec(["echo", "alive"])
            return hog.exit_code, hog.oom_killed, hog.timed_out, after.stdout

    assert run(scenario()) == (137, True, False, "alive\n")


def test_a_kill_that_is_not_oom_is_not_reported_as_oom(base_image: str, fresh_run: str) -> None:
    async def scenario() -> tuple[int, bool]:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            result = await sandbox.exec(["sh", "-c", "kill -9 $$"])
            return result.exit_code, result.oom_killed

    assert run(scenario()) == (137, False)


def test_endless_output_is_capped_and_ended_by_the_timeout(base_image: str, fresh_run: str) -> None:
    async def scenario() -> tuple[bool, bool, int, int, str]:
        async with DockerSandbox(spec(base_image, fresh_run, output_limit_bytes=10_000)) as box:
            flood = await box.exec(["yes", "flood"], timeout=2)
            after = await box.exec(["echo", "ok"])
            return (
                flood.timed_out,
                flood.stdout_truncated,
                flood.stdout_bytes,
                len(flood.stdout),
                after.stdout,
            )

    timed_out, truncated, seen, kept, after = run(scenario())
    assert timed_out and truncated
    assert seen > 1_000_000 and kept < 10_200
    assert after == "ok\n"


def test_sleeping_past_the_timeout_is_cut_short(base_image: str, fresh_run: str) -> None:
    async def scenario() -> tuple[bool, float]:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            result = await sandbox.exec(["sleep", "600"], timeout=1)
            return result.timed_out, result.duration_s

    timed_out, duration = run(scenario())
    assert timed_out and 1 <= duration < 4


def test_writes_outside_the_work_folder_fail_on_a_read_only_root(
    base_image: str, fresh_run: str
) -> None:
    async def scenario() -> list[str]:
        spec_ = spec(base_image, fresh_run, read_only_root=True)
        async with DockerSandbox(spec_) as sandbox:
            outputs = []
            for target in ("/etc/evil", "/usr/bin/evil", "/proc/sys/kernel/evil"):
                result = await sandbox.exec(["sh", "-c", f"echo x > {target}"], user="root")
                outputs.append(result.stderr)
            work = await sandbox.exec(["sh", "-c", "echo x > /home/ok && echo x > /tmp/ok"])
            outputs.append(str(work.exit_code))
            return outputs

    *refused, work_status = run(scenario())
    assert all("Read-only file system" in line for line in refused[:2]), refused
    assert refused[2] != "" and work_status == "0"


def test_writes_outside_the_work_folder_stay_in_that_one_container(
    base_image: str, fresh_run: str
) -> None:
    async def scenario() -> tuple[int, int]:
        async with DockerSandbox(spec(base_image, fresh_run)) as first:
            wrote = await first.exec(["sh", "-c", "echo pwned > /etc/pwned"], user="root")
        async with DockerSandbox(spec(base_image, fresh_run)) as second:
            seen = await second.exec(["test", "-e", "/etc/pwned"])
        return wrote.exit_code, seen.exit_code

    assert run(scenario()) == (0, 1)
    assert not Path("/etc/pwned").exists()


NETWORK_PROBE = """
import errno, socket
gateway = GATEWAY
results = []
for family, kind, address in [
    (socket.AF_INET, socket.SOCK_DGRAM, (gateway, 9)),
    (socket.AF_INET, socket.SOCK_DGRAM, ("192.0.2.1", 9)),
    (socket.AF_INET, socket.SOCK_STREAM, ("192.0.2.1", 80)),
]:
    s = socket.socket(family, kind)
    s.settimeout(2)
    try:
        s.connect(address)
        results.append("connected")
    except OSError as error:
        results.append(errno.errorcode.get(error.errno, str(error)))
try:
    socket.getaddrinfo("deb.debian.org", 80)
    results.append("resolved")
except OSError:
    results.append("no-dns")
print(" ".join(results))
print(" ".join(sorted(name for _, name in socket.if_nameindex())))
"""


def test_the_network_is_unreachable_when_none(
    docker_engine: docker.DockerClient, base_image: str, fresh_run: str
) -> None:
    """UDP ``connect`` only looks up a route (it sends nothing) and TCP goes to a documentation
    address (192.0.2.0/24, routed nowhere), so even a broken sandbox could not send traffic
    anywhere it would be received."""
    bridge = docker_engine.api.inspect_network("bridge")
    gateway = bridge["IPAM"]["Config"][0].get("Gateway", "172.17.0.1")
    probe = NETWORK_PROBE.replace("GATEWAY", repr(gateway))

    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            return (await sandbox.exec(["python3", "-c", probe], timeout=30)).stdout

    reach, interfaces = run(scenario()).splitlines()
    assert reach == "ENETUNREACH ENETUNREACH ENETUNREACH no-dns"
    assert interfaces == "lo"


@pytest.mark.parametrize(
    ("plant", "refusal"),
    [
        ("ln -s /etc/passwd out/passwd", "'out/passwd' is a link to an absolute path"),
        (
            "mkdir out/in && ln -s ../../../../etc/shadow out/in/shadow",
            "'out/in/shadow' is a link pointing outside",
        ),
    ],
    ids=["absolute-symlink", "relative-escape"],
)
def test_links_out_of_a_downloaded_folder_are_refused_on_the_host(
    plant: str, refusal: str, base_image: str, fresh_run: str, tmp_path: Path
) -> None:
    async def scenario() -> Path:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            (
                await sandbox.exec(["sh", "-c", f"mkdir out && echo ok > out/fine.txt && {plant}"])
            ).check()
            return await sandbox.download("out", tmp_path / "out.tar")

    archive = run(scenario())
    with pytest.raises(UnsafeArchiveError, match=refusal):
        safe_extract(archive, tmp_path / "extracted")
    assert not (tmp_path / "extracted").exists()


def test_hardlinks_in_a_downloaded_folder_extract_inside_the_destination(
    base_image: str, fresh_run: str, tmp_path: Path
) -> None:
    """A hardlink to a file outside the folder arrives as that file's contents; one between two
    files inside it stays a link between them. Neither can name a host file."""
    plant = "mkdir out && echo secret > keep.txt && ln keep.txt out/a && ln out/a out/b"

    async def scenario() -> Path:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            (await sandbox.exec(["sh", "-c", plant])).check()
            return await sandbox.download("out", tmp_path / "out.tar")

    safe_extract(run(scenario()), tmp_path / "extracted")
    a, b = tmp_path / "extracted" / "out" / "a", tmp_path / "extracted" / "out" / "b"
    assert a.read_text() == b.read_text() == "secret\n"
    assert a.stat().st_ino == b.stat().st_ino


def test_an_archive_with_escapes_never_reaches_the_sandbox(
    base_image: str, fresh_run: str, tmp_path: Path
) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("fine.txt", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"x\n"))

    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            with pytest.raises(UnsafeArchiveError, match=r"'\.\./escaped\.txt'"):
                await sandbox.upload(archive, "target")
            return (await sandbox.exec(["sh", "-c", "ls -A target /home; ls /"])).stdout

    listing = run(scenario())
    assert "fine.txt" not in listing and "escaped" not in listing


# -- processes that leave the command -----------------------------------------------------------

#: Starts two sleeps that leave the command's process tree, one of them as another user, both
#: with an empty environment (so no marker variable), and returns at once.
ESCAPE = """
setsid env -i sleep {token}1 > /dev/null 2>&1 < /dev/null &
su -s /bin/sh nobody -c 'setsid env -i sleep {token}2 > /dev/null 2>&1 < /dev/null &'
"""


def test_processes_that_escaped_every_marker_die_when_the_sandbox_stops(
    base_image: str, fresh_run: str
) -> None:
    """``setsid``, ``env -i`` and another uid take a process out of the command's tree and
    out of reach of its marker; stopping kills by container, so they go too."""
    token = f"86{uuid.uuid4().int % 10**6:06d}.{uuid.uuid4().int % 10**4:04d}"

    async def scenario() -> tuple[int, int]:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            (await sandbox.exec(["sh", "-c", ESCAPE.format(token=token)], user="root")).check()
            while len(host_processes(token)) < 2:
                await asyncio.sleep(0.05)  # polling for the processes to appear
            running = len(host_processes(token))
            await sandbox.stop()
            return running, len(host_processes(token))

    assert run(scenario()) == (2, 0)


#: Replaces the container's own tools (the kill sweep's ``sh``, ``grep`` and ``kill``, and
#: ``timeout``, made to run the command with no limit) as root would.
SABOTAGE = """
set -e
fake() { printf "$2" > "$1.fake" && chmod +x "$1.fake" && mv -f "$1.fake" "$1"; }
cp /bin/bash /tmp/realbash
for tool in /usr/bin/grep /usr/bin/kill /bin/kill /usr/bin/dash; do
  [ -e "$tool" ] && fake "$tool" '#!/tmp/realbash\\nexit 0\\n'
done
fake /usr/bin/timeout '#!/tmp/realbash\\nshift 3\\nexec "$@"\\n'
"""


def test_a_timeout_kills_the_command_from_the_host_when_the_containers_tools_are_fakes(
    base_image: str, fresh_run: str
) -> None:
    token = f"87{uuid.uuid4().int % 10**6:06d}"
    tree = f"setsid /tmp/realbash -c 'exec sleep {token}1' & exec sleep {token}2"

    async def scenario() -> tuple[bool, float, int]:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            (await sandbox.exec(["bash", "-c", SABOTAGE], user="root")).check()
            result = await sandbox.exec(["/tmp/realbash", "-c", tree], timeout=1, user="root")
            return result.timed_out, result.duration_s, len(host_processes(token))

    timed_out, duration, left = run(scenario())
    assert timed_out and duration < 10
    assert left == 0, "the command's processes outlived its timeout"


# -- disk --------------------------------------------------------------------------------------

#: Prints the total size of the filesystems behind / and /home, as the sandbox sees them.
SIZES = "import os\nfor p in ('/', '/home'): s = os.statvfs(p); print(s.f_blocks * s.f_frsize)"
MiB = 1024 * 1024


@pytest.mark.parametrize("target", ["/home/x", "/root/x"], ids=["work-volume", "writable-layer"])
def test_fallocate_of_two_terabytes_is_stopped_recorded_and_costs_the_host_nothing(
    target: str, docker_engine: docker.DockerClient, base_image: str, fresh_run: str
) -> None:
    """A 128 MB quota: both the work volume and the root filesystem show it, ``fallocate -l 2T``
    fills it and no more, the command is stopped and flagged, and the host's free space is the
    same afterwards."""
    free_before = host_free_bytes(docker_engine)

    async def scenario() -> tuple[list[int], bool, int, float, str]:
        async with DockerSandbox(spec(base_image, fresh_run, disk_mb=128)) as sandbox:
            sizes = [int(n) for n in (await sandbox.exec(["python3", "-c", SIZES])).stdout.split()]
            if max(sizes) > 200 * MiB:  # the quota is not in force: do not fill the host
                return sizes, False, 0, 0.0, sandbox.describe()["disk"]
            result = await sandbox.exec(
                ["sh", "-c", f"fallocate -l 2T {target}; sleep 120"], timeout=300, user="root"
            )
            return (
                sizes,
                result.disk_limit_exceeded,
                result.exit_code,
                result.duration_s,
                sandbox.describe()["disk"],
            )

    sizes, flagged, status, duration, disk = run(scenario())
    assert max(sizes) <= 200 * MiB, f"the sandbox sees {sizes} bytes of disk ({disk})"
    assert disk.startswith("loop 128 MB")
    assert flagged and status == 137 and duration < 60
    assert host_free_bytes(docker_engine) > free_before - 256 * MiB


def test_a_memory_disk_keeps_the_root_read_only_and_caps_the_work_folder(
    base_image: str, fresh_run: str
) -> None:
    """The fallback when no loop disk can be made: nothing the sandbox writes reaches the
    host's disk."""

    async def scenario() -> tuple[str, bool, int, str]:
        box = spec(base_image, fresh_run, disk_mb=64, disk_quota="memory", memory_mb=512)
        async with DockerSandbox(box) as sandbox:
            root = await sandbox.exec(["sh", "-c", "echo x > /etc/x"], user="root")
            fill = await sandbox.exec(
                ["sh", "-c", "dd if=/dev/zero of=/home/x bs=1M count=1000; sleep 120"],
                timeout=300,
                user="root",
            )
            return root.stderr, fill.disk_limit_exceeded, fill.exit_code, sandbox.describe()["disk"]

    root, flagged, status, disk = run(scenario())
    assert "Read-only file system" in root
    assert flagged and status == 137, "the disk filled up and the command was stopped"
    assert disk == "memory 64 MB (asked for in the spec)"
