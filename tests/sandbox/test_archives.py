"""Archive safety on the host: every escape is refused before anything is written, the error
names the member (escaped, shortened), the limits hold, and hostile archives are refused in
bounded memory. None of it relies on the interpreter's ``tarfile`` being patched."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from paperbench.sandbox.archives import ArchiveLimits, pack_for_upload, safe_extract
from paperbench.sandbox.errors import ArchiveError, ArchiveLimitError, UnsafeArchiveError
from tests.support.hostile_archives import (
    cve_2025_4517_chain,
    extract_in_subprocess,
    long_name_archive,
    many_pax_headers,
    pax_header_bomb,
)

#: The peak resident memory allowed to a process that refuses a hostile archive (a fresh
#: interpreter with paperbench imported takes about 60 MB of it).
MEMORY_BOUND_MB = 200


def make_tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"") -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            if member.isreg():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return path


def regular(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def folder(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3
    return info


def files_under(root: Path) -> set[str]:
    """Every path under ``root``, links not followed."""
    found = set()
    for folder_, dirs, names in os.walk(root):
        for name in dirs + names:
            found.add(os.path.relpath(os.path.join(folder_, name), root))
    return found


UNSAFE = {
    "absolute path": ([regular("/etc/evil")], "'/etc/evil' has an absolute path"),
    "dot-dot traversal": ([regular("a/../../evil")], "'a/../../evil' has '..' in its name"),
    "absolute symlink": ([link("passwd", "/etc/passwd")], "'passwd' is a link to an absolute"),
    "escaping relative symlink": (
        [link("a/up", "../../outside")],
        "'a/up' is a link pointing outside",
    ),
    "hardlink climbing out": (
        [link("hard", "../outside", tarfile.LNKTYPE)],
        "'hard' has '..' in its link target",
    ),
    "hardlink to an absolute path": (
        [link("hard", "/etc/passwd", tarfile.LNKTYPE)],
        "'hard' is a hard link to '/etc/passwd', which is not an earlier regular file",
    ),
    "hardlink to a later member": (
        [link("hard", "later.txt", tarfile.LNKTYPE), regular("later.txt")],
        "'hard' is a hard link to 'later.txt', which is not an earlier regular file",
    ),
    "hardlink to a symlink": (
        [link("soft", "fine.txt"), link("hard", "soft", tarfile.LNKTYPE)],
        "'hard' is a hard link to 'soft', which is not an earlier regular file",
    ),
    "member under a symlink": (
        [folder("real"), link("alias", "real"), regular("alias/x")],
        "'alias/x' lies under the symbolic link 'alias'",
    ),
    "member under a file": ([regular("plain"), regular("plain/x")], "lies under the file 'plain'"),
    "duplicate name": ([regular("twice"), link("twice", "fine.txt")], "'twice' appears twice"),
    "character device": ([special("dev/mem", tarfile.CHRTYPE)], "'dev/mem' is a device"),
    "block device": ([special("dev/sda", tarfile.BLKTYPE)], "'dev/sda' is a device"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "'pipe' is a device"),
    "newline in a name": ([regular("a\nb")], "'a\\nb' is refused: its name holds control"),
    "escape sequence in a link target": (
        [link("l", "x\x1b[2J")],
        "'l' is refused: its link target holds control characters",
    ),
    "bidirectional override in a name": ([regular("a\u202eb")], "'a\\u202eb' is refused"),
}


@pytest.mark.parametrize("case", UNSAFE.keys())
def test_an_unsafe_member_is_refused_and_named(case: str, tmp_path: Path) -> None:
    members, message = UNSAFE[case]
    archive = make_tar(tmp_path / "bad.tar", [regular("fine.txt"), *members], b"data")
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError) as caught:
        safe_extract(archive, dest)
    assert message in str(caught.value)
    assert str(archive) in str(caught.value)
    assert files_under(tmp_path) == {"bad.tar"}, "nothing may be written when a member is refused"


def test_the_cve_2025_4517_symlink_chain_is_refused_with_nothing_written(tmp_path: Path) -> None:
    """The chain that gets past the standard library's ``data`` filter on Python 3.11.7 and
    writes ``outside.txt`` two levels above the destination."""
    dest = tmp_path / "box" / "inner" / "dest"
    dest.parent.mkdir(parents=True)
    archive = cve_2025_4517_chain(tmp_path / "chain.tar")
    with tarfile.open(archive) as tar:  # each member alone passes the standard filter
        assert all(tarfile.data_filter(m, str(dest)) for m in tar.getmembers())

    with pytest.raises(UnsafeArchiveError, match="lies under the symbolic link"):
        safe_extract(archive, dest)

    assert files_under(tmp_path) == {"chain.tar", "box", "box/inner"}


def test_a_link_that_passes_through_another_link_is_refused(tmp_path: Path) -> None:
    """``d1/d2/l -> s/../..`` stays inside when read as text, but ``s`` is itself a link to
    ``../..``, so the kernel would resolve ``l`` two levels above the destination."""
    archive = make_tar(
        tmp_path / "through.tar",
        [folder("d1"), folder("d1/d2"), link("d1/d2/s", "../.."), link("d1/d2/l", "s/../..")],
    )
    with pytest.raises(UnsafeArchiveError, match="'d1/d2/l' is a link through the symbolic link"):
        safe_extract(archive, tmp_path / "dest")
    assert files_under(tmp_path) == {"through.tar"}


def test_a_chain_of_links_is_refused(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "chain.tar", [regular("real.txt"), link("one", "real.txt"), link("two", "one")]
    )
    with pytest.raises(UnsafeArchiveError, match="'two' is a link through the symbolic link 'one'"):
        safe_extract(archive, tmp_path / "dest")


def test_a_symlink_escape_built_from_two_members_is_refused(tmp_path: Path) -> None:
    """The first member is a harmless-looking link; the second writes through it."""
    archive = make_tar(
        tmp_path / "chain.tar", [link("a", "."), link("a/b", "../.."), regular("a/b/x")], b"x"
    )
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "dest")
    assert files_under(tmp_path) == {"chain.tar"}


def test_a_hard_link_to_a_file_outside_is_refused_and_the_file_is_untouched(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("original\n")
    archive = make_tar(
        tmp_path / "hard.tar",
        [link("h", str(victim), tarfile.LNKTYPE), regular("h")],
        b"overwritten\n",
    )
    with pytest.raises(UnsafeArchiveError, match="'h' is a hard link"):
        safe_extract(archive, tmp_path / "dest")
    assert victim.read_text() == "original\n"
    assert not (tmp_path / "dest").exists()


def test_a_pax_header_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A 200 KiB .tar.gz holding one 200 MB PAX header: refused before tarfile reads it."""
    archive = pax_header_bomb(tmp_path / "bomb.tar.gz")
    assert archive.stat().st_size < 1024 * 1024

    output, peak_mb = extract_in_subprocess(archive, tmp_path / "dest")

    assert output.startswith("refused:") and "a PAX header of 209715200 bytes" in output
    assert peak_mb < MEMORY_BOUND_MB, f"peak RSS {peak_mb:.0f} MB"
    assert len(output) < 500
    assert not (tmp_path / "dest").exists()


