"""Keep a bounded amount of a command's output, however much it writes.

A reproduction log is most useful at both ends (the setup at the top, the error at the bottom),
so past the cap we keep the first half and the last half of the cap and drop the middle. Memory
use is bounded by the cap whatever the stream's length: the head stops growing once full and
the tail is a queue trimmed from the front as new bytes arrive.
"""

from __future__ import annotations

from collections import deque


def cut_marker(dropped: int, cap: int) -> bytes:
    """The line put where output was cut, so a reader (or a judge) cannot miss it."""
    return f"\n[... paperbench cut {dropped} bytes here: output cap is {cap} bytes ...]\n".encode()


class CappedBuffer:
    """The first ``cap - cap // 2`` and the last ``cap // 2`` bytes of a stream, and its length."""

    def __init__(self, cap: int) -> None:
        if cap < 0:
            raise ValueError(f"an output cap must be >= 0, not {cap}")
        self.cap = cap
        self.total = 0
        self._head_cap = cap - cap // 2
        self._tail_cap = cap // 2
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream."""
        self.total += len(data)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data or self._tail_cap == 0:
            return
        if len(data) >= self._tail_cap:
            self._tail.clear()
            self._tail.append(bytes(data[-self._tail_cap :]))
            self._tail_len = self._tail_cap
            return
        self._tail.append(bytes(data))
        self._tail_len += len(data)
        while self._tail_len - len(self._tail[0]) >= self._tail_cap:
            self._tail_len -= len(self._tail.popleft())
        excess = self._tail_len - self._tail_cap
        if excess > 0:
            self._tail[0] = self._tail[0][excess:]
            self._tail_len -= excess

    @property
    def truncated(self) -> bool:
        """True when some of the stream was dropped."""
        return self.total > self.cap

    def value(self) -> bytes:
        """Everything, if it fitted; else head, a marker saying how much was cut, and tail."""
        tail = b"".join(self._tail)
        if not self.truncated:
            return bytes(self._head) + tail
        return bytes(self._head) + cut_marker(self.total - self.cap, self.cap) + tail
