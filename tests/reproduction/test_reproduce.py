"""The reproduction stage on a real Docker engine: what it runs, what it records, what it keeps."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path

import docker
import pytest

from paperbench.papers import PaperBundle, PaperRegistry, load_bundle
from paperbench.reproduction import ReproductionResult
from paperbench.sandbox.base import SandboxSpec
from paperbench.sandbox.docker_backend import DockerSandbox
from paperbench.sandbox.labels import SESSION, SESSION_ID
from tests.support.papers import make_bundle
from tests.support.reproduction import reproduce_with

pytestmark = pytest.mark.docker
BUNDLED = [e.bundle for e in PaperRegistry(include_imported=False).entries() if e.bundle]


@pytest.fixture
def paper(tmp_path: Path) -> PaperBundle:
    config = (
        "id: toy\ntitle: Toy\nreproduction:\n  time_limit_seconds: 60\n"
        "resources:\n  cpus: 1\n  memory_mb: 256\n"
    )
    return load_bundle(make_bundle(tmp_path / "paper", config=config))


def submission(tmp_path: Path, script: str | None, **files: str) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    if script is not None:
        (folder / "reproduce.sh").write_text("#!/usr/bin/env bash\n" + script)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run(
    source: Path, paper: PaperBundle, out: Path, image: str, **options: object
) -> ReproductionResult:
    return reproduce_with(source, paper, out, DockerSandbox, image=image, **options)


def no_container_left(engine: docker.DockerClient) -> bool:
    return not engine.containers.list(all=True, filters={"label": f"{SESSION}={SESSION_ID}"})


@pytest.mark.parametrize("bundle", BUNDLED, ids=[b.id for b in BUNDLED])
def test_reference_solution_reproduces_and_produces_its_results(
    bundle: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    assert bundle.solution_dir is not None
    result = run(bundle.solution_dir, bundle, tmp_path / "out", reproducer_image)
    assert (result.status, result.exit_code) == ("succeeded", 0)
    created = {record.path for record in result.files_created}
    assert "results/results.json" in created
    assert json.loads((tmp_path / "out/submission/results/results.json").read_text())
    saved = ReproductionResult.model_validate_json((tmp_path / "out/reproduction.json").read_text())
    assert saved == result


def test_a_failing_command_inside_a_pipeline_is_a_failure(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    source = submission(tmp_path, "python3 -c 'raise SystemExit(3)' | tee out.txt\n")
    result = run(source, paper, tmp_path / "out", reproducer_image)
    assert (result.status, result.exit_code) == ("failed", 3)


def test_success_is_the_exit_status_not_the_output(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    source = submission(tmp_path, "echo 'All experiments PASSED, exit 0'\nexit 4\n")
    result = run(source, paper, tmp_path / "out", reproducer_image)
    assert (result.status, result.exit_code) == ("failed", 4)
    assert "PASSED" in (tmp_path / "out/reproduce.log").read_text()


def test_a_script_past_its_time_limit_is_killed_and_recorded(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str, docker_engine: docker.DockerClient
) -> None:
    source = submission(tmp_path, "echo started\n(sleep 300 &)\nsleep 300\n")
    result = run(source, paper, tmp_path / "out", reproducer_image, timeout_seconds=2)
    assert result.status == "timed_out" and result.timed_out
    assert result.exit_code is None
    assert result.duration_seconds < 30
    assert result.timeout_seconds == 2
    assert "started" in (tmp_path / "out/reproduce.log").read_text()
    assert no_container_left(docker_engine)


def test_a_memory_hog_is_recorded_as_out_of_memory(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    hog = "python3 -c 'x = [bytearray(64 * 2**20) for _ in range(64)]'\n"
    result = run(submission(tmp_path, hog), paper, tmp_path / "out", reproducer_image)
    assert result.status == "oom_killed" and result.oom_killed
    assert result.memory_mb == 256


def test_a_missing_reproduce_script_is_recorded_not_raised(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = run(
        submission(tmp_path, None, **{"train.py": "print(1)\n"}),
        paper,
        tmp_path / "out",
        reproducer_image,
    )
    assert result.status == "missing_script"
    assert result.attempts[0].error == "the submission has no reproduce.sh at its root"
    assert "did not run" in (tmp_path / "out/reproduce.log").read_text()
    assert (tmp_path / "out/reproduction.json").is_file()


def test_an_empty_submission_is_recorded(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = run(submission(tmp_path, None), paper, tmp_path / "out", reproducer_image)
    assert result.status == "empty_submission"


def test_a_script_bash_cannot_parse_is_recorded_with_bash_s_message(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = run(submission(tmp_path, "if then fi (\n"), paper, tmp_path / "out", reproducer_image)
    assert result.status == "invalid_script"
    assert "syntax error" in (result.attempts[0].error or "")


def test_files_over_the_size_limit_are_left_out_and_listed(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    script = "mkdir -p out\nhead -c 3000000 /dev/zero > out/big.bin\necho small > out/small.txt\n"
    result = run(
        submission(tmp_path, script),
        paper,
        tmp_path / "out",
        reproducer_image,
        max_file_bytes=1_000_000,
    )
    assert result.status == "succeeded"
    assert {(f.path, f.size) for f in result.files_created} == {
        ("out/big.bin", 3_000_000),
        ("out/small.txt", 6),
    }
    [excluded] = result.excluded_files
    assert (excluded.path, excluded.size) == ("out/big.bin", 3_000_000)
    assert "1000000 byte limit" in excluded.reason
    assert not (tmp_path / "out/submission/out/big.bin").exists()
    assert (tmp_path / "out/submission/out/small.txt").read_text() == "small\n"


def test_an_archive_with_a_path_escape_is_rejected_and_recorded(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    archive = tmp_path / "hostile.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("submission/reproduce.sh", b"echo hi\n"), ("../escaped.txt", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = run(archive, paper, tmp_path / "out", reproducer_image)
    assert result.status == "rejected_submission"
    assert "'../escaped.txt'" in (result.attempts[0].error or "")
    assert not (tmp_path / "escaped.txt").exists()


def test_the_reproduction_sees_nothing_of_the_agent_s_container(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str, agent_image: str
) -> None:
    check = (
        "set -e\n"
        "python3 -c 'import agentpkg' 2>/dev/null && { echo package leaked; exit 10; }\n"
        "[ -e /home/agent/notes.txt ] && { echo file leaked; exit 11; }\n"
        '[ -n "${AGENT_ONLY:-}" ] && { echo env leaked; exit 12; }\n'
        "[ -f made-by-agent.txt ] || { echo submission lost; exit 13; }\n"
        "echo clean\n"
    )

    async def agent_leaves_state() -> Path:
        spec = SandboxSpec(
            image=agent_image, run_id="leak-test", stage="agent", env={"AGENT_ONLY": "1"}
        )
        async with DockerSandbox(spec) as agent:
            await agent.write_file("/usr/lib/python3/dist-packages/agentpkg.py", "x = 1\n")
            await agent.write_file("/home/agent/notes.txt", "private\n")
            await agent.write_file("/home/submission/reproduce.sh", check)
            await agent.write_file("/home/submission/made-by-agent.txt", "ok\n")
            assert (await agent.exec(["python3", "-c", "import agentpkg"])).exit_code == 0
            return await agent.download("/home/submission", tmp_path / "captured.tar")

    captured = asyncio.run(agent_leaves_state())
    result = run(captured, paper, tmp_path / "out", reproducer_image)
    assert (tmp_path / "out/reproduce.log").read_text().strip() == "clean"
    assert result.status == "succeeded"


def test_without_retries_a_failure_is_final(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = run(submission(tmp_path, "exit 1\n"), paper, tmp_path / "out", reproducer_image)
    assert [a.status for a in result.attempts] == ["failed"]


def test_retries_rerun_a_failure_in_fresh_sandboxes_and_keep_every_attempt(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    script = "echo run >> marker.txt\ncat marker.txt | wc -l\nexit 1\n"
    result = run(submission(tmp_path, script), paper, tmp_path / "out", reproducer_image, retries=2)
    assert [a.number for a in result.attempts] == [1, 2, 3]
    assert result.graded_attempt == 3
    for number in (1, 2, 3):
        # each attempt started from the untouched submission: the marker has one line
        log = (tmp_path / f"out/reproduce.attempt-{number}.log").read_text()
        assert log.strip() == "1"


def test_retries_never_rerun_a_success(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    result = run(
        submission(tmp_path, "echo ok\n"), paper, tmp_path / "out", reproducer_image, retries=3
    )
    assert [a.status for a in result.attempts] == ["succeeded"]


def test_a_git_submission_records_its_log_and_status(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    import subprocess

    source = submission(tmp_path, "echo 1 > result.txt\n")
    git = ["git", "-C", str(source), "-c", "user.name=agent", "-c", "user.email=a@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "replicate the paper"], check=True)
    result = run(source, paper, tmp_path / "out", reproducer_image)
    assert result.git is not None and result.git.error is None
    assert "replicate the paper" in result.git.log
    assert "?? result.txt" in result.git.status
    assert [f.path for f in result.files_created] == ["result.txt"]


def test_a_log_over_its_cap_is_cut_with_a_note_where(
    paper: PaperBundle, tmp_path: Path, reproducer_image: str
) -> None:
    script = "echo first-line\nhead -c 200000 /dev/zero | tr '\\\\0' x\necho\necho last-line\n"
    result = run(
        submission(tmp_path, script),
        paper,
        tmp_path / "out",
        reproducer_image,
        log_limit_bytes=10_000,
    )
    log = (tmp_path / "out/reproduce.log").read_text()
    assert result.status == "succeeded"
    assert result.attempts[0].log_truncated and result.attempts[0].log_bytes > 200_000
    assert log.startswith("first-line") and log.rstrip().endswith("last-line")
    assert "paperbench cut" in log and len(log) < 11_000
