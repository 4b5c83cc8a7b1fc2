"""Text helpers shared by the authoring tools: how two requirements compare as wording.

Lint asks "do these siblings say the same thing?" and diff asks "is this node the old one,
reworded?". Both work on words, not characters, so that a changed number (``ResNet-18`` vs
``ResNet-50``) always counts as a real difference while an article or a trailing full stop
never does.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_WORD = re.compile(r"[A-Za-z0-9_]+(?:[.\-+][A-Za-z0-9_]+)*")

#: Words whose presence or absence does not change what a requirement asks for.
INSIGNIFICANT_WORDS = frozenset(
    re.split(
        r"\s+",
        "a an the this that these those its it of to in on at for by with from as and or be "
        "is are was were been has have had such so also then",
    )
)


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased; dotted or hyphenated tokens (``A.3``, ``ResNet-18``,
    ``1e-3``) stay whole so a changed number changes a word."""
    return [match.group(0).lower() for match in _WORD.finditer(text)]


def normalized(text: str) -> str:
    """Wording with case, punctuation and spacing removed: equal strings say the same thing."""
    return " ".join(words(text))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def differs_only_in_form(first: str, second: str) -> bool:
    """True when two requirements differ at most in articles, auxiliaries, plural ``s``, case
    and punctuation: ``"A GC-IQL agent has been trained"`` vs ``"An GC-IQL agent was trained"``.

    Any changed content word, number or identifier makes them different, so templated siblings
    (``... on CIFAR10`` / ``... on CIFAR100``) are never taken for duplicates.
    """
    left = [_stem(word) for word in words(first)]
    right = [_stem(word) for word in words(second)]
    matcher = SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changed = left[i1:i2] + right[j1:j2]
        if any(word not in INSIGNIFICANT_WORDS for word in changed):
            return False
    return True


def similarity(first: str, second: str) -> float:
    """How alike two wordings are, 0 to 1, on words (difflib's ratio over word lists)."""
    return word_similarity(words(first), words(second))


def word_similarity(left: list[str], right: list[str], at_least: float = 0.0) -> float:
    """:func:`similarity` on word lists already split; when the cheap upper bounds show the
    result is below ``at_least``, return 0 without computing it."""
    if not left and not right:
        return 1.0
    matcher = SequenceMatcher(a=left, b=right, autojunk=False)
    if at_least and (matcher.real_quick_ratio() < at_least or matcher.quick_ratio() < at_least):
        return 0.0
    return matcher.ratio()


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters, cut at a word with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
