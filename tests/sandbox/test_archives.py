"""Archive safety on the host: every escape is refused before anything is written, the error
names the member, and the limits hold."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from paperbench.sandbox.archives import ArchiveLimits, pack_for_upload, safe_extract
from paperbench.sandbox.errors import ArchiveError, ArchiveLimitError, UnsafeArchiveError


def make_tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"") -> Path:
    with tarfile.open(path, "w") as tar:
        for member in members:
            if member.isreg():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return path


def regular(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


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


UNSAFE = {
    "absolute path": ([regular("/etc/evil")], "'/etc/evil' has an absolute path"),
    "dot-dot traversal": ([regular("a/../../evil")], "'a/../../evil' would be written outside"),
    "absolute symlink": ([link("passwd", "/etc/passwd")], "'passwd' is a link to an absolute"),
    "escaping relative symlink": (
        [link("a/up", "../../outside")],
        "'a/up' is a link pointing outside",
    ),
    "escaping hardlink": (
        [link("hard", "../outside", tarfile.LNKTYPE)],
        "'hard' is a link pointing outside",
    ),
    "character device": ([special("dev/mem", tarfile.CHRTYPE)], "'dev/mem' is a device"),
    "block device": ([special("dev/sda", tarfile.BLKTYPE)], "'dev/sda' is a device"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "'pipe' is a device"),
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
    assert not dest.exists(), "nothing may be written when a member is refused"
    assert not (tmp_path / "evil").exists() and not (tmp_path / "outside").exists()


def test_a_symlink_escape_built_from_two_members_is_refused(tmp_path: Path) -> None:
    """The first member is a harmless-looking link; the second writes through it."""
    archive = make_tar(
        tmp_path / "chain.tar", [link("a", "."), link("a/b", "../.."), regular("a/b/x")], b"x"
    )
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "x").exists()


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
    folder = tmp_path / "src"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.csv").write_text("a,b\n")
    (folder / "latest").symlink_to("data/train.csv")
    archive = tmp_path / "ok.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="src")
    report = safe_extract(archive, tmp_path / "dest")
    assert (tmp_path / "dest" / "src" / "latest").read_text() == "a,b\n"
    assert report.members == 4 and report.bytes == 4


def test_setuid_bits_are_cleared_on_extraction(tmp_path: Path) -> None:
    info = regular("tool")
    info.mode = 0o4777
    safe_extract(make_tar(tmp_path / "suid.tar", [info], b"#!"), tmp_path / "dest")
    assert (tmp_path / "dest" / "tool").stat().st_mode & 0o7777 == 0o755


def test_a_file_that_is_not_an_archive_is_an_archive_error(tmp_path: Path) -> None:
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ArchiveError, match=r"junk\.tar"):
        safe_extract(tmp_path / "junk.tar", tmp_path / "dest")


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
