"""The model gateway's overhead: a call through the gateway against the same call made directly
to the scripted server, measured in one run.

Three processes on loopback: the scripted LLM server (``tests/support/llm_server.py``), a gateway
serving one run (this file with ``--serve``: token check, translation, our provider layer with
the ``openai`` SDK, metering, a transcript line per event, exactly as a run does), and the client
here, which keeps its connections open as the SDKs do. Latency: calls one at a time, alternating
direct and through the gateway so both see the same machine; the figure is the difference of
the medians and of the 99th percentiles. Throughput: as many calls as possible through the
gateway for ``--seconds`` with ``--concurrency`` in flight, beside the same load sent directly.

    .venv/bin/python benchmarks/gateway.py
    .venv/bin/python benchmarks/gateway.py --calls 1000 --concurrency 32 --seconds 10

Targets (issue #15): at most 5 ms added at the median, at least 200 calls/s sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, threading
sys.path.insert(0, sys.argv[2])
from tests.support.llm_server import Reply, ScriptedLLMServer
server = ScriptedLLMServer(default=Reply(content="ok, done."), keep_bodies=False).start()
open(sys.argv[1], "w").write(server.url)
threading.Event().wait()
"""
BODY = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "You are a test agent."},
        {"role": "user", "content": "Replicate the paper. " * 20},
    ],
    "max_tokens": 64,
}


async def serve(upstream: str, address_file: Path) -> None:
    """The gateway process: one run's gateway in front of ``upstream``."""
    from paperbench.agents.clock import RunClock
    from paperbench.agents.protocol import AgentLimits
    from paperbench.agents.transcript import Transcript
    from paperbench.gateway import GatewaySession, ModelGateway
    from paperbench.llm import open_provider, parse_model_name

    spec = parse_model_name(f"openai-compatible/scripted@{upstream}/v1", context_window=16000)
    clock = RunClock()
    clock.start()
    with tempfile.TemporaryDirectory() as scratch:
        transcript = Transcript(Path(scratch) / "transcript.jsonl", clock)
        async with open_provider(spec) as provider:
            gateway = ModelGateway()
            await gateway.start("127.0.0.1")
            gateway.arm(GatewaySession(provider, AgentLimits(), clock, transcript))
            address_file.write_text(json.dumps({"url": gateway.url, "token": gateway.token}))
            await asyncio.Event().wait()


def wait_for(path: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while not path.exists() or not path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"a benchmark process did not start (exit {process.poll()})")
        time.sleep(0.05)
    return path.read_text()


async def call(client: aiohttp.ClientSession, url: str, token: str) -> float:
    started = time.perf_counter()
    async with client.post(
        f"{url}/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {token}"}
    ) as response:
        await response.read()
        if response.status != 200:
            raise SystemExit(f"call failed: HTTP {response.status}")
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def latency(direct: str, gateway: str, token: str, calls: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as client:
        for _ in range(20):  # warm both paths: connections, the SDK, the tokenizer
            await call(client, direct, "x")
            await call(client, gateway, token)
        plain, through = [], []
        for _ in range(calls):
            plain.append(await call(client, direct, "x"))
            through.append(await call(client, gateway, token))
    return {
        "direct_p50_ms": statistics.median(plain),
        "direct_p99_ms": percentile(plain, 0.99),
        "gateway_p50_ms": statistics.median(through),
        "gateway_p99_ms": percentile(through, 0.99),
        "added_p50_ms": statistics.median(through) - statistics.median(plain),
        "added_p99_ms": percentile(through, 0.99) - percentile(plain, 0.99),
    }


async def throughput(url: str, token: str, concurrency: int, seconds: float) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.monotonic() < stop:
            await call(client, url, token)
            done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return done / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per path")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--address-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.address_file))
        return
    with tempfile.TemporaryDirectory() as scratch:
        server_file, gateway_file = Path(scratch) / "server", Path(scratch) / "gateway"
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(server_file), str(ROOT)])
        gateway = None
        try:
            upstream = wait_for(server_file, server)
            gateway = subprocess.Popen(
                [sys.executable, __file__, "--serve", upstream, "--address-file", str(gateway_file)]
            )
            served = json.loads(wait_for(gateway_file, gateway))
            figures = asyncio.run(latency(upstream, served["url"], served["token"], args.calls))
            figures["direct_calls_per_s"] = asyncio.run(
                throughput(upstream, "x", args.concurrency, args.seconds)
            )
            figures["gateway_calls_per_s"] = asyncio.run(
                throughput(served["url"], served["token"], args.concurrency, args.seconds)
            )
        finally:
            for process in (gateway, server):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)
    print(f"calls: {args.calls} one at a time per path; {args.concurrency} in flight for load")
    for name, value in figures.items():
        print(f"{name:>22}: {value:8.2f}")
    ratio = figures["gateway_calls_per_s"] / figures["direct_calls_per_s"]
    print(f"{'gateway/direct rate':>22}: {ratio:8.2f}")
    met = figures["added_p50_ms"] <= 5 and figures["gateway_calls_per_s"] >= 200
    print(f"targets (<= 5 ms added at p50, >= 200 calls/s): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
