"""Benchmark `paperbench view` on a big run: first paint and time to a usable page, measured in
headless Chromium with the Performance API, for a run with PaperBench's largest rubric graded
(1,963 leaves) and a 10,000-step agent transcript.

    .venv/bin/python benchmarks/view.py [--rubric PATH] [--steps 10000] [--repeats 5]

The run directory is synthetic but has the files and shapes ``paperbench run`` writes: the
``pinn`` rubric (read from ``../shared/data`` or ``--rubric``) graded leaf by leaf with
explanations and evidence, one ledger entry per leaf, a transcript of ``--steps`` agent steps
(model call, reply, tool call, tool result with ~1 kB of output each: four events a step), a
50,000-line reproduction log. For each tab the page is loaded afresh and we report

* ``first paint``: the browser's first-contentful-paint (the header and the run's headline);
* ``usable``: the moment the tab's content is drawn (the page's own ``performance.mark``: the
  tree's top rows, the transcript's first 200 events), from the start of navigation.

The baseline, measured in the same browser on the same run, is the eager page one would write
first: every transcript event fetched and drawn, and the whole tree drawn open. The ratio is
usable time over the eager page's time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperbench.grading.aggregate import ItemResult, graded_tree, summarise  # noqa: E402
from paperbench.grading.plan import build_plan, items_of  # noqa: E402
from paperbench.rubric import load_rubric  # noqa: E402
from paperbench.view.server import ViewServer  # noqa: E402
from tests.support.browser import chromium, missing  # noqa: E402

RUBRIC_CANDIDATES = (
    REPO.parent / "shared" / "data" / "paperbench-rubrics" / "pinn" / "rubric.json",
    Path("/work/shared/data/paperbench-rubrics/pinn/rubric.json"),
)
RUN = "0/bench/pinn/seed-0"
T0 = "2026-01-01T00:00:00+00:00"


def _dump(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def build_run(root: Path, rubric_path: Path, steps: int) -> Path:
    """Write a finished run of ``steps`` agent steps graded against ``rubric_path``."""
    rng = random.Random(0)
    run = root / "bench" / "pinn" / "seed-0"
    plan = build_plan(load_rubric(rubric_path))
    assert plan is not None
    results: dict[str, ItemResult] = {}
    for item in items_of(plan):
        if rng.random() < 0.02:
            results[item.path] = ItemResult(None, "", reason="the reply never validated")
            continue
        results[item.path] = ItemResult(
            float(rng.random() < 0.4),
            "The submission's train.py implements this as the paper describes; the log shows "
            "the loss falling to 0.02 after 5,000 steps, as in Table 2. " * 2,
            evidence=[
                f"src/model_{rng.randrange(20)}.py:{rng.randrange(1, 200)}-210",
                "reproduce.log:40",
            ],
        )
    tree = graded_tree(plan, results, {"judge": "openai/o3-mini"})
    summary = summarise(plan, results)
    _dump(run / "grading" / "graded_tree.json", tree)
    ledger = "".join(
        json.dumps(
            {
                "call": n,
                "items": [path],
                "outcome": "graded",
                "model": "openai/o3-mini",
                "usage": {
                    "input_tokens": 60000,
                    "cached_input_tokens": 58000,
                    "output_tokens": 300,
                },
                "cost_usd": 0.02,
                "seconds": 2.1,
            }
        )
        + "\n"
        for n, path in enumerate(results, start=1)
    )
    (run / "grading" / "ledger.jsonl").write_text(ledger)
    _dump(
        run / "grading" / "summary.json",
        {"summary": summary.model_dump(), "ledger": {"cost_usd": 0.02 * len(results)}},
    )
    output = ("epoch 3 step 1200 loss 0.0213 lr 0.001 " * 30)[:1000]
    (run / "agent").mkdir(parents=True)
    with (run / "agent" / "transcript.jsonl").open("w") as out:
        seq = 0

        def write(kind: str, **fields: Any) -> None:
            nonlocal seq
            seq += 1
            wall = seq * 0.5
            out.write(
                json.dumps(
                    {"seq": seq, "type": kind, "at": T0, "wall": wall, "working": wall, **fields}
                )
                + "\n"
            )

        write("start", agent="bench")
        for step in range(1, steps + 1):
            write("model_call", step=step, messages=2 * step, estimated_tokens=30000)
            write(
                "model_reply",
                step=step,
                text="Let me run the training script and look at the loss.",
                tool_calls=[
                    {"id": f"c{step}", "name": "bash", "arguments": {"command": "python train.py"}}
                ],
                usage={"input_tokens": 30000, "output_tokens": 120, "cached_input_tokens": 29000},
                cost_usd=0.01 * step,
                model_version="gpt-4o-2024-08-06",
            )
            write(
                "tool_call",
                id=f"c{step}",
                name="bash",
                arguments={"command": "python train.py --epochs 3"},
            )
            write("tool_result", id=f"c{step}", name="bash", output=output, exit_code=0)
        write("end", reason="submitted", detail="done")
    _dump(
        run / "agent" / "agent.json",
        {
            "paper_id": "pinn",
            "agent": {
                "agent": "bench",
                "model": "openai/gpt-4o",
                "end_reason": "submitted",
                "started_at": T0,
                "ended_at": T0,
                "wall_seconds": seq * 0.5,
                "working_seconds": seq * 0.5,
                "api_wait_seconds": 0,
                "steps": steps,
                "tool_calls": steps,
                "usage": {"input_tokens": 30000 * steps},
                "cost_usd": 0.01 * steps,
                "transcript": "transcript.jsonl",
                "snapshots": [
                    {
                        "index": i,
                        "kind": "periodic",
                        "taken_at": T0,
                        "wall_seconds": i * 600.0,
                        "working_seconds": i * 600.0,
                        "archive": None,
                        "files": 40 + i,
                        "bytes": 10_000 * i,
                    }
                    for i in range(1, 9)
                ],
            },
            "submission": "submission.tar",
            "monitor": {"violations": [], "mentions": []},
            "disqualified": False,
        },
    )
    _dump(
        run / "agent" / "monitor.json",
        {
            "transcript": "transcript.jsonl",
            "blacklist": [],
            "tool_calls_checked": steps,
            "violations": [],
            "mentions": [],
        },
    )
    (run / "reproduction").mkdir(parents=True)
    (run / "reproduction" / "reproduce.log").write_text(
        "".join(f"step {i} loss {1 / i:.5f}\n" for i in range(1, 50_001))
    )
    _dump(
        run / "reproduction" / "reproduction.json",
        {
            "status": "succeeded",
            "exit_code": 0,
            "timed_out": False,
            "oom_killed": False,
            "duration_seconds": 3000.0,
            "timeout_seconds": 36000,
            "attempts": [],
            "graded_attempt": 1,
            "image": "paperbench/reproducer:bookworm",
            "image_id": "",
            "network": "none",
            "cpus": 2,
            "memory_mb": 4096,
            "notes": [],
            "files_created": [
                {"path": f"results/r{i}.json", "size": 100, "sha256": ""} for i in range(200)
            ],
        },
    )
    stage = {
        "status": "done",
        "started_at": T0,
        "finished_at": "2026-01-01T05:00:00+00:00",
        "attempts": 1,
    }
    _dump(
        run / "state.json",
        {"stages": {name: stage for name in ("agent", "reproduction", "grading")}},
    )
    _dump(
        run / "run.json",
        {
            "run_id": "bench",
            "agent": "bench",
            "judge": "openai/o3-mini",
            "paper_id": "pinn",
            "seed": 0,
            "finished_at": T0,
            "score": summary.score,
            "score_if_invalid_passed": summary.score_if_invalid_passed,
            "graded": True,
            "invalid_leaves": len(summary.invalid),
            "graded_items": summary.items,
            "agent_cost_usd": 0.01 * steps,
            "judge_cost_usd": 0.02 * len(results),
            "total_seconds": 18000,
        },
    )
    return run


def measure(driver: Any, server: ViewServer, tab: str, ready: str) -> tuple[float, float]:
    """(first contentful paint, usable) in ms from navigation start, on a fresh load."""
    driver.get("about:blank")
    driver.get(f"{server.url}#/run/{quote(RUN, safe='')}/{tab}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = driver.execute_script(f"return performance.getEntriesByName('{ready}').length")
        if done:
            break
        time.sleep(0.02)
    paint = driver.execute_script(
        "const p = performance.getEntriesByName('first-contentful-paint');"
        "return p.length ? p[0].startTime : null"
    )
    usable = driver.execute_script(f"return performance.getEntriesByName('{ready}')[0].startTime")
    return float(paint or "nan"), float(usable)


EAGER = """
const done = arguments[arguments.length - 1];
const started = performance.now();
(async () => {
  const rows = [];
  let next = 1;
  while (next !== null) {
    const page = { run: runView.id, start: next, count: 2000 };
    const { data } = await api("/api/run/transcript", page);
    rows.push(...data.rows);
    next = data.next;
  }
  const list = document.createElement("div");
  document.body.append(list);
  for (const row of rows) list.append(transcriptRow(row, false));
  list.getBoundingClientRect();
  const transcript = performance.now() - started;
  list.remove();
  const tree = await api("/api/run/tree", { run: runView.id });
  const before = performance.now();
  treeView.data = tree.data;
  treeView.nodes = indexTree(tree.data.tree);
  const holder = document.createElement("div");
  holder.id = "tree";
  document.body.append(holder, Object.assign(document.createElement("span"), { id: "tree-count" }));
  for (const [path, entry] of treeView.nodes) if (entry.children.length) treeView.open.add(path);
  renderTreeRows();
  holder.getBoundingClientRect();
  done([transcript, performance.now() - before + (before - started - transcript)]);
})();
"""


def server_side(server: ViewServer) -> None:
    """What the page waits for, timed at the HTTP level: the tree, a transcript page, a search
    through the whole transcript."""
    import urllib.request

    def get(route: str) -> tuple[float, int]:
        call = urllib.request.Request(
            f"http://127.0.0.1:{server.port}{route}", headers={"X-Paperbench-Token": server.token}
        )
        began = time.perf_counter()
        with urllib.request.urlopen(call, timeout=120) as reply:
            body = reply.read()
        return (time.perf_counter() - began) * 1000, len(body)

    run = quote(RUN, safe="")
    for label, route in (
        ("graded tree", f"/api/run/tree?run={run}"),
        ("transcript page", f"/api/run/transcript?run={run}&start=1&count=200&total=1"),
        ("transcript page 35,000", f"/api/run/transcript?run={run}&start=35000&count=200"),
        ("search, no match", f"/api/run/transcript/search?run={run}&q=no-such-text"),
        (
            "log search",
            f"/api/run/text/search?run={run}&area=reproduction&path=reproduce.log&q=loss+0.00002",
        ),
    ):
        took, size = get(route)
        print(f"server: {label:<24} {took:>7.0f} ms  {size / 1e3:>8.0f} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the run viewer (see module docstring).")
    parser.add_argument("--rubric", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rubric = args.rubric or next((p for p in RUBRIC_CANDIDATES if p.is_file()), None)
    if rubric is None:
        sys.exit("no pinn rubric found; pass --rubric PATH")
    reason = missing()
    if reason:
        sys.exit(f"no browser: {reason}")
    with tempfile.TemporaryDirectory(prefix="paperbench-view-bench-") as scratch:
        started = time.monotonic()
        run = build_run(Path(scratch), rubric, args.steps)
        tree = json.loads((run / "grading" / "graded_tree.json").read_text())
        leaves = sum(1 for _ in _leaves(tree))
        lines = sum(1 for _ in (run / "agent" / "transcript.jsonl").open())
        size = (run / "agent" / "transcript.jsonl").stat().st_size
        print(
            f"run: {leaves} graded leaves, {args.steps} steps = {lines} transcript events "
            f"({size / 1e6:.0f} MB), built in {time.monotonic() - started:.1f} s"
        )
        server = ViewServer([Path(scratch)])
        server.start()
        try:
            with chromium() as driver:
                measure(driver, server, "overview", "pb-overview")  # warm the server's caches
                print(
                    f"{'tab':<12} {'first paint (ms)':>18} {'usable (ms)':>14}"
                    f"   median of {args.repeats}, max"
                )
                usable: dict[str, float] = {}
                for tab, ready in (
                    ("overview", "pb-overview"),
                    ("grading", "pb-tree"),
                    ("transcript", "pb-transcript"),
                ):
                    figures = [measure(driver, server, tab, ready) for _ in range(args.repeats)]
                    paints = [f[0] for f in figures]
                    ready_times = [f[1] for f in figures]
                    usable[tab] = statistics.median(ready_times)
                    print(
                        f"{tab:<12} {statistics.median(paints):>10.0f} ({max(paints):>4.0f}) "
                        f"{usable[tab]:>9.0f} ({max(ready_times):>4.0f})"
                    )
                driver.set_script_timeout(300)
                eager_transcript, eager_tree = driver.execute_async_script(EAGER)
                print(
                    f"eager baseline: whole transcript drawn in {eager_transcript:.0f} ms, "
                    f"whole tree drawn open in {eager_tree:.0f} ms (after a loaded page)"
                )
                print(
                    "ratio usable/eager: transcript "
                    f"{usable['transcript'] / eager_transcript:.3f}, "
                    f"tree {usable['grading'] / eager_tree:.3f}"
                )
                measure(driver, server, "grading", "pb-tree")
                expand = driver.execute_script(
                    "const t = performance.now(); document.getElementById('expand-all').click();"
                    "document.getElementById('tree').getBoundingClientRect();"
                    "return [performance.now() - t, document.querySelectorAll('#tree .row').length]"
                )
                print(f"expand all: {expand[1]} rows drawn in {expand[0]:.0f} ms")
                server_side(server)
        finally:
            server.stop()


def _leaves(node: dict[str, Any]) -> Any:
    if not node["sub_tasks"]:
        yield node
    for child in node["sub_tasks"]:
        yield from _leaves(child)


if __name__ == "__main__":
    main()
