"""The reproduction stage's options, declared once (see :mod:`paperbench.options`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from paperbench.options import opt
from paperbench.sandbox.images import REPRODUCER_IMAGE


class ReproductionOptions(BaseModel):
    """How a submission is re-run; unset values come from the paper's ``config.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reproduction_timeout: float | None = opt(
        None, "Seconds reproduce.sh may run.", gt=0, default_help="the paper's"
    )
    reproduction_retries: int = opt(
        0, "Extra attempts after a failed reproduction, each in a fresh sandbox.", ge=0
    )
    reproducer_image: str = opt(REPRODUCER_IMAGE, "Image reproductions run in.")
    salvage: bool = opt(
        False,
        "Re-run a reproduction that failed within 10 minutes the way PaperBench salvages it: "
        "with python3.11, in a fresh venv, then both (each attempt recorded as such).",
    )
