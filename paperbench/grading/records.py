"""Every prompt and reply of a grade, kept for inspection without storing the prefix N times.

``DIR/prompts/<sha256>.md`` holds each distinct prompt block once (the paper, the files block of
a view, ...); ``DIR/calls.jsonl`` has one line per call attempt: the items it graded, the keys of
its blocks in order, its suffix, the reply text, usage and outcome. :func:`assemble_prompt`
rebuilds the text a call sent. A 2,000-leaf rubric with a 60k-token prefix is thus a few
hundred kilobytes of records instead of gigabytes.

Blocks and call lines are redacted on their way to the files
(:func:`paperbench.secrets.redact_text`): a block is still named by the hash of the text that was
sent, but a secret in it (or a string shaped like an API key) is stored as ``[redacted]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from paperbench.grading.prompts import Prefix
from paperbench.llm.types import Usage
from paperbench.secrets import redact_text


class CallRecorder:
    """Writes blocks and call records under ``out_dir`` as the grade runs."""

    def __init__(self, out_dir: Path) -> None:
        self.blocks_dir = out_dir / "prompts"
        self.blocks_dir.mkdir(parents=True, exist_ok=True)
        self._written: set[str] = set()
        self._calls: IO[str] = open(out_dir / "calls.jsonl", "w", encoding="utf-8")  # noqa: SIM115

    def record(
        self,
        *,
        call: int,
        attempt: int,
        items: list[str],
        prefix: Prefix,
        suffix: str,
        schema: str,
        reply: str,
        outcome: str,
        usage: Usage,
        model_version: str,
        from_cache: bool,
        problem: str = "",
    ) -> None:
        keys = []
        for block in prefix.blocks:
            key = block.key
            keys.append({"key": key, "label": block.label, "tokens": block.tokens})
            if key not in self._written:
                (self.blocks_dir / f"{key}.md").write_text(
                    redact_text(block.text), encoding="utf-8"
                )
                self._written.add(key)
        line: dict[str, Any] = {
            "call": call,
            "attempt": attempt,
            "items": items,
            "blocks": keys,
            "suffix": suffix,
            "schema": schema,
            "reply": reply,
            "outcome": outcome,
            "problem": problem,
            "from_cache": from_cache,
            "model_version": model_version,
            "usage": usage.model_dump(),
        }
        self._calls.write(redact_text(json.dumps(line)) + "\n")

    def close(self) -> None:
        self._calls.close()


def load_calls(out_dir: Path) -> list[dict[str, Any]]:
    with open(out_dir / "calls.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def assemble_prompt(out_dir: Path, record: dict[str, Any]) -> list[str]:
    """The texts a recorded call sent, in order: the system block, user blocks, the suffix."""
    texts = [
        (out_dir / "prompts" / f"{block['key']}.md").read_text(encoding="utf-8")
        for block in record["blocks"]
    ]
    return [*texts, record["suffix"]]
