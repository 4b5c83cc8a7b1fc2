"""Checking, before anything runs, that a model can be called at all: its API key is set, or
its local model file and extra are installed. A run then fails before its first container
starts, not hours later at its first model call."""

from __future__ import annotations

import os

from paperbench.llm.anthropic_api import KEY_ENV as ANTHROPIC_KEY_ENV
from paperbench.llm.catalog import ModelSpec
from paperbench.llm.errors import ProviderSetupError
from paperbench.llm.local import model_file
from paperbench.llm.openai_api import KEY_ENV as OPENAI_KEY_ENV


def require_key(spec: ModelSpec) -> None:
    """Raise when ``spec`` cannot be called from this machine as configured.

    Raises:
        ProviderSetupError: the provider's key is unset, or the local model is not installed.
    """
    needed = {
        "openai": OPENAI_KEY_ENV,
        "openai-responses": OPENAI_KEY_ENV,
        "anthropic": ANTHROPIC_KEY_ENV,
    }.get(spec.provider)
    if needed and not os.environ.get(needed):
        raise ProviderSetupError(
            f"model {spec.name} needs {needed}; set it (a judge can also run offline as "
            "local/smollm2)"
        )
    if spec.provider == "local":
        model_file(spec.model)
