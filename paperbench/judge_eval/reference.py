"""PaperBench's published judge figures, printed beside ours for reference.

From the PaperBench paper's JudgeEval (Starace et al., 2025) and the tables behind it
(``project/paperbench/experiments/judge_eval/tables/perf_table.csv`` and
``perf_cost_table.csv`` in openai/frontier-evals): the SimpleJudge with each model, macro-F1 over
every leaf of five hand-graded submissions of PaperBench papers, and its mean cost per paper.
They measure other papers, another rubric version and another judge; they say what a good
judge's figures look like, not how ours compares on our gold sets.
"""

from __future__ import annotations

from paperbench.judge_eval.result import PublishedJudge

SOURCE = "PaperBench (Starace et al., 2025), JudgeEval, SimpleJudge"


def _judge(
    name: str, overall: float, dev: float, run: float, results: float, usd: float | None
) -> PublishedJudge:
    return PublishedJudge(
        judge=name,
        macro_f1=overall,
        per_category={
            "Code Development": dev,
            "Code Execution": run,
            "Result Analysis": results,
        },
        usd_per_paper=usd,
        source=SOURCE,
    )


PUBLISHED: tuple[PublishedJudge, ...] = (
    _judge("o3-mini (high)", 0.83, 0.72, 0.82, 0.94, 66.04),
    _judge("o1 (high)", 0.84, 0.74, 0.84, 0.88, 830.16),
    _judge("o1-mini (high)", 0.78, 0.67, 0.74, 0.80, 71.72),
    _judge("gpt-4o", 0.73, 0.68, 0.71, 0.83, 119.87),
    _judge("gpt-4o-mini", 0.59, 0.59, 0.54, 0.78, 8.01),
    _judge("random", 0.50, 0.47, 0.49, 0.49, None),
)
