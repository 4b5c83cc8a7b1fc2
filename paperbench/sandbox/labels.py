"""The labels every sandbox container and volume carries, and how they are read back.

Labels are how leftovers are found: ``paperbench sandbox ls`` and ``paperbench sandbox cleanup``
select on :data:`MANAGED`, a run's sandboxes on :data:`RUN_ID`, and this process's own sandboxes
(for the emergency cleanup after a second signal) on :data:`SESSION`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime

PREFIX = "org.paperbench."
MANAGED = "org.paperbench.managed"
RUN_ID = "org.paperbench.run-id"
STAGE = "org.paperbench.stage"
CREATED_AT = "org.paperbench.created-at"
SESSION = "org.paperbench.session"
OWNER = "org.paperbench.owner"

#: One id per harness process, so that process can find everything it started.
SESSION_ID = uuid.uuid4().hex[:16]


def sandbox_labels(run_id: str, stage: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels for a new sandbox's container and volume.

    ``extra`` comes from the spec, which has already refused keys under ``org.paperbench.``.
    """
    labels = dict(extra or {})
    labels.update(
        {
            MANAGED: "true",
            RUN_ID: run_id,
            STAGE: stage,
            CREATED_AT: datetime.now(UTC).isoformat(timespec="seconds"),
            SESSION: SESSION_ID,
            OWNER: f"{socket.gethostname()}:{os.getpid()}",
        }
    )
    return labels


def label_filter(*, run_id: str | None = None, session: str | None = None) -> list[str]:
    """A Docker ``label`` filter selecting managed objects, optionally of one run or session."""
    selectors = [f"{MANAGED}=true"]
    if run_id is not None:
        selectors.append(f"{RUN_ID}={run_id}")
    if session is not None:
        selectors.append(f"{SESSION}={session}")
    return selectors
