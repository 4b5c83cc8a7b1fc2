"""Writing files so that a reader (or a resumed run) never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from paperbench.secrets import redact_text


def write_json_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path``: readers see the old file or the new one, never half of either,
    even after SIGKILL (the text goes to a temporary file in the same folder, is synced, then
    renamed over ``path``).

    Every secret the harness knows is replaced first (:func:`paperbench.secrets.redact_text`):
    this is the one door through which the run directory's JSON records are written.
    """
    text = redact_text(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
