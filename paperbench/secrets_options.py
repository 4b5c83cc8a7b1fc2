"""The ``--secrets FILE`` option, shared by every command that writes results."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from paperbench import secrets
from paperbench.options import opt


class SecretsOptions(BaseModel):
    """Secrets the harness should know by value, so that none of them is ever written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secrets: Path | None = opt(
        None,
        "File of secrets to keep out of every file written (NAME=value lines, or one value a "
        "line); provider keys, URL passwords and secret-named settings are known already.",
        fingerprint=False,
    )

    def apply(self) -> None:
        """Register the file's values.

        Raises:
            SecretsFileError: the file is missing or unreadable.
        """
        if self.secrets is not None:
            secrets.load_secrets_file(self.secrets)
