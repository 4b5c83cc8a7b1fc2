"""Capture takes the submission out as an archive with a manifest: sizes, SHA-256 hashes, and
every entry left out with the reason."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from paperbench.agents import CaptureManifest, capture_submission
from paperbench.sandbox import DockerSandbox, SandboxSpec
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.images import AGENT_IMAGE
from tests.support.agents import archive_files, run

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
ln src/main.py hardlink-to-main
"""


def capture(tmp_path: Path, setup: str, **limits: int) -> CaptureManifest:
    async def scenario() -> CaptureManifest:
        spec = SandboxSpec(image=AGENT_IMAGE, run_id="capture-test", stage="test")
        async with DockerSandbox(spec) as sandbox:
            if setup:
                (await sandbox.exec(["bash", "-c", setup], timeout=60)).check()
            return await capture_submission(sandbox, tmp_path, **limits)

    return run(scenario())


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
        "medium-a.bin",
    }
    assert reasons["big.bin"] == "over the per-file size limit of 2000 bytes"
    assert reasons["pipe"] == "a FIFO, not a regular file"
    assert reasons["link-absolute"].startswith("a symbolic link pointing outside the submission")
    assert reasons["link-escaping"].endswith("(-> ../paper/paper.md)")
    assert reasons["medium-a.bin"].startswith("the submission is over its total size limit")
    sizes = {entry.path: entry.size for entry in manifest.excluded}
    assert (sizes["big.bin"], sizes["medium-a.bin"]) == (5000, 1500)


def test_kept_files_are_listed_with_size_and_sha256(
    manifest: CaptureManifest, tmp_path: Path
) -> None:
    files = archive_files(tmp_path / "submission.tar")
    listed = {entry.path: entry for entry in manifest.files}

    for name in ("src/main.py", "src/deep/util.py", "with space/nötes.md", "medium-b.bin"):
        content = files[f"submission/{name}"]
        assert listed[name].size == len(content)
        assert listed[name].sha256 == hashlib.sha256(content).hexdigest()
    assert manifest.total_bytes == sum(f.size for f in manifest.files if f.kind == "file")
    assert listed["link-inside"].kind == "symlink"
    assert listed["link-inside"].target == "src/main.py"


def test_the_archive_is_safe_to_extract_and_sits_under_submission(
    manifest: CaptureManifest, tmp_path: Path
) -> None:
    archive = tmp_path / "submission.tar"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert all(n == "submission" or n.startswith("submission/") for n in names)
        assert all(m.uid == 0 and m.gid == 0 for m in tar.getmembers())

    safe_extract(archive, tmp_path / "out")

    root = tmp_path / "out" / "submission"
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