def test_a_one_megabyte_member_name_is_refused_in_bounded_memory_and_shown_short(
    tmp_path: Path,
) -> None:
    archive = long_name_archive(tmp_path / "long.tar")

    output, peak_mb = extract_in_subprocess(archive, tmp_path / "dest")

    assert output.startswith("refused:") and "GNU long-name header of 1048577 bytes" in output
    assert peak_mb < MEMORY_BOUND_MB
    assert len(output) < 500


def test_a_name_just_under_the_header_limit_is_refused_by_length_and_shown_short(
    tmp_path: Path,
) -> None:
    archive = long_name_archive(tmp_path / "long.tar", name_bytes=8000)
    with pytest.raises(ArchiveLimitError, match="has a name of 8000 bytes") as caught:
        safe_extract(archive, tmp_path / "dest")
    assert len(str(caught.value)) < 500
    assert "(8000 characters in all)" in str(caught.value)


def test_many_small_pax_headers_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    """5,000 headers of 15 KB: each under the per-header limit, 75 MB together, which tarfile
    would keep in memory with its members."""
    archive = many_pax_headers(tmp_path / "many.tar.gz", members=5000, header_bytes=15_000)

    output, peak_mb = extract_in_subprocess(archive, tmp_path / "dest")

    assert "its PAX and long-name headers add up to more than 67108864 bytes" in output
    assert peak_mb < MEMORY_BOUND_MB


