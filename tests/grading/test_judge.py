"""The judge through the real OpenAI client against the scripted server: what it sends, how it
treats bad replies and failures, the cache and the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paperbench.llm.retry import RetryPolicy
from paperbench.papers import PaperBundle
from tests.support.grading import NoSleep, run_grade
from tests.support.llm_server import RecordedRequest, Reply, ScriptedLLMServer, schema_responder

VALID = {"explanation": "implemented in optim.py", "evidence": ["optim.py"], "score": 1}


def ledger_lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "ledger.jsonl").read_text().splitlines()]


def requirement_of(request: RecordedRequest) -> str:
    return request.segments[-1].text.split("Requirement `", 1)[1].split("`", 1)[0]


def test_every_leaf_is_graded_once_with_one_call(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    result = run_grade(tiny_bundle, server, tmp_path / "out", reproduction=reproduction)
    assert len(server.requests) == 5
    assert sorted(requirement_of(r) for r in server.requests) == ["0/0", "0/1", "1/0", "1/1", "1/2"]
    assert result.summary.score == 1.0 and not result.summary.invalid


def test_leaves_are_graded_category_by_category(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    run_grade(tiny_bundle, server, tmp_path / "out", reproduction=reproduction, judge_concurrency=1)
    assert [requirement_of(r) for r in server.requests] == ["0/0", "0/1", "1/0", "1/1", "1/2"]


def test_a_valid_grade_lands_in_the_graded_tree_with_evidence_and_usage(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    server.default = Reply(json=VALID)
    run_grade(tiny_bundle, server, tmp_path / "out", reproduction=reproduction)
    tree = json.loads((tmp_path / "out" / "graded_tree.json").read_text())
    sgd = tree["sub_tasks"][0]["sub_tasks"][0]
    assert {key: sgd[key] for key in ("id", "score", "valid_score", "task_category", "path")} == {
        "id": "sgd",
        "score": 1.0,
        "valid_score": True,
        "task_category": "Code Development",
        "path": "0/0",
    }
    assert sgd["explanation"] == "implemented in optim.py" and sgd["evidence"] == ["optim.py"]
    assert sgd["usage"]["input_tokens"] > 0 and sgd["judge_metadata"]["model_version"]
    assert tree["explanation"] == "Aggregated score from sub-tasks." and tree["valid_score"]


def test_invalid_json_is_retried_and_then_the_valid_reply_counts(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    server.push(Reply(content='{"explanation": "cut off'))
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        submission=submission,
        code_dev=True,
        judge_concurrency=1,
    )
    assert not result.summary.invalid
    assert len(server.requests) == 3
    retry_suffix = server.requests[1].segments[-1].text
    assert "could not be used: not valid JSON" in retry_suffix
    outcomes = [entry["outcome"] for entry in ledger_lines(tmp_path / "out")]
    assert outcomes == ["invalid-reply", "graded", "graded"]


def test_a_reply_that_never_validates_makes_the_leaf_invalid_not_zero(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    server.push(*[Reply(json={"explanation": "x", "evidence": [], "score": 7})] * 3)
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        submission=submission,
        code_dev=True,
        judge_concurrency=1,
    )
    assert [item.path for item in result.summary.invalid] == ["0/0"]
    assert "did not validate after 3 attempts" in result.summary.invalid[0].reason
    assert result.summary.score == 0.75 and result.summary.score_if_invalid_passed == 1.0


def test_a_429_is_waited_out_and_the_leaf_still_graded(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    sleep = NoSleep()
    server.push(Reply(status=429, headers={"retry-after": "3"}))
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        submission=submission,
        code_dev=True,
        retry=RetryPolicy(sleep=sleep),
    )
    assert not result.summary.invalid
    assert result.ledger.requests_sent == 3 and result.ledger.replies == 2
    assert max(sleep.waits) > 2.5


def test_server_errors_until_the_retries_run_out_make_every_leaf_invalid_with_the_reason(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    server.default = Reply(status=500)
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        reproduction=reproduction,
        retry=RetryPolicy(sleep=NoSleep(), max_attempts=3),
    )
    summary = result.summary
    assert len(summary.invalid) == 5 and summary.score == 0.0
    assert summary.score_if_invalid_passed == 1.0
    assert all("HTTP 500" in item.reason for item in summary.invalid)
    assert result.ledger.failed_calls == 5 and result.ledger.requests_sent == 15
    tree = json.loads((tmp_path / "out" / "graded_tree.json").read_text())
    assert tree["valid_score"] is False
    assert "HTTP 500" in tree["sub_tasks"][0]["sub_tasks"][0]["explanation"]


def test_a_slow_reply_times_out_and_is_retried(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    server.push(Reply(json=VALID, delay=3.0))
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        submission=submission,
        code_dev=True,
        judge_concurrency=1,
        judge_timeout=1.0,
    )
    assert not result.summary.invalid
    first = ledger_lines(tmp_path / "out")[0]
    assert first["failed_attempts"][0].startswith("CallTimeout")


def test_a_second_run_on_unchanged_inputs_makes_no_calls(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    server.push(Reply(content="not json"))
    first = run_grade(tiny_bundle, server, tmp_path / "one", reproduction=reproduction)
    sent = len(server.requests)
    second = run_grade(tiny_bundle, server, tmp_path / "two", reproduction=reproduction)
    assert len(server.requests) == sent == 6
    assert second.ledger.requests_sent == 0 and second.ledger.cache_hits == 5
    assert second.ledger.cost_usd == 0.0
    assert second.summary.score == first.summary.score


def test_a_changed_submission_file_is_graded_again(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    run_grade(tiny_bundle, server, tmp_path / "one", submission=submission, code_dev=True)
    (submission / "optim.py").write_text("def sgd_step(w, g, eta):\n    return w\n")
    second = run_grade(tiny_bundle, server, tmp_path / "two", submission=submission, code_dev=True)
    assert second.ledger.requests_sent == 2 and second.ledger.cache_hits == 0


def test_the_ledger_prices_input_cached_and_output_tokens(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    result = run_grade(
        tiny_bundle, server, tmp_path / "out", reproduction=reproduction, judge_concurrency=1
    )
    entries = ledger_lines(tmp_path / "out")
    assert len(entries) == 5
    for entry in entries:
        usage = entry["usage"]
        fresh = usage["input_tokens"] - usage["cached_input_tokens"]
        expected = (
            fresh * 1.10 + usage["cached_input_tokens"] * 0.55 + usage["output_tokens"] * 4.40
        ) / 1e6
        assert abs(entry["cost_usd"] - expected) < 1e-12
    assert entries[1]["usage"]["cached_input_tokens"] > 0
    assert result.ledger.input_tokens == sum(e["usage"]["input_tokens"] for e in entries)


def test_an_unpriced_model_reports_its_cost_as_unknown(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        submission=submission,
        code_dev=True,
        judge="openai/brand-new",
        judge_context_window=100_000,
    )
    assert result.ledger.cost_usd is None and result.ledger.input_tokens > 0


def test_temperature_seed_and_model_version_are_recorded_with_every_grade(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    server.model_version = "o3-mini-2025-01-31"
    result = run_grade(
        tiny_bundle,
        server,
        tmp_path / "out",
        submission=submission,
        code_dev=True,
        judge_temperature=0.0,
        judge_seed=11,
    )
    assert server.requests[0].body["temperature"] == 0.0 and server.requests[0].body["seed"] == 11
    tree = json.loads((tmp_path / "out" / "graded_tree.json").read_text())
    meta = tree["sub_tasks"][0]["sub_tasks"][0]["judge_metadata"]
    assert (meta["temperature"], meta["seed"], meta["model_version"]) == (
        0.0,
        11,
        "o3-mini-2025-01-31",
    )
    assert result.judge.model_versions == {"o3-mini-2025-01-31": 2}


def test_a_batch_grades_several_leaves_in_one_call_each_with_its_own_verdict(
    spiral: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    assert spiral.solution_dir is not None
    result = run_grade(
        spiral, server, tmp_path / "out", submission=spiral.solution_dir, code_dev=True, batch=5
    )
    leaves = result.summary.items
    assert len(server.requests) == -(-leaves // 5)
    tree = json.loads((tmp_path / "out" / "graded_tree.json").read_text())
    first = tree["sub_tasks"][0]["sub_tasks"][0]["sub_tasks"][0]
    assert first["explanation"] == "scripted explanation" and first["valid_score"]


def test_a_leaf_missing_from_a_batched_reply_is_regraded_alone(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    server.push(Reply(json={"grades": {"L1": VALID}}))
    result = run_grade(
        tiny_bundle, server, tmp_path / "out", submission=submission, code_dev=True, batch=4
    )
    assert not result.summary.invalid
    assert len(server.requests) == 2
    assert requirement_of(server.requests[1]) == "0/1"


def test_without_a_reproduction_execution_and_result_leaves_score_zero_by_rule(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, submission: Path, tmp_path: Path
) -> None:
    result = run_grade(tiny_bundle, server, tmp_path / "out", submission=submission)
    assert len(server.requests) == 2
    assert result.summary.scored_by_rule == 3
    tree = json.loads((tmp_path / "out" / "graded_tree.json").read_text())
    executed = tree["sub_tasks"][1]["sub_tasks"][0]
    assert executed["score"] == 0.0 and executed["valid_score"]
    assert "no reproduction was run" in executed["explanation"]
    assert executed["judge_metadata"]["judged_by"] == "rule"


def test_each_calls_prompt_and_reply_are_kept_for_inspection(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    from paperbench.grading.records import assemble_prompt, load_calls

    server.default = schema_responder(explanation="kept reply")
    run_grade(tiny_bundle, server, tmp_path / "out", reproduction=reproduction, judge_concurrency=1)
    calls = load_calls(tmp_path / "out")
    assert len(calls) == 5 and "kept reply" in calls[0]["reply"]
    sent = [segment.text for segment in server.requests[0].segments]
    assert [text.strip() for text in assemble_prompt(tmp_path / "out", calls[0])] == [
        text.strip() for text in sent
    ]


def test_concurrency_is_bounded(
    spiral: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    assert spiral.solution_dir is not None
    server.latency = 0.1
    run_grade(
        spiral,
        server,
        tmp_path / "out",
        submission=spiral.solution_dir,
        code_dev=True,
        judge_concurrency=3,
    )
    assert len(server.requests) > 10 and server.max_in_flight == 3


def test_the_first_call_of_a_prefix_finishes_before_the_others_start(
    spiral: PaperBundle, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    assert spiral.solution_dir is not None
    server.latency = 0.1
    run_grade(
        spiral,
        server,
        tmp_path / "out",
        submission=spiral.solution_dir,
        code_dev=True,
        judge_concurrency=8,
    )
    first, *rest = sorted(server.requests, key=lambda request: request.received_at)
    assert all(first.answered_at <= request.received_at for request in rest)
    assert server.max_in_flight > 1


@pytest.mark.parametrize(
    ("judge", "api"),
    [
        ("openai/o3-mini", "chat"),
        ("openai-responses/o3-mini", "responses"),
        ("anthropic/claude-sonnet-4-6", "messages"),
    ],
)
def test_every_provider_api_can_be_the_judge(
    judge: str,
    api: str,
    tiny_bundle: PaperBundle,
    server: ScriptedLLMServer,
    reproduction: Path,
    tmp_path: Path,
) -> None:
    result = run_grade(
        tiny_bundle, server, tmp_path / "out", reproduction=reproduction, judge=judge, batch=2
    )
    assert result.summary.score == 1.0 and not result.summary.invalid
    assert {request.api for request in server.requests} == {api}
    assert result.ledger.cost_usd is not None and result.ledger.cost_usd > 0


def test_a_rate_limit_storm_slows_the_grade_but_zeroes_nothing(
    tiny_bundle: PaperBundle, server: ScriptedLLMServer, reproduction: Path, tmp_path: Path
) -> None:
    server.push(*[Reply(status=429, headers={"retry-after": "5"}) for _ in range(25)])
    result = run_grade(tiny_bundle, server, tmp_path / "out", reproduction=reproduction)
    assert not result.summary.invalid and result.summary.score == 1.0
    assert result.ledger.requests_sent == 30
