"""Failure paths of a run, in-process on the local backend: each ends in a record with its
failure class, never in an aborted command, and running the same command again repairs
exactly what failed."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest

from paperbench.contracts import FAILURES
from paperbench.papers import PaperBundle, load_bundle
from paperbench.reproduction.result import STATUS_FAILURES, AttemptStatus
from paperbench.rubric import TASK_CATEGORIES
from paperbench.runs.leaderboard import build_leaderboard
from paperbench.sandbox.base import Sandbox, SandboxSpec
from paperbench.sandbox.errors import SandboxStartError
from tests.support.inprocess import WritingAgent, attempts, local, orchestrate
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, fill_schema
from tests.support.runs import run_settings, score_development_only, write_paper


@pytest.fixture
def paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PaperBundle:
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    return load_bundle(write_paper(tmp_path / "papers", "toy-a", (1, 1, 1)))


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Outage:
    """A judge whose calls about one requirement fail with HTTP 500 until it is mended."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self.mended = False

    def __call__(self, request: RecordedRequest) -> Reply:
        if not self.mended and self.failing in request.text.split("Requirement")[-1]:
            return Reply(status=500, error_message="the judge is down")
        return Reply(json=fill_schema(request.schema or {}, {"score": 1}))


def test_invalid_leaves_are_retried_by_the_next_run_and_only_they(
    paper: PaperBundle, tmp_path: Path
) -> None:
    outage = Outage("runs is done")
    with ScriptedLLMServer(default=outage) as judge:
        settings = run_settings(tmp_path / "runs", judge.openai_url)
        orchestrator, [record] = orchestrate(settings, [paper])
        assert record.invalid_leaves == 1 and record.graded
        assert [f.kind for f in record.failures] == ["judge_invalid"]
        assert record.score == pytest.approx(2 / 3)
        assert record.score_if_invalid_passed == pytest.approx(1.0)
        calls_before = len(judge.requests)

        outage.mended = True
        _, [again] = orchestrate(settings, [paper])
    assert len(judge.requests) - calls_before == 1, "only the invalid leaf is asked again"
    assert again.invalid_leaves == 0 and again.failures == []
    assert again.score == pytest.approx(1.0)
    run_dir = orchestrator.statuses[0].paths.root
    assert attempts(run_dir) == {"agent": 1, "reproduction": 1, "grading": 2}


def test_a_judge_that_refuses_connections_fails_the_grading_at_once_and_a_rerun_grades(
    paper: PaperBundle, tmp_path: Path
) -> None:
    port = dead_port()
    settings = run_settings(tmp_path / "runs", f"http://127.0.0.1:{port}/v1")
    orchestrator, [record] = orchestrate(settings, [paper])
    [failure] = record.failures
    assert (failure.kind, failure.stage) == ("judge_error", "grading")
    assert "cannot reach" in failure.reason
    assert not record.graded and record.score == 0.0
    run_dir = orchestrator.statuses[0].paths.root
    state = (run_dir / "state.json").read_text()
    assert '"grading"' in state and '"failed"' in state

    with ScriptedLLMServer(default=score_development_only) as judge:
        mended = run_settings(tmp_path / "runs", judge.openai_url)
        _, [again] = orchestrate(mended, [paper])
    assert again.graded and again.failures == []
    assert attempts(run_dir) == {"agent": 1, "reproduction": 1, "grading": 2}


def failing_for(stage: str) -> Callable[[SandboxSpec], Sandbox]:
    def factory(spec: SandboxSpec) -> Sandbox:
        if spec.stage == stage:
            raise SandboxStartError(f"the engine refused to start the {stage} container")
        return local(spec)

    return factory


def test_a_run_that_failed_before_its_agent_counts_zero_in_every_aggregate(
    paper: PaperBundle, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    good = run_settings(tmp_path / "good", judge_server.openai_url)
    _, [passed] = orchestrate(good, [paper])
    broken = run_settings(tmp_path / "broken", judge_server.openai_url).model_copy(
        update={"run": good.run.model_copy(update={"first_seed": 1, "runs_dir": tmp_path / "b"})}
    )
    _, [failed] = orchestrate(broken, [paper], factory=failing_for("agent"))
    assert [f.kind for f in failed.failures] == ["infrastructure_error"]
    assert not failed.graded and failed.score == 0.0
    assert failed.agent_cost_usd == 0.0 and failed.judge_cost_usd == 0.0
    assert set(failed.per_category) == set(TASK_CATEGORIES)
    assert all(entry.score == 0.0 and entry.items == 1 for entry in failed.per_category.values())

    board = build_leaderboard([passed, failed])
    [entry] = board.entries
    assert entry.score.mean == pytest.approx(passed.score / 2)
    development = entry.per_category["Code Development"]
    assert development.mean == pytest.approx(0.5) and development.n == 2
    assert entry.cost.agent_usd == 0.0, "a run whose agent never started cost nothing"


def test_a_sandbox_failure_in_reproduction_is_redone_by_the_next_run_alone(
    paper: PaperBundle, tmp_path: Path, judge_server: ScriptedLLMServer
) -> None:
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    orchestrator, [record] = orchestrate(
        settings,
        [paper],
        factory=failing_for("reproduction"),
    )
    [failure] = record.failures
    assert (failure.kind, failure.stage) == ("infrastructure_error", "reproduction")
    _, [again] = orchestrate(settings, [paper])
    assert again.failures == [] and again.graded
    run_dir = orchestrator.statuses[0].paths.root
    assert attempts(run_dir) == {"agent": 1, "reproduction": 2, "grading": 1}


def test_an_empty_submission_is_graded_zero_by_rule_and_the_other_papers_go_on(
    tmp_path: Path, judge_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERBENCH_HOME", str(tmp_path / "home"))
    papers = [
        load_bundle(write_paper(tmp_path / "papers", name, (1, 1, 1)))
        for name in ("toy-a", "toy-b")
    ]
    settings = run_settings(tmp_path / "runs", judge_server.openai_url)
    _, records = orchestrate(settings, papers, agent=WritingAgent(files={}))
    assert len(records) == 2
    for record in records:
        assert [f.kind for f in record.failures] == ["empty_submission"]
        assert record.graded and record.score == 0.0 and record.judge_cost_usd == 0.0
        assert set(record.per_category) == set(TASK_CATEGORIES)
    assert judge_server.requests == [], "nothing to show: no judge call"
    for record in records:
        run_dir = tmp_path / "runs" / "replay" / record.paper_id / "seed-0"
        tree = (run_dir / "grading" / "graded_tree.json").read_text()
        assert "the submission has no files" in tree


def test_every_reproduction_status_has_its_failure_class() -> None:
    assert set(STATUS_FAILURES) == set(get_args(AttemptStatus))
    assert {kind for kind in STATUS_FAILURES.values() if kind} <= set(FAILURES)