def test_pax_headers_count_against_the_size_limit(tmp_path: Path) -> None:
    """Small headers, each under the per-header limit, that add up past the archive's."""
    archive = many_pax_headers(tmp_path / "many.tar.gz", members=300, header_bytes=15_000)
    with pytest.raises(ArchiveLimitError, match="over the size limit of 1048576 bytes"):
        safe_extract(archive, tmp_path / "dest", ArchiveLimits(max_bytes=1024 * 1024))
    assert not (tmp_path / "dest").exists()


def test_an_archive_over_the_size_limit_is_refused_at_the_member_that_passes_it(
    tmp_path: Path,
) -> None:
    archive = make_tar(tmp_path / "big.tar", [regular(f"f{i}") for i in range(3)], b"x" * 1000)
    with pytest.raises(ArchiveLimitError, match="size limit of 2500 bytes at member 'f2'"):
        safe_extract(archive, tmp_path / "dest", ArchiveLimits(max_bytes=2500))


def test_an_archive_with_too_many_members_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "many.tar", [regular(f"f{i}") for i in range(11)], b"x")
    with pytest.raises(ArchiveLimitError, match="more than 10 members"):
        safe_extract(archive, tmp_path / "dest", ArchiveLimits(max_members=10))
    assert not (tmp_path / "dest").exists()


def test_a_safe_archive_extracts_with_internal_links(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "data").mkdir(parents=True)
    (source / "models").mkdir()
    (source / "data" / "train.csv").write_text("a,b\n")
    (source / "latest").symlink_to("data/train.csv")
    (source / "models" / "best").symlink_to("../data/train.csv")
    os.link(source / "data" / "train.csv", source / "data" / "copy.csv")
    archive = tmp_path / "ok.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="src")

    report = safe_extract(archive, tmp_path / "dest")

    root = tmp_path / "dest" / "src"
    assert (root / "latest").read_text() == (root / "models" / "best").read_text() == "a,b\n"
    assert (root / "data" / "copy.csv").stat().st_ino == (root / "data" / "train.csv").stat().st_ino
    assert report.members == 7 and report.bytes == 4
    assert (root / "data").stat().st_mode & 0o777 == 0o755


def test_extraction_merges_into_an_existing_folder(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    (dest / "keep").mkdir(parents=True)
    (dest / "keep" / "old.txt").write_text("old")
    (dest / "replace.txt").write_text("before")
    archive = make_tar(tmp_path / "a.tar", [regular("keep/new.txt"), regular("replace.txt")], b"n")

    safe_extract(archive, dest)

    assert (dest / "keep" / "old.txt").read_text() == "old"
    assert (dest / "keep" / "new.txt").read_text() == (dest / "replace.txt").read_text() == "n"


def test_setuid_bits_are_cleared_on_extraction(tmp_path: Path) -> None:
    info = regular("tool")
    info.mode = 0o4777
    safe_extract(make_tar(tmp_path / "suid.tar", [info], b"#!"), tmp_path / "dest")
    assert (tmp_path / "dest" / "tool").stat().st_mode & 0o7777 == 0o755


def test_a_file_that_is_not_an_archive_is_an_archive_error(tmp_path: Path) -> None:
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ArchiveError, match=r"junk\.tar"):
        safe_extract(tmp_path / "junk.tar", tmp_path / "dest")


def test_a_stream_that_cannot_seek_is_extracted(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "a.tar", [regular("x.txt")], b"streamed")

    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    safe_extract(io.BufferedReader(OneWay(archive.read_bytes())), tmp_path / "dest")
    assert (tmp_path / "dest" / "x.txt").read_text() == "streamed"


def test_packing_for_upload_refuses_what_extraction_refuses(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "bad.tar", [regular("ok"), link("x", "/etc/shadow")], b"1")
    with pytest.raises(UnsafeArchiveError, match="'x' is a link to an absolute path"):
        pack_for_upload(archive, io.BytesIO(), uid=1000, gid=1000)


def test_packing_for_upload_gives_members_to_the_sandbox_user(tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "f.txt").write_text("hi")
    packed = io.BytesIO()
    pack_for_upload(tmp_path / "src", packed, uid=1234, gid=5678)
    packed.seek(0)
    with tarfile.open(fileobj=packed) as tar:
        members = tar.getmembers()
    assert sorted(m.name for m in members) == ["sub", "sub/f.txt"]
    assert {(m.uid, m.gid) for m in members} == {(1234, 5678)}
