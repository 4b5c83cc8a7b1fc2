"""Choosing which files to show when a submission does not fit the judge's context.

PaperBench spends an LLM call per leaf to rank files. We rank lexically instead — BM25 over
identifier-aware terms (``build_optimizer`` and ``buildOptimizer`` both give ``build`` and
``optimizer``) of each file's path and text, against the requirements of a rubric subtree and
its ancestors — which costs no call and is deterministic, so the chosen set (and with it the
prompt prefix) is the same on every re-grade. Selection is per subtree, not per leaf: every
leaf under one subtree sees the same files, so siblings still share a cacheable prefix.

The chosen files are returned in path order, not rank order, so two subtrees that choose
mostly the same files produce prefixes that agree for longer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")
_STOPWORDS_TEXT = (
    "the a an and or of to in for on with by is are be been has have that this it as at from "
    "was were which its into such than then there these those using used use code paper"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))


def terms(text: str) -> list[str]:
    """Lower-cased word pieces of ``text``, splitting snake_case and camelCase."""
    return [
        word
        for word in (match.group(0).lower() for match in _WORD.finditer(text))
        if len(word) > 1 and word not in STOPWORDS
    ]


@dataclass
class LexicalIndex:
    """BM25 over documents given as ``(name, text)``; the name's terms count twice."""

    names: list[str]
    frequencies: list[Counter[str]]
    lengths: list[int]
    document_frequency: Counter[str]
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, documents: Sequence[tuple[str, str]]) -> LexicalIndex:
        frequencies = [Counter(terms(text) + terms(name) * 2) for name, text in documents]
        document_frequency: Counter[str] = Counter()
        for counts in frequencies:
            document_frequency.update(counts.keys())
        return cls(
            names=[name for name, _ in documents],
            frequencies=frequencies,
            lengths=[sum(counts.values()) for counts in frequencies],
            document_frequency=document_frequency,
        )

    def scores(self, query: str) -> list[float]:
        wanted = Counter(terms(query))
        count = len(self.names)
        average = sum(self.lengths) / count if count else 0.0
        results: list[float] = []
        for counts, length in zip(self.frequencies, self.lengths, strict=True):
            score = 0.0
            for term, times in wanted.items():
                found = counts.get(term, 0)
                if not found:
                    continue
                df = self.document_frequency[term]
                idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
                norm = found + self.k1 * (1 - self.b + self.b * length / (average or 1))
                score += times * idf * found * (self.k1 + 1) / norm
            results.append(score)
        return results

    def rank(self, query: str) -> list[int]:
        """Document indexes, best first; ties keep the documents' order."""
        scores = self.scores(query)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def name_scores(names: Sequence[str], query: str) -> list[float]:
    """BM25-style scores of file ``names`` (their terms only) against ``query``, for choosing
    which files to read before any is read. Keeps only the terms a name shares with the query,
    so a listing of a hundred thousand names costs little memory."""
    wanted = set(terms(query))
    shared = [[term for term in set(terms(name)) if term in wanted] for name in names]
    frequency: Counter[str] = Counter(term for found in shared for term in found)
    count = len(names)
    return [
        sum(math.log(1 + (count - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in found)
        for found in shared
    ]


def choose_within_budget(
    ranked: Sequence[int],
    costs: Sequence[int],
    budget: int,
    *,
    always: Callable[[int], bool] = lambda _: False,
) -> list[int]:
    """Take documents in rank order while they fit ``budget`` (those ``always`` wanted first).

    Returns the chosen indexes in ascending (path) order.
    """
    chosen: list[int] = []
    used = 0
    order = [i for i in ranked if always(i)] + [i for i in ranked if not always(i)]
    for index in order:
        if used + costs[index] <= budget:
            chosen.append(index)
            used += costs[index]
    return sorted(chosen)
