"""A report of 270 heads (30 layers x 9, SmolLM2-135M's shape) reads: a summary that
summarizes, legible heatmaps, a filterable table, an explorer grouped by layer, and a page
of a few MB (plotly.js, 4.8 MB, is most of it). No model is run: the census is the
hand-made document of ``tests/large_report.py``."""

from __future__ import annotations

import re

import pytest
import torch
from large_report import INDUCTION, INDUCTION_GROUP, large_document

from interp.report.head_report import render_html, render_markdown
from interp.report.plots import distance_profiles, measure_profiles, scores_heatmaps
from interp.results.classification import Classification

torch.set_num_threads(1)

HEAD = re.compile(r"\b\d{1,2}\.\d\b")  # a head label of the 30 x 9 model


@pytest.fixture(scope="module")
def large() -> Classification:
    return Classification.from_dict(large_document())


@pytest.fixture(scope="module")
def page(large) -> str:
    return render_html(large)


def _section(page: str, anchor: str) -> str:
    return page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


def _folded_away(html: str) -> str:
    """``html`` without the content of its ``<details>`` (what one click opens)."""
    return re.sub(r"<details[^>]*>.*?</details>", "", html, flags=re.DOTALL)


def test_summary_says_160_sinks_in_one_line_not_160_labels(large):
    lines = large.summary().splitlines()
    (sinks,) = [line for line in lines if line.startswith("sink (measure):")]
    assert "160 of 270 heads" in sinks and "no-op sink: 140 confirmed, 20 refuted" in sinks
    assert all(len(line) < 400 for line in lines), max(lines, key=len)
    assert len(lines) <= 12


def test_summary_prints_a_group_of_14_as_a_count(large):
    text = large.summary()
    (line,) = [line for line in text.splitlines() if line.startswith("group ")]
    assert line.startswith("group of 14 heads (induction): ablated together")
    assert "+".join(INDUCTION_GROUP[:3]) not in text
    # the copy-suppression group (every member refuted, no redundancy) says nothing more
    assert "(copy_suppression): ablated together" not in text
    # a long list: its count and strongest heads (by lift), the rest in the report
    (suppression,) = [line for line in text.splitlines() if line.startswith("copy_suppression")]
    assert re.search(r"unconfirmed: 17 heads: (\d+\.\d, ){4}\d+\.\d and 12 more", suppression)


def test_page_summary_counts_classes_and_folds_the_rest_away(page, large):
    summary = _section(page, "summary")
    shown = _folded_away(summary)
    assert "160 of 270 heads" in shown
    assert "<pre>" not in shown  # the text summary is one click away, not the summary
    # one row per class with a confirmed head: its count and 5 strongest heads by lift
    rows = re.findall(r"<tr><th>(.*?)</th><td class=\"num\">(\d+)", shown)
    assert [(re.sub("<.*?>", "", name), int(n)) for name, n in rows] == [
        ("previous_token", 3), ("induction", 12), ("local_window", 4)]
    assert len(HEAD.findall(re.sub(r"<span class=\"hint\">.*?</span>", "", shown))) <= 40
    # every head is one click away: the more confirmed, the unconfirmed, all 160 sinks
    for label in INDUCTION:
        assert f'<a class="head" href="#explore">{label}</a>' in summary
    assert "155 more" in summary and "7 more confirmed" in summary
    assert "copy_suppression" in summary.split('<details class="rest">', 1)[1]


def test_page_is_a_few_mb_of_which_plotly_is_most(page):
    from plotly.offline import get_plotlyjs

    own = len(page.encode("utf-8")) - len(get_plotlyjs().encode("utf-8"))
    assert own < 1_250_000, f"{own} bytes besides plotly.js"  # 2.27 MB before


def test_heatmaps_of_30_by_9_heads_carry_marks_not_numbers(large):
    fig = scores_heatmaps(large)
    assert fig.layout.height <= 110 + 22 * 30
    cells = [cell for trace in fig.data for row in trace.text for cell in row if cell]
    assert cells and set("".join(cells)) == {"✓", "✗"}  # marks only; numbers on hover
    assert all(len(t.z) == 30 and len(t.z[0]) == 9 for t in fig.data)


def test_line_charts_draw_the_classified_heads_only(large):
    classified = {h.label for h in large.heads if h.classes}
    for fig in (distance_profiles(large), measure_profiles(large, "key_position")):
        assert {t.name for t in fig.data} == classified
        assert "report.json" in fig.layout.title.text


def test_head_table_is_filterable_and_opens_on_the_classified_heads(page, large):
    filters = page.split('id="interp-filters">', 1)[1].split("</div>", 1)[0]
    show = re.search(r'data-filter="show">(.*?)</select>', filters).group(1)
    assert re.findall(r'<option value="(\w+)"( selected)?', show) == [
        ("all", ""), ("classed", " selected"), ("confirmed", ""), ("marked", "")]
    classes = re.search(r'data-filter="behavior">(.*?)</select>', filters).group(1)
    assert re.findall(r'<option value="(\w*)"', classes) == [
        "", "previous_token", "duplicate_token", "induction", "copy_suppression",
        "local_window"]
    layers = re.search(r'data-filter="layer">(.*?)</select>', filters).group(1)
    assert re.findall(r'<option value="(\d*)"', layers) == [""] + [str(i) for i in range(30)]
    assert 'data-toggle="nl"' in filters  # null and lift columns on demand
    assert '<table class="heads compact">' in page
    # each class span names its behavior for the filter
    assert '<span class="ok" data-b="induction">' in page
    small = render_html(Classification.from_dict(large_document(2, 2)))
    assert '<option value="all" selected>' in small  # a small model shows every head


def test_explorer_groups_270_heads_by_layer(page):
    picker = page.split('id="interp-head-select">', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<optgroup label="layer (\d+)">', picker) == [str(i) for i in range(30)]
    assert picker.count("<option ") == 270
    assert 'id="interp-head-input"' in page  # or type a label


def test_markdown_of_270_heads_caps_its_lists(large):
    text = render_markdown(large)
    (sinks,) = [line for line in text.splitlines() if line.startswith("- sink (measure):")]
    assert "160 of 270 heads" in sinks
