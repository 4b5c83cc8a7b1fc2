"""The Docker backend as the engine sees it: the hardening is applied, every container and
volume is labelled, a missing image is one clear line, and nothing outlives ``close``."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from paperbench.errors import ImageMissingError
from paperbench.sandbox import DockerSandbox
from paperbench.sandbox.docker_config import KEPT_CAPABILITIES
from paperbench.sandbox.errors import SandboxGoneError, UnknownUserError
from paperbench.sandbox.hostview import HostView
from paperbench.sandbox.labels import CREATED_AT, MANAGED, RUN_ID, STAGE
from tests.support.sandbox import ALIVE_SCRIPT, leftovers, run, spec

pytestmark = pytest.mark.docker


def test_the_running_container_is_hardened(
    docker_engine: docker.DockerClient, base_image: str, fresh_run: str
) -> None:
    async def scenario() -> dict[str, object]:
        async with DockerSandbox(spec(base_image, fresh_run, cpus=1.5)) as sandbox:
            assert sandbox.container_id is not None
            return dict(docker_engine.api.inspect_container(sandbox.container_id))

    info = run(scenario())
    host = info["HostConfig"]
    assert isinstance(host, dict)
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == sorted(KEPT_CAPABILITIES)
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["PidsLimit"] == 256
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
    assert host["Privileged"] is False
    assert host["NanoCpus"] == 1_500_000_000
    assert host["LogConfig"]["Type"] == "none", "a root process could grow the log on the host"
    mounts = info["Mounts"]
    assert isinstance(mounts, list) and len(mounts) == 1
    assert mounts[0]["Type"] == "volume" and mounts[0]["Destination"] == "/home"


def test_container_and_volume_carry_the_run_labels(
    docker_engine: docker.DockerClient, base_image: str, fresh_run: str
) -> None:
    async def scenario() -> list[dict[str, str]]:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            assert sandbox.container_id is not None
            container = docker_engine.api.inspect_container(sandbox.container_id)
            volume = docker_engine.api.inspect_volume(sandbox.volume)
            return [container["Config"]["Labels"], volume["Labels"]]

    for labels in run(scenario()):
        assert labels[MANAGED] == "true" and labels[RUN_ID] == fresh_run
        assert labels[STAGE] == "test" and labels[CREATED_AT].endswith("+00:00")


def test_no_docker_socket_and_no_host_paths_are_visible(base_image: str, fresh_run: str) -> None:
    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            script = "ls /var/run/docker.sock /run/docker.sock 2>&1; cat /proc/self/mountinfo"
            return (await sandbox.exec(["sh", "-c", script])).stdout

    output = run(scenario())
    assert "No such file" in output and "docker.sock " not in output
    assert "/work/main" not in output


def test_root_keeps_only_the_listed_capabilities(base_image: str, fresh_run: str) -> None:
    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            return (await sandbox.exec(["grep", "CapEff", "/proc/self/status"])).stdout

    effective = int(run(scenario()).split()[1], 16)
    bits = {"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "SETGID": 6, "SETUID": 7}
    assert effective == sum(1 << bits[name] for name in KEPT_CAPABILITIES)


def test_a_missing_image_is_one_line_saying_how_to_build_it(
    docker_engine: docker.DockerClient, fresh_run: str
) -> None:
    sandbox = DockerSandbox(spec("paperbench/never-built:1", fresh_run))
    with pytest.raises(ImageMissingError) as caught:
        run(sandbox.start())
    assert "paperbench images build" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unknown_spec_user_fails_at_start_and_leaves_nothing(
    base_image: str, fresh_run: str
) -> None:
    with pytest.raises(UnknownUserError, match="ghost"):
        run(DockerSandbox(spec(base_image, fresh_run, user="ghost")).start())


def test_an_exception_inside_the_block_still_removes_the_sandbox(
    docker_engine: docker.DockerClient, base_image: str, fresh_run: str
) -> None:
    async def scenario() -> None:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            await sandbox.exec(["true"])
            assert len(leftovers(docker_engine, fresh_run)) == 2
            raise RuntimeError("the agent crashed")

    with pytest.raises(RuntimeError, match="the agent crashed"):
        run(scenario())


def test_close_is_idempotent_and_later_calls_say_the_sandbox_is_gone(
    base_image: str, fresh_run: str
) -> None:
    sandbox = DockerSandbox(spec(base_image, fresh_run))
    run(sandbox.start())
    run(sandbox.close())
    run(sandbox.close())
    with pytest.raises(SandboxGoneError, match="closed"):
        run(sandbox.exec(["true"]))


def test_a_container_removed_behind_our_back_is_reported_gone_and_closes_cleanly(
    docker_engine: docker.DockerClient, base_image: str, fresh_run: str
) -> None:
    sandbox = DockerSandbox(spec(base_image, fresh_run))
    run(sandbox.start())
    assert sandbox.container_id is not None
    docker_engine.api.remove_container(sandbox.container_id, force=True)
    with pytest.raises(SandboxGoneError, match="gone"):
        run(sandbox.exec(["true"]))
    run(sandbox.close())


def test_cancelling_an_exec_kills_its_command(base_image: str, fresh_run: str) -> None:
    import asyncio

    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            task = asyncio.create_task(
                sandbox.exec(["sh", "-c", "echo $$ > long.pid; exec sleep 300"])
            )
            while not (await sandbox.exec(["test", "-s", "long.pid"])).success:
                pass
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            alive = "p=$(cat long.pid); while [ -d /proc/$p ]; do :; done; echo gone"
            return (await sandbox.exec(["sh", "-c", alive], timeout=10)).stdout

    assert run(scenario()) == "gone\n"


def test_a_start_failure_is_explained_even_when_docker_loses_the_reason(
    base_image: str, fresh_run: str
) -> None:
    """Docker sometimes ends an exec it could not start (exit 126, pid 0) with no message at
    all; the backend then asks the sandbox itself what was wrong."""

    async def scenario() -> None:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            ghost = sandbox._request(
                ["id"], input=None, cwd=None, env=None, user="ghost", timeout=None
            )
            with pytest.raises(UnknownUserError, match="ghost"):
                sandbox._raise_for_start_failure(b"", ghost)
            nowhere = sandbox._request(
                ["id"], input=None, cwd="nowhere", env=None, user=None, timeout=None
            )
            with pytest.raises(FileNotFoundError, match="nowhere"):
                sandbox._raise_for_start_failure(b"", nowhere)

    run(scenario())


def test_a_bridge_network_is_given_only_when_asked_for(base_image: str, fresh_run: str) -> None:
    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run, network="bridge")) as sandbox:
            return (await sandbox.exec(["ls", "/sys/class/net"])).stdout

    assert run(scenario()).split() == ["eth0", "lo"]


def test_uploads_reach_a_read_only_container_through_its_volume(
    base_image: str, fresh_run: str, tmp_path: Path
) -> None:
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "paper.md").write_text("# Title\n")

    async def scenario() -> str:
        async with DockerSandbox(spec(base_image, fresh_run, read_only_root=True)) as sandbox:
            await sandbox.upload(tmp_path / "paper", "paper")
            return await sandbox.read_file("paper/paper.md")

    assert run(scenario()) == "# Title\n"


def test_on_this_machine_a_sandbox_gets_a_loop_disk_and_a_host_view(
    base_image: str, fresh_run: str
) -> None:
    """What the README's security section says is in force here and in CI: the harness is root
    on the engine's machine, so the strongest defences are chosen."""

    async def scenario() -> dict[str, str]:
        async with DockerSandbox(spec(base_image, fresh_run, disk_mb=256)) as sandbox:
            return sandbox.describe()

    described = run(scenario())
    assert (described["disk"], described["host_view"]) == ("loop 256 MB", "cgroup")


