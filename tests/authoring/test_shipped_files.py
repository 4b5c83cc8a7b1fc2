"""The authoring tools' own files (editor page, scaffold template, guide) ship in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from paperbench.rubric.editor.server import STATIC_FILES

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_editor_page_the_template_and_the_guide(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("paperbench-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    static = {f"paperbench/rubric/editor/static/{name}" for name in [*STATIC_FILES, "index.html"]}
    assert static <= names
    assert "paperbench/_data/rubrics/templates/scaffold.json" in names
    assert "paperbench/_data/rubrics/GUIDE.md" in names
