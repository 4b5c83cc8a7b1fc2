"""A real local Ray cluster for the tests: a head and two worker nodes, each worker advertising
the ``docker`` resource, in a network namespace that has only loopback.

Ray advertises the machine's external address even when told 127.0.0.1; in a namespace whose
only interface is ``lo`` it has nothing else to advertise, so the cluster's traffic stays on this
machine. Everything that talks to the cluster goes into the same namespace: the drivers
(``nsenter --net``), and the scripted judge, whose listening socket is opened by a thread that
joined the namespace (:func:`serve_in_namespace`). The Docker engine is reached through its unix
socket, which no network namespace hides.

The cluster lives in a process of its own (``python -m tests.support.ray_cluster``), driven by
one-line commands on its stdin: ``kill NAME`` (the node dies as a machine would: its processes
get SIGKILL, no cleanup), ``add NAME``, ``quit``. Needs root (``unshare -n``); every Ray file
goes under a temporary folder that is removed at the end.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.support.paths import REPO_ROOT

CLONE_NEWNET = 0x40000000
MODEL_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
NODE_CPUS = 2
NODE_SANDBOXES = 2
#: Node death noticed in about 2 s instead of Ray's default 30.
FAST_HEALTH_CHECKS = {
    "health_check_initial_delay_ms": 1000,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 4,
}


class NamespacedRayCluster:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager)."""

    def __init__(self, env: dict[str, str] | None = None, sandboxes: int = NODE_SANDBOXES) -> None:
        """``sandboxes``: the ``docker`` resource each worker node advertises."""
        self.env = dict(env or {})
        self.sandboxes = sandboxes
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.nodes: list[str] = []
        self.temp = Path(tempfile.mkdtemp(prefix="pbray-", dir="/tmp"))

    def environment(self) -> dict[str, str]:
        """What every process of the cluster and every driver runs with: this process's
        environment without model keys (a test that needs one passes it)."""
        inherited = {k: v for k, v in os.environ.items() if k not in MODEL_KEYS}
        return {
            **inherited,
            "PYTHONPATH": str(REPO_ROOT),
            "RAY_TMPDIR": str(self.temp),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **self.env,
        }

    def start(self) -> NamespacedRayCluster:
        (self.temp / "ray").mkdir()
        script = (
            f"ip link set lo up && exec {sys.executable} -m tests.support.ray_cluster "
            f"{self.sandboxes}"
        )
        self.process = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", script],
            cwd=REPO_ROOT,
            env=self.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.temp / "cluster.log", "w"),  # noqa: SIM115 (closed with the process)
            text=True,
        )
        started = self._reply()
        self.address, self.nodes = started["address"], started["nodes"]
        return self

    def _reply(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            log = (self.temp / "cluster.log").read_text(errors="replace")
            raise RuntimeError(f"the test Ray cluster ended: {log[-3000:]}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def command(self, text: str) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._reply()

    def kill_node(self, name: str) -> None:
        self.command(f"kill {name}")

    def add_node(self, name: str) -> None:
        self.command(f"add {name}")

    @property
    def netns(self) -> str:
        assert self.process is not None
        return f"/proc/{self.process.pid}/ns/net"

    def paperbench(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """``paperbench ARGS`` as a driver inside the cluster's namespace, in its own session."""
        return subprocess.Popen(
            ["nsenter", f"--net={self.netns}", sys.executable, "-m", "paperbench", *args],
            cwd=REPO_ROOT,
            env={**self.environment(), **(env or {})},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process is not None:
            try:
                self.command("quit")
                self.process.wait(timeout=60)
            except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError):
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.temp, ignore_errors=True)

    def __enter__(self) -> NamespacedRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_namespace(netns: str, start: Any) -> None:
    """Call ``start()`` (which opens a listening socket) in a thread that joined the network
    namespace ``netns``: the socket belongs to that namespace's loopback."""
    failure: list[BaseException] = []

    def enter_and_start() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            descriptor = os.open(netns, os.O_RDONLY)
            try:
                if libc.setns(descriptor, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns}")
            finally:
                os.close(descriptor)
            start()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=enter_and_start)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _cluster_main(sandboxes: int) -> None:
    """The cluster process: start, then obey stdin until ``quit`` or its end."""
    from ray.cluster_utils import Cluster

    head = {
        "num_cpus": 1,
        "include_dashboard": False,
        "_system_config": FAST_HEALTH_CHECKS,
    }
    cluster = Cluster(initialize_head=True, head_node_args=head)
    nodes: dict[str, Any] = {}

    def add(name: str) -> None:
        nodes[name] = cluster.add_node(
            num_cpus=NODE_CPUS, resources={"docker": sandboxes}, node_name=name
        )

    try:
        for name in ("node-1", "node-2"):
            add(name)
        cluster.wait_for_nodes()
        print(json.dumps({"address": cluster.address, "nodes": list(nodes)}), flush=True)
        for line in sys.stdin:
            verb, _, name = line.strip().partition(" ")
            if verb == "kill":
                cluster.remove_node(nodes.pop(name), allow_graceful=False)
            elif verb == "add":
                add(name)
                cluster.wait_for_nodes()
            elif verb == "quit":
                print(json.dumps({"done": True}), flush=True)
                break
            print(json.dumps({"done": line.strip()}), flush=True)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    _cluster_main(int(sys.argv[1]) if len(sys.argv) > 1 else NODE_SANDBOXES)


def containers_of(engine: Any, run_id: str) -> list[str]:
    """The names of the containers (running or not) labelled with ``run_id``, in one call to
    the engine (listing, then inspecting each, fails on one removed in between)."""
    from paperbench.sandbox.labels import RUN_ID

    found = engine.api.containers(all=True, filters={"label": f"{RUN_ID}={run_id}"})
    return [str(container["Names"][0]).lstrip("/") for container in found]


def wait_for_stage(
    run_dir: Path,
    stage: str,
    process: subprocess.Popen[str],
    ready: Any = lambda: True,
    timeout: float = 300,
) -> dict[str, Any]:
    """Wait until ``state.json`` of ``run_dir`` says ``stage`` is running and ``ready()`` holds;
    the run's provenance (which names its node). Fails when ``process`` ends first."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = run_dir / "state.json"
        if state.is_file():
            entry = json.loads(state.read_text()).get("stages", {}).get(stage, {})
            if entry.get("status") == "running" and ready():
                invocations = json.loads((run_dir / "provenance.json").read_text())
                last: dict[str, Any] = invocations["invocations"][-1]
                return last
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the run ended before its {stage} stage:\n{out}\n{err}")
        time.sleep(0.2)
    raise AssertionError(f"the run never reached its {stage} stage")
