"""The HTML report in a real headless Chromium: every figure renders, the page logs no
console error, and clicking a head (in a heatmap, the dropdown or the table) draws its
attention pattern and evidence; the table sorts.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``, which
``scripts/setup.sh`` runs as root). Skipped, saying so, only when neither can be found; set
``INTERP_CHROMIUM`` / ``INTERP_CHROMEDRIVER`` to use other binaries.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import torch

from interp.report.plots import attention_pattern

torch.set_num_threads(1)

pytestmark = pytest.mark.slow

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVER_NAMES = ("chromedriver",)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1200",
)
WAIT_S = 60


def _find(env: str, names: tuple[str, ...]) -> str | None:
    chosen = os.environ.get(env)
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def driver():
    chromium = _find("INTERP_CHROMIUM", CHROMIUM_NAMES)
    chromedriver = _find("INTERP_CHROMEDRIVER", DRIVER_NAMES)
    if chromium is None or chromedriver is None:
        missing = " and ".join(
            name for name, path in (("Chromium", chromium), ("chromedriver", chromedriver))
            if path is None
        )
        pytest.skip(
            f"no {missing} found (install Debian's chromium and chromium-driver, as "
            "scripts/setup.sh does when run as root, or set INTERP_CHROMIUM / "
            "INTERP_CHROMEDRIVER)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="interp-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser = webdriver.Chrome(service=Service(chromedriver), options=options)
        try:
            yield browser
        finally:
            browser.quit()


@pytest.fixture(scope="module")
def census(planted):
    from interp.pipeline.classify import classify_heads

    return classify_heads(planted.model)


@pytest.fixture(scope="module")
def report(census, tmp_path_factory):
    from interp.report.head_report import write_report

    return write_report(census, tmp_path_factory.mktemp("report"))["html"]


@pytest.fixture
def page(driver, report):
    """The report freshly loaded, every figure drawn; console errors checked after."""
    driver.get_log("browser")  # drop what earlier tests left
    driver.get(report.resolve().as_uri())
    expected = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    _wait(driver, lambda d: _drawn_figures(d) == expected, "every figure drawn")
    yield driver
    _assert_no_console_errors(driver)


def _wait(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition, message=f"timed out: {what}")


def _drawn_figures(driver) -> int:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(function (d) { return d.querySelector('svg.main-svg'); }).length;"
    )


def _assert_no_console_errors(driver) -> None:
    severe = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
    assert not severe, f"console errors: {severe}"


def _pattern_head(driver) -> str | None:
    return driver.execute_script(
        "return document.getElementById('interp-pattern').getAttribute('data-head');"
    )


def _pattern_z(driver) -> list:
    return driver.execute_script("return document.getElementById('interp-pattern').data[0].z;")


def _assert_pattern_drawn(driver, census, label: str) -> None:
    """The explorer's figure, its drawn title and its panel show head ``label``."""
    _wait(driver, lambda d: _pattern_head(d) == label, f"pattern of head {label}")
    expected = [list(row) for row in attention_pattern(census, label).data[0].z]
    assert _pattern_z(driver) == expected
    title = driver.execute_script(
        "var t = document.querySelector('#interp-pattern .gtitle');"
        "return t ? t.textContent : null;"
    )
    assert title is not None and f"head {label} " in title
    cells = driver.execute_script(
        "return document.querySelectorAll('#interp-pattern .heatmaplayer image').length;"
    )
    assert cells >= 1  # the heatmap itself was painted, not only the axes
    detail = driver.find_element("id", "interp-head-detail").text
    assert detail.startswith(f"head {label}")
    assert driver.find_element("id", "interp-head-select").get_attribute("value") == label


def test_every_figure_renders_without_console_errors(page, report):
    page_text = report.read_text(encoding="utf-8")
    n_figures = page_text.count('class="plotly-graph-div"')
    # scores, ablations, loss effect, probes, distances, measures, key-position profile,
    # pattern
    assert n_figures == 8
    plots = page.find_elements("css selector", ".js-plotly-plot")
    assert len(plots) == n_figures
    assert all(p.find_elements("css selector", "svg.main-svg") for p in plots)
    assert page.title == "Attention-head census: planted"


def test_explorer_opens_on_the_induction_head(page, census):
    _assert_pattern_drawn(page, census, "1.0")
    detail = page.find_element("id", "interp-head-detail").text
    assert "OV copying 1.000" in detail
    assert "key feeders (K-composition above random): 0.0" in detail
    assert "second_copy_loss" in detail


def test_clicking_a_heatmap_cell_shows_that_head(page, census):
    from selenium.webdriver.common.action_chains import ActionChains

    page.execute_script("document.getElementById('interp-scores').scrollIntoView();")
    # centre of cell (layer 0, head 0) of the first subplot, previous_token
    x, y = page.execute_script(
        "var gd = document.getElementById('interp-scores');"
        "var trace = gd._fullData[0], layout = gd._fullLayout;"
        "var xa = layout[trace.xaxis.replace('x', 'xaxis')];"
        "var ya = layout[trace.yaxis.replace('y', 'yaxis')];"
        "var box = gd.getBoundingClientRect();"
        "return [box.left + xa._offset + xa.c2p(0), box.top + ya._offset + ya.c2p(0)];"
    )
    actions = ActionChains(page)
    actions.w3c_actions.pointer_action.move_to_location(int(x), int(y))
    actions.w3c_actions.pointer_action.click()
    actions.perform()
    _assert_pattern_drawn(page, census, "0.0")
    detail = page.find_element("id", "interp-head-detail").text
    assert "downstream_induction" in detail and "receivers (later induction heads): 1.0" in detail


def test_choosing_a_head_in_the_dropdown_draws_its_pattern(page, census):
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "interp-head-select")).select_by_value("0.1")
    _assert_pattern_drawn(page, census, "0.1")
    assert "probe chance accuracy" in page.find_element("id", "interp-head-detail").text


def test_table_rows_open_heads_and_headers_sort(page, census):
    def order():
        return page.execute_script(
            "return Array.from(document.querySelectorAll('table.heads tbody tr'))"
            ".map(function (r) { return r.getAttribute('data-head'); });"
        )

    assert order() == [h.label for h in census.heads]
    header = page.find_element("css selector", "table.heads th[title='sort by loss effect']")
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    by_loss = sorted(census.heads, key=lambda h: -(h.loss_effect or 0.0))
    assert order()[:2] == [h.label for h in by_loss[:2]] == ["0.0", "1.0"]
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert order()[-2:] == ["1.0", "0.0"]
    page.find_element("css selector", "table.heads th[data-type='head']").click()
    assert order() == [h.label for h in census.heads]

    page.find_element("css selector", "table.heads tr[data-head='0.1'] td").click()
    _assert_pattern_drawn(page, census, "0.1")
    selected = page.find_elements("css selector", "table.heads tr.selected")
    assert [r.get_attribute("data-head") for r in selected] == ["0.1"]
