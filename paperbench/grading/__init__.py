"""The grading stage: an LLM judge scores a submission against its paper's rubric tree.

Entry point: :func:`grade_submission` (or ``paperbench grade``). The modules, in the order data
flows through them: :mod:`inputs` (submission, reproduction), :mod:`plan` (items to grade),
:mod:`prompts` with :mod:`logs`, :mod:`retrieval` and :mod:`fencing` (stable prefix + leaf
suffix; the agent's material fenced, its names quoted),
:mod:`judge` with :mod:`verdicts`, :mod:`cache`, :mod:`ledger` and :mod:`records` (calls),
:mod:`aggregate` (scores and the graded tree), :mod:`grade` (wiring and output files).
"""

from paperbench.grading.grade import (
    GradeOptions,
    GradeResult,
    grade_submission,
    grade_submission_async,
)

__all__ = ["GradeOptions", "GradeResult", "grade_submission", "grade_submission_async"]
