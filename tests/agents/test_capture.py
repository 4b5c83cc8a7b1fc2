"""Capture takes the submission out as an archive with a manifest: sizes, SHA-256 hashes, and
every entry left out with the reason. The archive comes from the Docker daemon and is listed and
hashed on the host: nothing of the container runs, so a root agent's fake ``tar`` or ``find``
changes nothing, and names with control characters are refused and shown escaped."""

from __future__ import annotations

import hashlib
import json
import tarfile
import uuid
from pathlib import Path

import pytest

from paperbench.agents import CaptureManifest, capture_submission
from paperbench.sandbox import DockerSandbox, SandboxSpec
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.images import AGENT_IMAGE
from tests.support.agents import run

pytestmark = pytest.mark.docker

SETUP = r"""
set -e
cd /home/submission
mkdir -p src/deep 'with space'
printf 'print(1)\n' > src/main.py
printf 'x = 2\n' > src/deep/util.py
printf 'ünïcode\n' > 'with space/nötes.md'
head -c 5000 /dev/zero > big.bin
head -c 1500 /dev/zero > medium-a.bin
head -c 1400 /dev/zero > medium-b.bin
mkfifo pipe
ln -s src/main.py link-inside
ln -s /etc/passwd link-absolute
ln -s ../paper/paper.md link-escaping
ln -s link-inside link-to-link
ln src/main.py hardlink-to-main
"""


def capture(tmp_path: Path, setup: str, **limits: int) -> CaptureManifest:
    async def scenario() -> CaptureManifest:
        run_id = f"capture-{uuid.uuid4().hex[:8]}"
        spec = SandboxSpec(image=AGENT_IMAGE, run_id=run_id, stage="test", disk_mb=512)
        async with DockerSandbox(spec) as sandbox:
            if setup:
                (await sandbox.exec(["bash", "-c", setup], timeout=60, user="root")).check()
            return await capture_submission(sandbox, tmp_path, **limits)

    return run(scenario())


def extracted(tmp_path: Path) -> Path:
    safe_extract(tmp_path / "submission.tar", tmp_path / "out")
    return tmp_path / "out" / "submission"


@pytest.fixture
def manifest(tmp_path: Path) -> CaptureManifest:
    return capture(tmp_path, SETUP, max_file_bytes=2000, max_total_bytes=2000)


def test_the_manifest_lists_excluded_entries_with_their_reasons(manifest: CaptureManifest) -> None:
    reasons = {entry.path: entry.reason for entry in manifest.excluded}

    assert set(reasons) == {
        "big.bin",
        "pipe",
        "link-absolute",
        "link-escaping",
        "link-to-link",
        "medium-a.bin",
    }
    assert reasons["big.bin"] == "over the per-file size limit of 2000 bytes"
    assert reasons["pipe"] == "a FIFO, not a regular file"
    assert reasons["link-absolute"].startswith("a symbolic link pointing outside the submission")
    assert reasons["link-escaping"].endswith("(-> ../paper/paper.md)")
    assert reasons["link-to-link"].startswith("a symbolic link through another link")
    assert reasons["medium-a.bin"].startswith("the submission is over its total size limit")
    sizes = {entry.path: entry.size for entry in manifest.excluded}
    assert (sizes["big.bin"], sizes["medium-a.bin"]) == (5000, 1500)


def test_kept_files_are_listed_with_size_and_sha256(
    manifest: CaptureManifest, tmp_path: Path
) -> None:
    root = extracted(tmp_path)
    listed = {entry.path: entry for entry in manifest.files}

    for name in ("src/main.py", "src/deep/util.py", "with space/nötes.md", "medium-b.bin"):
        content = (root / name).read_bytes()
        assert listed[name].size == len(content)
        assert listed[name].sha256 == hashlib.sha256(content).hexdigest()
    assert manifest.total_bytes == sum(f.size for f in manifest.files if f.kind == "file")
    assert listed["link-inside"].kind == "symlink"
    assert listed["link-inside"].target == "src/main.py"
    hard = {listed["src/main.py"].kind, listed["hardlink-to-main"].kind}
    assert hard == {"file", "hardlink"}, "one name holds the data, the other links to it"


def test_the_archive_is_safe_to_extract_and_sits_under_submission(
    manifest: CaptureManifest, tmp_path: Path
) -> None:
    archive = tmp_path / "submission.tar"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert all(n == "submission" or n.startswith("submission/") for n in names)
        assert all(m.uid == 0 and m.gid == 0 for m in tar.getmembers())

    root = extracted(tmp_path)

    assert (root / "link-inside").read_text() == "print(1)\n"
    assert (root / "hardlink-to-main").read_text() == "print(1)\n"
    assert manifest.archive_sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_the_manifest_is_saved_beside_the_archive(
    manifest: CaptureManifest, tmp_path: Path
) -> None:
    saved = json.loads((tmp_path / "manifest.json").read_text())

    assert CaptureManifest.model_validate(saved) == manifest


def test_a_missing_submission_folder_gives_an_empty_submission(tmp_path: Path) -> None:
    manifest = capture(tmp_path, "rmdir /home/submission")

    assert manifest.files == [] and manifest.excluded == []
    assert "does not exist" in manifest.notes[0]
    with tarfile.open(tmp_path / "submission.tar") as tar:
        assert tar.getnames() == ["submission"]


