"""Rubric trees: the model, PaperBench JSON IO, validation, statistics and the JSON Schema."""

from paperbench.rubric.io import dump_rubric, load_rubric, save_rubric
from paperbench.rubric.model import (
    FINEGRAINED_TASK_CATEGORIES,
    TASK_CATEGORIES,
    RubricNode,
    display_path,
)
from paperbench.rubric.problems import Problem
from paperbench.rubric.stats import RubricStats, effective_shares, rubric_stats
from paperbench.rubric.validate import check_tree, validate_data, validate_file

__all__ = [
    "FINEGRAINED_TASK_CATEGORIES",
    "TASK_CATEGORIES",
    "Problem",
    "RubricNode",
    "RubricStats",
    "check_tree",
    "display_path",
    "dump_rubric",
    "effective_shares",
    "load_rubric",
    "rubric_stats",
    "save_rubric",
    "validate_data",
    "validate_file",
]
