"""The grading stage: an LLM judge scores a submission against its paper's rubric tree.

Entry point: :func:`~paperbench.grading.grade.grade` on :class:`GradeInputs` (or ``paperbench
grade``). The modules, in the order data flows through them: :mod:`options` (the judge's
options), :mod:`inputs` (submission, reproduction), :mod:`plan` (items to grade),
:mod:`prompts` with :mod:`logs`, :mod:`retrieval` and :mod:`fencing` (stable prefix + leaf
suffix; the agent's material fenced, its names quoted),
:mod:`judge` with :mod:`verdicts`, :mod:`cache`, :mod:`ledger` and :mod:`records` (calls),
:mod:`aggregate` (scores and the graded tree), :mod:`grade` (the stage: inputs, wiring, result).
"""

from paperbench.grading.grade import GradeInputs, GradeResult, grade, grade_sync
from paperbench.grading.options import JudgeOptions

__all__ = ["GradeInputs", "GradeResult", "JudgeOptions", "grade", "grade_sync"]
