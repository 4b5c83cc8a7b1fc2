"""Provenance records what produced a result, and never a secret."""

from __future__ import annotations

from pathlib import Path

from paperbench import __version__
from paperbench.runs.provenance import REDACTED, collect, redact


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