#: A process tree with a grandchild that left the session; each writes its pid file.
TREE = """
(sleep 300 & echo $! > grandchild.pid; wait) &
setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' &
wait
"""


@pytest.fixture
def no_host_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """As for a harness that is not root, or a remote engine: no cgroup seen from the host."""
    monkeypatch.setattr(HostView, "find", classmethod(lambda cls, *args: None))


def test_without_a_host_view_a_timeout_still_kills_the_tree_from_inside(
    no_host_view: None, base_image: str, fresh_run: str
) -> None:
    async def scenario() -> tuple[bool, str, str]:
        async with DockerSandbox(spec(base_image, fresh_run)) as sandbox:
            result = await sandbox.exec(["sh", "-c", TREE], timeout=1)
            alive = await sandbox.exec(["sh", "-c", ALIVE_SCRIPT])
            return result.timed_out, alive.stdout, sandbox.describe()["host_view"]

    assert run(scenario()) == (True, "", "none")


def test_without_a_host_view_an_oom_kill_is_still_reported(
    no_host_view: None, base_image: str, fresh_run: str
) -> None:
    async def scenario() -> tuple[int, bool]:
        async with DockerSandbox(spec(base_image, fresh_run, memory_mb=128)) as sandbox:
            hog = await sandbox.exec(["python3", "-c", "x = 'a' * (1 << 30)"], timeout=60)
            return hog.exit_code, hog.oom_killed

    assert run(scenario()) == (137, True)


def test_a_memory_disk_starts_with_the_images_own_work_folder(
    agent_image: str, fresh_run: str
) -> None:
    """A tmpfs volume starts empty; the image's /home (paper, submission...) is copied in."""

    async def scenario() -> list[str]:
        box = spec(agent_image, fresh_run, disk_quota="memory", disk_mb=64)
        async with DockerSandbox(box) as sandbox:
            return (await sandbox.exec(["ls", "/home"])).stdout.split()

    assert run(scenario()) == ["agent", "logs", "paper", "submission"]
