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


# ------------------------------------------- pages that read at any size (issues 17 and 19)

#: Elements whose right edge lies past the viewport, outside any box that scrolls them.
TOO_WIDE_JS = """
var width = document.documentElement.clientWidth, out = [];
function scrolls(node) {
  for (var p = node.parentElement; p && p !== document.body; p = p.parentElement) {
    var style = getComputedStyle(p);
    if (['auto', 'scroll', 'hidden'].indexOf(style.overflowX) >= 0) {
      return p.getBoundingClientRect().right <= width + 1;
    }
  }
  return false;
}
document.querySelectorAll('body *').forEach(function (node) {
  var box = node.getBoundingClientRect();
  if (box.width > 0 && box.right > width + 1 && !scrolls(node)) {
    out.push(node.tagName + '.' + node.className + ' ' + Math.round(box.right));
  }
});
return [document.documentElement.scrollWidth, width, out.slice(0, 10)];
"""


#: Plot panels (subplots) with nothing drawn in them; a figure with no trace at all must
#: say why (an annotation) instead of showing axes.
EMPTY_PANELS_JS = """
var out = [];
document.querySelectorAll('.js-plotly-plot').forEach(function (gd) {
  var full = gd._fullData || [], layout = gd._fullLayout;
  if (!full.length) {
    if (!(layout.annotations || []).length) { out.push(gd.id + ': no trace, no message'); }
    return;
  }
  (layout._subplots.cartesian || []).forEach(function (id) {
    var has = full.some(function (t) {
      if (t.visible !== true || (t.xaxis || 'x') + (t.yaxis || 'y') !== id) { return false; }
      var values = t.type === 'heatmap' ? [].concat.apply([], t.z || []) : (t.y || []);
      return Array.prototype.some.call(values, function (v) {
        return v !== null && v !== undefined && isFinite(v);
      });
    });
    if (!has) { out.push(gd.id + ': panel ' + id + ' is empty'); }
  });
});
return out;
"""


#: Text shown on the page (HTML and the figures' SVG text) that prints NaN as a number.
NAN_JS = """
var texts = [document.body.innerText];
document.querySelectorAll('svg text').forEach(function (t) { texts.push(t.textContent); });
return texts.filter(function (t) { return /\\bnan\\b/i.test(t); })
  .map(function (t) { var i = t.search(/\\bnan\\b/i); return t.slice(Math.max(0, i - 40), i + 20); });
"""


#: Line breaks inside a word of the cells matched (a break must follow a space or one of
#: the places a name may break: ``@ : / + = .``, or fall before a space).
MID_WORD_JS = """
var out = [];
document.querySelectorAll(arguments[0]).forEach(function (cell) {
  var walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
  var node, chars = [];
  while ((node = walker.nextNode())) {
    if (node.nodeType === 1) {
      if (node.tagName === 'BR') { chars.push(['\\n', -1]); }  // a line the cell asked for
      continue;
    }
    for (var i = 0; i < node.length; i++) {
      var range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      var rects = range.getClientRects();
      if (rects.length) { chars.push([node.data[i], rects[0].top]); }
    }
  }
  for (var k = 1; k < chars.length; k++) {
    if (chars[k][1] > chars[k - 1][1] + 2 && chars[k - 1][1] >= 0) {
      var before = chars[k - 1][0], after = chars[k][0];
      if (!/[\\s@:\\/+=.,;(\\u2192]/.test(before) && !/\\s/.test(after)) {
        var text = chars.slice(Math.max(0, k - 12), k + 12).map(function (c) { return c[0]; });
        out.push(text.join('').replace(/\\n/g, ' '));
      }
    }
  }
});
return out;
"""


def _assert_page_reads(driver) -> None:
    """No element wider than the viewport outside a scroll box, no empty plot panel, no
    NaN shown as a number."""
    scroll_width, width, wide = driver.execute_script(TOO_WIDE_JS)
    assert scroll_width <= width and not wide, f"page {scroll_width} px in {width}: {wide}"
    assert driver.execute_script(EMPTY_PANELS_JS) == []
    assert driver.execute_script(NAN_JS) == []


def _show_every_head(driver) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("css selector", "select[data-filter='show']")).select_by_value(
        "all")


def test_report_reads_at_1400_px(page):
    _assert_page_reads(page)
    _show_every_head(page)
    assert page.execute_script(MID_WORD_JS, "table.heads td.ev") == []
    hook = page.execute_script(
        "return Array.from(document.querySelectorAll('table.heads td.ev'))"
        ".map(function (c) { return c.textContent; }).join(' ');")
    assert "hook_resid_post" in hook  # the check saw hook names


