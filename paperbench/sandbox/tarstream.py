"""Reading a tar stream that an attacker may have written, in bounded memory.

``tarfile`` reads a GNU long name, a PAX header or a GNU sparse map whole into memory,
whatever its size, and keeps every member's PAX records with the member. :func:`open_tar` gives
a stream-mode TarFile that refuses, before tarfile reads them, any PAX or long-name header over
``max_header_bytes`` and all of them together over ``max_headers_bytes``; refuses GNU sparse
members; decompresses gzip, bzip2 and xz itself; and counts every uncompressed byte against
``max_bytes`` (plus :data:`STREAM_SLACK` for tarfile's read-ahead). :func:`iterate` turns the
stream's failures into our errors and drops each member's raw PAX records once parsed.
The rules a member must then follow are :mod:`paperbench.sandbox.tarcheck`'s.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import tarfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from paperbench.sandbox.errors import ArchiveError, ArchiveLimitError, UnsafeArchiveError
from paperbench.sandbox.names import shown

KiB, MiB, GiB = 1024, 1024**2, 1024**3

# The hook we guard: tarfile dispatches every header through TarInfo._proc_member. Fail at
# import, not silently, should a future Python rename it.
for _hook in ("_proc_member", "_proc_gnusparse_00", "_proc_gnusparse_01", "_proc_gnusparse_10"):
    if not hasattr(tarfile.TarInfo, _hook):  # pragma: no cover - depends on the interpreter
        raise RuntimeError(f"tarfile.TarInfo.{_hook} is missing: update paperbench.sandbox")
_META_TYPES = {
    tarfile.GNUTYPE_LONGNAME: "GNU long-name",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link",
    tarfile.XHDTYPE: "PAX",
    tarfile.XGLTYPE: "PAX global",
    tarfile.SOLARIS_XHDTYPE: "PAX",
}
#: The uncompressed stream may pass ``max_bytes`` by this much (tarfile reads ahead, and the
#: members' own sizes are checked against ``max_bytes`` exactly), and no more.
STREAM_SLACK = 1 * MiB


@dataclass(frozen=True)
class ArchiveLimits:
    """Ceilings for one archive (see the module docstring for what each one bounds)."""

    max_bytes: int = 2 * GiB
    max_members: int = 100_000
    max_name_bytes: int = 4096
    max_component_bytes: int = 255
    max_header_bytes: int = 16 * KiB
    max_headers_bytes: int = 64 * MiB
    max_names_bytes: int = 64 * MiB


class _OverLimit(Exception):
    """The stream passed ``max_bytes``; turned into ArchiveLimitError naming the member."""


class _Counted:
    """A read-only stream that raises once more than ``limit`` bytes have passed."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit + 1 - self.count
        data = self.raw.read(max(0, min(size, self.limit + 1 - self.count)))
        self.count += len(data)
        if self.count > self.limit:
            raise _OverLimit
        return data


