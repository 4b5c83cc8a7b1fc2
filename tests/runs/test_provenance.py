"""Provenance records what produced a result, and never a secret."""

from __future__ import annotations

from pathlib import Path

from paperbench import __version__, secrets
from paperbench.runs.provenance import REDACTED, collect, redact, redact_command_line


def test_secret_names_and_key_shaped_values_are_redacted() -> None:
    options = {
        "judge": "openai/o3-mini",
        "api_key": "anything",
        "extra": {"anthropic_token": "t", "note": "key sk-abcdefghijklmnop in text"},
        "seeds": 3,
    }
    assert redact(options) == {
        "judge": "openai/o3-mini",
        "api_key": REDACTED,
        "extra": {"anthropic_token": REDACTED, "note": f"key {REDACTED} in text"},
        "seeds": 3,
    }


def test_collect_records_versions_hashes_and_a_redacted_command_line(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.json"
    rubric.write_text("{}")
    record = collect(
        rubric=rubric,
        images={"paperbench/agent:bookworm": "sha256:abc"},
        options={"judge": "local/smollm2", "password": "hunter2"},
        option_sources={"judge": "environment"},
        command_line=["paperbench", "run", "--judge-key", "sk-ant-abcdefghijkl123"],
    )
    assert record.paperbench_version == __version__
    assert record.rubric_sha256 == (
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    assert record.prompt_templates_sha256 is not None
    assert record.options["password"] == REDACTED
    assert "sk-ant" not in " ".join(record.command_line)
    assert record.images == {"paperbench/agent:bookworm": "sha256:abc"}
    assert record.git_sha is None or len(record.git_sha) == 40


def test_a_secret_named_option_is_redacted_wherever_its_value_appears_later() -> None:
    secrets.forget_all()
    try:
        redact({"judge-api-key": "option-canary-0b9a"})
        assert redact({"note": "seen option-canary-0b9a"}) == {"note": f"seen {REDACTED}"}
    finally:
        secrets.forget_all()


def test_secret_options_on_the_command_line_are_redacted_in_both_spellings() -> None:
    secrets.forget_all()
    try:
        line = redact_command_line(
            [
                "paperbench",
                "--api-key",
                "cmd-canary-1",
                "--judge-token=cmd-canary-2",
                "--seeds",
                "3",
            ]
        )
        assert line == [
            "paperbench",
            "--api-key",
            REDACTED,
            f"--judge-token={REDACTED}",
            "--seeds",
            "3",
        ]
    finally:
        secrets.forget_all()


def test_urls_in_options_are_recorded_without_userinfo() -> None:
    secrets.forget_all()
    try:
        judge = "openai-compatible/m@https://me:url-canary-77@llm.example.org/v1"
        assert redact({"judge": judge}) == {
            "judge": "openai-compatible/m@https://llm.example.org/v1"
        }
        assert redact({"max_tokens": 8192, "tokenizer": "cl100k_base"}) == {
            "max_tokens": 8192,
            "tokenizer": "cl100k_base",
        }
    finally:
        secrets.forget_all()
