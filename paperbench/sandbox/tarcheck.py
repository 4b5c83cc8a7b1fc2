"""Reading a tar archive that an attacker may have written: our own checks, in bounded memory.

The standard library's ``data`` extraction filter cannot be the only wall: on the interpreters
this project runs on (3.11.7) a chain of symbolic links whose resolved path passes ``PATH_MAX``
fools it (CVE-2025-4517), and ``tarfile`` reads a GNU long name or a PAX header whole into
memory, whatever its size. So every archive is read here first, and refused unless:

- it is a tar stream (plain, gzip, bzip2 or xz) whose regular files add up to at most
  ``max_bytes`` and whose uncompressed bytes — headers, PAX and long-name records, data and
  padding — pass it by at most :data:`STREAM_SLACK` (tarfile reads ahead); every PAX or long-name
  header is under ``max_header_bytes`` and all of them together under ``max_headers_bytes``
  (checked before ``tarfile`` reads them), and GNU sparse members, whose maps ``tarfile`` also
  reads whole, are refused;
- it has at most ``max_members`` members, names and link names of at most ``max_name_bytes``
  (components of at most ``max_component_bytes``), at most ``max_names_bytes`` of names in all;
- names are relative, without ``..``, in UTF-8 and free of control characters; each name
  appears once (a folder may repeat);
- members are regular files, folders, symbolic links or hard links, nothing else;
- no member lies under a symbolic link or under a file of the archive;
- a symbolic link's target is relative, stays inside the archive when resolved from the link's
  folder, and passes through no other symbolic link of the archive (so what the kernel resolves
  is what we resolved, and no chain can be built);
- a hard link names an earlier regular file of the archive.

Errors name the archive and the member, escaped and shortened (:func:`~.names.shown`).
:func:`read_checked` yields the members of a second read only while they match the first.
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
from typing import IO, Any, Literal, cast

from paperbench.sandbox.errors import ArchiveError, ArchiveLimitError, UnsafeArchiveError
from paperbench.sandbox.names import name_problem, shown

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
Kind = Literal["file", "dir", "symlink", "hardlink"]
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


@dataclass(frozen=True)
class Member:
    """A member as checked: normalized name (relative, ``/``-separated, no ``.``/``..``),
    kind, size (files only), and target (a symbolic link's text as stored; a hard link's
    normalized member name)."""

    name: str
    kind: Kind
    size: int = 0
    target: str = ""

    @property
    def parts(self) -> list[str]:
        return self.name.split("/")


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
            raise _over(label, limits, None) from None
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
            raise ArchiveError(f"{label}: not a readable tar archive ({error})") from None
        with tar:
            yield tar, counted


def _over(label: str, limits: ArchiveLimits, at: str | None) -> ArchiveLimitError:
    where = f" at member {shown(at)}" if at is not None else ""
    return ArchiveLimitError(
        f"{label}: over the size limit of {limits.max_bytes} bytes{where} "
        "(headers and data, uncompressed)"
    )


class Checker:
    """Checks one archive's members as they are read, then across members (:meth:`finish`)."""

    def __init__(self, label: str, limits: ArchiveLimits) -> None:
        self.label = label
        self.limits = limits
        self.members: list[Member] = []
        self.kinds: dict[str, Kind] = {}
        self.declared = 0
        self.names_bytes = 0
        self._walks: list[tuple[Member, list[str]]] = []

    def _unsafe(self, raw: str, why: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(f"{self.label}: member {shown(raw)} {why}")

    def _length(self, raw: str, text: str, what: str) -> None:
        size = len(text.encode("utf-8", "surrogateescape"))
        if size > self.limits.max_name_bytes:
            raise ArchiveLimitError(
                f"{self.label}: member {shown(raw)} has a {what} of {size} bytes, over the "
                f"limit of {self.limits.max_name_bytes}"
            )
        self.names_bytes += size
        if self.names_bytes > self.limits.max_names_bytes:
            raise ArchiveLimitError(
                f"{self.label}: its names add up to more than {self.limits.max_names_bytes} "
                f"bytes (at member {shown(raw)})"
            )

    def _parts(self, raw: str, text: str, what: str, *, climb: bool = False) -> list[str]:
        """``text`` split into components, after checking its characters and lengths; ``..``
        is refused unless ``climb`` (symbolic link targets, checked by the caller)."""
        problem = name_problem(text)
        if problem is not None:
            raise self._unsafe(raw, f"is refused: {problem.replace('its name', f'its {what}')}")
        if text.startswith("/"):
            return []  # the caller words the refusal
        parts = [part for part in text.split("/") if part not in ("", ".")]
        if ".." in parts and not climb:
            raise self._unsafe(raw, f"has '..' in its {what}")
        for part in parts:
            if len(part.encode("utf-8", "surrogateescape")) > self.limits.max_component_bytes:
                raise ArchiveLimitError(
                    f"{self.label}: member {shown(raw)} has a {what} component over "
                    f"{self.limits.max_component_bytes} bytes"
                )
        return parts

    def add(self, info: tarfile.TarInfo) -> Member | None:
        """Check one member; None for the archive's own root folder (``.``), which is skipped.

        Raises:
            UnsafeArchiveError, ArchiveLimitError: as listed in the module docstring.
        """
        raw = info.name
        if len(self.members) >= self.limits.max_members:
            raise ArchiveLimitError(
                f"{self.label}: more than {self.limits.max_members} members (stopped at "
                f"{shown(raw)}); raise the member limit if this is expected"
            )
        self._length(raw, raw, "name")
        if raw.startswith("/"):
            raise self._unsafe(raw, "has an absolute path")
        parts = self._parts(raw, raw, "name")
        kind = _kind(info)
        if kind is None:
            special = info.ischr() or info.isblk() or info.isfifo()
            raise self._unsafe(
                raw, "is a device or other special file" if special else "has an unsupported type"
            )
        if not parts:
            if kind != "dir":
                raise self._unsafe(raw, "has an empty name")
            return None
        name = "/".join(parts)
        seen = self.kinds.get(name)
        if seen is not None and not (seen == kind == "dir"):
            raise self._unsafe(raw, "appears twice in the archive")
        target = ""
        if kind == "file":
            self.declared += info.size
            if self.declared > self.limits.max_bytes:
                raise _over(self.label, self.limits, raw)
        elif kind == "hardlink":
            target = self._hardlink(raw, info.linkname)
        elif kind == "symlink":
            target = self._symlink(raw, parts, info.linkname)
        member = Member(name, kind, info.size if kind == "file" else 0, target)
        self.kinds[name] = kind
        self.members.append(member)
        if kind == "symlink":
            self._walks.append((member, _walk(parts, target)))
        return member

    def _hardlink(self, raw: str, linkname: str) -> str:
        self._length(raw, linkname, "link target")
        target = "/".join(self._parts(raw, linkname, "link target"))
        if linkname.startswith("/") or not target or self.kinds.get(target) != "file":
            raise self._unsafe(
                raw,
                f"is a hard link to {shown(linkname)}, which is not an earlier regular file "
                "of the archive",
            )
        return target

    def _symlink(self, raw: str, parts: list[str], linkname: str) -> str:
        self._length(raw, linkname, "link target")
        if not linkname:
            raise self._unsafe(raw, "is a link with an empty target")
        if linkname.startswith("/"):
            raise self._unsafe(raw, f"is a link to an absolute path ({shown(linkname)})")
        self._parts(raw, linkname, "link target", climb=True)
        depth = len(parts) - 1
        for part in linkname.split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    raise self._unsafe(
                        raw, f"is a link pointing outside the destination ({shown(linkname)})"
                    )
            elif part not in ("", "."):
                depth += 1
        return linkname

    def finish(self) -> list[Member]:
        """The checks that need every member: nothing lies under a link or a file, and no link
        passes through another link. Returns the members in archive order.

        Raises:
            UnsafeArchiveError: the first member that breaks one of them.
        """
        for member in self.members:
            parts = member.parts
            for end in range(1, len(parts)):
                prefix = "/".join(parts[:end])
                above = self.kinds.get(prefix)
                if above == "symlink":
                    raise self._unsafe(member.name, f"lies under the symbolic link {shown(prefix)}")
                if above in ("file", "hardlink"):
                    raise self._unsafe(member.name, f"lies under the file {shown(prefix)}")
        for link, passed in self._walks:
            for path in passed:
                if self.kinds.get(path) == "symlink" and path != link.name:
                    raise self._unsafe(
                        link.name,
                        f"is a link through the symbolic link {shown(path)}: chains of links "
                        "are refused",
                    )
                if path == link.name:
                    raise self._unsafe(link.name, "is a link to itself")
        return self.members


def _kind(info: tarfile.TarInfo) -> Kind | None:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return None


def _walk(parts: list[str], target: str) -> list[str]:
    """Every path a link's target passes through, resolved lexically from the link's folder
    (already checked to stay inside)."""
    stack = parts[:-1]
    passed = []
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            stack = stack[:-1]
        else:
            stack = [*stack, part]
            passed.append("/".join(stack))
    return passed


def check_archive(source: Path | IO[bytes], label: str, limits: ArchiveLimits) -> list[Member]:
    """Read ``source`` to its end and check it; nothing is written.

    Raises:
        UnsafeArchiveError, ArchiveLimitError, ArchiveError: see the module docstring.
    """
    checker = Checker(label, limits)
    with open_tar(source, label, limits) as (tar, _):
        for info in iterate(tar, label, limits):
            checker.add(info)
    return checker.finish()


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
            raise _over(label, limits, last) from None
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
            after = f" after member {shown(last)}" if last is not None else ""
            raise ArchiveError(f"{label}: not a readable tar archive{after} ({error})") from None
        last = info.name
        # The parsed attributes carry everything we use; the raw PAX records would otherwise
        # stay in memory with every member tarfile keeps.
        info.pax_headers = {}
        yield info


@contextmanager
def read_checked(
    source: Path | IO[bytes], label: str, limits: ArchiveLimits, plan: list[Member]
) -> Iterator[Iterator[tuple[Member, tarfile.TarInfo, tarfile.TarFile]]]:
    """Read ``source`` again, yielding each member with its TarInfo (for its data) while it
    matches ``plan`` (from :func:`check_archive`); a mismatch means the archive changed between
    the two reads and is refused.

    Raises (while iterating):
        ArchiveError: the archive differs from the plan, or cannot be read.
        ArchiveLimitError: the stream passed ``max_bytes``.
    """
    with open_tar(source, label, limits) as (tar, _):

        def matched() -> Iterator[tuple[Member, tarfile.TarInfo, tarfile.TarFile]]:
            index = 0
            for info in iterate(tar, label, limits):
                member = _plain(info)
                if member is None:
                    continue
                if index >= len(plan) or plan[index] != member:
                    raise ArchiveError(
                        f"{label}: the archive changed between its check and its extraction "
                        f"(at member {shown(info.name)})"
                    )
                index += 1
                yield member, info, tar
            if index != len(plan):
                raise ArchiveError(f"{label}: the archive ended early on its second reading")

        yield matched()


def _plain(info: tarfile.TarInfo) -> Member | None:
    """A member as :class:`Checker` would record it, without checking (second reading)."""
    kind = _kind(info)
    parts = [part for part in info.name.split("/") if part not in ("", ".")]
    if kind is None or not parts:
        return None if kind == "dir" else Member(info.name, "file", -1)
    target = ""
    if kind == "symlink":
        target = info.linkname
    elif kind == "hardlink":
        target = "/".join(p for p in info.linkname.split("/") if p not in ("", "."))
    return Member("/".join(parts), kind, info.size if kind == "file" else 0, target)


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
            raise _over(self._label, self._limits, self._name) from None
        except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as error:
            raise ArchiveError(
                f"{self._label}: member {shown(self._name)} cannot be read ({error})"
            ) from None
