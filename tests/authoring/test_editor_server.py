"""The editor's server: loopback only, token required, atomic saves that never clobber."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from subprocess import Popen

import pytest

from paperbench.errors import RubricError
from paperbench.rubric import dump_rubric, load_rubric
from paperbench.rubric.editor import EditorServer
from tests.support.editor import request, running_editor, sample_rubric


@pytest.fixture
def rubric_file(tmp_path: Path) -> Path:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(sample_rubric(), indent=2))
    return path


def test_it_listens_on_the_loopback_address_only(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")


@pytest.mark.parametrize("route", ["/", "/api/rubric", "/static/editor.js", "/nowhere"])
def test_a_request_without_the_token_is_refused(rubric_file: Path, route: str) -> None:
    with running_editor(rubric_file) as server:
        assert request(server, route, token=None)[0] == 403


def test_a_request_with_a_wrong_token_is_refused(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        assert request(server, "/api/rubric", token=server.token[:-1] + "x")[0] == 403


def test_a_save_without_the_token_is_refused_and_writes_nothing(rubric_file: Path) -> None:
    before = rubric_file.read_bytes()
    with running_editor(rubric_file) as server:
        version = request(server, "/api/rubric")[1]["version"]
        status, _ = request(server, "/api/save", {"tree": {}, "version": version}, token=None)
    assert status == 403
    assert rubric_file.read_bytes() == before


def test_a_request_naming_another_host_is_refused(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        assert request(server, "/api/rubric", host=f"evil.example:{server.port}")[0] == 403


def test_the_token_may_come_in_the_url(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        with urllib.request.urlopen(server.url, timeout=30) as response:
            page = response.read().decode()
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert f'<meta name="pb-token" content="{server.token}">' in page
    assert f"/static/editor.js?token={server.token}" in page


def test_the_page_loads_the_file_as_written(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        status, data = request(server, "/api/rubric")
    assert status == 200
    assert data["tree"] == sample_rubric()
    assert "Result Analysis" in data["categories"]


def test_a_check_returns_problems_advice_and_shares(rubric_file: Path) -> None:
    tree = sample_rubric()
    tree["sub_tasks"][2]["requirements"] = ""
    tree["sub_tasks"][1]["sub_tasks"][0]["requirements"] = "TODO"
    with running_editor(rubric_file) as server:
        status, data = request(server, "/api/check", {"tree": tree})
    assert status == 200 and data["valid"] is False
    assert [(p["path"], p["field"]) for p in data["problems"]] == [("2", "requirements")]
    assert [(a["rule"], a["path"]) for a in data["advice"]] == [("placeholder", "1/0")]
    assert data["shares"]["0/0"] == pytest.approx(2 / 9)


def test_a_save_writes_paperbench_json_and_keeps_unknown_keys(rubric_file: Path) -> None:
    tree = sample_rubric()
    tree["sub_tasks"][0]["sub_tasks"][1]["weight"] = 4
    with running_editor(rubric_file) as server:
        version = request(server, "/api/rubric")[1]["version"]
        status, reply = request(server, "/api/save", {"tree": tree, "version": version})
    assert (status, reply["path"]) == (200, str(rubric_file))
    assert rubric_file.read_text() == dump_rubric(load_rubric(rubric_file))
    assert json.loads(rubric_file.read_text()) == tree
    assert sorted(os.listdir(rubric_file.parent)) == ["rubric.json"]


def test_saves_chain_from_the_version_each_save_returns(rubric_file: Path) -> None:
    tree = sample_rubric()
    with running_editor(rubric_file) as server:
        version = request(server, "/api/rubric")[1]["version"]
        first = request(server, "/api/save", {"tree": tree, "version": version})[1]["version"]
        tree["weight"] = 2
        assert request(server, "/api/save", {"tree": tree, "version": first})[0] == 200
    assert json.loads(rubric_file.read_text())["weight"] == 2


def test_a_file_changed_on_disk_since_it_was_opened_is_not_overwritten(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        version = request(server, "/api/rubric")[1]["version"]
        rubric_file.write_text(rubric_file.read_text().replace("4000", "5000"))
        changed = rubric_file.read_bytes()
        status, reply = request(server, "/api/save", {"tree": sample_rubric(), "version": version})
    assert status == 409
    assert "changed on disk since the editor opened it; nothing was written" in reply["error"]
    assert rubric_file.read_bytes() == changed


def test_a_deleted_file_counts_as_changed(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        version = request(server, "/api/rubric")[1]["version"]
        rubric_file.unlink()
        status, _ = request(server, "/api/save", {"tree": sample_rubric(), "version": version})
    assert status == 409 and not rubric_file.exists()


def test_a_rubric_with_errors_is_not_saved(rubric_file: Path) -> None:
    before = rubric_file.read_bytes()
    tree = sample_rubric()
    tree["sub_tasks"][2]["task_category"] = None
    with running_editor(rubric_file) as server:
        version = request(server, "/api/rubric")[1]["version"]
        status, reply = request(server, "/api/save", {"tree": tree, "version": version})
    assert status == 422
    assert reply["details"] == [
        "error: node 2 (id 'The final loss is be'): task_category: a leaf needs a task "
        "category; allowed: Code Development, Code Execution, Result Analysis"
    ]
    assert rubric_file.read_bytes() == before


def test_a_body_that_is_not_a_tree_is_a_clear_400(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        status, reply = request(server, "/api/check", {"nope": 1})
    assert (status, reply["error"]) == (400, 'request body must be {"tree": ...}')


def test_opening_a_file_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text("{oops")
    with pytest.raises(RubricError, match="not valid JSON at line 1, column 2"):
        EditorServer(path)


def test_a_taken_port_is_a_clear_error(rubric_file: Path) -> None:
    with running_editor(rubric_file) as server, pytest.raises(RubricError, match="choose another"):
        EditorServer(rubric_file, port=server.port)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_edit_command(*args: str, env: dict[str, str] | None = None) -> tuple[Popen, str]:
    """Run ``paperbench rubric edit ARGS`` and return the process and the URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "paperbench", "rubric", "edit", *args],
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
        raise AssertionError(f"the editor printed no URL: {process.communicate()}")
    line = process.stdout.readline()
    return process, line


def stop(process: Popen) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    return out


def test_the_edit_command_serves_on_the_given_port_and_stops_on_ctrl_c(rubric_file: Path) -> None:
    port = free_port()
    process, line = start_edit_command(str(rubric_file), "--port", str(port), "--no-browser")
    try:
        assert line.startswith(f"editing {rubric_file} at http://127.0.0.1:{port}/?token=")
        url = line.split(" at ", 1)[1].strip()
        with urllib.request.urlopen(url.replace("/?", "/api/rubric?"), timeout=30) as response:
            assert json.loads(response.read())["tree"] == sample_rubric()
        assert "stopped" in stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_without_no_browser_the_url_is_opened_in_the_users_browser(
    rubric_file: Path, tmp_path: Path
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser), "DISPLAY": ""}
    process, line = start_edit_command(str(rubric_file), env=env)
    try:
        url = line.split(" at ", 1)[1].strip()
        stop(process)
        assert opened.read_text().strip() == url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
