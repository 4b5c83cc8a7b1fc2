"""Lines of large, growing text files, read a page at a time: logs, transcripts, source files.

Everything the viewer shows from a run directory may be huge (a 2 GB ``reproduce.log``, a
transcript of a million events) and may still be growing (a run in progress). So a file is never
read whole:

* :class:`LineIndex` remembers, for every megabyte it has scanned, where a line starts and its
  number. It scans only as far as a request needs (the first page of a 2 GB log reads one
  megabyte), continues where it stopped when the file has grown, and starts again when the file
  was replaced or shrank. Counting is done by ``bytes.count`` on whole chunks, so a full scan
  runs at the speed of the disk; memory is two integers per megabyte.
* :meth:`LineIndex.read` returns a page of lines, each cut at ``max_line_bytes`` (the rest is
  counted, not kept), and at most ``max_bytes`` in all.
* :meth:`LineIndex.search` finds a substring (ASCII letters case-insensitively) from a line on,
  scanning at most ``max_scan_bytes`` and returning at most ``max_hits``; the caller continues
  from the line it says.

Text is decoded as UTF-8 with replacement characters; what a line contains is never
interpreted here.
"""

from __future__ import annotations

import bisect
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
MAX_LINE_BYTES = 64 * 1024
MAX_PAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Line:
    """Line ``number`` (from 1); ``cut`` bytes of it were left out past the line limit."""

    number: int
    text: str
    cut: int = 0


@dataclass(frozen=True)
class Page:
    lines: list[Line]
    next: int | None  # the next line to ask for, None at the end of the file (for now)
    size: int  # the file's size when read


@dataclass(frozen=True)
class SearchResult:
    hits: list[Line]
    next: int | None  # continue from this line; None when the end of the file was reached
    scanned_bytes: int