CONTROL_NAMES = r"""
cd /home/submission
printf ok > 'fine.txt'
printf x > "$(printf 'forged\nline.txt')"
printf x > "$(printf 'term\033[2Jclear.txt')"
printf x > "$(printf 'latin\351.txt')"
mkdir "$(printf 'dir\rname')" && printf x > "$(printf 'dir\rname')/inside.txt"
ln -s "$(printf 'target\nwith newline')" link-with-bad-target
"""


def test_names_with_control_characters_are_refused_and_listed_escaped(tmp_path: Path) -> None:
    manifest = capture(tmp_path, CONTROL_NAMES)
    reasons = {entry.path: entry.reason for entry in manifest.excluded}

    assert [f.path for f in manifest.files] == ["fine.txt"]
    assert set(reasons) == {
        "forged\\nline.txt",
        "term\\x1b[2Jclear.txt",
        "latin\\xe9.txt",
        "dir\\rname",
        "dir\\rname/inside.txt",
        "link-with-bad-target",
    }
    assert reasons["forged\\nline.txt"].startswith("its name holds control characters")
    assert reasons["latin\\xe9.txt"].startswith("its name is not valid UTF-8")
    assert "control characters" in reasons["link-with-bad-target"]
    saved = (tmp_path / "manifest.json").read_text()
    assert "\x1b" not in saved and "\r" not in saved
    with tarfile.open(tmp_path / "submission.tar") as tar:
        assert tar.getnames() == ["submission", "submission/fine.txt"]


#: Replaces the container's own tools with fakes that leave a mark and flood their output.
SABOTAGE = r"""
set -e
printf 'print(1)\n' > /home/submission/main.py
mkdir -p /home/submission/data && printf 'a,b\n' > /home/submission/data/train.csv
for tool in /usr/bin/tar /usr/bin/find /usr/bin/python3 /usr/bin/sha256sum /usr/bin/timeout; do
  [ -e "$tool" ] || continue
  cat > "$tool.fake" <<EOF
#!/bin/bash
echo ran > /home/ran-\$(basename \$0)
head -c 9437184 /dev/zero | tr '\\0' 'x'
echo 'submission/../../etc/passwd'
EOF
  chmod +x "$tool.fake" && mv "$tool.fake" "$tool"
done
"""


def test_capture_runs_none_of_the_containers_programs(tmp_path: Path) -> None:
    """A root agent replaced ``tar``, ``find``, ``python3``, ``sha256sum`` and ``timeout``
    with fakes that would flood and forge a listing: the capture never runs them."""

    async def scenario() -> tuple[CaptureManifest, set[str]]:
        spec = SandboxSpec(image=AGENT_IMAGE, run_id=f"sabotage-{uuid.uuid4().hex[:8]}")
        async with DockerSandbox(spec) as sandbox:
            (await sandbox.exec(["bash", "-c", SABOTAGE], timeout=60)).check()
            manifest = await capture_submission(sandbox, tmp_path / "capture")
            marks = await sandbox.read_archive(
                "/home", lambda stream: _names(stream), limit=64 * 1024 * 1024
            )
        return manifest, marks

    manifest, names = run(scenario())

    assert {f.path: f.size for f in manifest.files} == {"main.py": 9, "data/train.csv": 4}
    assert manifest.excluded == [] and manifest.notes == []
    assert not [name for name in names if "/ran-" in name], "a fake tool ran"


def _names(stream: object) -> set[str]:
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
        return {member.name for member in tar}


def test_a_sparse_file_larger_than_the_scan_limit_costs_a_bounded_read(tmp_path: Path) -> None:
    """``truncate -s 2T`` takes no disk but would stream 2 TB of zeros: both readings stop at
    ``max_scan_bytes`` and the file, and whatever comes after it, are left out."""
    setup = (
        "cd /home/submission && printf ok > a.txt && truncate -s 2T m-sparse.bin"
        " && printf late > z.txt"
    )
    manifest = capture(tmp_path, setup, max_scan_bytes=8 * 1024 * 1024)

    assert [f.path for f in manifest.files] == ["a.txt"]
    sparse = next(e for e in manifest.excluded if e.path == "m-sparse.bin")
    assert sparse.size == 2 * 1024**4
    assert "past the 8388608 bytes the capture reads" in sparse.reason
    assert any("what comes after that point was left out" in note for note in manifest.notes)


def test_a_file_that_grows_during_a_snapshot_is_kept_as_read_and_named_in_a_note(
    tmp_path: Path,
) -> None:
    """Periodic snapshots run while the agent works: a log that is being appended to is kept
    (as the second reading saw it), not dropped."""
    setup = (
        "cd /home/submission && (while :; do echo line >> train.log; done >&- 2>&- &)"
        " && while [ ! -s train.log ]; do :; done"
    )
    manifest = capture(tmp_path, setup)

    kept = {f.path: f for f in manifest.files}
    log = (extracted(tmp_path) / "train.log").read_bytes()
    assert kept["train.log"].sha256 == hashlib.sha256(log).hexdigest()
    assert any(
        "changed size while the snapshot was taken" in n and "train.log" in n
        for n in manifest.notes
    )
