"""What a sandbox costs over plain Docker: one create -> exec `true` -> destroy cycle through
our Docker backend against `docker run --rm IMAGE true` (the docker command line is the peer
here, on purpose), and the round trip of one `exec` in a running sandbox.

Targets (issue 3): our cycle at most 1.3x the plain `docker run`, a median exec under 50 ms.

    .venv/bin/python benchmarks/sandbox_overhead.py [--repetitions 20] [--image IMAGE]

The two cycles alternate, so drift in the machine's load hits both alike. Also printed: the
same peer with `--network none` (ours has no network, and a bridge costs the peer a veth pair),
where our cycle's time goes, and our cycle with each disk quota (`loop`: a sparse ext4 file
loop-mounted for the writable layer and work volume; `memory`: read-only root and tmpfs), also
alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from paperbench.sandbox import DockerSandbox, SandboxSpec
from paperbench.sandbox.images import BASE_IMAGE


async def our_cycle(spec: SandboxSpec) -> tuple[float, float, float, float]:
    """Seconds for the whole cycle, and for its start, exec and close parts."""
    started = time.perf_counter()
    sandbox = DockerSandbox(spec)
    await sandbox.start()
    up = time.perf_counter()
    try:
        (await sandbox.exec(["true"])).check()
    finally:
        ran = time.perf_counter()
        await sandbox.close()
    done = time.perf_counter()
    return done - started, up - started, ran - up, done - ran


def peer_cycle(image: str, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["docker", "run", "--rm", *extra, image, "true"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


async def exec_round_trips(spec: SandboxSpec, count: int) -> list[float]:
    async with DockerSandbox(spec) as sandbox:
        await sandbox.exec(["true"])
        times = []
        for _ in range(count):
            started = time.perf_counter()
            (await sandbox.exec(["true"])).check()
            times.append(time.perf_counter() - started)
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--execs", type=int, default=100)
    parser.add_argument("--image", default=BASE_IMAGE)
    args = parser.parse_args()
    spec = SandboxSpec(image=args.image, run_id="benchmark", stage="overhead")

    asyncio.run(our_cycle(spec))  # warm up: image metadata, engine caches, first imports
    peer_cycle(args.image)
    ours: list[tuple[float, float, float, float]] = []
    peer: list[float] = []
    peer_none: list[float] = []
    for _ in range(args.repetitions):
        ours.append(asyncio.run(our_cycle(spec)))
        peer.append(peer_cycle(args.image))
        peer_none.append(peer_cycle(args.image, "--network", "none"))
    execs = asyncio.run(exec_round_trips(spec, args.execs))
    disks: dict[str, list[float]] = {"loop": [], "memory": []}
    for _ in range(args.repetitions):
        for mode, times in disks.items():
            quota = spec.model_copy(update={"disk_quota": mode})
            times.append(asyncio.run(our_cycle(quota))[0])

    ours_total = statistics.median(cycle[0] for cycle in ours)
    peer_total = statistics.median(peer)
    peer_none_total = statistics.median(peer_none)
    parts = " / ".join(ms(statistics.median(c[i] for c in ours)).strip() for i in (1, 2, 3))
    ratio = ours_total / peer_total
    exec_median = statistics.median(execs)
    p90 = statistics.quantiles(execs, n=10)[-1]
    print(f"image {args.image}, {args.repetitions} cycles each, {args.execs} execs")
    print(f"our create -> exec true -> destroy     median {ms(ours_total)}")
    print(f"  of which start / exec / close        {parts}")
    print(f"docker run --rm IMAGE true             median {ms(peer_total)}")
    print(f"docker run --rm --network none IMAGE   median {ms(peer_none_total)}")
    print(f"ratio ours / docker run                {ratio:.2f}", verdict(ratio <= 1.3, "<= 1.30"))
    print(f"ratio ours / docker run --network none {ours_total / peer_none_total:.2f}")
    print(f"exec round trip (true)                 median {ms(exec_median)}, p90 {ms(p90)}")
    print(" " * 39, verdict(exec_median < 0.05, "median < 50 ms"))
    loop, memory = (statistics.median(disks[mode]) for mode in ("loop", "memory"))
    print(f"our cycle with a loop disk              median {ms(loop)}")
    print(f"our cycle with a memory disk            median {ms(memory)}")
    print(f"ratio loop / memory                    {loop / memory:.2f}")


def verdict(met: bool, target: str) -> str:
    return f"(target {target}: {'met' if met else 'MISSED'})"


if __name__ == "__main__":
    main()
