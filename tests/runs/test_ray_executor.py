"""`paperbench run --executor ray` on a real local Ray cluster: a head and two worker nodes with
the `docker` resource, in a loopback-only network namespace, each node driving the (shared)
Docker engine; replay agent, real reproduction, scripted judge.

One cluster serves the module; each test uses its own papers (ids starting ``ray-``) so that its
containers are told apart by their run label.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from paperbench.sandbox.cleanup import find_leftovers
from paperbench.sandbox.labels import sandbox_labels
from tests.support.llm_server import ScriptedLLMServer
from tests.support.paths import IN_CI
from tests.support.ray_cluster import (
    NamespacedRayCluster,
    containers_of,
    serve_in_namespace,
    wait_for_stage,
)
from tests.support.runs import (
    paperbench_process,
    replay_script,
    score_development_only,
    write_paper,
)
from tests.support.s3 import NAMESPACE_ENDPOINT, S3Server, in_namespace, moto_in_namespace

pytestmark = pytest.mark.docker

# Fields that say when or how long (``time``: the leaderboard's seconds per stage), and the
# prompt tokens the scripted judge reports as cached (the prefixes it saw before: they depend
# on the order in which concurrent runs call it).
VOLATILE = {
    "started_at",
    "finished_at",
    "created_at",
    "ended_at",
    "answered_at",
    "seconds",
    "wall_seconds",
    "working_seconds",
    "api_wait_seconds",
    "duration_seconds",
    "total_seconds",
    "agent_seconds",
    "reproduction_seconds",
    "grading_seconds",
    "generated_at",
    "time",
    "cached_input_tokens",
}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespacedRayCluster]:
    if importlib.util.find_spec("ray") is None:
        _unavailable("ray is not installed: pip install 'paperbench[ray]'")
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        _unavailable("the Ray cluster tests need root, unshare and nsenter (a network namespace)")
    home = tmp_path_factory.mktemp("ray-home")
    # The nodes reach the namespace's S3-compatible server (a URL run root) as a user's would:
    # through the standard AWS variables they were started with.
    s3_env = S3Server(NAMESPACE_ENDPOINT, "").env
    with NamespacedRayCluster(env={"PAPERBENCH_HOME": str(home), **s3_env}) as started:
        yield started


@pytest.fixture(scope="module")
def judge(cluster: NamespacedRayCluster) -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer(default=score_development_only)
    serve_in_namespace(cluster.netns, server.start)
    yield server
    server.stop()


def run_args(tmp_path: Path, judge: ScriptedLLMServer, papers: str, *extra: str) -> list[str]:
    return [
        "run",
        "--papers",
        papers,
        "--agent",
        "replay",
        "--papers-dir",
        str(tmp_path / "papers"),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--no-live",
        "--judge",
        f"openai-compatible/judge@{judge.openai_url}",
        "--judge-context-window",
        "32000",
        *extra,
    ]


def on_ray(cluster: NamespacedRayCluster, *args: str) -> list[str]:
    return [*args, "--executor", "ray", "--ray-address", cluster.address]


def finish(process: subprocess.Popen[str], status: int = 0) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == status, f"{out}\n{err}"
    return out


def stable(value: Any) -> Any:
    """``value`` without the fields that say when or how long."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(item) for item in value]
    return value


