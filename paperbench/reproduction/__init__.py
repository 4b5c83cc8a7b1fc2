"""The reproduction stage: a submission's ``reproduce.sh`` re-run in a fresh sandbox."""

from paperbench.reproduction.options import ReproductionOptions
from paperbench.reproduction.result import Attempt, ReproductionResult
from paperbench.reproduction.stage import ReproductionInputs, reproduce

__all__ = [
    "Attempt",
    "ReproductionInputs",
    "ReproductionOptions",
    "ReproductionResult",
    "reproduce",
]
