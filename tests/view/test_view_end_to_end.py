"""The viewer on a run made end to end by `paperbench run` on Docker (replay agent, real
reproduction in a fresh container, scripted judge): every tab renders, nothing planted runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.view import generate_run_in_docker, running_viewer

pytestmark = pytest.mark.docker

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the browser fixture skips or fails with the reason
    pass

TABS = {
    "overview": ("pbOverview", "#monitor-verdict", "No violation"),
    "transcript": ("pbTranscript", "#events", "submit: done"),
    "reproduction": ("pbReproduction", "#repro-status", "succeeded"),
    "grading": ("pbTree", "#tree", "The paper is reproduced"),
    "cost": ("pbCost", "#ledger", "graded"),
    "files": ("pbFiles", 'ul[data-area="executed"]', "results/accuracy.txt"),
}


def test_every_page_renders_for_a_run_made_by_paperbench_run_on_docker(
    tmp_path: Path, browser: Any, reproducer_image: str, agent_image: str
) -> None:
    run_dir = generate_run_in_docker(tmp_path)
    run_id = quote(f"0/{run_dir.relative_to(tmp_path / 'runs').as_posix()}", safe="")
    browser.get_log("browser")
    with running_viewer(tmp_path / "runs") as server:
        pages = {
            "": ("pbRuns", "#runs-table", "view-toy"),
            "/leaderboard": ("pbLeaderboard", "#leaderboard-table", "replay"),
        }
        pages |= {f"/run/{run_id}/{tab}": shown for tab, shown in TABS.items()}
        for fragment, (ready, css, expected) in pages.items():
            browser.get("about:blank")
            browser.get(f"{server.url}#{fragment}")
            WebDriverWait(browser, 30, poll_frequency=0.05).until(
                lambda d, ready=ready: d.execute_script(f"return document.body.dataset.{ready}"),
                f"{fragment} never rendered",
            )
            assert expected in browser.find_element(By.CSS_SELECTOR, css).text, fragment
        planted = "img[src='x'], script:not([src])"
        found = browser.execute_script(
            f'return [window.pwned, document.querySelectorAll("{planted}").length]'
        )
    assert found == [None, 0]
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
