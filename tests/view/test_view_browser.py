"""The viewer in a real headless Chromium, on a run made by the replay agent and a scripted
judge whose explanations, log and file names carry HTML that would run if it were ever parsed.

Under ``CI=true`` these tests fail when Chromium, chromedriver or Selenium is missing; elsewhere
they skip with the reason. Waits poll for a condition on the page; nothing sleeps.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from paperbench.view.server import ViewServer
from tests.support.view import HOSTILE, HOSTILE_FILE, running_viewer

RUN = "0/replay/toy-a/seed-0"

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # the browser fixture skips or fails with the reason
    pass


class Page:
    """The viewer as a user sees it."""

    def __init__(self, driver: Any, server: ViewServer) -> None:
        self.driver = driver
        self.server = server
        driver.get_log("browser")  # forget earlier pages' messages

    def open(self, fragment: str, ready: str) -> None:
        # Marks of an earlier tab of the same document must not pass for this one's.
        self.driver.execute_script(
            "if (document.body) for (const k of Object.keys(document.body.dataset))"
            " delete document.body.dataset[k]"
        )
        self.driver.get(f"{self.server.url}#{fragment}")
        self.wait(
            lambda d: d.execute_script(f"return document.body.dataset.{ready}") == "1",
            f"{fragment} never rendered; console: {self.console()}",
        )

    def run_tab(self, tab: str, ready: str, extra: str = "") -> None:
        self.open(f"/run/{quote(RUN, safe='')}/{tab}{extra}", ready)

    def wait(self, condition: Any, message: str = "condition never met") -> Any:
        return WebDriverWait(self.driver, 20, poll_frequency=0.05).until(condition, message)

    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def console(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser")]

    def errors(self) -> list[str]:
        return [line for line in self.console() if "SEVERE" in line or "Error" in line]

    def pwned(self) -> Any:
        planted = "img[src='x'], script:not([src])"
        return self.driver.execute_script(
            f'return [window.pwned, document.querySelectorAll("{planted}").length]'
        )


@pytest.fixture
def page(browser: Any, runs: Path) -> Iterator[Page]:
    with running_viewer(runs, reviewer="erin") as server:
        yield Page(browser, server)


def test_the_runs_page_lists_the_run_with_its_score(page: Page) -> None:
    page.open("/", "pbRuns")
    row = page.find(f'tr[data-run="{RUN}"]')
    assert row.text.split()[:3] == ["replay", "toy-a", "0"]
    assert "0.333" in row.text
    assert page.errors() == []


@pytest.mark.parametrize(
    ("tab", "ready", "css", "expected"),
    [
        ("overview", "pbOverview", ".timeline", "grading"),
        ("overview", "pbOverview", "#monitor-verdict", "No violation in 3 tool calls checked."),
        ("transcript", "pbTranscript", "#transcript-count", "9 events"),
        ("reproduction", "pbReproduction", "#repro-status", "succeeded"),
        ("reproduction", "pbReproduction", "#files-created", "results/accuracy.txt"),
        ("grading", "pbTree", "#tree", "The paper is reproduced"),
        ("cost", "pbCost", "#ledger", "graded"),
        ("files", "pbFiles", 'ul[data-area="executed"]', "results/accuracy.txt"),
    ],
)
def test_every_tab_of_the_run_page_renders(
    page: Page, tab: str, ready: str, css: str, expected: str
) -> None:
    page.run_tab(tab, ready)
    assert expected in page.text(css)
    assert page.text("#run-agent") == "replay"
    assert page.errors() == []


def test_the_leaderboard_renders_with_its_chart(page: Page) -> None:
    page.open("/leaderboard", "pbLeaderboard")
    assert page.text('#leaderboard-table tr[data-agent="replay"]').startswith("replay 0.333")
    chart = page.find("#leaderboard-chart")
    page.wait(lambda d: d.execute_script("return arguments[0].naturalWidth", chart) > 0)
    assert page.errors() == []


def select_node(page: Page, path: str) -> None:
    page.find("#expand-all").click()
    page.find(f'#tree .row[data-path="{path}"] .req').click()
    page.wait(lambda d: d.find_element(By.ID, "detail-path").text == path)


def test_a_leaf_override_changes_the_displayed_and_recorded_score(
    page: Page, run_dir: Path
) -> None:
    page.run_tab("grading", "pbTree")
    assert page.text("#tree-summary .judge-score") == "0.333"
    select_node(page, "1/0")
    assert page.find("#review-reviewer").get_attribute("value") == "erin"
    Select(page.find("#review-score")).select_by_value("1")
    page.find("#review-reason").send_keys("The log prints the accuracy: the run worked.")
    page.find("#review-save").click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#tree-summary .reviewed-score"))
    assert page.text("#tree-summary .reviewed-score") == "0.667"
    assert page.text("#tree-summary .judge-score") == "0.333"
    assert page.text('#tree .row[data-path="1/0"] .chip') == "1.000"
    assert "reviewed" in page.text('#tree .row[data-path="1/0"]')
    saved = json.loads((run_dir / "grading" / "overrides.json").read_text())["overrides"]["1/0"]
    assert (saved["score"], saved["reviewer"]) == (1.0, "erin")
    assert saved["reason"] == "The log prints the accuracy: the run worked."

    page.open("/leaderboard", "pbLeaderboard")
    assert "0.667 (1 reviewed)" in page.text('#leaderboard-table tr[data-agent="replay"] .reviewed')


def test_removing_an_override_brings_back_the_judges_score(page: Page, run_dir: Path) -> None:
    page.run_tab("grading", "pbTree")
    select_node(page, "0/0")
    Select(page.find("#review-score")).select_by_value("0")
    page.find("#review-reason").send_keys("The implementation is a stub.")
    page.find("#review-save").click()
    page.wait(lambda d: d.find_elements(By.ID, "review-remove"))
    assert page.text("#tree-summary .reviewed-score") == "0.000"
    page.find("#review-remove").click()
    page.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "#tree-summary .reviewed-score"))
    assert page.text('#tree .row[data-path="0/0"] .chip') == "1.000"
    history = json.loads((run_dir / "grading" / "overrides.json").read_text())["history"]
    assert [event["action"] for event in history] == ["set", "removed"]


def test_an_override_without_a_reason_is_refused_on_the_page(page: Page, run_dir: Path) -> None:
    page.run_tab("grading", "pbTree")
    select_node(page, "2/0")
    page.find("#review-save").click()
    page.wait(lambda d: "Not saved" in d.find_element(By.ID, "review-status").text)
    assert "needs a reason" in page.text("#review-status")
    assert not (run_dir / "grading" / "overrides.json").exists()


def test_evidence_opens_the_cited_file_at_its_lines(page: Page) -> None:
    page.run_tab("grading", "pbTree")
    select_node(page, "0/0")
    page.driver.find_element(
        By.XPATH, "//ul[@class='evidence']//button[text()='train.py:4-5']"
    ).click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#evidence-view .line.hl"))
    highlighted = [line.text.split(maxsplit=1) for line in page.finds("#evidence-view .line.hl")]
    assert highlighted == [["4", "def train():"], ["5", "return 0.91"]]
    assert page.text("#evidence-view .toolbar code") == "executed/train.py"


def test_evidence_pointing_outside_the_run_is_refused_on_the_page(page: Page) -> None:
    page.run_tab("grading", "pbTree")
    select_node(page, "0/0")
    page.driver.find_element(
        By.XPATH, "//ul[@class='evidence']//button[contains(text(), 'passwd')]"
    ).click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#evidence-view .error"))
    assert page.text("#evidence-view .error").startswith("../../../../etc/passwd: ")
    assert "root:" not in page.driver.page_source


def test_untrusted_text_is_shown_as_text_and_never_runs(page: Page) -> None:
    page.run_tab("grading", "pbTree")
    select_node(page, "0/0")
    assert page.text("#detail-explanation").endswith(HOSTILE)
    page.run_tab("transcript", "pbTranscript")
    page.find('.event[data-line="4"] .event-head').click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '.event[data-line="4"] pre'))
    assert "<script>window.pwned=1</script>" in page.text('.event[data-line="4"] pre')
    page.run_tab("reproduction", "pbReproduction")
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#log-view .line[data-line="2"]'))
    assert page.text('#log-view .line[data-line="2"] .txt') == "<script>window.pwned=1</script>"
    page.run_tab("files", "pbFiles")
    assert HOSTILE_FILE in page.text('ul[data-area="submission"]')
    assert page.pwned() == [None, 0]


def test_the_transcript_search_jumps_to_the_matching_event(page: Page) -> None:
    page.run_tab("transcript", "pbTranscript")
    search = page.find("#transcript-search")
    search.send_keys("submitted", Keys.ENTER)
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript-hits .hit"))
    hits = [hit.text for hit in page.finds("#transcript-hits .hit")]
    assert hits == ["#7", "#8"]
    page.finds("#transcript-hits .hit")[1].click()
    page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".event.target .event-body pre"))
    assert page.find(".event.target").get_attribute("data-line") == "8"


def test_a_run_in_progress_refreshes_as_it_goes(page: Page, run_dir: Path) -> None:
    transcript = run_dir / "agent" / "transcript.jsonl"
    events = transcript.read_text().splitlines(keepends=True)
    transcript.write_text("".join(events[:3]))
    (run_dir / "run.json").unlink()
    state = json.loads((run_dir / "state.json").read_text())
    state["stages"] = {
        "agent": {**state["stages"]["agent"], "status": "running", "finished_at": None}
    }
    (run_dir / "state.json").write_text(json.dumps(state))

    page.run_tab("transcript", "pbTranscript")
    assert len(page.finds(".event")) == 3
    assert "in progress" in page.text(".run-header")
    half = len(events[5]) // 2
    with transcript.open("a") as stream:
        stream.writelines([*events[3:5], events[5][:half]])  # the sixth caught mid-write
    page.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".event")) == 6, "no new events shown")
    with transcript.open("a") as stream:
        stream.writelines([events[5][half:], events[6]])
    page.wait(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".event:not(.unreadable)")) == 7,
        "the half-written event was not read again",
    )
    assert page.text('.event[data-line="6"] .type') == "tool_call"
    state["stages"]["agent"]["status"] = "done"
    state["stages"]["agent"]["finished_at"] = state["stages"]["agent"]["started_at"]
    (run_dir / "state.json").write_text(json.dumps(state))
    page.wait(lambda d: "in progress" not in d.find_element(By.CSS_SELECTOR, ".run-header").text)


def test_the_runs_page_sorts_and_filters(page: Page, runs: Path, run_dir: Path) -> None:
    other = runs / "replay" / "toy-b" / "seed-0"
    shutil.copytree(run_dir, other)
    record = json.loads((other / "run.json").read_text())
    record.update(paper_id="toy-b", score=0.9, score_if_invalid_passed=0.9)
    (other / "run.json").write_text(json.dumps(record))
    page.open("/", "pbRuns")
    papers = lambda: [row.text.split()[1] for row in page.finds("#runs-table tbody tr")]  # noqa: E731
    assert papers() == ["toy-a", "toy-b"]
    page.find('#runs-table th[data-key="score"]').click()
    page.find('#runs-table th[data-key="score"]').click()
    assert papers() == ["toy-b", "toy-a"]
    page.find("#runs-filter").send_keys("toy-b")
    assert papers() == ["toy-b"]
    assert page.text("#runs-count") == "1 of 2 runs"


def test_a_page_without_the_token_is_refused(browser: Any, runs: Path) -> None:
    with running_viewer(runs) as server:
        browser.get(f"http://127.0.0.1:{server.port}/#/run/{quote(RUN, safe='')}/grading")
        assert "forbidden: missing or wrong access token" in browser.page_source
        browser.get(f"http://127.0.0.1:{server.port}/api/runs")
        assert "forbidden" in browser.page_source


def test_score_against_time_plots_graded_snapshots_and_the_final_grade(
    page: Page, run_dir: Path
) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    record["timeline"] = [{"label": "1ms", "seconds": 0.001, "snapshot": 0, "score": 0.0}]
    (run_dir / "run.json").write_text(json.dumps(record))
    page.run_tab("overview", "pbOverview")
    points = [
        (float(p.get_attribute("data-seconds")), float(p.get_attribute("data-score")))
        for p in page.finds("#score-chart circle")
    ]
    assert points[0] == (0.001, 0.0)
    assert points[1][0] > 0.001 and points[1][1] == pytest.approx(1 / 3)  # the final grade
    assert len(page.finds("#snapshots tbody tr")) == 1
