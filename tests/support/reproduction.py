"""Running the reproduction stage from a test: its inputs resolved as the orchestrator does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from paperbench.papers import PaperBundle
from paperbench.reproduction import (
    ReproductionInputs,
    ReproductionOptions,
    ReproductionResult,
    reproduce,
)
from paperbench.reproduction.stage import SandboxFactory


def reproduce_with(
    source: Path,
    paper: PaperBundle,
    out: Path,
    factory: SandboxFactory,
    *,
    image: str,
    **fields: Any,
) -> ReproductionResult:
    """Reproduce ``source`` for ``paper`` in sandboxes made by ``factory``; ``fields`` replace
    resolved inputs (``timeout_seconds=2``, ``retries=1``)."""
    inputs = ReproductionInputs.resolve(
        paper, source, ReproductionOptions(reproducer_image=image)
    ).model_copy(update=fields)
    return asyncio.run(reproduce(inputs, out, factory))
