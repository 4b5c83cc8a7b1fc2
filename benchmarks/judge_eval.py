"""What each judge configuration costs on the gold sets, before spending on a real model.

    .venv/bin/python benchmarks/judge_eval.py                 # the bundled gold sets
    .venv/bin/python benchmarks/judge_eval.py --gold DIR ...   # other gold sets

The configurations ``batch 1``, ``batch 4``, ``batch 8`` and ``max-depth 2`` grade every gold set
through the recording server of ``tests/support/llm_server.py`` (real clients over loopback,
real token counts with tiktoken, simulated prefix caching; every grade answers "passed", so the
agreement figures mean nothing here and are not printed). Each configuration runs twice: as an
OpenAI judge (the server reports cached prompt tokens, as OpenAI's automatic caching does) and as
an Anthropic judge (cache breakpoints on the prefix, so the server reports cache reads and
writes). The judge cache is off, so every call is made.

Dollars per paper under three price models, all at o3-mini's base prices ($1.10 per million
input tokens, $4.40 output), so only the caching rule differs:

* ``cache 50%``: cached prompt tokens at half price, nothing for writes (OpenAI's rule);
* ``cache 10% + writes``: cache reads at 10%, cache writes at 125% (Anthropic's rule);
* ``no cache``: every prompt token at full price.

Output tokens are those of the scripted replies, shorter than a real model's reasoning; the
ratio column compares each configuration with ``batch 1`` measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperbench.grading.options import JudgeOptions  # noqa: E402
from paperbench.judge_eval.config import JudgeConfig  # noqa: E402
from paperbench.judge_eval.gold import find_gold_sets  # noqa: E402
from paperbench.judge_eval.result import CostSummary  # noqa: E402
from paperbench.judge_eval.reviewed import load_gold  # noqa: E402
from paperbench.judge_eval.runner import bundles_for, evaluate  # noqa: E402
from paperbench.papers import PaperRegistry  # noqa: E402
from paperbench.resources import resource_dir  # noqa: E402
from tests.support.llm_server import ScriptedLLMServer, schema_responder  # noqa: E402

INPUT, OUTPUT = 1.10, 4.40
CONFIGS = {
    "batch 1": {"batch": 1},
    "batch 4": {"batch": 4},
    "batch 8": {"batch": 8},
    "max-depth 2": {"max_depth": 2},
}


def per_paper(cost: CostSummary) -> dict[str, float]:
    n = max(cost.submissions_graded, 1)
    return {
        "calls": cost.replies / n,
        "retried": (cost.calls - cost.replies) / n,
        "input": cost.input_tokens / n,
        "cached": cost.cached_input_tokens / n,
        "written": cost.cache_write_tokens / n,
        "output": cost.output_tokens / n,
        "seconds": cost.seconds / n,
    }


def dollars(openai: dict[str, float], anthropic: dict[str, float]) -> dict[str, float]:
    fresh = openai["input"] - openai["cached"]
    read, written = anthropic["cached"], anthropic["written"]
    a_fresh = anthropic["input"] - read - written
    return {
        "cache 50%": (fresh * INPUT + openai["cached"] * INPUT * 0.5 + openai["output"] * OUTPUT)
        / 1e6,
        "cache 10% + writes": (
            a_fresh * INPUT
            + read * INPUT * 0.1
            + written * INPUT * 1.25
            + anthropic["output"] * OUTPUT
        )
        / 1e6,
        "no cache": (openai["input"] * INPUT + openai["output"] * OUTPUT) / 1e6,
    }


def measure(gold_paths: list[Path], work: Path) -> None:
    papers = PaperRegistry(include_imported=False)
    golds = [load_gold(folder, papers) for folder in find_gold_sets(gold_paths)]
    bundles = bundles_for(golds, papers)
    leaves = sum(sum(1 for _ in gold.expected.leaves()) for gold in golds)
    print(f"{len(golds)} gold sets of {len(bundles)} papers, {leaves} leaves in all")
    rows: list[tuple[str, dict[str, float], dict[str, float], dict[str, float]]] = []
    for name, options in CONFIGS.items():
        figures = []
        for judge in ("openai/o3-mini", "anthropic/claude-sonnet-4-5"):
            # A fresh server per run: its simulated prompt cache starts cold, as a provider's
            # does for a configuration graded on its own.
            with ScriptedLLMServer(default=schema_responder(score=1), keep_bodies=False) as server:
                url = server.url if judge.startswith("anthropic/") else server.openai_url
                judge_options = JudgeOptions(
                    judge=judge, judge_base_url=url, cache=False, **options
                )
                config = JudgeConfig(label=name, options=judge_options)
                started = time.monotonic()
                report = asyncio.run(
                    evaluate(
                        golds,
                        [config],
                        bundles=bundles,
                        out_dir=work / f"{name.replace(' ', '-')}-{judge.split('/')[0]}",
                    )
                )
            figures.append(per_paper(report.configurations[0].cost))
            print(f"  {name:12} as {judge:28} {time.monotonic() - started:6.1f} s")
        openai, anthropic = figures
        rows.append((name, openai, anthropic, dollars(openai, anthropic)))

    print()
    print(
        f"{'configuration':14}{'calls':>8}{'input':>10}{'cached':>10}{'written':>10}"
        f"{'output':>9}{'cache 50%':>12}{'10%+writes':>12}{'no cache':>11}{'ratio':>8}"
    )
    print(
        "  per paper; calls that got a reply (attempts retried after a connection error are "
        "not billed and not counted);\n  tokens: input and cached as OpenAI reports them, "
        "written as Anthropic does; dollars at o3-mini's base prices"
    )
    base = rows[0][3]
    for name, openai, anthropic, usd in rows:
        ratio = usd["cache 50%"] / base["cache 50%"] if base["cache 50%"] else 0.0
        print(
            f"{name:14}{openai['calls']:8.1f}{openai['input']:10,.0f}{openai['cached']:10,.0f}"
            f"{anthropic['written']:10,.0f}{openai['output']:9,.0f}"
            f"{usd['cache 50%']:12.4f}{usd['cache 10% + writes']:12.4f}{usd['no cache']:11.4f}"
            f"{ratio:8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Cost of judge configurations (see docstring).")
    parser.add_argument(
        "--gold",
        type=Path,
        action="append",
        help="gold set or folder of them (repeatable; default: grader/judge_eval)",
    )
    args = parser.parse_args()
    gold_paths = args.gold or [resource_dir("grader") / "judge_eval"]
    for path in gold_paths:
        if not path.is_dir():
            raise SystemExit(f"{path}: no such folder (no bundled gold sets yet? give --gold)")
    # The server is on loopback; a real key has no business being sent to it.
    os.environ["OPENAI_API_KEY"] = os.environ["ANTHROPIC_API_KEY"] = "benchmark"
    with tempfile.TemporaryDirectory(prefix="paperbench-judge-eval-bench-") as work:
        os.environ["PAPERBENCH_HOME"] = str(Path(work) / "home")
        measure(gold_paths, Path(work))


if __name__ == "__main__":
    main()