@pytest.fixture(scope="module")
def large_report(tmp_path_factory):
    from large_report import large_document

    from interp.report.head_report import write_report
    from interp.results.classification import Classification

    census = Classification.from_dict(large_document())
    return census, write_report(census, tmp_path_factory.mktemp("large"))["html"]


@pytest.fixture
def large_page(driver, large_report):
    _, path = large_report
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())
    expected = path.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    _wait(driver, lambda d: _drawn_figures(d) == expected, "every figure drawn")
    yield driver
    _assert_no_console_errors(driver)


def _visible_rows(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('table.heads tbody tr'))"
        ".filter(function (r) { return !r.hidden; })"
        ".map(function (r) { return r.getAttribute('data-head'); });"
    )


def test_270_heads_read_at_1400_px(large_page, large_report):
    _, path = large_report
    _assert_page_reads(large_page)
    assert large_page.execute_script(MID_WORD_JS, "table.heads td.ev") == []
    assert path.stat().st_size < 6_100_000  # 7.1 MB before; plotly.js alone is 4.8 MB


def test_270_heads_table_filters_by_class_behavior_and_layer(large_page, large_report):
    from selenium.webdriver.support.ui import Select

    census, _ = large_report
    classified = [h.label for h in census.heads if h.classes]
    assert _visible_rows(large_page) == classified  # opens on the classified heads
    count = large_page.find_element("id", "interp-heads-count")
    assert count.text == f"{len(classified)} of 270 heads shown"

    def choose(name, value):
        Select(large_page.find_element("css selector", f"select[data-filter='{name}']")
               ).select_by_value(value)

    choose("show", "all")
    choose("layer", "18")
    assert _visible_rows(large_page) == [f"18.{i}" for i in range(9)]
    choose("layer", "")
    choose("show", "confirmed")
    choose("behavior", "induction")
    assert _visible_rows(large_page) == census.heads_with("induction", confirmed=True)
    choose("show", "marked")
    choose("behavior", "")
    assert len(_visible_rows(large_page)) == len(
        {h for m in ("sink", "induction_long") for h in census.marked_by(m)})
    # null and lift columns on demand; the behavior headers widen to cover them
    toggle = large_page.find_element("css selector", "input[data-toggle='nl']")
    nl = "table.heads td.nl"
    assert not large_page.find_elements("css selector", nl)[0].is_displayed()
    toggle.click()
    assert large_page.find_elements("css selector", nl)[0].is_displayed()
    assert large_page.execute_script(
        "return document.querySelector('table.heads th[data-span]').colSpan;") == 3


def test_270_heads_summary_and_explorer_open_any_head(large_page, large_report):
    from selenium.webdriver.common.keys import Keys

    census, _ = large_report
    summary = large_page.find_element("id", "summary")
    assert "160 of 270 heads" in summary.text
    link = summary.find_element("css selector", "table.summary a.head")
    label = link.text
    link.click()
    _assert_pattern_drawn(large_page, census, label)
    box = large_page.find_element("id", "interp-head-input")
    box.send_keys("4.4", Keys.ENTER)
    _wait(large_page, lambda d: d.find_element("id", "interp-head-select")
          .get_attribute("value") == "4.4", "typed head selected")
    assert large_page.find_element("id", "interp-head-detail").text.startswith("head 4.4")
    detail = large_page.find_element("id", "interp-head-detail").text
    assert "local_window: score" in detail  # the scores, written from the page data
    # a score cell's hover text: its behavior's score, null, lift and stderr
    title = large_page.execute_script(
        "var c = document.querySelector('table.heads tr[data-head=\"4.4\"] td.num');"
        "c.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); return c.title;")
    assert title.startswith("previous_token score ") and "null" in title and "lift" in title


@pytest.fixture(scope="module")
def sweep_page_path(planted, tmp_path_factory):
    import interp
    from interp.report.sweep_page import write_sweep

    sweep = interp.score_checkpoints([planted.model, planted.model], labels=["s100", "s200"],
                                     n_seqs=4, seq_len=10)
    return write_sweep(sweep, tmp_path_factory.mktemp("sweep"))["html"]


def test_sweep_page_reads_at_1400_px(driver, sweep_page_path):
    driver.get_log("browser")
    driver.get(sweep_page_path.resolve().as_uri())
    expected = sweep_page_path.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    _wait(driver, lambda d: _drawn_figures(d) == expected, "every figure drawn")
    _assert_page_reads(driver)
    _assert_no_console_errors(driver)
