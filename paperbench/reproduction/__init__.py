"""The reproduction stage: a submission's ``reproduce.sh`` re-run in a fresh sandbox."""

from paperbench.reproduction.result import Attempt, ReproductionResult
from paperbench.reproduction.stage import ReproductionOptions, reproduce

__all__ = ["Attempt", "ReproductionOptions", "ReproductionResult", "reproduce"]
