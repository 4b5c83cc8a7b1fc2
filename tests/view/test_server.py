"""The viewer's server: loopback, a token on every route, strict headers, files only inside the
run, overrides recorded where they belong; and the `paperbench view` command."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from paperbench.errors import PaperbenchError
from paperbench.view.server import STATIC_FILES, ViewServer
from tests.support.view import HOSTILE, request, running_viewer

RUN = "0/replay/toy-a/seed-0"
Q = f"run={quote(RUN, safe='')}"
READS = [
    "/",
    *(f"/static/{name}" for name in STATIC_FILES),
    "/api/runs",
    f"/api/run?{Q}",
    f"/api/run/tree?{Q}",
    f"/api/run/transcript?{Q}",
    f"/api/run/event?{Q}&line=1",
    f"/api/run/transcript/search?{Q}&q=bash",
    f"/api/run/text?{Q}&area=reproduction&path=reproduce.log",
    f"/api/run/text/search?{Q}&area=reproduction&path=reproduce.log&q=accuracy",
    f"/api/run/files?{Q}&area=submission",
    f"/api/run/evidence?{Q}&ref=train.py",
    f"/api/run/ledger?{Q}",
    "/api/leaderboard",
    "/api/leaderboard.svg",
]
WRITES = ["/api/run/override", "/api/run/override/remove"]


@pytest.mark.parametrize("route", READS)
def test_every_read_route_answers_with_the_token_and_refuses_without(
    runs: Path, route: str
) -> None:
    with running_viewer(runs) as server:
        assert request(server, route)[0] == 200
        assert request(server, route, token=None)[0] == 403
        assert request(server, route, token=server.token[:-2] + "xx")[0] == 403


@pytest.mark.parametrize("route", WRITES)
def test_a_write_without_the_token_is_refused_and_writes_nothing(runs: Path, route: str) -> None:
    body = {"run": RUN, "path": "1/0", "score": 1, "reason": "x", "reviewer": "mallory"}
    with running_viewer(runs) as server:
        assert request(server, route, body, token=None)[0] == 403
    assert not list(runs.rglob("overrides.json"))


def test_a_request_naming_another_host_is_refused(runs: Path) -> None:
    with running_viewer(runs) as server:
        assert request(server, "/api/runs", host=f"evil.example:{server.port}")[0] == 403
        assert server.httpd.server_address[0] == "127.0.0.1"


def test_pages_carry_a_strict_policy_and_no_referrer(runs: Path) -> None:
    with running_viewer(runs) as server, urllib.request.urlopen(server.url, timeout=30) as reply:
        page = reply.read().decode()
        headers = reply.headers
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self';")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere


def test_the_static_files_fetch_nothing_from_elsewhere() -> None:
    from importlib import resources

    folder = resources.files("paperbench.view").joinpath("static")
    for name in [*STATIC_FILES, "index.html"]:
        text = folder.joinpath(name).read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, name
        assert "https://" not in text and "//cdn" not in text, name


def test_the_runs_list_holds_the_run(runs: Path) -> None:
    with running_viewer(runs, reviewer="carol") as server:
        status, data = request(server, "/api/runs")
    assert status == 200 and data["reviewer"] == "carol"
    [row] = data["runs"]
    assert (row["id"], row["agent"], row["score"]) == (RUN, "replay", pytest.approx(1 / 3))


def test_untrusted_text_is_served_as_data(runs: Path) -> None:
    with running_viewer(runs) as server:
        tree = request(server, f"/api/run/tree?{Q}")[1]["tree"]
        raw = request(server, f"/api/run/text?{Q}&area=reproduction&path=reproduce.log")[1]
    leaf = tree["sub_tasks"][0]["sub_tasks"][0]
    assert leaf["explanation"].endswith(HOSTILE)
    assert [line[1] for line in raw["lines"]][1] == "<script>window.pwned=1</script>"


@pytest.mark.parametrize(
    ("route", "status"),
    [
        (f"/api/run/text?{Q}&area=executed&path=../../run.json", 403),
        (f"/api/run/text?{Q}&area=executed&path=/etc/passwd", 403),
        (f"/api/run/text?{Q}&area=nowhere&path=x", 403),
        (f"/api/run/text?{Q}&area=executed&path=missing.txt", 404),
        ("/api/run?run=..%2F..%2Fetc", 404),
        (f"/api/run/event?{Q}&line=999", 404),
        (f"/api/run/transcript?{Q}&start=abc", 400),
        ("/api/run/tree", 400),
    ],
)
def test_bad_requests_get_a_clear_status(runs: Path, route: str, status: int) -> None:
    with running_viewer(runs) as server:
        got, data = request(server, route)
    assert got == status and data["error"]


def test_a_linked_file_is_refused_over_http(runs: Path, run_dir: Path) -> None:
    os.symlink("/etc/hostname", run_dir / "reproduction" / "submission" / "host.txt")
    with running_viewer(runs) as server:
        status, data = request(server, f"/api/run/text?{Q}&area=executed&path=host.txt")
        _, evidence = request(server, f"/api/run/evidence?{Q}&ref=host.txt")
    assert (status, data["error"]) == (403, "host.txt is a link; links are not followed")
    assert evidence["area"] is None and "link" in evidence["problem"]


def test_an_override_is_recorded_and_changes_the_tree_and_the_leaderboard(
    runs: Path, run_dir: Path
) -> None:
    body = {
        "run": RUN,
        "path": "1/0",
        "score": 1,
        "reason": "The log says it ran.",
        "reviewer": "dana",
    }
    with running_viewer(runs) as server:
        status, reply = request(server, "/api/run/override", body)
        board = request(server, "/api/leaderboard")[1]
        rows = request(server, "/api/runs")[1]["runs"]
    assert status == 200
    assert (reply["judge"]["score"], reply["reviewed"]["score"]) == (
        pytest.approx(1 / 3),
        pytest.approx(2 / 3),
    )
    saved = json.loads((run_dir / "grading" / "overrides.json").read_text())
    assert saved["overrides"]["1/0"]["reviewer"] == "dana"
    [entry] = board["entries"]
    assert entry["score"]["mean"] == pytest.approx(1 / 3)
    assert entry["reviewed"]["mean"] == pytest.approx(2 / 3)
    assert rows[0]["reviewed"]["score"] == pytest.approx(2 / 3)


def test_a_refused_override_says_why(runs: Path) -> None:
    body = {"run": RUN, "path": "1/0", "score": 0.5, "reason": "half", "reviewer": "dana"}
    with running_viewer(runs) as server:
        status, reply = request(server, "/api/run/override", body)
    assert (status, reply["error"]) == (422, "node 1/0: a leaf scores 0 or 1, not 0.5")


def test_a_missing_runs_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PaperbenchError, match="no such runs folder"):
        ViewServer([tmp_path / "nowhere"])


def start_view_command(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "paperbench", "view", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=60):
        process.kill()
        raise AssertionError(f"the viewer printed no URL: {process.communicate()}")
    return process, process.stdout.readline()


def test_the_view_command_serves_the_runs_and_stops_on_ctrl_c(runs: Path) -> None:
    process, line = start_view_command(str(runs), "--no-browser")
    try:
        assert line.startswith(f"viewing {runs} at http://127.0.0.1:")
        url = line.split(" at ", 1)[1].strip()
        with urllib.request.urlopen(url.replace("/?", "/api/runs?"), timeout=30) as reply:
            assert [row["id"] for row in json.loads(reply.read())["runs"]] == [RUN]
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
        assert process.returncode == 0 and "stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_view_command_on_a_missing_folder_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paperbench", "view", str(tmp_path / "nowhere"), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'}: no such runs folder; give a folder of runs"
    ]