def outcome(run_dir: Path) -> dict[str, Any]:
    """What two runs of the same (paper, seed) must agree on, wherever they ran: the record,
    the graded tree, each stage's status and attempts, and the agent stage's fingerprint (the
    later stages' fingerprints include the captured archive's digest, which differs between any
    two captures by its files' times)."""
    stages = json.loads((run_dir / "state.json").read_text())["stages"]
    return {
        "record": stable(json.loads((run_dir / "run.json").read_text())),
        "tree": stable(json.loads((run_dir / "grading" / "graded_tree.json").read_text())),
        "stages": {name: (entry["status"], entry["attempts"]) for name, entry in stages.items()},
        "agent": stages["agent"]["fingerprint"],
    }


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_runs_spread_over_both_nodes_and_leave_what_the_local_executor_leaves(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    write_paper(tmp_path / "papers", "ray-toy-a", (2, 1, 1))
    write_paper(tmp_path / "papers", "ray-toy-b", (1, 1, 2))
    args = run_args(
        tmp_path,
        judge,
        "ray-toy-a,ray-toy-b",
        "--seeds",
        "2",
        "--no-cache",
        "--replay-script",
        str(replay_script(tmp_path)),
    )
    finish(cluster.paperbench(*args, "--concurrency", "2"))
    local = tmp_path / "runs-local"
    (tmp_path / "runs").rename(local)
    out = finish(cluster.paperbench(*on_ray(cluster, *args)))
    runs = tmp_path / "runs"

    nodes = {
        json.loads(path.read_text())["invocations"][0]["node"]
        for path in runs.rglob("provenance.json")
    }
    assert nodes == {"node-1", "node-2"}
    assert " on node-1" in out and " on node-2" in out
    assert files_under(runs) == files_under(local)
    run_dirs = sorted(path.parent.relative_to(runs) for path in runs.rglob("run.json"))
    assert len(run_dirs) == 4
    for run_dir in run_dirs:
        assert outcome(runs / run_dir) == outcome(local / run_dir)

    boards = []
    for folder in (local, runs):
        board_file = tmp_path / f"board-{folder.name}.json"
        process = paperbench_process(
            "leaderboard", str(folder), "--out", str(board_file), home=tmp_path / "home"
        )
        finish(process)
        boards.append(stable(json.loads(board_file.read_text())))
    assert boards[0] == boards[1]
    assert boards[1]["entries"][0]["score"]["mean"] == pytest.approx((0.5 + 0.25) / 2)

    # The local executor resumes the Ray executor's runs with nothing to redo: the nodes
    # computed every stage's inputs as this machine does.
    finish(cluster.paperbench(*args))
    for run_dir in run_dirs:
        assert outcome(runs / run_dir)["stages"] == {
            name: ("done", 1) for name in ("agent", "reproduction", "grading")
        }


def sleepy_run(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    paper: str,
    seconds: int = 60,
) -> tuple[list[str], Path]:
    """The arguments of a Ray run of ``paper`` whose reproduce.sh sleeps ``seconds``, and its
    run directory."""
    write_paper(tmp_path / "papers", paper, (1, 1, 1))
    script = replay_script(tmp_path, sleep_seconds=seconds)
    args = on_ray(cluster, *run_args(tmp_path, judge, paper, "--replay-script", str(script)))
    return args, tmp_path / "runs" / "replay" / paper / "seed-0"


def test_ctrl_c_cancels_the_task_which_removes_its_container_itself(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    args, run_dir = sleepy_run(tmp_path, cluster, judge, "ray-interrupted")
    run_id = "replay.ray-interrupted.seed0"
    driver = cluster.paperbench(*args)
    wait_for_stage(run_dir, "reproduction", driver, lambda: containers_of(docker_engine, run_id))
    driver.send_signal(signal.SIGINT)
    out = finish(driver, 130)

    assert "stopping 1 Ray tasks" in out
    assert "removed a leftover" not in out  # the task's own cleanup ran, not the pinned one
    assert containers_of(docker_engine, run_id) == []
    stages = json.loads((run_dir / "state.json").read_text())["stages"]
    assert stages["agent"]["status"] == "done"
    assert stages["reproduction"]["status"] == "running"


def test_sigterm_force_cancels_and_a_task_pinned_to_each_node_removes_the_container(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    args, run_dir = sleepy_run(tmp_path, cluster, judge, "ray-terminated")
    run_id = "replay.ray-terminated.seed0"
    driver = cluster.paperbench(*args)
    wait_for_stage(run_dir, "reproduction", driver, lambda: containers_of(docker_engine, run_id))
    driver.send_signal(signal.SIGTERM)
    out = finish(driver, 143)

    assert "removed a leftover container" in out and run_id in out
    assert containers_of(docker_engine, run_id) == []


def test_a_node_killed_mid_reproduction_fails_the_run_and_a_rerun_redoes_only_that_stage(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    args, run_dir = sleepy_run(tmp_path, cluster, judge, "ray-node-lost", seconds=10)
    run_id = "replay.ray-node-lost.seed0"
    driver = cluster.paperbench(*args)
    started = wait_for_stage(
        run_dir, "reproduction", driver, lambda: containers_of(docker_engine, run_id)
    )
    agent_record = run_dir / "agent" / "agent.json"
    agent_written = agent_record.stat().st_mtime_ns
    cluster.kill_node(started["node"])
    try:
        out = finish(driver, 1)
    finally:
        cluster.add_node(started["node"])

    assert "infrastructure_error" in out
    record = json.loads((run_dir / "run.json").read_text())
    [failure] = record["failures"]
    assert (failure["kind"], failure["stage"]) == ("infrastructure_error", "reproduction")
    assert f"Ray lost the run on node {started['node']}" in failure["reason"]
    assert containers_of(docker_engine, run_id) == []

    finish(cluster.paperbench(*args))
    stages = json.loads((run_dir / "state.json").read_text())["stages"]
    assert {name: entry["attempts"] for name, entry in stages.items()} == {
        "agent": 1,
        "reproduction": 2,
        "grading": 1,
    }
    assert agent_record.stat().st_mtime_ns == agent_written
    assert json.loads((run_dir / "run.json").read_text())["failures"] == []


def test_what_a_killed_driver_leaves_is_removed_before_the_next_run_resumes(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    """Ray ends a dead driver's tasks: their workers get SIGTERM and may or may not finish
    their cleanup before being killed (which of the container and its volume is still there
    varies); the next run removes whatever stayed before it resumes."""
    args, run_dir = sleepy_run(tmp_path, cluster, judge, "ray-driver-lost", seconds=8)
    run_id = "replay.ray-driver-lost.seed0"
    driver = cluster.paperbench(*args)
    wait_for_stage(run_dir, "reproduction", driver, lambda: containers_of(docker_engine, run_id))
    driver.kill()
    finish(driver, -signal.SIGKILL)

    out = finish(cluster.paperbench(*args))
    removals = [line for line in out.splitlines() if "removed a leftover" in line]
    assert all(line.endswith(f"({run_id})") for line in removals)
    assert find_leftovers(docker_engine, run_id) == []
    stages = json.loads((run_dir / "state.json").read_text())["stages"]
    assert {name: entry["attempts"] for name, entry in stages.items()} == {
        "agent": 1,
        "reproduction": 2,
        "grading": 1,
    }


def test_a_leftover_of_the_run_is_removed_on_its_node_before_the_run_starts(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    docker_engine: docker.DockerClient,
    reproducer_image: str,
    agent_image: str,
) -> None:
    run_id = "replay.ray-left-behind.seed0"
    planted = docker_engine.containers.create(
        reproducer_image,
        ["sleep", "600"],
        name=f"paperbench-{run_id}-planted-{os.getpid()}",
        labels=sandbox_labels(run_id, "reproduction"),
    )
    try:
        args, _ = sleepy_run(tmp_path, cluster, judge, "ray-left-behind", seconds=0)
        out = finish(cluster.paperbench(*args))
        assert f"removed a leftover container {planted.name} ({run_id})" in out
        assert out.index("removed a leftover") < out.index("ray-left-behind seed 0: agent")
        assert containers_of(docker_engine, run_id) == []
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            planted.remove(force=True)


def test_sandbox_cleanup_with_a_ray_address_removes_the_run_on_every_node(
    cluster: NamespacedRayCluster, docker_engine: docker.DockerClient, reproducer_image: str
) -> None:
    run_id = f"ray-cleanup-{os.getpid()}"
    planted = docker_engine.containers.create(
        reproducer_image,
        ["sleep", "600"],
        name=f"paperbench-{run_id}-planted",
        labels=sandbox_labels(run_id, "agent"),
    )
    try:
        command = ["sandbox", "cleanup", "--run", run_id, "--ray-address", cluster.address]
        out = finish(cluster.paperbench(*command))
        assert "node node-1: removed" in out and "node node-2: removed" in out
        assert f"container {planted.name} ({run_id})" in out
        assert containers_of(docker_engine, run_id) == []
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            planted.remove(force=True)


def test_a_key_the_nodes_lack_stops_the_command_in_one_line_before_any_run(
    tmp_path: Path, cluster: NamespacedRayCluster, judge: ScriptedLLMServer
) -> None:
    """The driver has the judge's key, the nodes do not: the driver never sends it, so each
    node's own check refuses, naming the node and the key."""
    write_paper(tmp_path / "papers", "ray-no-key", (1, 1, 1))
    script = str(replay_script(tmp_path))
    args = on_ray(cluster, *run_args(tmp_path, judge, "ray-no-key", "--replay-script", script))
    args[args.index("--judge") + 1] = "openai/gpt-4o"
    key = "sk-test-driver-only-0123456789abcdef"
    driver = cluster.paperbench(*args, env={"OPENAI_API_KEY": key})
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 2, out + err
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: node node-") and "OPENAI_API_KEY" in line
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def bucket_in_cluster(cluster: NamespacedRayCluster) -> Iterator[str]:
    """A bucket on a moto server inside the cluster's namespace."""
    process = moto_in_namespace(cluster.netns, cluster.environment())
    try:
        in_namespace(cluster.netns, cluster.environment(), "mkbucket", "pb-ray-runs")
        yield "pb-ray-runs"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_url_run_root_on_ray_is_written_by_the_nodes_and_resumed_from_the_bucket_alone(
    tmp_path: Path,
    cluster: NamespacedRayCluster,
    judge: ScriptedLLMServer,
    bucket_in_cluster: str,
    reproducer_image: str,
    agent_image: str,
) -> None:
    write_paper(tmp_path / "papers", "ray-toy-s3", (1, 1, 1))  # Code Development share 1/3
    env = cluster.environment()
    url = f"s3://{bucket_in_cluster}/runs"
    args = [
        *run_args(tmp_path, judge, "ray-toy-s3", "--replay-script", str(replay_script(tmp_path))),
        "--runs-dir",
        url,
    ]
    finish(cluster.paperbench(*on_ray(cluster, *args)))
    assert not (tmp_path / "runs").exists()
    first = tmp_path / "first"
    in_namespace(cluster.netns, env, "dump", bucket_in_cluster, "runs", str(first))
    run_dir = first / "replay" / "ray-toy-s3" / "seed-0"
    record = json.loads((run_dir / "run.json").read_text())
    assert record["failures"] == [] and record["score"] == pytest.approx(1 / 3)
    [invocation] = json.loads((run_dir / "provenance.json").read_text())["invocations"]
    assert invocation["node"] in {"node-1", "node-2"}
    assert outcome(run_dir)["stages"] == {
        name: ("done", 1) for name in ("agent", "reproduction", "grading")
    }

    # The local executor on this machine, with no staging left anywhere, redoes nothing.
    finish(cluster.paperbench(*args))
    again = tmp_path / "again"
    in_namespace(cluster.netns, env, "dump", bucket_in_cluster, "runs", str(again))
    resumed = again / "replay" / "ray-toy-s3" / "seed-0"
    assert outcome(resumed)["stages"] == outcome(run_dir)["stages"]
    assert len(json.loads((resumed / "provenance.json").read_text())["invocations"]) == 2
