"""Judge evaluation: measure a judge configuration against human gold grades, with its cost.

The modules, in the order data flows through them: :mod:`gold` (gold sets: load, find, check)
and :mod:`paperbench_import` (PaperBench's ``data/judge_eval``), :mod:`config` (judge
configurations: the grading stage's options, with a label), :mod:`reviewed` (reviewed runs as
gold sets), :mod:`grading` (the one call into the grading stage),
:mod:`agreement` (a graded tree against its gold tree) and :mod:`metrics` (the figures, pure),
:mod:`runner` (every configuration over every set and repeat), :mod:`result` (the
``judge_eval.json`` model) with :mod:`reference` (PaperBench's published figures), and
:mod:`page` and :mod:`console` (what a reader sees).
"""

from paperbench.judge_eval.agreement import Agreement, agreement
from paperbench.judge_eval.config import JudgeConfig, load_configs
from paperbench.judge_eval.console import print_agreement, print_report
from paperbench.judge_eval.gold import GoldSet, find_gold_sets, load_gold_set
from paperbench.judge_eval.result import JudgeEvalReport, judge_eval_schema
from paperbench.judge_eval.runner import evaluate

__all__ = [
    "Agreement",
    "GoldSet",
    "JudgeConfig",
    "JudgeEvalReport",
    "agreement",
    "evaluate",
    "find_gold_sets",
    "judge_eval_schema",
    "load_configs",
    "load_gold_set",
    "print_agreement",
    "print_report",
]
