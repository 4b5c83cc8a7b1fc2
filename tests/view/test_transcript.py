"""The transcript as rows: one line per event, the whole event on demand, bounded."""

from __future__ import annotations

import json
from pathlib import Path

from paperbench.view import transcript as transcript_module
from paperbench.view.lines import Line, LineIndex
from paperbench.view.transcript import full_event, summaries, summarise_event


def row_of(event: dict[str, object], number: int = 1) -> dict[str, object]:
    return summarise_event(Line(number, json.dumps(event)))


def test_each_event_of_a_real_run_becomes_a_row(run_dir: Path) -> None:
    page = summaries(LineIndex(run_dir / "agent" / "transcript.jsonl"), 1, 100)
    kinds = [row["type"] for row in page["rows"]]
    assert kinds[:3] == ["start", "tool_call", "tool_result"]
    assert "end" in kinds and kinds[-1] == "snapshot"
    assert page["next"] is None
    calls = [row for row in page["rows"] if row["type"] == "tool_call"]
    assert calls[1]["title"] == "bash: echo '<script>window.pwned=1</script>'"


def test_a_model_reply_row_carries_model_tokens_and_cost() -> None:
    row = row_of(
        {
            "type": "model_reply",
            "step": 4,
            "text": "Let me run the tests.",
            "tool_calls": [{"name": "bash"}, {"name": "python"}],
            "usage": {"input_tokens": 1200, "output_tokens": 80, "cached_input_tokens": 1000},
            "cost_usd": 0.04,
            "model_version": "gpt-4o-2024-08-06",
        }
    )
    assert row["title"] == "reply: Let me run the tests. · 2 tool calls (bash, python)"
    assert (row["model"], row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (
        "gpt-4o-2024-08-06",
        1200,
        80,
        0.04,
    )


def test_a_failed_command_is_flagged() -> None:
    row = row_of({"type": "tool_result", "name": "bash", "output": "3 failed", "exit_code": 1})
    assert (row["title"], row["flag"]) == ("exit 1: 3 failed", "error")


def test_a_line_that_is_not_json_or_too_long_is_an_unreadable_row() -> None:
    broken = summarise_event(Line(7, '{"type": "tool_result", "output": "half'))
    assert (broken["line"], broken["type"], broken["flag"]) == (7, "tool_result", "unreadable")
    cut = summarise_event(Line(8, '{"type": "model_reply", "text": "aaaa', cut=5_000_000))
    assert cut["type"] == "model_reply" and "5000000 bytes past the row limit" in str(cut["title"])


def test_a_row_title_is_short_whatever_the_output(tmp_path: Path) -> None:
    row = row_of({"type": "tool_result", "name": "bash", "output": "z" * 1_000_000, "exit_code": 0})
    assert len(str(row["title"])) <= transcript_module.PREVIEW_CHARS + len("exit 0: ")


def test_the_whole_event_is_given_with_its_long_strings_cut(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    output = "o" * (transcript_module.MAX_STRING_CHARS + 10)
    path.write_text(
        json.dumps({"type": "start"})
        + "\n"
        + json.dumps({"type": "tool_result", "output": output})
        + "\nnot json\n"
    )
    index = LineIndex(path)
    event = full_event(index, 2)["event"]
    assert event["output"].endswith("[10 more characters not shown]")
    assert full_event(index, 3) == {"line": 3, "raw": "not json", "cut": 0}
