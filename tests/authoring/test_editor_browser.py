"""The rubric editor in a real headless Chromium (Debian's ``chromium`` driven through
Selenium and Debian's ``chromedriver``; no browser is downloaded).

Under ``CI=true`` these tests fail when Chromium, chromedriver or Selenium is missing; elsewhere
they skip with the reason. Waits poll for a condition on the page (WebDriverWait); nothing
sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paperbench.rubric import dump_rubric, effective_shares, load_rubric
from paperbench.rubric.editor import EditorServer
from tests.support.editor import running_editor, sample_rubric

CHROMIUM = os.environ.get("PAPERBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PAPERBENCH_CHROMEDRIVER", "/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").lower() == "true"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # reported by the fixture below
    webdriver = None


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if webdriver is None:
        _unavailable("selenium is not installed (pip install selenium)")
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(binary).is_file() and os.access(binary, os.X_OK)):
            _unavailable(f"{binary} not found (apt-get install -y {package})")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download
    profile = tempfile.mkdtemp(prefix="paperbench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def rubric_file(tmp_path: Path) -> Path:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(sample_rubric(), indent=2))
    return path


class Page:
    """The editor page as a user sees it: rows of the tree, the node form, buttons."""

    def __init__(self, driver: WebDriver, server: EditorServer) -> None:
        self.driver = driver
        self.server = server
        driver.get(server.url)
        self.wait_until_checked()

    def wait(self, condition: Any, message: str) -> Any:
        return WebDriverWait(self.driver, 20, poll_frequency=0.05).until(condition, message)

    def wait_until_checked(self) -> None:
        self.wait(
            lambda d: d.find_element(By.ID, "checks").get_attribute("data-state") == "idle",
            f"the page never finished checking; console: {self.console()}",
        )

    def console(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser")]

    def row(self, path: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f'.row[data-path="{path}"]')

    def paths(self) -> list[str]:
        script = "return [...document.querySelectorAll('.row')].map((row) => row.dataset.path)"
        return list(self.driver.execute_script(script))

    def select(self, path: str) -> None:
        self.row(path).find_element(By.CLASS_NAME, "req").click()
        shown = "root" if path == "" else path
        self.wait(lambda d: d.find_element(By.ID, "node-path").text == shown, f"select {path}")

    def type_into(self, field: str, text: str) -> None:
        element = self.driver.find_element(By.ID, field)
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.DELETE)
        element.send_keys(text)
        self.wait_until_checked()

    def press(self, button: str) -> None:
        self.driver.find_element(By.ID, button).click()
        self.wait_until_checked()

    def save(self) -> str:
        self.driver.find_element(By.ID, "save").click()
        status = self.wait(
            lambda d: (
                (s := d.find_element(By.ID, "status")).text.startswith(("Saved", "Not saved")) and s
            ),
            "no answer to save",
        )
        return str(status.text)


@pytest.fixture
def page(browser: WebDriver, rubric_file: Path) -> Iterator[Page]:
    with running_editor(rubric_file) as server:
        yield Page(browser, server)


def test_edit_a_weight_and_a_requirement_add_and_move_a_node_and_save(
    page: Page, rubric_file: Path
) -> None:
    page.select("0/1")
    page.type_into("weight", "3")
    page.type_into("requirements", "The optimizer is Adam, as in Equation 3.")
    page.select("1")
    page.press("add-child")
    page.type_into("requirements", "Evaluation has run on the test set of 1000 points.")
    page.press("move-up")
    assert page.driver.find_element(By.ID, "node-path").text == "1/0"
    assert page.save() == f"Saved {rubric_file}"

    saved = json.loads(rubric_file.read_text())
    added = saved["sub_tasks"][1]["sub_tasks"][0]
    assert UUID.match(added["id"])
    expected = sample_rubric()
    expected["sub_tasks"][0]["sub_tasks"][1].update(
        weight=3, requirements="The optimizer is Adam, as in Equation 3."
    )
    expected["sub_tasks"][1]["sub_tasks"].insert(
        0,
        {
            "id": added["id"],
            "requirements": "Evaluation has run on the test set of 1000 points.",
            "weight": 1,
            "sub_tasks": [],
            "task_category": "Code Execution",
            "finegrained_task_category": None,
        },
    )
    assert saved == expected
    assert rubric_file.read_text() == dump_rubric(load_rubric(rubric_file))


def test_a_page_without_the_token_is_refused(browser: WebDriver, rubric_file: Path) -> None:
    with running_editor(rubric_file) as server:
        browser.get(f"http://127.0.0.1:{server.port}/")
        assert "forbidden: missing or wrong access token" in browser.page_source


def test_each_node_shows_its_effective_share_of_the_score(page: Page, rubric_file: Path) -> None:
    shares = effective_shares(load_rubric(rubric_file))
    for path in ("0", "0/0", "0/1", "1/0", "2"):
        shown = page.row(path).find_element(By.CLASS_NAME, "share").text
        assert shown == f"{shares[path] * 100:.2f}%"


def test_a_new_weight_moves_the_shares_shown(page: Page) -> None:
    page.select("2")
    page.type_into("weight", "2")
    assert page.row("2").find_element(By.CLASS_NAME, "share").text == "50.00%"
    assert page.row("0/0").find_element(By.CLASS_NAME, "share").text == "16.67%"


def test_collapse_hides_the_children_and_expand_shows_them(page: Page) -> None:
    assert {"0/0", "0/1"} <= set(page.paths())
    page.row("0").find_element(By.CLASS_NAME, "toggle").click()
    assert page.row("0").get_attribute("aria-expanded") == "false"
    assert not {"0/0", "0/1"} & set(page.paths())
    page.row("0").find_element(By.CLASS_NAME, "toggle").click()
    assert {"0/0", "0/1"} <= set(page.paths())


def test_undo_and_redo_an_edit(page: Page) -> None:
    page.select("0/0")
    page.type_into("weight", "7")
    page.press("undo")
    assert page.row("0/0").find_element(By.CLASS_NAME, "weight").text == "w 2"
    page.press("redo")
    assert page.row("0/0").find_element(By.CLASS_NAME, "weight").text == "w 7"


def test_undo_takes_back_a_structural_edit(page: Page) -> None:
    before = page.paths()
    page.select("0/0")
    page.press("delete")
    assert page.paths() != before
    page.press("undo")
    assert page.paths() == before


def test_validation_and_lint_are_shown_live(page: Page) -> None:
    page.select("0/0")
    page.type_into("requirements", "")
    problems = page.driver.find_element(By.ID, "problems").text
    assert "node 0/0 (id 'The data loader is i'): requirements: is empty" in problems
    assert "has-error" in str(page.row("0/0").get_attribute("class"))
    page.type_into("requirements", "TODO: the data loader")
    problems = page.driver.find_element(By.ID, "problems").text
    assert "placeholder: node 0/0: still a placeholder" in problems
    assert "is empty" not in problems


def test_category_and_finegrained_category_are_edited_on_leaves(
    page: Page, rubric_file: Path
) -> None:
    page.select("2")
    Select(page.driver.find_element(By.ID, "task_category")).select_by_visible_text(
        "Code Execution"
    )
    page.wait_until_checked()
    Select(page.driver.find_element(By.ID, "finegrained_task_category")).select_by_visible_text(
        "Experimental Setup"
    )
    page.wait_until_checked()
    assert page.save().startswith("Saved")
    leaf = json.loads(rubric_file.read_text())["sub_tasks"][2]
    assert (leaf["task_category"], leaf["finegrained_task_category"]) == (
        "Code Execution",
        "Experimental Setup",
    )


def test_duplicate_indent_and_outdent(page: Page, rubric_file: Path) -> None:
    page.select("0/1")
    page.press("duplicate")
    assert page.driver.find_element(By.ID, "node-path").text == "0/2"
    page.press("indent")  # into 0/1, which becomes an inner node
    assert page.driver.find_element(By.ID, "node-path").text == "0/1/0"
    page.press("outdent")
    page.press("outdent")
    assert page.driver.find_element(By.ID, "node-path").text == "1"
    page.press("delete")
    assert page.save().startswith("Saved")
    saved = json.loads(rubric_file.read_text())
    assert saved == sample_rubric()


def test_saving_over_a_file_changed_on_disk_is_refused(page: Page, rubric_file: Path) -> None:
    page.select("0/0")
    page.type_into("weight", "5")
    rubric_file.write_text(rubric_file.read_text().replace("4000", "5000"))
    changed = rubric_file.read_bytes()
    status = page.save()
    assert status.startswith("Not saved: ")
    assert "changed on disk since the editor opened it" in status
    assert rubric_file.read_bytes() == changed


def test_a_large_real_rubric_opens_folded_to_its_top_levels(
    browser: WebDriver, shared_data: Path, tmp_path: Path
) -> None:
    path = tmp_path / "rubric.json"
    shutil.copy(shared_data / "paperbench-rubrics/pinn/rubric.json", path)
    with running_editor(path) as server:
        page = Page(browser, server)
        top = {"", *(str(i) for i in range(len(load_rubric(path).sub_tasks)))}
        assert set(page.paths()) == top
        page.press("expand-all")
        assert len(page.paths()) == 2551


def test_the_page_logs_no_errors(page: Page) -> None:
    page.select("0/0")
    page.press("add-sibling")
    errors = [line for line in page.console() if "SEVERE" in line or "Error" in line]
    assert errors == []
