"""A problem found in a rubric: where (file, node path, field), what is wrong, what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


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
        where = f"node {self.path or 'root'}"
        if self.node_id is not None:
            where += f" (id {self.node_id!r})"
        line = f"{where}: {self.field}: {self.message}"
        if self.allowed:
            line += f"; allowed: {self.allowed}"
        prefix = f"{self.source}: " if with_source else ""
        return f"{prefix}{self.severity}: {line}"
