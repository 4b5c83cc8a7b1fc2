"""Output capping keeps both ends of a stream in bounded memory."""

from __future__ import annotations

from paperbench.sandbox.output import CappedBuffer


def test_output_under_the_cap_is_returned_whole() -> None:
    buffer = CappedBuffer(10)
    for piece in (b"abc", b"defg", b"hij"):
        buffer.feed(piece)
    assert buffer.value() == b"abcdefghij" and not buffer.truncated


def test_output_over_the_cap_keeps_the_first_and_last_halves() -> None:
    buffer = CappedBuffer(8)
    for byte in b"0123456789abcdef":
        buffer.feed(bytes([byte]))
    value = buffer.value()
    assert buffer.truncated and buffer.total == 16
    assert value.startswith(b"0123") and value.endswith(b"cdef")
    assert b"paperbench cut 8 bytes" in value


def test_memory_held_stays_within_the_cap_however_long_the_stream() -> None:
    buffer = CappedBuffer(1000)
    chunk = bytes(range(256)) * 257
    for _ in range(2000):  # about 130 MB through the buffer
        buffer.feed(chunk)
    held = len(buffer._head) + sum(len(part) for part in buffer._tail)
    assert held == 1000
    assert buffer.total == 2000 * len(chunk)


def test_a_zero_cap_keeps_nothing_but_counts() -> None:
    buffer = CappedBuffer(0)
    buffer.feed(b"anything")
    assert buffer.total == 8 and buffer.truncated
    assert buffer.value().startswith(b"\n[... paperbench cut 8 bytes")
