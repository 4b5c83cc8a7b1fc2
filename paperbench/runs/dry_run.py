"""``paperbench run --dry-run``: what each (paper, seed) would get, and what its judge would cost,
before anything starts.

For every run it lists the images, the time limits, the GPUs and network of both containers,
the names of the ``--agent-env`` variables, the judge, and an estimate of the judge's cost from
the rubric's size and the price table. The estimate is a range, because the submission's size
is not known before the agent writes it:

* calls: the items graded (leaves, or subtrees with ``--max-depth``; only Code Development ones
  with ``--code-dev``), batched ``--batch`` at a time within a category, as the judge does;
* low: each call's prompt is the paper's texts (counted with the tokenizer), the judge's
  instructions and a small submission (:data:`SMALL_SUBMISSION_TOKENS`), the first call of each
  category pays full price and the rest read that prefix from the provider's cache, and each
  item's reply is :data:`REPLY_TOKENS_PER_ITEM` tokens;
* high: every call fills the judge's context window with no cache hit and writes its whole
  output limit (``--judge-max-output-tokens``): an upper bound for one grade without retries.

Each ``--grade-at`` time adds one grade of a snapshot. A judge missing from the price table has
no price: its cost is shown as unknown.
"""

from __future__ import annotations

import math
from collections import Counter

from pydantic import BaseModel, ConfigDict

from paperbench.grading.grade import PAPER_TEXTS, judge_spec
from paperbench.grading.options import JudgeOptions
from paperbench.grading.plan import build_plan, items_of
from paperbench.grading.snapshots import grade_times
from paperbench.llm.catalog import Price, load_price_table
from paperbench.llm.tokens import count_tokens
from paperbench.papers import PaperBundle
from paperbench.resources import resource_dir
from paperbench.runs.conditions import RunConditions
from paperbench.runs.settings import RunSettings
from paperbench.sandbox.images import AGENT_IMAGE

SMALL_SUBMISSION_TOKENS = 10_000
REPLY_TOKENS_PER_ITEM = 150


class JudgeEstimate(BaseModel):
    """The judge's work for one run, and its cost as a range (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    judge: str
    reasoning_effort: str | None = None
    items: int
    calls: int
    grades: int
    prompt_tokens_low: int
    prompt_tokens_high: int
    cost_low_usd: float | None
    cost_high_usd: float | None


class PlannedRun(BaseModel):
    """What one (paper, seed) would run with."""

    model_config = ConfigDict(frozen=True)

    paper_id: str
    seed: int
    agent: str
    agent_image: str
    reproducer_image: str | None
    agent_network: str
    reproduction_network: str | None
    agent_time_limit_seconds: float
    reproduction_time_limit_seconds: float | None
    salvage: bool
    cpus: float
    memory_mb: int
    gpus: str
    gpu_devices: tuple[str, ...]
    env_names: tuple[str, ...]
    judge: JudgeEstimate


def _cost(price: Price | None, fresh: int, cached: int, output: int) -> float | None:
    if price is None:
        return None
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    return (fresh * price.input + cached * cached_rate + output * price.output) / 1e6


def _instructions_tokens(judge: JudgeOptions) -> int:
    root = judge.judge_prompts or resource_dir("grader") / "prompts"
    return sum(count_tokens(path.read_text(encoding="utf-8")) for path in root.rglob("*.md"))


def estimate_judge(paper: PaperBundle, judge: JudgeOptions, *, grades: int = 1) -> JudgeEstimate:
    """The judge's calls and cost range for grading one submission of ``paper`` ``grades``
    times.

    Raises:
        RubricError: the rubric is malformed.
        ModelNameError: the judge's name is malformed or its context window unknown.
    """
    judge = judge.resolved()
    spec = judge_spec(judge, load_price_table(judge.prices))
    plan = build_plan(paper.rubric, code_dev=judge.code_dev, max_depth=judge.max_depth)
    items = items_of(plan) if plan is not None else []
    per_view = Counter(item.categories for item in items)
    calls = sum(math.ceil(count / judge.batch_size) for count in per_view.values())
    texts = sum(
        count_tokens((paper.root / name).read_text(encoding="utf-8"))
        for name in PAPER_TEXTS
        if (paper.root / name).is_file()
    )
    window = spec.context_window
    low_prompt = min(window, texts + _instructions_tokens(judge) + SMALL_SUBMISSION_TOKENS)
    fresh_calls = min(calls, len(per_view))
    low = _cost(
        spec.price,
        fresh_calls * low_prompt,
        (calls - fresh_calls) * low_prompt,
        len(items) * REPLY_TOKENS_PER_ITEM,
    )
    high = _cost(spec.price, calls * window, 0, calls * judge.judge_max_output_tokens)
    return JudgeEstimate(
        judge=spec.name,
        reasoning_effort=judge.reasoning_effort,
        items=len(items),
        calls=calls,
        grades=grades,
        prompt_tokens_low=calls * low_prompt * grades,
        prompt_tokens_high=calls * window * grades,
        cost_low_usd=None if low is None else low * grades,
        cost_high_usd=None if high is None else high * grades,
    )


def plan_runs(
    settings: RunSettings, papers: list[PaperBundle], conditions: RunConditions
) -> list[PlannedRun]:
    """Every (paper, seed) of the run as it would start, in the order it would.

    Raises:
        RubricError, ModelNameError: see :func:`estimate_judge`.
    """
    run, judge = settings.run, settings.judge
    reproduces = not judge.code_dev
    grades = 1 + len(grade_times(judge.grade_at or []))
    estimates = {paper.id: estimate_judge(paper, judge, grades=grades) for paper in papers}
    env_names: tuple[str, ...] = tuple(conditions.agent_env)
    planned = []
    for seed in range(run.first_seed, run.first_seed + run.seeds):
        for paper in papers:
            record = conditions.papers[paper.id]
            planned.append(
                PlannedRun(
                    paper_id=paper.id,
                    seed=seed,
                    agent=settings.agent_label(),
                    agent_image=AGENT_IMAGE,
                    reproducer_image=settings.reproduction.reproducer_image if reproduces else None,
                    agent_network=record.agent_network,
                    reproduction_network=record.reproduction_network if reproduces else None,
                    agent_time_limit_seconds=record.agent_time_limit_seconds,
                    reproduction_time_limit_seconds=record.reproduction_time_limit_seconds
                    if reproduces
                    else None,
                    salvage=settings.reproduction.salvage and reproduces,
                    cpus=record.cpus,
                    memory_mb=record.memory_mb,
                    gpus="none (CPU fallback)" if record.gpu_fallback else record.gpus.describe(),
                    gpu_devices=record.gpu_devices,
                    env_names=env_names,
                    judge=estimates[paper.id],
                )
            )
    return planned


def total_cost(planned: list[PlannedRun]) -> tuple[float | None, float | None]:
    """The whole run's judge cost range (None when some judge has no price)."""
    lows = [run.judge.cost_low_usd for run in planned]
    highs = [run.judge.cost_high_usd for run in planned]
    low = None if any(v is None for v in lows) else sum(v or 0.0 for v in lows)
    high = None if any(v is None for v in highs) else sum(v or 0.0 for v in highs)
    return low, high
