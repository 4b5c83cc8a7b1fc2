"""The harness's own overhead on the demo: total wall time of a run minus the time spent inside
the agent, inside the reproduction script and inside judge calls.

What is left is ours: starting and removing sandboxes, uploading the paper, capturing and
hashing the submission, checking archives, building prompts, writing records. Each repetition
starts from an empty runs folder, so nothing is resumed or cached (the judge cache is pointed at
a fresh file too).

    .venv/bin/python benchmarks/run_overhead.py                  # scripted judge on loopback
    .venv/bin/python benchmarks/run_overhead.py --judge local/smollm2 --repeat 1

With the scripted judge the judge time is near zero and the figure isolates our overhead; with
the local model it is the demo exactly as the README runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperbench.agents.options import AgentOptions
from paperbench.grading.options import JudgeOptions
from paperbench.papers import PaperRegistry
from paperbench.runs.orchestrator import Orchestrator
from paperbench.runs.settings import RunOptions, RunSettings
from paperbench.sandbox.docker_backend import DockerSandbox
from tests.support.llm_server import ScriptedLLMServer, schema_responder


def one_run(paper: str, judge: str, context_window: int | None) -> dict[str, float]:
    bundle = PaperRegistry(include_imported=False).get(paper)
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["PAPERBENCH_HOME"] = scratch
        settings = RunSettings(
            run=RunOptions(papers=[paper], runs_dir=Path(scratch) / "runs"),
            agent=AgentOptions(agent="reference"),
            judge=JudgeOptions(
                judge=judge, judge_context_window=context_window, judge_concurrency=1
            ),
        )
        orchestrator = Orchestrator(settings, [bundle], DockerSandbox)
        started = time.monotonic()
        [record] = asyncio.run(orchestrator.run_all())
        total = time.monotonic() - started
        run_dir = orchestrator.statuses[0].paths.root
        ledger = (run_dir / "grading" / "ledger.jsonl").read_text().splitlines()
        judge_seconds = sum(json.loads(line)["seconds"] for line in ledger if line.strip())
        grading = json.loads((run_dir / "grading" / "summary.json").read_text())
    inside = record.agent_seconds + record.reproduction_seconds + judge_seconds
    return {
        "total": total,
        "agent": record.agent_seconds,
        "reproduction_script": record.reproduction_seconds,
        "judge_calls": judge_seconds,
        "grading_stage": grading["seconds"],
        "overhead": total - inside,
        "calls": float(len(ledger)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", default="label-smoothing-calibration")
    parser.add_argument("--judge", default=None, help="default: a scripted judge on loopback")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    if args.judge is None:
        with ScriptedLLMServer(default=schema_responder(score=1)) as server:
            judge = f"openai-compatible/judge@{server.openai_url}"
            rows = [one_run(args.paper, judge, 32000) for _ in range(args.repeat)]
        label = "scripted judge (loopback)"
    else:
        rows = [one_run(args.paper, args.judge, None) for _ in range(args.repeat)]
        label = args.judge
    print(f"paper {args.paper}, reference agent, judge {label}, {args.repeat} cold runs")
    for key in (
        "total",
        "agent",
        "reproduction_script",
        "judge_calls",
        "grading_stage",
        "overhead",
        "calls",
    ):
        values = [row[key] for row in rows]
        print(
            f"  {key:20s} median {statistics.median(values):8.2f}   "
            f"runs {', '.join(f'{v:.2f}' for v in values)}"
        )
    overhead = statistics.median(row["overhead"] for row in rows)
    total = statistics.median(row["total"] for row in rows)
    print(f"harness overhead: {overhead:.2f} s of {total:.2f} s ({overhead / total:.0%})")


if __name__ == "__main__":
    main()
