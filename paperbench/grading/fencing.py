"""How material written by the agent reaches the judge: inside fences, names quoted.

Everything that came out of the agent's container — file contents, file *names* (which on Linux
may hold newlines and any other character but ``/`` and NUL), listings of files, the
reproduction log — is untrusted: the agent is rewarded for a high score and may write text
addressed to the judge. The judge's prompt therefore shows such material only

* inside a **fence** (:func:`fenced`): an opening line ``<<<SUBMISSION-DATA CODE label>>>`` and
  a closing line ``<<<END-SUBMISSION-DATA CODE>>>``, where CODE is derived from a hash of all
  the material (:func:`choose_fence_code`) and is re-drawn until no piece of material contains
  it. Inside the fence, any text that imitates a fence line gets a backslash in front (``\\<<<``),
  so even material that guessed the code cannot close its own fence; and
* with every **name quoted** (:func:`quote_name`): a name of plain characters is shown as it is;
  any other name is shown in double quotes on one line, with line breaks, control and format
  characters (bidirectional overrides included), quotes and backslashes escaped, and bytes that
  are not UTF-8 shown as ``\\xNN``; names longer than :data:`NAME_LIMIT` are cut in the middle.

A name thus never spans two lines and never reaches the prompt outside a fence, whether it came
through the harness's capture or from a folder handed straight to ``paperbench grade``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

NAME_LIMIT = 300
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._/+@=,~-]+")
_FENCE_LIKE = re.compile(r"<<<(?=\s*(?:END-)?SUBMISSION-DATA)", re.IGNORECASE)
_SIMPLE_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def quote_name(name: str, limit: int = NAME_LIMIT) -> str:
    """``name`` as the judge is shown it: plain names as they are, others quoted and escaped on
    one line (see the module docstring)."""
    if _PLAIN_NAME.fullmatch(name) and len(name) <= limit:
        return name
    pieces: list[str] = []
    for char in name:
        code = ord(char)
        if char in _SIMPLE_ESCAPES:
            pieces.append(_SIMPLE_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
            pieces.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in _ESCAPED_CATEGORIES:
            pieces.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            pieces.append(char)
    text = "".join(pieces)
    if len(text) > limit:
        half = (limit - 20) // 2
        text = f"{text[:half]}[... {len(text) - 2 * half} characters ...]{text[-half:]}"
    return f'"{text}"'


def choose_fence_code(seed: str, texts: Iterable[str]) -> str:
    """A fence code derived from ``seed`` (a hash of the material) that none of ``texts``
    contains: the first of a deterministic sequence of candidates, so a re-grade of the same
    material gets the same code and the same prompt prefix."""
    material = list(texts)
    salt = 0
    while True:
        code = "PB-" + hashlib.sha256(f"{salt}:{seed}".encode()).hexdigest()[:16].upper()
        if not any(code in text for text in material):
            return code
        salt += 1


def neutralise_fences(text: str) -> str:
    """``text`` with a backslash before every ``<<<`` that starts something like a fence line
    (any code, any case), so the material cannot open or close a fence of its own."""
    return _FENCE_LIKE.sub(r"\\<<<", text)


def fenced(code: str, label: str, text: str) -> str:
    """``text`` between the fence lines of ``code``; ``label`` (already quoted) names it."""
    body = neutralise_fences(text.rstrip())
    return f"<<<SUBMISSION-DATA {code} {label}>>>\n{body}\n<<<END-SUBMISSION-DATA {code}>>>"
