"""The judge's options, declared once: ``run``, ``grade`` and ``demo`` take the same ones under
the same names (see :mod:`paperbench.options`)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from paperbench.errors import PaperbenchError
from paperbench.grading.snapshots import grade_times
from paperbench.llm.types import ReasoningEffort
from paperbench.options import opt

LOCAL_JUDGE = "local/smollm2"
#: Leaves per call for a local model unless ``--batch`` says otherwise: the demo's 28 leaves in
#: 5 calls took 567 s against 716 s in 28 calls, on the same busy machine
#: (``benchmarks/demo.py --batch 1 --batch 8``), with no reply invalid either way.
LOCAL_BATCH = 8


def default_judge() -> str:
    """A real judge when a provider key is set, else the embedded local model."""
    if os.environ.get("OPENAI_API_KEY"):
        return "openai/o3-mini"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic/claude-sonnet-4-5"
    return LOCAL_JUDGE


class JudgeOptions(BaseModel):
    """Which judge grades, how it sees the rubric, and how its calls are made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    judge: str | None = opt(
        None,
        "Judge model: openai/MODEL, openai-responses/MODEL, anthropic/MODEL, "
        "openai-compatible/MODEL@URL or local/smollm2.",
        default_help="openai/o3-mini with OPENAI_API_KEY, anthropic/claude-sonnet-4-5 with "
        "ANTHROPIC_API_KEY, else local/smollm2",
    )
    judge_context_window: int | None = opt(
        None,
        "Context window of a judge model the price table does not know.",
        gt=0,
        default_help="from the price table, or asked from an OpenAI-compatible server",
    )
    judge_base_url: str | None = opt(
        None, "Base URL of the judge's API (a proxy, or a compatible server)."
    )
    code_dev: bool = opt(
        False,
        "PaperBench's Code-Dev: grade only Code Development leaves; in `run`, the agent is told "
        "its code is not run and there is no reproduction.",
    )
    resources_provided: bool = opt(
        False,
        "Datasets and models were given to the agent: Dataset and Model Acquisition leaves "
        "weigh 0 (PaperBench's resources_provided).",
    )
    max_depth: int | None = opt(None, "Grade subtrees this deep as one item each.", ge=1)
    batch: int | None = opt(
        None,
        "Grade up to K neighbouring leaves of one category per call.",
        ge=1,
        default_help=f"1; {LOCAL_BATCH} for a local model, which then reads its prompt fewer times",
    )
    reasoning_effort: ReasoningEffort | None = opt(
        None, "The judge's reasoning effort, where the model has one."
    )
    grade_at: list[str] | None = opt(
        None,
        "Also grade the submission as it was at these times of the agent's working time "
        "(e.g. 1h,3h,12h), from its snapshots: one graded tree per time, and score against "
        "time in the leaderboard.",
        fingerprint=False,
    )
    judge_temperature: float | None = opt(
        None, "The judge's sampling temperature.", default_help="the provider's; 0 for local"
    )
    judge_seed: int | None = opt(
        None, "The judge's sampling seed, where supported.", default_help="none; 0 for local"
    )
    judge_max_output_tokens: int = opt(8192, "Output limit of one judge call.", ge=1)
    judge_concurrency: int | None = opt(
        None,
        "Judge calls at once.",
        ge=1,
        fingerprint=False,
        default_help="the provider's own limit",
    )
    judge_timeout: float = opt(
        600.0, "Seconds to wait for one judge reply.", gt=0, fingerprint=False
    )
    cache: bool = opt(True, "Reuse judge replies from the cache.", negative=True, fingerprint=False)
    cache_path: Path | None = opt(
        None,
        "The judge's reply cache.",
        fingerprint=False,
        default_help="$PAPERBENCH_HOME/cache/judge.sqlite",
    )
    judge_prompts: Path | None = opt(
        None,
        "Folder of the judge's prompt templates (its content is what counts for resume).",
        fingerprint=False,
        default_help="grader/prompts",
    )
    prices: Path | None = opt(
        None,
        "Model table with prices and context windows.",
        fingerprint=False,
        default_help="grader/prices.json",
    )

    @field_validator("grade_at")
    @classmethod
    def _times(cls, value: list[str] | None) -> list[str] | None:
        if value:
            try:
                grade_times(value)
            except PaperbenchError as error:
                raise ValueError(str(error).removeprefix("--grade-at ")) from None
        return value

    def resolved(self) -> JudgeOptions:
        """These options with the judge named (from the API keys at hand when it was not) and
        the batch size set."""
        if self.judge and self.batch:
            return self
        return self.model_copy(update={"judge": self.model_name, "batch": self.batch_size})

    @property
    def batch_size(self) -> int:
        """The batch given, else 1, or :data:`LOCAL_BATCH` for a model running on this machine
        (on two CPU cores a call's prompt costs far more than its reply, so fewer calls)."""
        if self.batch:
            return self.batch
        return LOCAL_BATCH if self.model_name.startswith("local/") else 1

    @property
    def model_name(self) -> str:
        return self.judge or default_judge()
