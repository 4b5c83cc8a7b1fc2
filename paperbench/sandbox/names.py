"""File names that came out of a sandbox, made safe to show.

A Linux file name is any bytes but ``/`` and NUL: newlines, terminal escapes, bidirectional
overrides, bytes that are not UTF-8. Such a name written into a manifest, an error message or a
judge's prompt can forge lines or hide text. Capture and extraction refuse these names
(:func:`name_problem` says why) and report them escaped (:func:`escape_name`): the escaped form
is printable ASCII-safe text from which the original bytes can be read back, never the raw name.
"""

from __future__ import annotations

import unicodedata

#: Characters that reorder or hide text when shown (Unicode bidirectional controls) or break
#: lines without being a control character (line and paragraph separators).
_INVISIBLE = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _undecodable(char: str) -> bool:
    """A byte that was not UTF-8, as ``surrogateescape`` decoding keeps it."""
    return "\udc80" <= char <= "\udcff"


def _unsafe(char: str) -> bool:
    return (
        _undecodable(char)
        or char in _INVISIBLE
        or unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")
    )


def name_problem(name: str) -> str | None:
    """Why ``name`` (decoded with ``surrogateescape``) may not be kept, or None when it may.

    Refused: control characters (newline, escape, DEL, the C1 range), bidirectional controls,
    line and paragraph separators, and bytes that are not UTF-8.
    """
    if any(_undecodable(char) for char in name):
        return "its name is not valid UTF-8"
    if any(_unsafe(char) for char in name):
        return "its name holds control characters"
    return None


def escape_name(name: str) -> str:
    """``name`` with every unsafe character written as an escape (``\\n``, ``\\x1b``,
    ``\\u202e``; a byte that was not UTF-8 as ``\\xNN``) and backslashes doubled, so the
    result shows on one line as written and maps back to exactly one name."""
    out = []
    for char in name:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif _undecodable(char):
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif _unsafe(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def shown(name: str, limit: int = 160) -> str:
    """``name`` escaped, in single quotes and, past ``limit`` characters, cut with its full
    length said: what an error message or a log line may carry of a name an attacker chose."""
    escaped = escape_name(name)
    if len(escaped) <= limit:
        return f"'{escaped}'"
    return f"'{escaped[: max(8, limit - 40)]}...' ({len(name)} characters in all)"
