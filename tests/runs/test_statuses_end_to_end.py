"""Every way a reproduction can end, through `paperbench run` on Docker: each flows into the
run's record with its failure class, is graded as the class says, and makes `run` exit 1
naming it. One run of six papers; the replay agent writes a different submission for each."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import paperbench_process, write_paper

pytestmark = pytest.mark.docker

SCRIPT = """\
- bash: |
    mkdir -p /home/submission && cd /home/submission
    case "$(head -1 /home/paper/paper.md)" in
      *st-failed*) printf 'echo about to fail\\nexit 3\\n' > reproduce.sh ;;
      *st-timeout*) printf 'echo waiting\\nsleep 120\\n' > reproduce.sh ;;
      *st-oom*) printf 'python3 -c "print(len(bytearray(3 << 29)))"\\n' > reproduce.sh ;;
      *st-missing*) echo 'print(1)' > main.py ;;
      *st-invalid*) printf 'if then fi (\\n' > reproduce.sh ;;
      *st-empty*) true ;;
    esac
- submit: done
"""
#: paper -> (failure class, score with the scripted judge that passes only Code Development)
EXPECTED = {
    "st-failed": ("reproduction_failed", 1 / 3),
    "st-timeout": ("timeout", 1 / 3),
    "st-oom": ("out_of_memory", 1 / 3),
    "st-missing": ("missing_script", 1 / 3),
    "st-invalid": ("invalid_script", 1 / 3),
    "st-empty": ("empty_submission", 0.0),
}


def records(runs: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in runs.rglob("run.json"):
        record = json.loads(path.read_text())
        found[record["paper_id"]] = record
    return found


def run_command(tmp_path: Path, server: ScriptedLLMServer) -> tuple[int, str, str]:
    script = tmp_path / "modes.yaml"
    script.write_text(SCRIPT)
    process = paperbench_process(
        "run",
        "--papers",
        ",".join(EXPECTED),
        "--agent",
        "replay",
        "--replay-script",
        str(script),
        "--papers-dir",
        str(tmp_path / "papers"),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--reproduction-timeout",
        "8",
        "--concurrency",
        "2",
        "--no-live",
        "--judge",
        f"openai-compatible/judge@{server.openai_url}",
        "--judge-context-window",
        "32000",
        home=tmp_path / "home",
    )
    out, err = process.communicate(timeout=900)
    return process.returncode, out, err


def test_every_reproduction_status_reaches_the_record_with_its_class(
    tmp_path: Path, judge_server: ScriptedLLMServer, reproducer_image: str, agent_image: str
) -> None:
    for paper in EXPECTED:
        write_paper(tmp_path / "papers", paper, (1, 1, 1))
    status, out, err = run_command(tmp_path, judge_server)
    assert status == 1, out + err
    assert "6 of 6 runs did not end cleanly" in out
    for kind, _ in EXPECTED.values():
        assert kind in out
    assert out.count("[run] ") >= 6 * 4, "one line per stage change when not on a terminal"

    found = records(tmp_path / "runs")
    assert set(found) == set(EXPECTED)
    for paper, (kind, score) in EXPECTED.items():
        record = found[paper]
        assert [failure["kind"] for failure in record["failures"]] == [kind], paper
        assert record["graded"] and record["score"] == pytest.approx(score), paper
        assert set(record["per_category"]) == {
            "Code Development",
            "Code Execution",
            "Result Analysis",
        }
        run_dir = tmp_path / "runs" / "replay" / paper / "seed-0"
        state = json.loads((run_dir / "state.json").read_text())["stages"]
        assert all(entry["status"] == "done" for entry in state.values()), paper
    prompts = " ".join(request.text for request in judge_server.requests)
    assert "st-empty" not in prompts, "an empty submission costs no judge call"

    # A tampered capture: the reproduction refuses the archive, and only that paper's
    # reproduction and grading are redone.
    archive = tmp_path / "runs" / "replay" / "st-failed" / "seed-0" / "agent" / "submission.tar"
    payload = b"escaped\n"
    with tarfile.open(archive, "w") as tar:
        member = tarfile.TarInfo("submission/../../outside.txt")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    status, out, err = run_command(tmp_path, judge_server)
    assert status == 1, out + err
    record = records(tmp_path / "runs")["st-failed"]
    assert [failure["kind"] for failure in record["failures"]] == ["rejected_submission"]
    assert record["score"] == 0.0
    assert not (tmp_path / "runs" / "replay" / "outside.txt").exists()
    for paper in EXPECTED:
        state_file = tmp_path / "runs" / "replay" / paper / "seed-0" / "state.json"
        stages = json.loads(state_file.read_text())["stages"]
        redone = paper == "st-failed"
        assert stages["agent"]["attempts"] == 1, paper
        assert stages["reproduction"]["attempts"] == (2 if redone else 1), paper
