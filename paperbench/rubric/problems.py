"""A problem found in a rubric: where (file, node path, field), what is wrong, what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
BRIEF_LIMIT = 80


def clip(text: str, limit: int = 200) -> str:
    """``text`` on one line (line breaks shown as ``\\n``), cut in the middle past ``limit``
    characters: a rubric value can be megabytes long, a message stays one short line."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    if len(text) <= limit:
        return text
    half = max((limit - 5) // 2, 1)
    return f"{text[:half]} ... {text[-half:]}"


def brief(value: Any, limit: int = BRIEF_LIMIT) -> str:
    """A short quotation of a value from a rubric: its ``repr``, clipped; a dict or list is
    described by its size, never printed."""
    if isinstance(value, dict):
        return f"{{...}} (an object of {len(value)} keys)"
    if isinstance(value, list):
        return f"[...] (a list of {len(value)} items)"
    if isinstance(value, str) and len(value) > 2 * limit:
        value = value[:limit] + value[-limit:]
    return clip(repr(value), limit)


@dataclass(frozen=True)
class Problem:
    source: str
    path: str
    field: str
    message: str
    allowed: str = ""
    severity: Severity = "error"
    node_id: str | None = None

    def describe(self, *, with_source: bool = True) -> str:
        """One line: ``file: error: node 0/2 (id 'x'): weight: is negative; allowed: ...``."""
        where = f"node {clip(self.path or 'root', 120)}"
        if self.node_id is not None:
            where += f" (id {brief(self.node_id, 60)})"
        line = f"{where}: {self.field}: {self.message}"
        if self.allowed:
            line += f"; allowed: {self.allowed}"
        prefix = f"{self.source}: " if with_source else ""
        return f"{prefix}{self.severity}: {line}"