class _Prefixed:
    """``head`` (already read to sniff the compression) followed by the rest of ``raw``."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self.head = head
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size is None or size < 0 or size >= len(self.head):
                data, self.head = self.head, b""
                rest = self.raw.read(-1 if size is None or size < 0 else size - len(data))
                return data + rest
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.raw.read(size)


def _guarded_tarinfo(limits: ArchiveLimits, label: str) -> type[tarfile.TarInfo]:
    """A TarInfo class that refuses, before tarfile reads them, headers over the limit and the
    GNU sparse formats (whose maps tarfile also reads whole)."""
    base_member = tarfile.TarInfo._proc_member  # type: ignore[attr-defined]
    seen = [0]  # header bytes of this archive so far

    def refuse_sparse(self: tarfile.TarInfo, *args: object) -> object:
        raise UnsafeArchiveError(
            f"{label}: member {shown(self.name)} is a GNU sparse file, which is not supported"
        )

    def proc_member(self: tarfile.TarInfo, tar: tarfile.TarFile) -> Any:
        kind = _META_TYPES.get(self.type)
        if kind is not None:
            if self.size > limits.max_header_bytes:
                raise ArchiveLimitError(
                    f"{label}: a {kind} header of {self.size} bytes, over the limit of "
                    f"{limits.max_header_bytes} bytes for one header"
                )
            seen[0] += self.size
            if seen[0] > limits.max_headers_bytes:
                raise ArchiveLimitError(
                    f"{label}: its PAX and long-name headers add up to more than "
                    f"{limits.max_headers_bytes} bytes"
                )
        if self.type == tarfile.GNUTYPE_SPARSE:
            refuse_sparse(self)
        return base_member(self, tar)

    return type(  # a class per call: the checks need this archive's label and limits
        "GuardedTarInfo",
        (tarfile.TarInfo,),
        {
            "_proc_member": proc_member,
            "_proc_gnusparse_00": refuse_sparse,
            "_proc_gnusparse_01": refuse_sparse,
            "_proc_gnusparse_10": refuse_sparse,
        },
    )


@contextmanager
def open_tar(
    source: Path | IO[bytes], label: str, limits: ArchiveLimits
) -> Iterator[tuple[tarfile.TarFile, _Counted]]:
    """``source`` as a stream-mode TarFile over its uncompressed, counted bytes.

    Raises:
        ArchiveError: ``source`` cannot be opened or is not a tar stream we read.
    """
    with ExitStack() as stack:
        try:
            raw: IO[bytes] = (
                stack.enter_context(source.open("rb")) if isinstance(source, Path) else source
            )
            head = raw.read(6)
        except OSError as error:
            raise ArchiveError(f"{label}: cannot read it ({error})") from None
        joined: Any = _Prefixed(head, raw)
        if head.startswith(b"\x1f\x8b"):
            joined = stack.enter_context(gzip.GzipFile(fileobj=joined, mode="rb"))
        elif head.startswith(b"BZh"):
            joined = stack.enter_context(bz2.BZ2File(joined))
        elif head.startswith(b"\xfd7zXZ\x00"):
            joined = stack.enter_context(lzma.LZMAFile(joined))
        counted = _Counted(joined, limits.max_bytes + STREAM_SLACK)
        try:
            tar = tarfile.open(  # noqa: SIM115 - closed by the with below
                fileobj=cast(IO[bytes], counted), mode="r|", tarinfo=_guarded_tarinfo(limits, label)
            )
        except _OverLimit:
            raise over_limit(label, limits, None) from None
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
            raise ArchiveError(f"{label}: not a readable tar archive ({error})") from None
        with tar:
            yield tar, counted


def over_limit(label: str, limits: ArchiveLimits, at: str | None) -> ArchiveLimitError:
    """The error for an archive over ``max_bytes``, at member ``at`` when known."""
    where = f" at member {shown(at)}" if at is not None else ""
    return ArchiveLimitError(
        f"{label}: over the size limit of {limits.max_bytes} bytes{where} "
        "(headers and data, uncompressed)"
    )


def iterate(tar: tarfile.TarFile, label: str, limits: ArchiveLimits) -> Iterator[tarfile.TarInfo]:
    """The members of ``tar`` (from :func:`open_tar`), with the stream's limit and read errors
    turned into ours.

    Raises (while iterating):
        ArchiveLimitError, ArchiveError: the stream passed ``max_bytes`` or cannot be read.
    """
    last: str | None = None
    iterator = iter(tar)
    while True:
        try:
            info = next(iterator)
        except StopIteration:
            return
        except _OverLimit:
            raise over_limit(label, limits, last) from None
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
            after = f" after member {shown(last)}" if last is not None else ""
            raise ArchiveError(f"{label}: not a readable tar archive{after} ({error})") from None
        last = info.name
        # The parsed attributes carry everything we use; the raw PAX records would otherwise
        # stay in memory with every member tarfile keeps.
        info.pax_headers = {}
        yield info


class MemberData:
    """The data of one regular member, read in chunks; the stream's size limit is reported as
    an :class:`ArchiveLimitError` naming the member."""

    def __init__(
        self, tar: tarfile.TarFile, info: tarfile.TarInfo, label: str, limits: ArchiveLimits
    ) -> None:
        data = tar.extractfile(info)
        if data is None:
            raise ArchiveError(f"{label}: member {shown(info.name)} has no data")
        self._data = data
        self._label = label
        self._limits = limits
        self._name = info.name

    def read(self, size: int = -1) -> bytes:
        try:
            return self._data.read(size)
        except _OverLimit:
            raise over_limit(self._label, self._limits, self._name) from None
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
            raise ArchiveError(
                f"{self._label}: member {shown(self._name)} cannot be read ({error})"
            ) from None
