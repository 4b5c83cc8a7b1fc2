"""`rubric draft`: a model drafts the rubric through the provider layer, here the real `openai`
client talking to the scripted server on loopback; the draft is validated and linted before it
is written, and a reply that is not a rubric ends in one clear line."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperbench.llm import GenerateSettings, RetryPolicy, open_provider, parse_model_name
from paperbench.llm.provider import Provider
from paperbench.rubric import validate_file
from paperbench.rubric.draft import Draft, DraftError, draft_rubric, draft_schema
from paperbench.rubric.scaffold import read_paper
from tests.support.llm_server import Reply, ScriptedLLMServer

SPIRAL = Path(__file__).resolve().parents[2] / "papers/spiral-optimizers"


def reply_leaf(text: str, category: str | None = "Code Development", weight: int = 1) -> dict:
    return {
        "requirements": text,
        "weight": weight,
        "task_category": category,
        "finegrained_task_category": None,
        "sub_tasks": [],
    }


def good_reply() -> dict[str, Any]:
    return {
        "requirements": "The core contributions of the paper have been reproduced.",
        "sub_tasks": [
            {
                "requirements": "The three optimizers have been implemented.",
                "weight": 2,
                "task_category": None,
                "finegrained_task_category": None,
                "sub_tasks": [
                    reply_leaf("Heavy-ball momentum follows Section 2 with mu = 0.9."),
                    reply_leaf("Adam follows Section 2 with beta1 = 0.9, beta2 = 0.999."),
                ],
            },
            reply_leaf(
                "The recorded training loss of Adam after 500 steps is lower than SGD's.",
                "Result Analysis",
            ),
        ],
    }


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as running:
        yield running


def provider(server: ScriptedLLMServer, window: int = 32000, **retry: Any) -> Provider:
    spec = parse_model_name(f"openai-compatible/drafter@{server.openai_url}", context_window=window)
    return open_provider(spec, retry=RetryPolicy(**retry))


def draft(server: ScriptedLLMServer, **options: Any) -> Draft:
    chosen = options.pop("provider", None) or provider(server)
    paper = (SPIRAL / "paper.md").read_text()

    async def run() -> Draft:
        async with chosen:
            return await draft_rubric(chosen, paper, read_paper(SPIRAL), **options)

    return asyncio.run(run())


def test_a_valid_reply_becomes_a_valid_tree_with_its_lint_advice(server: ScriptedLLMServer) -> None:
    server.push(Reply(json=good_reply()))
    result = draft(server)
    assert result.attempts == 1
    assert [node.requirements for _, node in result.tree.leaves()] == [
        "Heavy-ball momentum follows Section 2 with mu = 0.9.",
        "Adam follows Section 2 with beta1 = 0.9, beta2 = 0.999.",
        "The recorded training loss of Adam after 500 steps is lower than SGD's.",
    ]
    assert result.tree.sub_tasks[0].weight == 2
    assert result.advice == []
    assert result.usage.input_tokens == server.requests[0].input_tokens


def test_the_request_carries_the_paper_the_outline_and_a_strict_schema(
    server: ScriptedLLMServer,
) -> None:
    server.push(Reply(json=good_reply()))
    draft(server)
    body = server.requests[0].body
    assert body["response_format"]["json_schema"]["schema"] == draft_schema().json_schema
    assert body["response_format"]["json_schema"]["strict"] is True
    prompt = server.requests[0].text
    assert "PaperBench" in prompt and "Result Analysis leaves say what the recorded" in prompt
    assert "Heavy-ball momentum" in prompt  # the paper
    assert "Contributions the paper states: (1) a fully specified" in prompt
    assert "Main sections: 2 Method; 3 Experimental setup; 4 Results" in prompt


def test_every_node_gets_a_fresh_uuid_and_inner_nodes_lose_their_categories(
    server: ScriptedLLMServer,
) -> None:
    reply = good_reply()
    reply["sub_tasks"][0]["task_category"] = "Code Development"
    server.push(Reply(json=reply))
    result = draft(server)
    assert result.tree.sub_tasks[0].task_category is None
    ids = [node.id for _, node in result.tree.walk()]
    assert len(set(ids)) == len(ids) == 5 and all(len(node_id) == 36 for node_id in ids)


def test_advice_on_the_draft_is_returned_with_it(server: ScriptedLLMServer) -> None:
    reply = good_reply()
    reply["sub_tasks"][1]["requirements"] = "The results look good."
    server.push(Reply(json=reply))
    assert [(item.rule, item.path) for item in draft(server).advice] == [
        ("vague", "1"),
        ("no-target", "1"),
    ]


def test_an_invalid_reply_is_sent_back_with_its_problems_once(server: ScriptedLLMServer) -> None:
    server.push(Reply(content="{not json"), Reply(json=good_reply()))
    result = draft(server)
    assert result.attempts == 2 and len(server.requests) == 2
    second = server.requests[1].text
    assert "That reply is not a valid rubric:\n- not JSON: Expecting property name" in second
    assert "{not json" in second


def test_a_reply_still_invalid_after_the_attempts_is_one_clear_error(
    server: ScriptedLLMServer,
) -> None:
    broken = good_reply()
    broken["sub_tasks"][1]["task_category"] = None
    server.push(Reply(json=broken), Reply(json=broken))
    with pytest.raises(DraftError) as caught:
        draft(server)
    message = str(caught.value)
    assert message == (
        f"openai-compatible/drafter@{server.openai_url}'s reply is not a valid rubric after 2 "
        "attempts: node 1: task_category: a leaf needs a task category; allowed: Code "
        "Development, Code Execution, Result Analysis"
    )
    assert json.loads(caught.value.reply) == broken


def test_a_paper_too_long_for_the_context_window_is_refused_before_any_call(
    server: ScriptedLLMServer,
) -> None:
    with pytest.raises(DraftError, match="use a model with a larger context window"):
        draft(server, provider=provider(server, window=4000))
    assert server.requests == []


def test_a_failing_provider_is_one_clear_error(server: ScriptedLLMServer) -> None:
    async def no_wait(seconds: float) -> None:
        return None

    server.push(*[Reply(status=500)] * 3)
    failing = provider(server, max_attempts=3, sleep=no_wait)
    with pytest.raises(DraftError, match=r"failed to draft the rubric: HTTP 500"):
        draft(server, provider=failing, settings=GenerateSettings(max_output_tokens=1000))


# --- the command -----------------------------------------------------------------------------


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERBENCH_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "paperbench", "rubric", "draft", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.fixture
def paper_dir(tmp_path: Path) -> Path:
    paper = tmp_path / "spiral"
    shutil.copytree(SPIRAL, paper)
    (paper / "rubric.json").unlink()
    return paper


def test_the_command_writes_the_validated_draft_and_prints_its_lint(
    server: ScriptedLLMServer, paper_dir: Path, tmp_path: Path
) -> None:
    reply = good_reply()
    reply["sub_tasks"][1]["requirements"] = "The results look good."
    server.push(Reply(json=reply))
    model = f"openai-compatible/drafter@{server.openai_url}"
    result = run_cli(str(paper_dir), "--model", model, "--context-window", "32000", home=tmp_path)
    assert result.returncode == 0, result.stderr
    tree, problems = validate_file(paper_dir / "rubric.json")
    assert tree is not None and problems == []
    assert f"wrote {paper_dir / 'rubric.json'}: 3 leaves in 2 subtrees (attempt 1;" in result.stdout
    assert "vague: node 1: 'good' with nothing concrete to check" in result.stdout
    assert "lint: vague 1, no-target 1; review it with: paperbench rubric edit" in result.stdout


def test_the_command_keeps_an_invalid_reply_and_writes_no_rubric(
    server: ScriptedLLMServer, paper_dir: Path, tmp_path: Path
) -> None:
    server.push(Reply(content="not a rubric"))
    model = f"openai-compatible/drafter@{server.openai_url}"
    result = run_cli(
        str(paper_dir),
        "--model",
        model,
        "--context-window",
        "32000",
        "--attempts",
        "1",
        home=tmp_path,
    )
    assert result.returncode == 2
    kept = paper_dir / "rubric.json.draft-reply.txt"
    assert result.stderr.strip().endswith(f"nothing written, the last reply is in {kept}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert kept.read_text() == "not a rubric"
    assert not (paper_dir / "rubric.json").exists()


def test_the_command_refuses_to_overwrite_a_rubric(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    model = f"openai-compatible/drafter@{server.openai_url}"
    result = run_cli(str(SPIRAL), "--model", model, "--context-window", "32000", home=tmp_path)
    assert result.returncode == 2
    assert "rubric.json: already exists; pass --force" in result.stderr
    assert server.requests == []
