"""Make a long reproduction log fit: collapse repetition, then cut the middle with a marker.

Training logs are mostly repetition: progress bars redrawn with carriage returns, the same
warning a thousand times, one line per step that differs only in its numbers. We

1. keep only the last state of every carriage-return-redrawn line;
2. collapse a run of identical lines into one line and a count;
3. only if that is still over the token budget: thin out each run of lines that differ only in
   their numbers (one line per training step) to its first and last line and a few evenly
   spaced samples between, with a count of the lines left out — the trajectory stays visible;
4. if the result is still over budget, keep the head and a longer tail (errors and final
   results live at the end) and put a marker where lines were cut, saying how many.

Every collapse or cut leaves a bracketed marker, so the judge is never shown a silently edited
log. Compression is deterministic, so the compressed log is part of the stable prompt prefix.
"""

from __future__ import annotations

import re

from paperbench.llm.tokens import TokenCounter, count_tokens

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
MIN_SIMILAR_RUN = 12
SAMPLES_KEPT = 8


def _shape(line: str) -> str:
    return _NUMBER.sub("#", line.strip())


def compress_log(text: str, *, thin_similar: bool = True) -> str:
    """Collapse redrawn and repeated lines, and thin numeric runs (steps 1-3 above)."""
    lines = [line.rsplit("\r", 1)[-1] if "\r" in line else line for line in text.split("\n")]
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        end = index + 1
        while end < len(lines) and lines[end] == line:
            end += 1
        if end - index > 1:
            out.append(line)
            out.append(f"[... previous line repeated {end - index - 1} more times ...]")
            index = end
            continue
        shape = _shape(line)
        end = index + 1
        numeric = thin_similar and shape and _NUMBER.search(line)
        while numeric and end < len(lines) and _shape(lines[end]) == shape:
            end += 1
        if end - index >= MIN_SIMILAR_RUN:
            run = lines[index:end]
            step = (len(run) - 1) / (SAMPLES_KEPT - 1)
            keep = sorted({round(i * step) for i in range(SAMPLES_KEPT)})
            for position, kept in enumerate(keep):
                if position:
                    gap = kept - keep[position - 1] - 1
                    out.append(f"[... {gap} similar lines differing only in numbers ...]")
                out.append(run[kept])
            index = end
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


def cut_to_budget(
    text: str, budget: int, *, counter: TokenCounter = count_tokens, head_share: float = 0.3
) -> str:
    """``text`` if it fits ``budget`` tokens, else its head and tail around a cut marker."""
    if budget <= 0:
        return f"[... log of {text.count(chr(10)) + 1} lines not shown: no room left ...]"
    total = counter(text)
    if total <= budget:
        return text
    # Lines are measured with tiktoken (fast, local); a model with its own tokenizer scales
    # the budget by the ratio of its count to tiktoken's over the whole text.
    ratio = total / max(count_tokens(text), 1) if counter is not count_tokens else 1.0
    lines = text.split("\n")
    marker_room = 40
    room = max(int(budget / ratio) - marker_room, 0)
    head_room, tail_room = int(room * head_share), room - int(room * head_share)
    head: list[str] = []
    used = 0
    for line in lines:
        cost = count_tokens(line) + 1
        if used + cost > head_room:
            break
        head.append(line)
        used += cost
    tail: list[str] = []
    used = 0
    for line in reversed(lines[len(head) :]):
        cost = count_tokens(line) + 1
        if used + cost > tail_room:
            break
        tail.append(line)
        used += cost
    tail.reverse()
    cut = len(lines) - len(head) - len(tail)
    marker = f"[... {cut} lines cut here to fit the judge's context ...]"
    return "\n".join([*head, marker, *tail])


def prepare_log(text: str, budget: int, *, counter: TokenCounter = count_tokens) -> str:
    """Collapse repetition, thin numeric runs only if needed, then cut to ``budget`` tokens."""
    light = compress_log(text, thin_similar=False)
    if counter(light) <= budget:
        return light
    return cut_to_budget(compress_log(text), budget, counter=counter)
