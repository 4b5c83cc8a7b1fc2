"""The model's context: the task at its head, then turns, the oldest dropped when it fills up.

A *turn* is one model reply and everything that answered it (tool results, a reminder, a
nudge). Turns are dropped whole, oldest first, because a tool result without the call that
asked for it is malformed for every provider. The head — the system prompt and the task — is
never dropped; after a drop a short note right after the head tells the model that earlier
turns are gone (its files are not: they stay in the sandbox).

Sizes are estimated with the provider's token counter (tiktoken's cl100k for hosted models),
against the model's context window minus the reply's token allowance and a margin for the
estimate's error. Providers count differently, so when a provider still refuses a request as
too long, :meth:`Context.drop_half` makes room and the loop tries again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from paperbench.llm.types import Message, ToolSpec

#: Share of the window left unused, for the difference between our count and the provider's.
MARGIN = 0.05
#: Tokens a message costs beyond its text (role, separators), as OpenAI documents.
PER_MESSAGE = 4


def _note(dropped: int) -> Message:
    return Message.text(
        "user",
        f"[paperbench] {dropped} earlier turn(s) of this conversation were removed to fit the "
        "model's context window. Your files in the sandbox are unchanged; look at them to "
        "recall what you did.",
    )


class Context:
    """The message list of one run: ``head`` (kept) and ``turns`` (droppable)."""

    def __init__(
        self,
        head: list[Message],
        *,
        window: int,
        reply_tokens: int,
        counter: Callable[[str], int],
        tools: tuple[ToolSpec, ...] = (),
    ) -> None:
        self.head = head
        self.turns: list[list[Message]] = []
        self.dropped = 0
        self.counter = counter
        self.budget = int(window * (1 - MARGIN)) - reply_tokens
        self.tools_tokens = counter(json.dumps([t.model_dump() for t in tools])) if tools else 0

    def start_turn(self, message: Message) -> None:
        self.turns.append([message])

    def add(self, message: Message) -> None:
        """Add to the current turn (or start one if there is none yet)."""
        if self.turns:
            self.turns[-1].append(message)
        else:
            self.turns.append([message])

    def messages(self) -> tuple[Message, ...]:
        note = [_note(self.dropped)] if self.dropped else []
        return (*self.head, *note, *(m for turn in self.turns for m in turn))

    def _message_tokens(self, message: Message) -> int:
        text = message.joined_text + "".join(
            call.name + (call.raw_arguments or json.dumps(call.arguments))
            for call in message.tool_calls
        )
        return self.counter(text) + PER_MESSAGE

    def tokens(self) -> int:
        """Estimated prompt tokens of :meth:`messages` plus the tool definitions."""
        return self.tools_tokens + sum(self._message_tokens(m) for m in self.messages())

    def head_fits(self) -> bool:
        note = self._message_tokens(_note(1))
        return self.tools_tokens + sum(map(self._message_tokens, self.head)) + note <= self.budget

    def fit(self) -> int:
        """Drop the oldest turns until the estimate fits; returns how many were dropped now."""
        before = self.dropped
        while self.turns and self.tokens() > self.budget:
            self.turns.pop(0)
            self.dropped += 1
        return self.dropped - before

    def drop_half(self) -> int:
        """Drop the older half of the turns (at least one); returns how many (0: none left)."""
        count = max(1, len(self.turns) // 2) if self.turns else 0
        del self.turns[:count]
        self.dropped += count
        return count
