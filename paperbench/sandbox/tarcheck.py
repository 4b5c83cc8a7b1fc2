"""The checks a tar archive that an attacker may have written must pass before anything of it
is written.

The standard library's ``data`` extraction filter cannot be the only wall: on the interpreters
this project runs on (3.11.7) a chain of symbolic links whose resolved path passes ``PATH_MAX``
fools it (CVE-2025-4517), and ``tarfile`` reads a GNU long name or a PAX header whole into
memory, whatever its size. So every archive is read here first, through
:mod:`~paperbench.sandbox.tarstream` (bounded memory), and refused unless:

- it is a tar stream (plain, gzip, bzip2 or xz) whose regular files add up to at most
  ``max_bytes`` and whose uncompressed bytes — headers, PAX and long-name records, data and
  padding — pass it by at most :data:`~.tarstream.STREAM_SLACK` (read-ahead); every PAX or long-name
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

import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from paperbench.sandbox.errors import ArchiveError, ArchiveLimitError, UnsafeArchiveError
from paperbench.sandbox.names import name_problem, shown
from paperbench.sandbox.tarstream import ArchiveLimits, iterate, open_tar, over_limit

__all__ = ["ArchiveLimits", "Checker", "Member", "check_archive", "read_checked"]

Kind = Literal["file", "dir", "symlink", "hardlink"]


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
                raise over_limit(self.label, self.limits, raw)
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
