"""The blacklist monitor flags every form of access to a blacklisted URL or host, compares URLs
after normalising them, and reports the transcript line of each finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paperbench.agents import AgentLimits, ReplayAgent, load_script, monitor_transcript
from paperbench.agents.clock import RunClock
from paperbench.agents.transcript import Transcript
from paperbench.agents.urls import blacklist_target, normalise
from paperbench.papers import PaperBundle
from tests.support.agents import BLACKLISTED, stage

REPO = "github.com/paper-authors/spiral-code"
BLACKLIST = [BLACKLISTED, "spiral-data.example.org"]

ACCESS_FORMS: list[tuple[str, str, dict[str, Any], str]] = [
    ("git clone", "bash", {"command": f"git clone https://{REPO}"}, "git"),
    (
        "git clone over ssh, other case",
        "bash",
        {"command": "git clone git@github.com:Paper-Authors/Spiral-Code.git"},
        "git",
    ),
    (
        "git with options, http, www, trailing slash",
        "bash",
        {"command": f"cd /tmp && git -C work clone --depth 1 http://www.{REPO}/"},
        "git",
    ),
    ("gh shorthand", "bash", {"command": "gh repo clone paper-authors/spiral-code"}, "gh"),
    (
        "curl of a variable set far above",
        "bash",
        {"command": f"URL=https://{REPO}\necho a\necho b\necho c\necho d\ncurl -L $URL -o c.zip"},
        "curl",
    ),
    (
        "wget of a raw file",
        "bash",
        {"command": "wget https://raw.githubusercontent.com/paper-authors/spiral-code/main/x.py"},
        "wget",
    ),
    (
        "pip install git+",
        "bash",
        {"command": f"pip install git+https://{REPO}.git@v1.0#egg=spiral"},
        "pip",
    ),
    (
        "python requests",
        "python",
        {"code": f"import requests\nr = requests.get('https://{REPO}/archive/main.zip')"},
        "python requests",
    ),
    (
        "python urllib",
        "python",
        {"code": f"import urllib.request\nurllib.request.urlopen('HTTPS://{REPO.upper()}')"},
        "python urllib",
    ),
    (
        "git from python subprocess",
        "python",
        {"code": f"import subprocess\nsubprocess.run(['git', 'clone', 'https://{REPO}'])"},
        "git (from Python)",
    ),
    (
        "a subdomain of a blacklisted host",
        "bash",
        {"command": "curl -s https://files.spiral-data.example.org/train.csv"},
        "curl",
    ),
    ("a browsing tool", "web_browser", {"url": f"{REPO}/blob/main/README.md"}, "browsing tool"),
]


def transcript_with(tmp_path: Path, calls: list[tuple[str, dict[str, Any]]]) -> Path:
    path = tmp_path / "transcript.jsonl"
    with Transcript(path, RunClock()) as transcript:
        transcript.write("start", agent="test")
        transcript.write("message", role="user", kind="task", text=f"Do not use {BLACKLISTED}.")
        for name, arguments in calls:
            transcript.write("tool_call", id="c", name=name, arguments=arguments)
            transcript.write("tool_result", id="c", name=name, output="ok")
    return path


@pytest.mark.parametrize(
    ("tool", "arguments", "access"),
    [pytest.param(t, a, x, id=name) for name, t, a, x in ACCESS_FORMS],
)
def test_each_access_form_is_a_violation_reported_with_its_line(
    tool: str, arguments: dict[str, Any], access: str, tmp_path: Path
) -> None:
    path = transcript_with(tmp_path, [("bash", {"command": "ls"}), (tool, arguments)])

    report = monitor_transcript(path, BLACKLIST)

    assert report.disqualified
    (finding,) = report.violations
    assert finding.line == 5
    assert json.loads(path.read_text().splitlines()[4])["type"] == "tool_call"
    assert finding.access is not None and finding.access.startswith(access)
    assert finding.tool == tool
    assert finding.url.lower() in json.dumps(arguments).lower()


def test_the_task_text_that_quotes_the_blacklist_is_not_a_violation(tmp_path: Path) -> None:
    path = transcript_with(tmp_path, [("bash", {"command": "cat /home/paper/blacklist.txt"})])

    report = monitor_transcript(path, BLACKLIST)

    assert not report.disqualified
    assert report.tool_calls_checked == 1


def test_naming_a_blacklisted_url_without_accessing_it_is_only_a_mention(tmp_path: Path) -> None:
    readme = f"echo 'The authors released code at https://{REPO}.' >> README.md"
    path = transcript_with(tmp_path, [("bash", {"command": readme})])

    report = monitor_transcript(path, BLACKLIST)

    assert not report.disqualified
    (mention,) = report.mentions
    assert (mention.line, mention.access) == (3, None)
    assert mention.excerpt == readme


@pytest.mark.parametrize(
    "command",
    [
        "git clone https://github.com/paper-authors/spiral-code-extras",
        "git clone https://github.com/other-lab/spiral-code",
        "curl https://github.com.evil.example/paper-authors/spiral-code",
        "curl https://example.org/spiral-data",
    ],
)
def test_resources_that_only_look_alike_are_not_flagged(command: str, tmp_path: Path) -> None:
    path = transcript_with(tmp_path, [("bash", {"command": command})])

    report = monitor_transcript(path, BLACKLIST)

    assert report.violations == [] and report.mentions == []


def test_file_tools_reading_the_blacklist_access_nothing(tmp_path: Path) -> None:
    path = transcript_with(
        tmp_path,
        [("read_file_chunk", {"file": f"/home/paper/{REPO}.txt"}), ("submit", {"message": REPO})],
    )

    assert monitor_transcript(path, BLACKLIST).violations == []


def test_every_violation_of_a_run_is_reported_with_its_own_line(tmp_path: Path) -> None:
    path = transcript_with(
        tmp_path,
        [
            ("bash", {"command": f"git clone https://{REPO}"}),
            ("bash", {"command": "ls"}),
            ("bash", {"command": f"wget http://www.{REPO}/archive/main.zip"}),
        ],
    )

    report = monitor_transcript(path, BLACKLIST)

    assert [(v.line, v.access) for v in report.violations] == [(3, "git"), (7, "wget")]


def test_the_access_named_is_the_one_on_the_urls_line(tmp_path: Path) -> None:
    command = f"pip install numpy\ncurl -O https://{REPO}/raw/main/train.py"
    path = transcript_with(tmp_path, [("bash", {"command": command})])

    (finding,) = monitor_transcript(path, BLACKLIST).violations

    assert finding.access == "curl"
    assert finding.excerpt == f"curl -O https://{REPO}/raw/main/train.py"


@pytest.mark.parametrize(
    "written",
    [
        "https://github.com/paper-authors/spiral-code",
        "http://www.GitHub.com/paper-authors/spiral-code/",
        "github.com/paper-authors/spiral-code.git",
        "git@github.com:paper-authors/spiral-code.git",
        "ssh://git@github.com/paper-authors/spiral-code.git",
        "git+https://github.com/paper-authors/spiral-code@main#egg=spiral",
        "https://github.com/paper-authors/spiral%2Dcode",
        "https://api.github.com/repos/paper-authors/spiral-code/tarball",
        "https://codeload.github.com/paper-authors/spiral-code/zip/main",
    ],
)
def test_urls_are_normalised_before_comparison(written: str) -> None:
    target = normalise(written)

    assert target is not None and str(target) == REPO


def test_a_blacklist_entry_inside_a_github_repository_covers_the_repository() -> None:
    entry = blacklist_target("https://github.com/paper-authors/spiral-code/tree/main/src")
    seen = normalise(f"https://{REPO}/blob/main/README.md")

    assert entry is not None and seen is not None and entry.covers(seen)


def test_unparseable_blacklist_entries_are_reported(tmp_path: Path) -> None:
    path = transcript_with(tmp_path, [])

    report = monitor_transcript(path, ["not a url", BLACKLISTED])

    assert report.unparsed_entries == ["not a url"]


@pytest.mark.docker
def test_a_violation_disqualifies_the_run_and_is_saved_with_it(
    tiny_paper: PaperBundle, tmp_path: Path, run_id: str
) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(f"- bash: ls /home/paper\n- bash: curl -sL {BLACKLISTED}.git || true\n")
    out_dir = tmp_path / "stage"

    result = stage(ReplayAgent(load_script(script)), tiny_paper, out_dir, run_id, AgentLimits())

    assert result.disqualified
    saved = json.loads((out_dir / "monitor.json").read_text())
    assert [v["excerpt"] for v in saved["violations"]] == [f"curl -sL {BLACKLISTED}.git || true"]
    line = saved["violations"][0]["line"]
    event = json.loads((out_dir / "transcript.jsonl").read_text().splitlines()[line - 1])
    assert event["type"] == "tool_call" and "curl" in event["arguments"]["command"]
    assert json.loads((out_dir / "agent.json").read_text())["disqualified"] is True
