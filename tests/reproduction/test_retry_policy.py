"""Which attempt is graded, shown on the local backend (no Docker needed): a script that keeps
state outside its folder can fail first and succeed later, which fresh containers never allow."""

from __future__ import annotations

from pathlib import Path

from paperbench.papers import load_bundle
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.local_backend import LocalSandbox
from tests.support.papers import make_bundle
from tests.support.reproduction import reproduce_with


def local(spec: SandboxSpec) -> Sandbox:
    return LocalSandbox(spec.model_copy(update={"allow_unsafe_local": True}))


def test_the_first_success_is_graded_and_later_attempts_never_run(tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "reproduce.sh").write_text(
        f"echo run >> {counter}\n"
        f'[ "$(wc -l < {counter})" -ge 2 ] && {{ echo second-time-lucky; exit 0; }}\n'
        "echo first-fails; exit 1\n"
    )
    paper = load_bundle(make_bundle(tmp_path / "paper"))
    result = reproduce_with(folder, paper, tmp_path / "out", local, image="local", retries=3)
    assert [a.status for a in result.attempts] == ["failed", "succeeded"]
    assert result.graded_attempt == 2 and result.status == "succeeded"
    assert (tmp_path / "out/reproduce.log").read_text().strip() == "second-time-lucky"
    assert counter.read_text().count("run") == 2


def test_a_script_that_cannot_run_is_not_retried(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "reproduce.sh").write_text("if then (\n")
    paper = load_bundle(make_bundle(tmp_path / "paper"))
    result = reproduce_with(folder, paper, tmp_path / "out", local, image="local", retries=3)
    assert [a.status for a in result.attempts] == ["invalid_script"]
