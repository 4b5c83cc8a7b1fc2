"""A run root that is an fsspec URL (``--runs-dir s3://bucket/prefix``), against a real
S3-compatible server on loopback (moto's) that s3fs reaches over HTTP: the bucket gets the run
tree a folder would, ``state.json`` reaches it only after the files it speaks of, a run resumes
from the bucket alone, and hostile object keys are refused before anything is written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from paperbench.llm.retry import RetryPolicy
from paperbench.papers import load_bundle
from paperbench.runs.orchestrator import Orchestrator
from paperbench.runs.remote_root import RemoteRoot, RemoteRootError
from paperbench.runs.settings import RunOptions
from paperbench.secrets import REDACTED, redact_text
from tests.support.grading import NoSleep
from tests.support.inprocess import WritingAgent, local, orchestrate
from tests.support.llm_server import ScriptedLLMServer
from tests.support.runs import paperbench_process, replay_script, run_settings, write_paper
from tests.support.s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, S3Server, folder_tree

RUN = "replay/toy-a/seed-0"
UNCHANGED = {"agent": 1, "reproduction": 1, "grading": 1}


@pytest.fixture
def paper_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    return write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))


def remote_state(s3: S3Server) -> dict[str, Any]:
    stages: dict[str, Any] = json.loads(s3.fs().cat_file(f"{s3.bucket}/runs/{RUN}/state.json"))[
        "stages"
    ]
    return stages


class Recording:
    """s3fs, with every upload recorded (and, from the ``fail_at``-th on, refused)."""

    def __init__(self, fs: Any, fail_at: int | None = None) -> None:
        self.fs = fs
        self.fail_at = fail_at
        self.puts: list[tuple[str, bytes]] = []

    def put_file(self, local: str, remote: str) -> None:
        if self.fail_at is not None and len(self.puts) + 1 >= self.fail_at:
            raise OSError("the store went away")
        self.puts.append((remote, Path(local).read_bytes()))
        self.fs.put_file(local, remote)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fs, name)


def in_process(settings: Any, paper_dir: Path) -> Orchestrator:
    def make(spec: Any, paper: Any) -> WritingAgent:
        return WritingAgent()

    return Orchestrator(
        settings,
        [load_bundle(paper_dir)],
        local,
        agent_factory=make,
        judge_retry=RetryPolicy(sleep=NoSleep()),
    )


def test_state_json_reaches_the_bucket_only_after_the_files_of_the_stages_it_marks_done(
    paper_dir: Path, tmp_path: Path, s3: S3Server, judge_server: ScriptedLLMServer
) -> None:
    orchestrator = in_process(run_settings(s3.url(), judge_server.openai_url), paper_dir)
    assert orchestrator.mirror is not None
    recording = Recording(orchestrator.mirror.fs)
    orchestrator.mirror.fs = recording
    [record] = asyncio.run(orchestrator.run_all())
    assert record.failures == [] and record.score > 0

    base = f"{s3.bucket}/runs/{RUN}/"
    final = s3.tree(f"runs/{RUN}")
    done_before: set[str] = set()
    sent: set[str] = set()
    checked = []
    for key, data in recording.puts:
        relative = key.removeprefix(base)
        if relative != "state.json":
            sent.add(relative)
            continue
        stages = json.loads(data)["stages"]
        for stage in [name for name, entry in stages.items() if entry["status"] == "done"]:
            if stage in done_before:
                continue
            files = [name for name in final if name.startswith(f"{stage}/")]
            assert files and set(files) <= sent, (stage, sorted(set(files) - sent))
            done_before.add(stage)
            checked.append(stage)
    assert checked == ["agent", "reproduction", "grading"]
    assert json.loads(final["state.json"])["stages"]["grading"]["status"] == "done"
    assert not orchestrator.mirror.staging.exists()  # staging is removed once all is pushed


def test_a_push_cut_short_leaves_the_stage_not_done_on_the_bucket_and_resume_redoes_only_it(
    paper_dir: Path, tmp_path: Path, s3: S3Server, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(s3.url(), judge_server.openai_url)
    orchestrator = in_process(settings, paper_dir)
    assert orchestrator.mirror is not None
    real = orchestrator.mirror.fs
    failing = Recording(real)
    orchestrator.mirror.fs = failing

    def fail_in_grading_push(local: str, remote: str) -> None:
        if "/grading/" in remote and not remote.endswith("inputs.json"):
            raise OSError("the store went away")
        real.put_file(local, remote)

    failing.put_file = fail_in_grading_push  # type: ignore[method-assign]
    with pytest.raises(RemoteRootError, match=r"cannot write .*grading/.*the store went away"):
        asyncio.run(orchestrator.run_all())
    stages = remote_state(s3)
    assert stages["agent"]["status"] == "done" and stages["reproduction"]["status"] == "done"
    assert stages["grading"]["status"] == "running"

    orchestrate(settings, [load_bundle(paper_dir)])
    stages = remote_state(s3)
    assert {name: entry["attempts"] for name, entry in stages.items()} == {
        **UNCHANGED,
        "grading": 2,
    }
    assert all(entry["status"] == "done" for entry in stages.values())


def test_push_sends_state_json_last_and_not_at_all_when_a_file_fails(
    tmp_path: Path, s3: S3Server
) -> None:
    mirror = RemoteRoot.open(s3.url(), tmp_path / "staging")
    run = tmp_path / "staging" / "a" / "seed-0"
    names = ("state.json", "agent/agent.json", "agent/z/deep.txt", "at/t1/state.json", "at/t1/z")
    for name in names:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(name)
    recording = Recording(mirror.fs)
    mirror.fs = recording
    sent = mirror.push(run)
    assert sent[-1] == "a/seed-0/state.json" and len(sent) == 5
    assert sent.index("a/seed-0/at/t1/state.json") > sent.index("a/seed-0/at/t1/z")
    assert [key for key, _ in recording.puts] == [f"{s3.bucket}/runs/{name}" for name in sent]
    assert mirror.push(run) == []  # nothing changed, nothing sent

    (run / "state.json").write_text("second")
    (run / "agent" / "agent.json").write_text("changed")
    (run / "agent" / "new.txt").write_text("new")
    mirror.fs = Recording(recording.fs, fail_at=2)
    with pytest.raises(RemoteRootError, match=r"cannot write a/seed-0/agent/new\.txt"):
        mirror.push(run)
    assert s3.tree("runs/a/seed-0")["state.json"] == b"state.json"

    mirror.fs = recording.fs
    (run / "agent" / "z" / "deep.txt").unlink()
    mirror.push(run)
    assert s3.tree("runs/a/seed-0") == folder_tree(run)  # the removed file is gone too


def test_a_run_resumes_from_the_bucket_alone_and_redoes_no_finished_stage(
    paper_dir: Path, tmp_path: Path, s3: S3Server, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(s3.url(), judge_server.openai_url)
    first, [record] = orchestrate(settings, [load_bundle(paper_dir)])
    assert first.mirror is not None and not first.mirror.staging.exists()
    assert {name: entry["attempts"] for name, entry in remote_state(s3).items()} == UNCHANGED
    asked = len(judge_server.requests)

    second, [again] = orchestrate(settings, [load_bundle(paper_dir)])
    assert second.mirror is not None and second.mirror.staging != first.mirror.staging
    assert {name: entry["attempts"] for name, entry in remote_state(s3).items()} == UNCHANGED
    assert len(judge_server.requests) == asked  # the grade came from the bucket
    assert again.score == record.score
    invocations = json.loads(s3.tree(f"runs/{RUN}")["provenance.json"])["invocations"]
    assert len(invocations) == 2  # the second invocation read the first's provenance back


@pytest.mark.parametrize(
    "hostile",
    ["../../escaped", "agent/../../../escaped", "/escaped", "agent//escaped", "a\\..\\escaped"],
)
def test_a_hostile_object_key_is_refused_and_nothing_is_written(
    tmp_path: Path, s3: S3Server, hostile: str
) -> None:
    fs = s3.fs()
    fs.pipe_file(f"{s3.bucket}/runs/{RUN}/state.json", b"{}")
    fs.pipe_file(f"{s3.bucket}/runs/{RUN}/{hostile}", b"pwned")
    assert f"{s3.bucket}/runs/{RUN}/{hostile}" in fs.find(f"{s3.bucket}/runs/{RUN}")
    outside = tmp_path / "work"
    mirror = RemoteRoot.open(s3.url(), outside / "staging")
    run = mirror.staging / RUN
    with pytest.raises(RemoteRootError) as refused:
        mirror.pull(run)
    assert "refusing to pull" in str(refused.value) and "outside the run's folder" in str(
        refused.value
    )
    assert not outside.exists() or not any(outside.rglob("*"))
    assert not list(tmp_path.rglob("escaped*"))


def test_a_pull_brings_its_own_run_only(tmp_path: Path, s3: S3Server) -> None:
    fs = s3.fs()
    fs.pipe_file(f"{s3.bucket}/runs/replay/toy-a/seed-1/mine", b"1")
    fs.pipe_file(f"{s3.bucket}/runs/replay/toy-a/seed-10/theirs", b"10")
    mirror = RemoteRoot.open(s3.url(), tmp_path / "staging")
    run = mirror.staging / "replay" / "toy-a" / "seed-1"
    assert mirror.pull(run) == 1
    assert folder_tree(run) == {"mine": b"1"}


def test_a_symlink_in_staging_is_not_followed_by_a_pull(tmp_path: Path, s3: S3Server) -> None:
    s3.fs().pipe_file(f"{s3.bucket}/runs/{RUN}/agent/agent.json", b"{}")
    mirror = RemoteRoot.open(s3.url(), tmp_path / "staging")
    run = mirror.staging / RUN
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run.mkdir(parents=True)
    (run / "agent").symlink_to(elsewhere)
    assert mirror.pull(run) == 1
    assert (run / "agent").is_dir() and not (run / "agent").is_symlink()
    assert not any(elsewhere.iterdir())


def test_the_store_credentials_are_registered_as_secrets(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_secret = "profile-secret-value-0123456789"
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(
        f"[other]\naws_access_key_id = AKIDOTHERPROFILE\naws_secret_access_key = {profile_secret}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    RemoteRoot.open(s3.url(), tmp_path / "staging")
    for secret in (SECRET_ACCESS_KEY, profile_secret):
        assert redact_text(f"key {secret}.") == f"key {REDACTED}."


def test_a_missing_bucket_is_one_line_before_any_run(
    paper_dir: Path, s3: S3Server, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings("s3://no-such-bucket-pb/runs", judge_server.openai_url)
    orchestrator = in_process(settings, paper_dir)
    with pytest.raises(RemoteRootError, match=r"^--runs-dir s3://no-such-bucket-pb/runs: "):
        orchestrator.preflight()


@pytest.mark.docker
def test_paperbench_run_writes_the_same_run_tree_to_a_bucket_as_to_a_folder(
    tmp_path: Path,
    s3: S3Server,
    judge_server: ScriptedLLMServer,
    reproducer_image: str,
    agent_image: str,
) -> None:
    write_paper(tmp_path / "papers", "toy-a", (1, 1, 1))
    script = replay_script(tmp_path)

    def run(root: str) -> str:
        process = paperbench_process(
            "run",
            "--papers",
            "toy-a",
            "--agent",
            "replay",
            "--papers-dir",
            str(tmp_path / "papers"),
            "--replay-script",
            str(script),
            "--runs-dir",
            root,
            "--no-live",
            "--judge",
            f"openai-compatible/judge@{judge_server.openai_url}",
            "--judge-context-window",
            "32000",
            home=tmp_path / "home",
            env={**s3.env, "TMPDIR": str(tmp_path / "tmp")},
        )
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{out}\n{err}"
        return out + err

    (tmp_path / "tmp").mkdir()
    said = run(s3.url())
    run(str(tmp_path / "runs"))
    bucket, folder = s3.tree(), folder_tree(tmp_path / "runs")
    assert sorted(bucket) == sorted(folder)
    assert "replay/toy-a/seed-0/agent/submission.tar" in bucket
    scores = [json.loads(tree[f"{RUN}/run.json"])["score"] for tree in (bucket, folder)]
    assert scores[0] == scores[1] > 0
    assert f"run directories under {s3.url()}" in said
    for data in [*bucket.values(), said.encode()]:
        assert SECRET_ACCESS_KEY.encode() not in data and ACCESS_KEY_ID.encode() not in data
    assert not list((tmp_path / "tmp").glob("paperbench-staging-*"))  # gone with the run


@pytest.mark.parametrize(
    ("root", "said"),
    [
        ("memory://runs", "memory:// lives in one process"),
        ("s3://AKIDEXAMPLE:verysecretvalue@bucket/runs", "not in the URL"),
        ("nosuchscheme://bucket/runs", "not a storage scheme fsspec knows"),
    ],
)
def test_a_url_that_cannot_be_a_run_root_is_refused_when_given(root: str, said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        RunOptions(runs_dir=root)


def test_a_file_url_root_holds_what_a_folder_would(
    paper_dir: Path, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    url = (tmp_path / "url-root").as_uri()
    for root in (url, str(tmp_path / "folder")):
        orchestrate(run_settings(root, judge_server.openai_url), [load_bundle(paper_dir)])
    assert sorted(folder_tree(tmp_path / "url-root")) == sorted(folder_tree(tmp_path / "folder"))