class LineIndex:
    """Line starts of one append-only text file, found lazily (see the module docstring).

    Thread-safe. The file is opened for each request, never held open.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self._identity = identity
        self._numbers = [1]  # line numbers of known line starts, increasing
        self._offsets = [0]  # their byte offsets
        self._scanned = 0  # bytes counted so far
        self._newlines = 0  # newlines in the counted bytes

    def _sync(self, stream: BinaryIO) -> int:
        status = os.fstat(stream.fileno())
        identity = (status.st_dev, status.st_ino)
        if identity != self._identity or status.st_size < self._scanned:
            self._reset(identity)
        return status.st_size

    def _scan(self, stream: BinaryIO, size: int, until_line: int | None) -> None:
        """Count lines from where the last scan stopped until ``until_line`` starts (or EOF)."""
        stream.seek(self._scanned)
        while self._scanned < size and (until_line is None or self._newlines + 1 < until_line):
            chunk = stream.read(min(CHUNK, size - self._scanned))
            if not chunk:
                break
            found = chunk.count(b"\n")
            if found:
                self._newlines += found
                self._numbers.append(self._newlines + 1)
                self._offsets.append(self._scanned + chunk.rfind(b"\n") + 1)
            self._scanned += len(chunk)

    def _seek_line(self, stream: BinaryIO, size: int, number: int) -> bool:
        """Position ``stream`` at the start of line ``number``; False if the file has fewer."""
        self._scan(stream, size, number)
        where = bisect.bisect_right(self._numbers, number) - 1
        current, offset = self._numbers[where], self._offsets[where]
        stream.seek(offset)
        while current < number:
            piece = stream.readline(CHUNK)
            if not piece:
                return False
            if piece.endswith(b"\n"):
                current += 1
        return stream.tell() < size

    def line_count(self) -> tuple[int, int]:
        """``(lines, size)`` of the file now (scans it to the end once; later calls only scan
        what was appended). A last line without a newline counts.

        Raises:
            OSError: the file cannot be read.
        """
        with self._lock, self.path.open("rb") as stream:
            size = self._sync(stream)
            self._scan(stream, size, None)
            partial = 0
            if size:
                stream.seek(size - 1)
                partial = stream.read(1) != b"\n"
            return self._newlines + partial, size

    def read(
        self,
        start: int,
        count: int,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_bytes: int = MAX_PAGE_BYTES,
    ) -> Page:
        """Lines ``start`` to ``start + count - 1`` (fewer at the end of the file or past
        ``max_bytes``).

        Raises:
            OSError: the file cannot be read.
        """
        start = max(1, start)
        with self._lock, self.path.open("rb") as stream:
            size = self._sync(stream)
            if not self._seek_line(stream, size, start):
                return Page([], None, size)
            lines: list[Line] = []
            used = 0
            number = start
            while len(lines) < count and used < max_bytes and stream.tell() < size:
                text, cut, length = _read_line(stream, max_line_bytes)
                lines.append(Line(number, text, cut))
                used += length - cut
                number += 1
            more = stream.tell() < size
            return Page(lines, number if more else None, size)

    def search(
        self,
        query: str,
        start: int = 1,
        *,
        max_hits: int = 100,
        max_scan_bytes: int = 64 * 1024 * 1024,
        max_line_bytes: int = 2048,
        escaped: str | None = None,
    ) -> SearchResult:
        """Lines from ``start`` on that contain ``query`` (or its ``escaped`` form, e.g. as it
        is written inside JSON strings); ASCII letters match in either case.

        Raises:
            OSError: the file cannot be read.
        """
        needles = {query.encode("utf-8").lower()}
        if escaped:
            needles.add(escaped.encode("utf-8").lower())
        needles.discard(b"")
        if not needles:
            return SearchResult([], None, 0)
        hits: list[Line] = []
        with self._lock, self.path.open("rb") as stream:
            size = self._sync(stream)
            if not self._seek_line(stream, size, max(1, start)):
                return SearchResult([], None, 0)
            begin = stream.tell()
            number = max(1, start)
            carry = b""
            full = False
            while not full and stream.tell() - begin < max_scan_bytes:
                chunk = stream.read(min(CHUNK, size - stream.tell()))
                if not chunk and not carry:
                    break
                block = carry + chunk
                end = block.rfind(b"\n") + 1 if chunk else len(block)
                if end == 0:  # a line longer than a chunk: look at what we have of it
                    end = len(block)
                body, carry = block[:end], block[end:]
                number, full = _hits_in(body, number, needles, hits, max_hits, max_line_bytes)
                if not chunk:
                    break
            position = stream.tell() - len(carry)
            done = not full and position >= size and not carry
            return SearchResult(hits, None if done else number, position - begin)


def _read_line(stream: BinaryIO, limit: int) -> tuple[str, int, int]:
    """One line without its newline, cut at ``limit`` bytes: ``(text, bytes cut, length)``."""
    data = stream.readline(limit)
    length = len(data)
    cut = 0
    if length == limit and not data.endswith(b"\n"):
        while True:
            rest = stream.readline(CHUNK)
            if not rest:
                break
            length += len(rest)
            cut += len(rest) - rest.endswith(b"\n")
            if rest.endswith(b"\n"):
                break
    text = data[:-1] if data.endswith(b"\n") else data
    return text.decode("utf-8", errors="replace"), cut, length


def _hits_in(
    body: bytes,
    number: int,
    needles: set[bytes],
    hits: list[Line],
    max_hits: int,
    max_line_bytes: int,
) -> tuple[int, bool]:
    """Add the lines of ``body`` (starting at line ``number``) holding a needle; return the
    number of the line to continue from, and whether ``max_hits`` was reached."""
    lowered = body.lower()
    positions = sorted({found for needle in needles for found in _find_all(lowered, needle)})
    last_line_start = -1
    counted_to, line = 0, number
    for position in positions:
        line += lowered.count(b"\n", counted_to, position)
        counted_to = position
        start = lowered.rfind(b"\n", 0, position) + 1
        if start == last_line_start:
            continue
        last_line_start = start
        end = lowered.find(b"\n", position)
        end = len(body) if end < 0 else end
        text = body[start : min(end, start + max_line_bytes)]
        cut = max(0, end - start - len(text))
        hits.append(Line(line, text.decode("utf-8", errors="replace"), cut))
        if len(hits) >= max_hits:
            return line + 1, True
    return number + body.count(b"\n"), False


def _find_all(haystack: bytes, needle: bytes) -> list[int]:
    found, at = [], haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found
