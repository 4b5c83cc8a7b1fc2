"""Secrets by value: what the registry learns, what redaction replaces, and what it leaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperbench import secrets
from paperbench.llm.catalog import parse_model_name
from paperbench.secrets import (
    REDACTED,
    SecretsFileError,
    load_secrets_file,
    redact_json,
    redact_text,
    register,
    register_named,
    strip_userinfo,
)


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    secrets.forget_all()
    yield
    secrets.forget_all()


def test_a_registered_value_is_replaced_wherever_it_appears() -> None:
    register("canary-value-7f3a9", "test")
    text = "key=canary-value-7f3a9; again canary-value-7f3a9!"
    assert redact_text(text) == f"key={REDACTED}; again {REDACTED}!"


def test_a_registered_value_is_found_percent_encoded_and_json_escaped() -> None:
    register('pa ss/wo"rd', "test")
    assert redact_text("http://x/?p=pa%20ss%2Fwo%22rd") == f"http://x/?p={REDACTED}"
    assert redact_text(json.dumps({"v": 'pa ss/wo"rd'})) == json.dumps({"v": REDACTED})


def test_values_shorter_than_eight_characters_are_never_registered() -> None:
    assert not register("hunter2", "test")
    assert redact_text("hunter2 is a password") == "hunter2 is a password"


@pytest.mark.parametrize(
    "shaped",
    [
        "sk-proj-abcdefghijklmnopqrstuv",
        "sk-ant-api03-abcdefghijklmnopqrstuv",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "gsk_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890-abcdefghij",
        "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_key_shaped_strings_are_redacted_without_being_registered(shaped: str) -> None:
    assert redact_text(f"token: {shaped}.") == f"token: {REDACTED}."
    assert redact_text(json.dumps({"a": f"line\n{shaped}"})) == json.dumps(
        {"a": f"line\n{REDACTED}"}
    )


def test_bearer_tokens_are_redacted_and_ordinary_words_are_not() -> None:
    assert redact_text("Authorization: Bearer abc123def456ghi789") == (
        f"Authorization: Bearer {REDACTED}"
    )
    plain = "sk-learn, a basic implementation, bearer authentication, task-specific-heads"
    assert redact_text(plain) == plain


def test_urls_lose_their_userinfo_and_the_password_is_registered() -> None:
    url = "https://alice:s3cr3t-pass-w0rd@llm.example.org:8443/v1?x=1"
    assert strip_userinfo(url) == "https://llm.example.org:8443/v1?x=1"
    assert redact_text("the password s3cr3t-pass-w0rd alone") == f"the password {REDACTED} alone"


def test_any_url_userinfo_is_dropped_from_text_even_unregistered() -> None:
    text = 'connect to "http://bob:another-secret@10.0.0.1/v1" failed'
    assert redact_text(text) == 'connect to "http://10.0.0.1/v1" failed'
    assert redact_text("mail bob@example.org or see http://x.org/@bob") == (
        "mail bob@example.org or see http://x.org/@bob"
    )


def test_text_being_redacted_never_teaches_the_registry() -> None:
    assert redact_text("agent wrote http://u:agent-chosen-word@h/") == "agent wrote http://h/"
    assert redact_text("agent-chosen-word stays") == "agent-chosen-word stays"


def test_a_model_name_with_userinfo_is_recorded_without_it() -> None:
    spec = parse_model_name(
        "openai-compatible/judge@http://user:url-canary-password@127.0.0.1:9/v1",
        context_window=1000,
    )
    assert spec.name == "openai-compatible/judge@http://127.0.0.1:9/v1"
    assert spec.base_url == "http://user:url-canary-password@127.0.0.1:9/v1"
    assert "url-canary-password" not in redact_text(f"judge failed at {spec.base_url}")


def test_secret_named_environment_variables_are_redacted_by_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_TOKEN", "environment-canary-9b2c")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/var/cache/tiktoken-files")
    text = "environment-canary-9b2c in /var/cache/tiktoken-files"
    assert redact_text(text) == f"{REDACTED} in /var/cache/tiktoken-files"


def test_secret_named_settings_are_registered() -> None:
    register_named({"judge": {"api-key": "config-canary-1d4e", "max_tokens": "12345678"}})
    assert redact_text("config-canary-1d4e 12345678") == f"{REDACTED} 12345678"


def test_redact_json_redacts_keys_and_values_and_keeps_the_shape() -> None:
    register("json-canary-55aa", "test")
    value = {"json-canary-55aa": ["x json-canary-55aa", 3, None, {"k": "json-canary-55aa"}]}
    assert redact_json(value) == {REDACTED: [f"x {REDACTED}", 3, None, {"k": REDACTED}]}


def test_a_secrets_file_registers_named_values_and_bare_lines(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(
        "# keys for the judge\n"
        "export OPENAI_API_KEY='file-canary-named-01'\n"
        "\n"
        "file-canary-bare-line-02\n"
        'PROXY_URL="https://u:file-canary-url-03@proxy/v1"\n'
    )
    named = load_secrets_file(path)
    assert named == {
        "OPENAI_API_KEY": "file-canary-named-01",
        "PROXY_URL": "https://u:file-canary-url-03@proxy/v1",
    }
    text = "file-canary-named-01 file-canary-bare-line-02 file-canary-url-03"
    assert redact_text(text) == " ".join([REDACTED] * 3)


def test_a_missing_secrets_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SecretsFileError, match="no such secrets file"):
        load_secrets_file(tmp_path / "absent.env")
