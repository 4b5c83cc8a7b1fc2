"""A content-addressed cache of judge replies, in SQLite.

The key is a hash of everything that determines a reply: provider kind, model, base URL (so two
servers serving "the same" name do not share), the sampling settings, the output schema and the
full prompt (as the hashes of its blocks and its suffix). Re-grading unchanged inputs therefore
makes no calls; changing the paper, a submission file, a template, the model or a setting
changes the key of exactly the prompts it touches.

Only replies that validated are stored: a failed or malformed reply is tried again next time.
Replies are stored as the provider sent them (but for any secret in them, redacted by
:func:`paperbench.secrets.redact_text`), so a later change to validation applies to cached
replies too. With a temperature above zero the cache returns the first sample; to measure a
judge's variance, grade with ``--no-cache``.

SQLite in WAL mode with ``synchronous=NORMAL``: a commit per reply costs no fsync, and a crash
loses at most the last few replies — which are then simply asked again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from paperbench.llm.catalog import ModelSpec
from paperbench.llm.types import Completion, GenerateSettings, OutputSchema, Usage
from paperbench.papers import home_dir
from paperbench.secrets import redact_text

SCHEMA_VERSION = 1


def default_cache_path() -> Path:
    return home_dir() / "cache" / "judge.sqlite"


def cache_key(
    spec: ModelSpec,
    settings: GenerateSettings,
    schema: OutputSchema,
    prompt_keys: list[str],
    suffix: str,
) -> str:
    identity: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "provider": spec.provider,
        "model": spec.model,
        "base_url": spec.base_url if spec.provider == "openai-compatible" else None,
        "settings": settings.model_dump(exclude={"timeout_seconds"}),
        "schema": schema.model_dump(),
        "prompt": prompt_keys,
        "suffix": hashlib.sha256(suffix.encode("utf-8", "surrogatepass")).hexdigest(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class JudgeCache:
    """Open with a path; ``get`` and ``put`` by :func:`cache_key`; ``close`` when done."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
            "model_version TEXT NOT NULL, usage TEXT NOT NULL, created REAL NOT NULL)"
        )
        self._db.commit()

    def get(self, key: str) -> Completion | None:
        row = self._db.execute(
            "SELECT text, model_version, usage FROM replies WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        text, version, usage = row
        return Completion(text=text, model_version=version, usage=Usage.model_validate_json(usage))

    def put(self, key: str, completion: Completion) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?)",
            (
                key,
                redact_text(completion.text),
                completion.model_version,
                completion.usage.model_dump_json(),
                time.time(),
            ),
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        self._db.close()
