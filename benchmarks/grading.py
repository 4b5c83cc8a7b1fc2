"""Benchmark the judge on PaperBench's largest rubric: calls, tokens, prefix sharing, cache, time,
memory — against what we measured of PaperBench's own judge.

    .venv/bin/python benchmarks/grading.py            # the 1,963-leaf `pinn` rubric

The rubric is read from ``../shared/data`` at run time. The paper and submission are synthetic
but have the shape of the fixture we measured the original on: a ~25k-token paper and a
~59k-token, 42-file submission (plus a reproduction log and result files). The judge is
``openai/o3-mini`` (200k context, o3-mini prices) pointed at the scripted server from
``tests/support/llm_server.py``, run as its own process with 0.5 s of latency per call and
counting tokens with tiktoken, and simulating prefix caching. Each configuration runs in a fresh
child process so its peak memory is its own: a full grade at 64 concurrent calls on an empty
cache, then the same grade again (the cache's turn), first one leaf per call, then
``--batch 8``.

Shared prefix: for each request the server saw, the tokens of its leading segments that some
other request also began with, over its input tokens; we print the smallest such share.

    .venv/bin/python benchmarks/grading.py --cases large   # only the 2 GiB submission

The large case (issue #12, item 6) grades a 2 GiB submission — 64 distinct ~200 kB text files
with the rubric's vocabulary, hard-linked into folders until the listing adds up to 2 GiB, so
it takes 13 MB of disk — in Code-Dev mode with ``--batch 8``, and prints the grade's peak memory
(target <= 500 MB). Its baseline, in the same run: the same grade with reading unbounded (as
before the reading budget) on a 512 MiB slice of the same files (smaller slices
hide under the process's other peaks), extrapolated linearly to 2 GiB,
and the bounded grade of that slice.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperbench.llm.tokens import count_tokens  # noqa: E402
from paperbench.rubric import load_rubric  # noqa: E402
from tests.support.grading import reproduction_record  # noqa: E402

#: PaperBench's rubrics; ``$PAPERBENCH_RUBRICS_DIR`` points elsewhere (a git worktree, say).
SHARED = Path(
    os.environ.get("PAPERBENCH_RUBRICS_DIR")
    or REPO.parent / "shared" / "data" / "paperbench-rubrics"
)
ORIGINAL = {"calls_per_leaf": 3.0, "input_tokens_per_leaf": 69_600, "usd_77_leaves": 3.7}
PAPER_TOKENS, SUBMISSION_TOKENS, SUBMISSION_FILES = 25_000, 59_000, 42


def _words(rubric_path: Path) -> list[str]:
    rubric = load_rubric(rubric_path)
    return [node.requirements for _, node in rubric.walk()]


def build_fixture(root: Path, paper_id: str) -> tuple[Path, Path]:
    """A paper bundle with the real rubric and a synthetic paper; a reproduction directory."""
    rng = random.Random(0)
    source = SHARED / paper_id / "rubric.json"
    sentences = _words(source)
    bundle = root / "paper"
    bundle.mkdir(parents=True)
    (bundle / "config.yaml").write_text(f"id: {paper_id}-bench\ntitle: Synthetic {paper_id}\n")
    (bundle / "rubric.json").write_text(source.read_text())
    paper: list[str] = ["# A synthetic paper with the rubric's vocabulary\n"]
    while count_tokens("\n".join(paper)) < PAPER_TOKENS:
        paper.append(f"\n## Section {len(paper)}\n")
        paper += [" ".join(rng.sample(sentences, 6)) for _ in range(8)]
    (bundle / "paper.md").write_text("\n".join(paper))
    (bundle / "addendum.md").write_text("Use the datasets described in Section 2.\n" * 20)
    (bundle / "judge.addendum.md").write_text("Results within 10% of the paper count.\n" * 20)

    repro = root / "reproduction"
    submission = repro / "submission"
    submission.mkdir(parents=True)
    per_file = SUBMISSION_TOKENS // (SUBMISSION_FILES - 2)
    for index in range(SUBMISSION_FILES - 2):
        lines = [f'"""Module {index}: {rng.choice(sentences)}"""', "import numpy as np", ""]
        while count_tokens("\n".join(lines)) < per_file:
            words = [w.strip(".,()$:;'\"").lower() for w in rng.choice(sentences).split()]
            name = "_".join(w for w in words if w.isidentifier())[:40] or "step"
            lines += [
                f"def {name}_{len(lines)}(x, lr=1e-3):",
                f"    # {rng.choice(sentences)}",
                "    y = np.tanh(x) * lr",
                "    return y.sum()",
                "",
            ]
        (submission / f"module_{index:02d}.py").write_text("\n".join(lines))
    (submission / "README.md").write_text("# Reproduction\n\n" + "\n".join(sentences[:40]))
    (submission / "reproduce.sh").write_text("#!/bin/bash\nset -e\npython module_00.py\n")
    results = submission / "results"
    results.mkdir()
    created = []
    for name in ("metrics.json", "table.md"):
        text = json.dumps({f"run_{i}": rng.random() for i in range(300)}, indent=1)
        (results / name).write_text(text)
        created.append(f"results/{name}")
    log = [f"epoch {i} loss {1 / (i + 1):.5f} acc {i / 3000:.4f}" for i in range(3000)]
    (repro / "reproduce.log").write_text("\n".join(["starting", *log, "done"]))
    reproduction_record("succeeded", exit_code=0, duration=3600.0, created=created).save(repro)
    return bundle, repro


def start_server(workdir: Path, latency: float) -> tuple[subprocess.Popen[bytes], str]:
    address_file = workdir / "server.address"
    with open(workdir / "server.log", "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.llm_server",
                "--latency",
                str(latency),
                "--address-file",
                str(address_file),
            ],
            cwd=REPO,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 30
    while not address_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"scripted server did not start; see {workdir / 'server.log'}")
        time.sleep(0.05)
    return process, address_file.read_text().strip()


def server_stats(url: str) -> list[dict[str, Any]]:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_scripted/stats", timeout=60) as response:
        stats: list[dict[str, Any]] = json.loads(response.read())
    return stats


def shared_prefix_shares(stats: list[dict[str, Any]]) -> list[float]:
    """Per request: tokens in leading segments some other request also began with."""
    from collections import Counter

    chains: list[list[str]] = []
    seen: Counter[str] = Counter()
    for request in stats:
        chain, running = [], ""
        for _, key, _ in request["segments"]:
            running = f"{running}/{key}"
            chain.append(running)
        chains.append(chain)
        seen.update(chain)
    shares = []
    for request, chain in zip(stats, chains, strict=True):
        total = sum(tokens for _, _, tokens in request["segments"])
        shared = 0
        for link, (_, _, tokens) in zip(chain, request["segments"], strict=True):
            if seen[link] < 2:
                break
            shared += tokens
        shares.append(shared / total if total else 0.0)
    return shares


LARGE_DISTINCT, LARGE_FILE_BYTES, MiB = 64, 200_000, 1024 * 1024
SLICE_MIB = 512


def build_large_submission(root: Path, sentences: list[str], total_bytes: int) -> int:
    """A submission of ``total_bytes`` listed bytes made of hard links to 64 distinct text files
    under ``root/distinct``; returns how many files it lists."""
    rng = random.Random(1)
    distinct = root.parent / f"{root.name}-distinct"
    distinct.mkdir(parents=True)
    sources = []
    for index in range(LARGE_DISTINCT):
        lines: list[str] = []
        while sum(len(line) + 1 for line in lines) < LARGE_FILE_BYTES:
            lines.append(f"# {rng.choice(sentences)}")
            lines.append(f"value_{len(lines)} = {rng.random():.6f}")
        path = distinct / f"part_{index:02d}.py"
        path.write_text("\n".join(lines)[:LARGE_FILE_BYTES])
        sources.append(path)
    (root / "reproduce.sh").parent.mkdir(parents=True)
    (root / "reproduce.sh").write_text("#!/bin/bash\npython part_00.py\n")
    count = 0
    while count * LARGE_FILE_BYTES < total_bytes:
        folder = root / f"copy_{count // LARGE_DISTINCT:04d}"
        folder.mkdir(exist_ok=True)
        os.link(sources[count % LARGE_DISTINCT], folder / sources[count % LARGE_DISTINCT].name)
        count += 1
    return count + 1


def child_large(args: argparse.Namespace) -> None:
    """A Code-Dev grade of a plain submission folder in this process; prints figures as JSON."""
    from paperbench.grading.grade import GradeInputs, grade_sync
    from paperbench.grading.options import JudgeOptions
    from paperbench.papers import load_bundle

    if args.unbounded:  # the reading before the budget: every text file, whole

        def unbounded(context_window: int) -> int:
            return 1 << 50

        # importlib, not ``import paperbench.grading.grade as ...``: the package re-exports the
        # function ``grade``, which that statement would bind instead of the module
        grade_module = importlib.import_module("paperbench.grading.grade")
        setattr(grade_module, "reading_budget", unbounded)  # noqa: B010 (a module attribute)
    bundle = load_bundle(Path(args.bundle))
    options = JudgeOptions(
        judge="openai/o3-mini",
        judge_base_url=args.url,
        batch=8,
        judge_concurrency=64,
        code_dev=True,
        cache=False,
    )
    started = time.monotonic()
    inputs = GradeInputs.resolve(bundle, options, submission=Path(args.submission))
    result = grade_sync(inputs, Path(args.out))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": time.monotonic() - started,
                "peak_mb": peak,
                "items": result.summary.items,
                "invalid": len(result.summary.invalid),
            }
        )
    )


def run_large(work: Path, bundle: Path, env: dict[str, str], gib: float) -> None:
    sentences = _words(bundle / "rubric.json")
    big, small = work / "large" / "submission", work / "slice" / "submission"
    files = build_large_submission(big, sentences, int(gib * 1024 * MiB))
    build_large_submission(small, sentences, SLICE_MIB * MiB)
    server, url = start_server(work / "large", 0.0)
    try:
        common = {"bundle": bundle, "url": f"{url}/v1", "large": True}
        bounded = run_child(env, submission=big, out=work / "out-large", **common)
        slice_bounded = run_child(env, submission=small, out=work / "out-slice", **common)
        slice_unbounded = run_child(
            env, submission=small, out=work / "out-slice-all", unbounded=True, **common
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    growth = (slice_unbounded["peak_mb"] - slice_bounded["peak_mb"]) / SLICE_MIB  # MB per MiB
    extrapolated = slice_bounded["peak_mb"] + growth * gib * 1024
    print(f"\n== a {gib:g} GiB submission: {files:,} text files, Code-Dev grade, --batch 8 ==")
    print(
        f"bounded reading:   peak memory {bounded['peak_mb']:.0f} MB (target <= 500 MB), "
        f"{bounded['seconds']:.1f} s, {bounded['items']} items, {bounded['invalid']} invalid"
    )
    print(
        f"{SLICE_MIB} MiB slice:     bounded {slice_bounded['peak_mb']:.0f} MB, "
        f"unbounded (every file read whole, as before) {slice_unbounded['peak_mb']:.0f} MB"
    )
    print(
        f"unbounded at {gib:g} GiB: ~{extrapolated / 1024:.1f} GB extrapolated "
        f"({growth:.1f} MB per MiB read); bounded uses "
        f"{bounded['peak_mb'] / extrapolated:.1%} of that"
    )


def child(args: argparse.Namespace) -> None:
    """One grade in this process; prints its figures as JSON."""
    from paperbench.grading import GradeInputs, JudgeOptions, grade_sync
    from paperbench.papers import load_bundle

    bundle = load_bundle(Path(args.bundle))
    options = JudgeOptions(
        judge="openai/o3-mini",
        judge_base_url=args.url,
        batch=args.batch,
        judge_concurrency=64,
        cache_path=Path(args.cache),
    )
    started = time.monotonic()
    inputs = GradeInputs.resolve(bundle, options, reproduction=Path(args.reproduction))
    result = grade_sync(inputs, Path(args.out))
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak,
                "ledger": result.ledger.model_dump(),
                "items": result.summary.items,
                "invalid": len(result.summary.invalid),
                "calls": result.calls_planned,
            }
        )
    )


def run_child(env: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child"]
    for key, value in kwargs.items():
        argv += [f"--{key}", str(value)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True, cwd=REPO)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the judge (see module docstring).")
    parser.add_argument("--paper", default="pinn")
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--cases",
        default="judge,large",
        help="which cases to run: judge (the rubric), large (2 GiB submission)",
    )
    parser.add_argument("--large-gib", type=float, default=2.0, help="size of the large case")
    for name in ("bundle", "reproduction", "url", "cache", "out", "submission"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    for flag in ("large", "unbounded"):
        parser.add_argument(
            f"--{flag}", type=lambda v: v == "True", default=False, help=argparse.SUPPRESS
        )
    args = parser.parse_args()
    if args.child and args.large:
        child_large(args)
        return
    if args.child:
        child(args)
        return

    work = Path(tempfile.mkdtemp(prefix="paperbench-bench-"))
    bundle, repro = build_fixture(work / "fixture", args.paper)
    cases = set(args.cases.split(","))
    env = {**os.environ, "OPENAI_API_KEY": "benchmark", "PAPERBENCH_HOME": str(work / "home")}
    if "judge" in cases:
        run_judge(args, work, bundle, repro, env)
    if "large" in cases:
        run_large(work, bundle, env, args.large_gib)


def run_judge(
    args: argparse.Namespace, work: Path, bundle: Path, repro: Path, env: dict[str, str]
) -> None:
    paper_tokens = count_tokens((bundle / "paper.md").read_text())
    files = sorted(
        p for p in (repro / "submission").rglob("*") if p.is_file() and "results" not in p.parts
    )
    sub_tokens = sum(count_tokens(p.read_text()) for p in files)
    leaves = sum(1 for _ in load_rubric(bundle / "rubric.json").leaves())
    print(
        f"fixture: {args.paper} rubric, {leaves} leaves; paper {paper_tokens} tokens; "
        f"submission {len(files)} files, {sub_tokens} tokens; latency {args.latency} s/call"
    )
    env = {**os.environ, "OPENAI_API_KEY": "benchmark", "PAPERBENCH_HOME": str(work / "home")}
    server, url = start_server(work, args.latency)
    try:
        for batch in (1, 8):
            before = len(server_stats(url))
            common = {
                "bundle": bundle,
                "reproduction": repro,
                "url": f"{url}/v1",
                "cache": work / f"cache-{batch}.sqlite",
                "batch": batch,
            }
            cold = run_child(env, out=work / f"out-{batch}", **common)
            stats = server_stats(url)[before:]
            warm = run_child(env, out=work / f"again-{batch}", **common)
            after = len(server_stats(url))
            report(batch, leaves, cold, warm, stats, after - before - len(stats))
    finally:
        server.terminate()
        server.wait(timeout=10)


def report(
    batch: int,
    leaves: int,
    cold: dict[str, Any],
    warm: dict[str, Any],
    stats: list[dict[str, Any]],
    warm_requests: int,
) -> None:
    ledger = cold["ledger"]
    sent = len(stats)
    input_tokens = sum(sum(t for _, _, t in r["segments"]) for r in stats)
    shares = shared_prefix_shares(stats)
    per_leaf = input_tokens / leaves
    cost = ledger["cost_usd"] or 0.0
    original_cost_per_leaf = ORIGINAL["usd_77_leaves"] / 77
    print(f"\n== one {'leaf' if batch == 1 else f'batch of up to {batch} leaves'} per call ==")
    print(
        f"full grade:        {cold['seconds']:.1f} s wall at 64 concurrent calls "
        f"(target < 60 s); peak memory {cold['peak_mb']:.0f} MB (target < 500 MB)"
    )
    print(
        f"calls:             {sent} for {leaves} leaves = {sent / leaves:.3f} per leaf "
        f"(original {ORIGINAL['calls_per_leaf']:.0f}; target <= {1 if batch == 1 else 0.2})"
    )
    print(
        f"input tokens/leaf: {per_leaf:,.0f} (original {ORIGINAL['input_tokens_per_leaf']:,}; "
        f"ratio {per_leaf / ORIGINAL['input_tokens_per_leaf']:.2f}"
        + ("; target <= 0.20)" if batch > 1 else ")")
    )
    print(
        f"shared prefix:     min {min(shares):.1%}, mean {sum(shares) / len(shares):.1%} of "
        "each call's input tokens (target >= 90%)"
    )
    print(
        f"provider cache:    {ledger['cached_input_tokens'] / max(ledger['input_tokens'], 1):.1%}"
        f" of input tokens read from the (simulated) prompt cache"
    )
    print(
        f"cost (o3-mini):    ${cost:.2f} total, ${cost / leaves:.4f} per leaf "
        f"(original ~${original_cost_per_leaf:.4f} per leaf with caching)"
    )
    print(f"items invalid:     {cold['invalid']}")
    print(
        f"cached re-grade:   {warm['seconds']:.1f} s, {warm_requests} requests reached the "
        f"server, {warm['ledger']['cache_hits']} cache hits (target < 5 s, 0 calls); "
        f"peak memory {warm['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
