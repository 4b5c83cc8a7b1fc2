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
from dataclasses import dataclass
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


@dataclass
class Figures:
    """Wall seconds of a small and a large batch of fresh runs under one configuration."""

    label: str
    small: float
    large: float
    cluster_start: float | None = None

    def per_run(self, small_runs: int, large_runs: int) -> float:
        """Wall seconds each extra run adds: the slope between the two batches, which leaves
        out what every command pays once (starting, connecting, checking nodes, cleaning)."""
        return (self.large - self.small) / (large_runs - small_runs)

    def fixed(self, small_runs: int, large_runs: int) -> float:
        return self.small - small_runs * self.per_run(small_runs, large_runs)


def batches(
    ns: NamespacedRayCluster, scratch: Path, name: str, seeds: tuple[int, int], extra: list[str]
) -> tuple[float, float]:
    judge = ScriptedLLMServer(default=score_development_only)
    serve_in_namespace(ns.netns, judge.start)
    try:
        # One run first, not measured: a fresh cluster's first command starts its workers
        # cold, which a long-lived cluster pays once, not per command.
        warm = run_args(scratch, f"{name}-warm", 1, judge)
        warm[warm.index("--papers") + 1] = PAPERS[0]
        timed_run(ns, [*warm, *extra])
        small = timed_run(ns, [*run_args(scratch, f"{name}-small", seeds[0], judge), *extra])
        large = timed_run(ns, [*run_args(scratch, name, seeds[1], judge), *extra])
    finally:
        judge.stop()
    return small, large


def on_cluster(sandboxes: int, scratch: Path, seeds: tuple[int, int], name: str) -> Figures:
    started = time.monotonic()
    env = {"PAPERBENCH_HOME": str(scratch / f"home-{name}")}
    with NamespacedRayCluster(env=env, sandboxes=sandboxes) as cluster:
        up = time.monotonic() - started
        extra = ["--executor", "ray", "--ray-address", cluster.address]
        small, large = batches(cluster, scratch, name, seeds, extra)
    label = f"ray, 2 nodes x {sandboxes} sandbox{'es' if sandboxes > 1 else ''}"
    return Figures(label, small, large, up)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per paper (4 papers)")
    parser.add_argument("--small-seeds", type=int, default=2, help="seeds of the small batch")
    options = parser.parse_args()
    seeds = (options.small_seeds, options.seeds)
    small_runs, runs = len(PAPERS) * seeds[0], len(PAPERS) * seeds[1]
    with tempfile.TemporaryDirectory(prefix="pb-ray-bench-") as folder:
        scratch = Path(folder)
        for paper in PAPERS:
            write_paper(scratch / "papers", paper, (1, 1, 1))
        # The local executor runs in the same namespace as the clusters, with its own judge.
        with NamespacedRayCluster(env={"PAPERBENCH_HOME": str(scratch / "home-local")}) as ns:
            local = Figures(
                "local, --concurrency 2",
                *batches(ns, scratch, "local", seeds, ["--concurrency", "2"]),
            )
        ray_1 = on_cluster(1, scratch, seeds, "ray-2x1")
        ray_2 = on_cluster(2, scratch, seeds, "ray-2x2")
        names = ("local", "ray-2x1", "ray-2x2")
        problems = {
            name: failed(scratch / name) + failed(scratch / f"{name}-small") for name in names
        }
        leftovers = [
            container
            for container in docker.from_env().api.containers(
                all=True, filters={"label": f"{MANAGED}=true"}
            )
            if (container.get("Labels") or {}).get(RUN_ID, "").startswith("replay.bench-")
        ]
    print(
        f"replay agent, Docker reproduction, scripted judge; fresh runs; "
        f"batches of {small_runs} and {runs} runs"
    )
    print(f"  {'':28s} {runs} runs     per run (slope)   once per command")
    for row in (local, ray_1, ray_2):
        note = "" if row.cluster_start is None else f"   (cluster start {row.cluster_start:.1f} s)"
        print(
            f"  {row.label:28s} {row.large:7.1f} s   {row.per_run(small_runs, runs):6.2f} s"
            f"          {row.fixed(small_runs, runs):6.1f} s{note}"
        )
    slots = 2
    added = (ray_1.per_run(small_runs, runs) - local.per_run(small_runs, runs)) * slots
    print(
        f"Ray's overhead per run at equal concurrency ({slots} at once): {added:+.2f} s of a "
        f"slot's time (target <= 0.5 s); once per command: "
        f"{ray_1.fixed(small_runs, runs) - local.fixed(small_runs, runs):+.1f} s"
    )
    print(
        f"{runs} runs: ray/local wall time {ray_1.large / local.large:.2f} at equal concurrency, "
        f"{ray_2.large / local.large:.2f} with 4 sandboxes on this 2-core machine"
    )
    print(f"paperbench containers left afterwards: {len(leftovers)}")
    for name in names:
        for line in problems[name]:
            print(f"  failed run ({name}): {line}")


if __name__ == "__main__":
    main()
