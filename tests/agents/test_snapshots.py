"""Snapshots of /home/submission are taken at an interval and at the end, each with its time,
so a later grade can be plotted against the time the agent spent."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from paperbench.agents import AgentLimits, ReplayAgent, load_script
from paperbench.papers import PaperBundle
from tests.support.agents import archive_files, events, stage

pytestmark = pytest.mark.docker

# The agent works for about two seconds between writing its two files.
SCRIPT = """\
- bash: echo first > /home/submission/a.txt
- bash: sleep 2
- bash: echo second > /home/submission/b.txt
"""


@pytest.fixture
def replay(tmp_path: Path) -> ReplayAgent:
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT)
    return ReplayAgent(load_script(path))


def test_snapshots_are_taken_at_the_interval_and_at_the_end_with_their_times(
    replay: ReplayAgent, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    out_dir = tmp_path / "stage"

    result = stage(replay, tiny_paper, out_dir, run_id, snapshot_interval_seconds=0.5)

    snapshots = result.agent.snapshots
    assert [s.kind for s in snapshots[:-1]] == ["periodic"] * (len(snapshots) - 1)
    assert len(snapshots) >= 2 and snapshots[-1].kind == "final"
    assert [s.index for s in snapshots] == list(range(1, len(snapshots) + 1))
    walls = [s.wall_seconds for s in snapshots]
    assert walls == sorted(walls) and walls[-1] >= 2
    assert all(s.working_seconds <= s.wall_seconds for s in snapshots)
    taken = [s.taken_at for s in snapshots]
    assert taken == sorted(taken)
    assert snapshots[-1].archive == "submission.tar"


def test_each_snapshot_holds_the_submission_as_it_was_then(
    replay: ReplayAgent, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    out_dir = tmp_path / "stage"

    result = stage(replay, tiny_paper, out_dir, run_id, snapshot_interval_seconds=0.5)

    contents = [
        set(archive_files(out_dir / s.archive)) for s in result.agent.snapshots if s.archive
    ]
    assert {"submission/a.txt"} in contents, "a snapshot from while the agent slept"
    assert contents[-1] == {"submission/a.txt", "submission/b.txt"}
    for snapshot in result.agent.snapshots[:-1]:
        assert snapshot.manifest is not None
        manifest = json.loads((out_dir / snapshot.manifest).read_text())
        assert manifest["archive_sha256"]


def test_snapshots_are_recorded_in_the_transcript_and_the_result(
    replay: ReplayAgent, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    out_dir = tmp_path / "stage"

    result = stage(replay, tiny_paper, out_dir, run_id, snapshot_interval_seconds=0.5)

    logged = events(out_dir, "snapshot")
    assert [e["index"] for e in logged] == [s.index for s in result.agent.snapshots]
    saved = json.loads((out_dir / "agent.json").read_text())
    assert len(saved["agent"]["snapshots"]) == len(result.agent.snapshots)


def test_without_an_interval_only_the_final_snapshot_is_taken(
    replay: ReplayAgent, tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    result = stage(replay, tiny_paper, tmp_path, run_id, AgentLimits())

    assert [s.kind for s in result.agent.snapshots] == ["final"]
    assert not (tmp_path / "snapshots").exists()


#: Leaves a writer running outside the agent's command (new session, empty environment), then
#: waits until it has written something.
ESCAPED_WRITER = """\
- bash: "cd /home/submission && setsid env -i sh -c 'while :; do echo t >> ticks; done' >&- 2>&- &"
- bash: "cd /home/submission && while [ ! -s ticks ]; do :; done; echo ready > a.txt"
"""


def test_the_final_snapshot_is_taken_with_every_process_of_the_sandbox_frozen(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    """A process that escaped the agent's commands keeps appending to a file; the final capture
    reads the folder twice, and sees the same file both times because the sandbox is frozen."""
    script = tmp_path / "script.yaml"
    script.write_text(ESCAPED_WRITER)
    out_dir = tmp_path / "stage"

    stage(ReplayAgent(load_script(script)), tiny_paper, out_dir, run_id)

    manifest = json.loads((out_dir / "manifest.json").read_text())
    kept = {entry["path"]: entry for entry in manifest["files"]}
    assert manifest["excluded"] == [] and manifest["notes"] == [], "nothing changed meanwhile"
    ticks = archive_files(out_dir / "submission.tar")["submission/ticks"]
    assert kept["ticks"]["sha256"] == hashlib.sha256(ticks).hexdigest()
    assert kept["ticks"]["size"] == len(ticks) > 0
