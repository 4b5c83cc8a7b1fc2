"""What Ray costs a run: the same short runs with ``--executor local --concurrency 2`` and on a
2-node Ray cluster, in one invocation of this script.

The runs are the replay agent (writes a two-line reproduce.sh), a real reproduction in Docker
and the scripted judge on loopback, so a run is a few seconds of containers and almost no
model time: what is left to compare is the harness and the executor. The cluster is a head and
two worker nodes on this machine (``tests/support/ray_cluster.py``), in a network namespace with
only loopback; every driver runs in that namespace. Each Ray invocation includes connecting, the
node checks and the final cleanup; the cluster's own start is printed apart.

Figures:

* wall time of each configuration, from the driver's start to its exit;
* Ray's overhead per run: with the cluster holding as many sandboxes as the local executor runs
  at once (2 nodes x 1), (Ray's wall time - local wall time) x 2 / runs, the time each of the
  two slots spent per run beyond what the local executor spent;
* the same runs with 2 sandboxes per node (4 at once), for the speed-up the extra slots give
  on this 2-core machine.

    .venv/bin/python benchmarks/ray_executor.py                 # 40 runs (4 papers x 10 seeds)
    .venv/bin/python benchmarks/ray_executor.py --seeds 2       # 8 runs, a quick look

Needs root (``unshare -n``), ray (``pip install 'paperbench[ray]'``), the images built.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docker

from paperbench.sandbox.labels import MANAGED, RUN_ID
from tests.support.llm_server import ScriptedLLMServer
from tests.support.ray_cluster import NamespacedRayCluster, serve_in_namespace
from tests.support.runs import replay_script, score_development_only, write_paper

PAPERS = ("bench-a", "bench-b", "bench-c", "bench-d")


def timed_run(cluster: NamespacedRayCluster, args: list[str]) -> float:
    """Wall seconds of ``paperbench ARGS``; exit 1 (some run failed) is counted, not fatal."""
    started = time.monotonic()
    process = cluster.paperbench(*args)
    out, err = process.communicate(timeout=3600)
    seconds = time.monotonic() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"paperbench {' '.join(args)} exited {process.returncode}:\n{out}\n{err}")
    return seconds


def failed(runs_dir: Path) -> list[str]:
    """The failures the runs under ``runs_dir`` recorded, as ``paper seed: kind: reason``."""
    found = []
    for path in sorted(runs_dir.rglob("run.json")):
        record = json.loads(path.read_text())
        for failure in record["failures"]:
            found.append(
                f"{record['paper_id']} seed {record['seed']}: {failure['kind']}: "
                f"{failure['reason'][:100]}"
            )
    return found


def run_args(scratch: Path, name: str, seeds: int, judge: ScriptedLLMServer) -> list[str]:
    return [
        "run",
        "--papers",
        ",".join(PAPERS),
        "--seeds",
        str(seeds),
        "--agent",
        "replay",
        "--replay-script",
        str(replay_script(scratch)),
        "--papers-dir",
        str(scratch / "papers"),
        "--runs-dir",
        str(scratch / name),
        "--no-live",
        "--no-cache",
        "--judge",
        f"openai-compatible/judge@{judge.openai_url}",
        "--judge-context-window",
        "32000",
    ]


def on_cluster(sandboxes: int, scratch: Path, seeds: int, name: str) -> tuple[float, float]:
    """(cluster start seconds, run wall seconds) on a fresh cluster of 2 x ``sandboxes``."""
    started = time.monotonic()
    with NamespacedRayCluster(
        env={"PAPERBENCH_HOME": str(scratch / f"home-{name}")}, sandboxes=sandboxes
    ) as cluster:
        up = time.monotonic() - started
        judge = ScriptedLLMServer(default=score_development_only)
        serve_in_namespace(cluster.netns, judge.start)
        try:
            args = run_args(scratch, name, seeds, judge)
            wall = timed_run(
                cluster, [*args, "--executor", "ray", "--ray-address", cluster.address]
            )
        finally:
            judge.stop()
    return up, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per paper (4 papers)")
    options = parser.parse_args()
    runs = len(PAPERS) * options.seeds
    with tempfile.TemporaryDirectory(prefix="pb-ray-bench-") as folder:
        scratch = Path(folder)
        for paper in PAPERS:
            write_paper(scratch / "papers", paper, (1, 1, 1))
        # The local executor runs in the same namespace as the clusters, with its own judge.
        with NamespacedRayCluster(env={"PAPERBENCH_HOME": str(scratch / "home-local")}) as ns:
            judge = ScriptedLLMServer(default=score_development_only)
            serve_in_namespace(ns.netns, judge.start)
            try:
                local = timed_run(
                    ns, [*run_args(scratch, "local", options.seeds, judge), "--concurrency", "2"]
                )
            finally:
                judge.stop()
        up_1, ray_1 = on_cluster(1, scratch, options.seeds, "ray-2x1")
        up_2, ray_2 = on_cluster(2, scratch, options.seeds, "ray-2x2")
        problems = {name: failed(scratch / name) for name in ("local", "ray-2x1", "ray-2x2")}
        leftovers = [
            container
            for container in docker.from_env().containers.list(
                all=True, filters={"label": f"{MANAGED}=true"}
            )
            if container.labels.get(RUN_ID, "").startswith("replay.bench-")
        ]
    print(f"{runs} runs (replay agent, Docker reproduction, scripted judge), wall time:")
    print(f"  local, --concurrency 2          {local:8.1f} s   {local / runs:6.2f} s/run")
    print(
        f"  ray, 2 nodes x 1 sandbox        {ray_1:8.1f} s   {ray_1 / runs:6.2f} s/run"
        f"   (cluster start {up_1:.1f} s, not counted)"
    )
    print(
        f"  ray, 2 nodes x 2 sandboxes      {ray_2:8.1f} s   {ray_2 / runs:6.2f} s/run"
        f"   (cluster start {up_2:.1f} s, not counted)"
    )
    overhead = (ray_1 - local) * 2 / runs
    print(
        f"Ray's overhead per run at equal concurrency (2): {overhead:+.2f} s "
        f"(target <= 0.5 s); ratio ray/local {ray_1 / local:.2f}"
    )
    print(f"4 sandboxes instead of 2 on this 2-core machine: {ray_1 / ray_2:.2f}x faster")
    print(f"paperbench containers left afterwards: {len(leftovers)}")
    for name in ("local", "ray-2x1", "ray-2x2"):
        for line in problems[name]:
            print(f"  failed run ({name}): {line}")


if __name__ == "__main__":
    main()
