"""Write a head census to disk: an offline HTML page, the JSON document and Markdown.

:func:`write_report` renders a :class:`~interp.classify.Classification` three ways and
writes them into one directory:

- ``report.html``: one self-contained page that works offline (plotly.js is inlined once;
  no script, style or font is fetched): the summary, the score heatmaps, a head explorer,
  the classification table, the ablation effects, the loss effect of each head, the group
  ablations, model, settings and baseline losses, and a short guide to reading it all.
  It is interactive: hovering a heatmap cell, bar or table number shows exact values;
  clicking a head (a heatmap cell, a bar, a table row) or picking it from the explorer's
  list draws its attention pattern on the census' example sequence and lists its scores,
  ablation and weight evidence; clicking a table header sorts the table. The page script
  is inline and reads the example patterns and per-head details from a
  ``<script type="application/json" id="interp-data">`` block;
- ``report.json``: ``Classification.to_dict()`` as strict JSON (NaN and infinities become
  ``null``), which ``Classification.from_dict`` reads back;
- ``report.md``: the summary and the same tables as GitHub Markdown.

Every piece of text taken from the result (model name, labels, metric names) is escaped.
Output is deterministic: the same result gives byte-identical files (no timestamps; plot
ids are fixed). Files are rendered first and then written under temporary names and
renamed, so a failure leaves no half-written report behind.

This module reads results only; it never imports or runs a model.

Example:
    >>> paths = write_report(result, "report")  # doctest: +SKIP
    >>> sorted(paths)
    ['html', 'json', 'markdown']
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .heads import BEHAVIORS, CONTROLS
from .output_files import write_output_set
from .plots import (
    CONFIRMED_MARK,
    UNCONFIRMED_MARK,
    _behaviors,
    _relative_stderr,
    ablation_effects,
    attention_pattern,
    distance_profiles,
    loss_effect_heatmap,
    pattern_title,
    probe_accuracy,
    scores_heatmaps,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .classify import Classification, HeadClass

__all__ = ["render_html", "render_json", "render_markdown", "write_report"]

#: File name of each rendering in the report directory.
REPORT_FILES: dict[str, str] = {
    "html": "report.html",
    "json": "report.json",
    "markdown": "report.md",
}

_NA = "n/a"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
#: Id of the explorer's attention-pattern figure (redrawn by the page script).
PATTERN_DIV = "interp-pattern"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       max-width: 1360px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.lead { color: #555; margin-top: 0; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.cls { background: #eef5ff; font-weight: 600; }
.ok { color: #1e7a3a; font-weight: 600; }
.no { color: #8a8a8a; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.kv th { width: 12em; }
footer { margin-top: 3em; color: #777; font-size: 0.85em; }
table.heads { font-size: 0.86em; }
table.heads th, table.heads td { padding: 0.25em 0.45em; }
table.heads th[data-col] { cursor: pointer; user-select: none; }
table.heads th[data-col]:hover, table.heads th[data-col]:focus { background: #e8eef7; }
table.heads th[data-col]::after { content: "\\00a0\\2195"; color: #aaa; font-size: 0.85em; }
table.heads th[aria-sort="ascending"]::after { content: "\\00a0\\25B2"; color: #333; }
table.heads th[aria-sort="descending"]::after { content: "\\00a0\\25BC"; color: #333; }
table.heads tbody tr { cursor: pointer; }
table.heads tbody tr:hover { background: #f4f8fd; }
table.heads tbody tr.selected, table.heads tbody tr.selected th { background: #fff4cc; }
td.ev { min-width: 15em; max-width: 22em; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
.setup { display: flex; flex-wrap: wrap; gap: 0 3em; }
.setup > section { flex: 1 1 24em; min-width: 0; }
.explorer { display: grid; grid-template-columns: minmax(0, 3fr) minmax(18em, 2fr);
            gap: 1.5em; align-items: start; }
@media (max-width: 900px) { .explorer { grid-template-columns: minmax(0, 1fr); } }
.picker { margin: 0.5em 0; }
.picker select { font: inherit; padding: 0.15em 0.3em; }
.detail { border: 1px solid #ddd; border-radius: 4px; padding: 0.6em 1em; background: #fcfcfc;
          font-size: 0.92em; }
.detail h3 { margin: 0.2em 0 0.4em; font-size: 1.15em; }
.detail h4 { margin: 0.9em 0 0.2em; font-size: 0.95em; color: #444; }
.detail ul { margin: 0; padding-left: 1.2em; }
.detail li { margin: 0.1em 0; }
.hint { color: #666; font-size: 0.9em; }
"""


#: The page script: sortable classification table and the head explorer. It reads
#: ``#interp-data`` and draws with the inlined plotly.js; it fetches nothing.
_JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("interp-data").textContent);
  var picker = document.getElementById("interp-head-select");
  var detail = document.getElementById("interp-head-detail");
  var explorer = document.getElementById("explore");
  var table = document.querySelector("table.heads");

  function grid(rows) {
    var n = Math.max(rows.length, data.tokens.length), z = [], q, row;
    for (q = 0; q < n; q++) {
      row = (rows[q] || []).slice(0, n);
      while (row.length < n) { row.push(null); }
      z.push(row);
    }
    return z;
  }

  function drawPattern(label) {
    var gd = document.getElementById(data.figure);
    if (!gd || !window.Plotly || !gd.data || !gd.data.length) { return; }
    var rows = data.patterns[label];
    var z = rows ? grid(rows) : gd.data[0].z.map(function (row) {
      return row.map(function () { return null; });
    });
    var title = rows ? data.heads[label].title
      : "head " + label + ": no example pattern recorded";
    var trace = Object.assign({}, gd.data[0], {z: z});
    var layout = Object.assign({}, gd.layout, {
      title: Object.assign({}, gd.layout.title, {text: title})
    });
    Plotly.react(gd, [trace], layout, data.config);
    gd.setAttribute("data-head", label);
  }

  function element(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function showDetail(label) {
    var info = data.heads[label];
    if (!detail || !info) { return; }
    detail.textContent = "";
    detail.appendChild(element("h3", "head " + label + " \\u2014 " + info.classes));
    info.sections.forEach(function (section) {
      detail.appendChild(element("h4", section[0]));
      var list = element("ul");
      section[1].forEach(function (line) { list.appendChild(element("li", line)); });
      detail.appendChild(list);
    });
  }

  function select(label, reveal, redraw) {
    if (!data.heads[label]) { return; }
    if (picker) { picker.value = label; }
    if (table) {
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.classList.toggle("selected", row.getAttribute("data-head") === label);
      });
    }
    showDetail(label);
    if (redraw) { drawPattern(label); }
    if (reveal && explorer) {
      var box = explorer.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight * 0.5) { explorer.scrollIntoView(); }
    }
  }

  if (picker) {
    picker.addEventListener("change", function () { select(picker.value, false, true); });
  }
  ["interp-scores", "interp-ablation-effects", "interp-loss-effect"].forEach(function (id) {
    var gd = document.getElementById(id);
    if (!gd || typeof gd.on !== "function") { return; }
    gd.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      var custom = point && point.customdata;
      if (Array.isArray(custom) && typeof custom[0] === "string") {
        select(custom[0], true, true);
      }
    });
  });

  if (table) {
    var body = table.tBodies[0];
    body.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-head]");
      if (row) { select(row.getAttribute("data-head"), true, true); }
    });
    var headers = table.querySelectorAll("th[data-col]");
    var sortBy = function (th) {
      var col = Number(th.getAttribute("data-col")), type = th.getAttribute("data-type");
      var first = type === "num" ? "descending" : "ascending";
      var dir = th.getAttribute("aria-sort") === first
        ? (first === "ascending" ? "descending" : "ascending") : first;
      Array.prototype.forEach.call(headers, function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", dir);
      var sign = dir === "ascending" ? 1 : -1;
      var keyed = Array.prototype.map.call(body.rows, function (row, i) {
        var key;
        if (type === "head") {
          var parts = row.getAttribute("data-head").split(".");
          key = Number(parts[0]) * 1e6 + Number(parts[1]);
        } else {
          var cell = row.cells[col], raw = cell ? cell.getAttribute("data-sort") : null;
          if (raw === null || raw === "") { key = null; }
          else { key = type === "num" ? Number(raw) : raw.toLowerCase(); }
        }
        return {key: key, index: i, row: row};
      });
      keyed.sort(function (a, b) {
        if (a.key === null || b.key === null) {
          if (a.key === b.key) { return a.index - b.index; }
          return a.key === null ? 1 : -1;  // missing values last, either way
        }
        if (a.key < b.key) { return -sign; }
        if (a.key > b.key) { return sign; }
        return a.index - b.index;
      });
      keyed.forEach(function (item) { body.appendChild(item.row); });
    };
    Array.prototype.forEach.call(headers, function (th) {
      th.addEventListener("click", function () { sortBy(th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(th); }
      });
    });
  }

  if (data.first !== null) {  // the pattern figure was drawn for it already
    select(data.first, false, false);
    var figure = document.getElementById(data.figure);
    if (figure) { figure.setAttribute("data-head", data.first); }
  }
}());
"""

def render_json(classification: Classification) -> str:
    """The ``report.json`` document: ``to_dict()`` as strict JSON, ending in a newline.

    Args:
        classification: the census result.

    Returns:
        ``json.dumps(classification.to_dict(), indent=2)`` with every NaN or infinite
        float replaced by ``null`` (so any JSON parser reads it).

    Example:
        >>> document = json.loads(render_json(result))  # doctest: +SKIP
    """
    return json.dumps(_strict(classification.to_dict()), indent=2, allow_nan=False) + "\n"


def render_markdown(classification: Classification) -> str:
    """The report as GitHub Markdown: settings, baseline, summary and the tables.

    Args:
        classification: the census result.

    Returns:
        Markdown text with pipe tables (one row per head, one per group ablation).

    Example:
        >>> text = render_markdown(result)  # doctest: +SKIP
    """
    c = classification
    behaviors = _behaviors(c)
    lines = [f"# Attention-head census: {_md(_model_name(c))}", "", _md(_lead(c)), ""]

    lines += ["## Model and settings", "", "| | |", "|---|---|"]
    lines += [f"| model.{_md(k)} | {_md(_value_text(v))} |" for k, v in c.model.items()]
    lines += [f"| settings.{_md(k)} | {_md(_value_text(v))} |" for k, v in c.settings.items()]
    lines.append("")

    lines += ["## Baseline", ""]
    baseline = _baseline_rows(c)
    if baseline:
        lines += ["| | loss (nats) |", "|---|---|"]
        lines += [f"| {_md(name)} | {_md(value)} |" for name, value in baseline]
    else:
        lines.append("Not recorded.")
    lines.append("")

    summary = _summary(c)
    fence = "```"
    while fence in summary:
        fence += "`"
    lines += ["## Summary", "", fence + "text", summary, fence, ""]

    lines += ["## Heads", "", _md(_legend()), ""]
    header = ["head", "classes"]
    header += [f"{b} (score / null / lift)" for b in behaviors]
    header += ["ablation evidence", "loss effect"]
    lines.append("| " + " | ".join(_md(h) for h in header) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["--:"] * len(behaviors) + ["---", "--:"]) + "|")
    for h in c.heads:
        cells = [_md(h.head), _md(_classes_plain(h))]
        for b in behaviors:
            cell = _md(_score_triple(h, b))
            cells.append(f"**{cell}**" if b in h.classes else cell)
        cells.append("<br>".join(_md(line) for line in _evidence_lines(h)) or "")
        cells.append(_md(_fmt(h.loss_effect, ".4f")))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")

    lines += ["## Group ablations", ""]
    if c.groups:
        lines += [
            "| behavior | heads | metric | clean → ablated | effect ± stderr | relative "
            "| confirmed |",
            "|---|---|---|--:|--:|--:|---|",
        ]
        for g in c.groups:
            lines.append("| " + " | ".join(_md(x) for x in _group_cells(g)) + " |")
    else:
        lines.append("No behavior had two or more heads, so no group was ablated.")
    lines.append("")

    lines += ["## How to read this", ""]
    for title, text in _guide(c):
        lines += [f"**{_md(title)}** {_md(text)}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_html(classification: Classification) -> str:
    """The report as one self-contained, offline, interactive HTML page.

    plotly.js is inlined once (with the first figure); every other figure reuses it. The
    page's own script (sorting the table, the head explorer) is inlined too, and reads the
    example patterns and per-head details from a ``<script type="application/json"
    id="interp-data">`` block. Plot ``div`` ids are fixed, so the page is byte-identical for
    the same result.

    Args:
        classification: the census result.

    Returns:
        The whole HTML document.

    Example:
        >>> page = render_html(result)  # doctest: +SKIP
    """
    c = classification
    e = _esc
    behaviors = _behaviors(c)
    first = _first_head(c)
    has_pattern = first is not None and first in _patterns(c)
    specs = [
        ("interp-scores", scores_heatmaps(c)),
        ("interp-ablation-effects", ablation_effects(c)),
        ("interp-loss-effect", loss_effect_heatmap(c)),
        ("interp-probes", probe_accuracy(c)),
        ("interp-distance", distance_profiles(c)),
    ]
    if has_pattern:
        specs.append((PATTERN_DIV, attention_pattern(c, first)))
    figures = _figure_divs(specs)
    setup = [
        '<div class="setup"><section id="setup"><h2>Model and settings</h2>',
        _kv_table("model", c.model),
        _kv_table("settings", c.settings),
        "</section>",
        '<section id="baseline"><h2>Baseline</h2>',
    ]
    baseline = _baseline_rows(c)
    if baseline:
        setup.append(
            '<table class="kv"><tr><th></th><th>loss (nats)</th></tr>'
            + "".join(f'<tr><th>{e(k)}</th><td class="num">{e(v)}</td></tr>'
                      for k, v in baseline)
            + "</table>"
        )
    else:
        setup.append("<p>Not recorded.</p>")
    setup.append("</section></div>")
    name = _model_name(c)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Attention-head census: {e(name)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>Attention-head census: {e(name)}</h1>",
        f'<p class="lead">{e(_lead(c))}</p>',
        "<nav>" + "".join(
            f'<a href="#{anchor}">{e(text)}</a>'
            for anchor, text in (
                ("summary", "summary"), ("scores", "scores"), ("explore", "head explorer"),
                ("heads", "heads"), ("ablations", "ablations"), ("loss", "loss effects"),
                ("groups", "groups"), ("probes", "probes"), ("distance", "distances"),
                ("text", "text"), ("setup", "settings"), ("guide", "how to read this"),
            )
        ) + "</nav>",
        f'<section id="summary"><h2>Summary</h2><pre>{e(_summary(c))}</pre></section>',
        '<section id="scores"><h2>Scores</h2>',
        "<p>Score of every head for each behavior (layer down, head across). "
        f"{e(CONFIRMED_MARK)}: classed and confirmed by ablation; {e(UNCONFIRMED_MARK)}: "
        "classed but not confirmed. Hover a cell for the exact score, null, lift and "
        "standard error; click it to open the head in the explorer below.</p>",
        figures["interp-scores"],
        "</section>",
        '<section id="explore"><h2>Head explorer</h2>',
        _explorer(c, first, figures.get(PATTERN_DIV)),
        "</section>",
        '<section id="heads"><h2>Classification</h2>',
        f"<p>{e(_legend())}</p>",
        '<p class="hint">Click a column header to sort by it (again to reverse); click a row '
        "to open the head in the explorer. Hover a number for its full precision.</p>",
        f'<div class="table-wrap">{_heads_table(c, behaviors)}</div>',
        "</section>",
        '<section id="ablations"><h2>Ablation effects</h2>',
        "<p>Relative effect of ablating each classified head alone on the metric that "
        "tests its class, with one standard error. Hover a bar for the values; click it to "
        "open the head in the explorer.</p>",
        figures["interp-ablation-effects"],
        "</section>",
        '<section id="loss"><h2>Loss effect of each head</h2>',
        "<p>Change of the second-copy loss when the head alone is ablated (positive: the "
        "head helped copy). Click a cell to open the head in the explorer.</p>",
        figures["interp-loss-effect"],
        "</section>",
        '<section id="groups"><h2>Group ablations</h2>',
        _groups_table(c),
        "</section>",
        '<section id="probes"><h2>Probes</h2>',
        "<p>Held-out accuracy of linear probes on the residual stream at the embedding and "
        "after each layer: the previous token's identity (written by previous-token heads) "
        "and whether the current token occurred before (written by duplicate-token heads, "
        "probed on sequences where that does not depend on the position). Dashed: chance "
        "(the most common label).</p>",
        figures["interp-probes"],
        "</section>",
        '<section id="distance"><h2>Attention by distance</h2>',
        "<p>Mean attention on the key d positions back (BOS excluded). Classified heads are "
        "shown; click a legend entry to show another head.</p>",
        figures["interp-distance"],
        "</section>",
        '<section id="text"><h2>Scores on natural text</h2>',
        _text_scores_table(c),
        "</section>",
        *setup,
        '<section id="guide"><h2>How to read this</h2>',
    ]
    parts += [f"<p><b>{e(title)}</b> {e(text)}</p>" for title, text in _guide(c)]
    parts += [
        "</section>",
        "<footer>Written by interp.report. The same data, with full precision, is in "
        "report.json.</footer>",
        f'<script type="application/json" id="interp-data">{_page_data(c, first)}</script>',
        f"<script>{_JS}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _text_scores_table(c: Classification) -> str:
    """Each head's lift on the user's text next to its lift on [BOS] r r."""
    text = getattr(c, "text_scores", None) or {}
    if not text.get("heads"):
        return ("<p>No text was scored (pass texts to <code>classify_heads</code> or "
                "<code>--text FILE</code>; the model needs a tokenizer).</p>")
    stimuli = text.get("stimuli", {})
    behaviors = list(BEHAVIORS)
    head_rows = []
    for h in c.heads:
        entry = text["heads"].get(h.head, {})
        cells = "".join(
            f'<td class="num">{_esc(_fmt(entry.get(b, {}).get("lift"), ".2f"))}</td>'
            f'<td class="num">{_esc(_fmt(h.lifts.get(b), ".2f"))}</td>'
            for b in behaviors
        )
        head_rows.append(f"<tr><th>{_esc(h.head)}</th>{cells}</tr>")
    header = "".join(f'<th colspan="2">{_esc(b)}</th>' for b in behaviors)
    sub = "".join("<th>text</th><th>r r</th>" for _ in behaviors)
    return (
        f"<p>Lift of every head on {_esc(stimuli.get('n_seqs', '?'))} texts "
        f"({_esc(stimuli.get('n_pos', '?'))} positions at most), next to its lift on the "
        "[BOS] r r stimuli that the classes come from.</p>"
        f'<div class="table-wrap"><table><tr><th>head</th>{header}</tr>'
        f"<tr><th></th>{sub}</tr>{''.join(head_rows)}</table></div>"
    )


def write_report(classification: Classification, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``report.html``, ``report.json`` and ``report.md`` into ``out_dir``.

    Everything is rendered before anything is written; the files are then written as one
    set by :func:`interp.output_files.write_output_set`: safe temporaries (never following a
    planted link), each renamed into place, ``report.json`` last with the run id and the
    sha256 of the other two (``interp check DIR`` detects a set mixed by a crash). On
    failure the temporary files (and a directory this call created) are removed, and a
    failure before the renames leaves any earlier report in ``out_dir`` as it was.

    Args:
        classification: the census result.
        out_dir: the directory to write into; created (with parents) if missing. Existing
            report files in it are replaced.

    Returns:
        ``{"html": path, "json": path, "markdown": path}``.

    Raises:
        NotADirectoryError: ``out_dir`` (or one of its parents) is an existing file.

    Example:
        >>> paths = write_report(result, "report")  # doctest: +SKIP
        >>> paths["html"]
        PosixPath('report/report.html')
    """
    out = Path(out_dir)
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(
                f"cannot write a report into {str(out)!r}: {str(path)!r} is an existing "
                "file, not a directory"
            )
    documents = {
        "html": render_html(classification),
        "json": render_json(classification),
        "markdown": render_markdown(classification),
    }
    return write_output_set(
        out_dir, {key: (REPORT_FILES[key], text) for key, text in documents.items()},
        manifest="json",
    )


# ----------------------------------------------------------------------------- pieces


def _figure_divs(figures: list[tuple[str, go.Figure]]) -> dict[str, str]:
    """HTML ``div`` per figure id; plotly.js is inlined in the first one only."""
    return {
        div_id: fig.to_html(
            full_html=False, include_plotlyjs=(i == 0), div_id=div_id, config=_PLOT_CONFIG,
        )
        for i, (div_id, fig) in enumerate(figures)
    }


def _heads_table(c: Classification, behaviors: list[str]) -> str:
    """The classification table: one row per head; sortable headers carry ``data-col``
    (the cell index in a row) and ``data-type``; numeric cells carry ``data-sort`` (the raw
    value) and a ``title`` with more digits. Control behaviors (never classes) get a score
    column only; their null and lift are in the score's hover text."""
    e = _esc
    columns = {b: ("score",) if b in CONTROLS else ("score", "null", "lift") for b in behaviors}
    n_scores = sum(len(words) for words in columns.values())
    col_loss, col_ov, col_feed = 3 + n_scores, 4 + n_scores, 5 + n_scores  # evidence: 2 + n

    def sortable(col: int, kind: str, text: str, extra: str = "") -> str:
        return (f'<th{extra} data-col="{col}" data-type="{kind}" tabindex="0" '
                f'title="sort by {e(text)}">{e(text)}</th>')

    head = ['<table class="heads">', "<thead><tr>",
            sortable(0, "head", "head", ' rowspan="2"'),
            sortable(1, "text", "classes", ' rowspan="2"')]
    control = ' title="control: scored, never a class"'
    head += [f'<th colspan="{len(columns[b])}"{control if b in CONTROLS else ""}>'
             + _breakable(b) + "</th>" for b in behaviors]
    head += ['<th rowspan="2">ablation evidence<br>(metric: clean → ablated, relative '
             'effect)</th>',
             sortable(col_loss, "num", "loss effect", ' rowspan="2"'),
             sortable(col_ov, "num", "OV copying", ' rowspan="2"'),
             sortable(col_feed, "num", "key feeders", ' rowspan="2"'),
             "</tr><tr>"]
    col = 2
    for b in behaviors:
        for word in columns[b]:
            head.append(sortable(col, "num", word))
            col += 1
    head += ["</tr></thead>", "<tbody>"]
    rows = []
    for h in c.heads:
        classes = _classes_plain(h) if h.classes else ""
        cells = [f"<th>{e(h.head)}</th>",
                 f'<td data-sort="{e(classes)}">{_classes_html(h)}</td>']
        for b in behaviors:
            score, null, lift = h.scores.get(b), h.nulls.get(b), h.lifts.get(b)
            cls = "num cls" if b in h.classes else "num"
            title = f"{b} score {_fmt(score, '.8g')} ± {_fmt(h.stderr.get(b), '.3g')} (stderr)"
            if b in CONTROLS:
                title += f", null {_fmt(null, '.4g')}, lift {_fmt(lift, '.3g')}"
                cells.append(_num_cell(score, ".3f", cls, title))
                continue
            cells += [
                _num_cell(score, ".3f", cls, title),
                _num_cell(null, ".3f", "num", f"{b} null {_fmt(null, '.8g')}"),
                _num_cell(lift, ".3f", "num", f"{b} lift {_fmt(lift, '.8g')}"),
            ]
        cells.append('<td class="ev">' + "<br>".join(e(line) for line in _evidence_lines(h))
                     + "</td>")
        cells.append(_num_cell(h.loss_effect, ".4f", "num",
                               f"second-copy loss change {_fmt(h.loss_effect, '.8g')} nats"))
        ov = h.weights.get("ov_copying")
        cells.append(_num_cell(ov, ".3f", "num", f"OV copying {_fmt(ov, '.8g')} (-1..1)"))
        feeders = h.weights.get("key_feeders")
        if feeders is None:
            cells.append("<td></td>")
        elif not feeders:
            cells.append('<td title="no previous-token head K-composes above random">none</td>')
        else:
            top = _finite(feeders[0].get("k_composition_excess"))
            sort = "" if top is None else f' data-sort="{top!r}"'
            cells.append(
                f'<td class="num"{sort} title="K-composition above its random baseline">'
                + "<br>".join(e(_feeder_text(f)) for f in feeders) + "</td>"
            )
        rows.append(f'<tr data-head="{e(h.head)}">' + "".join(cells) + "</tr>")
    return "".join(head) + "\n" + "\n".join(rows) + "\n</tbody></table>"


def _num_cell(value: Any, spec: str, cls: str, title: str) -> str:
    number = _finite(value)
    sort = "" if number is None else f' data-sort="{number!r}"'
    return (f'<td class="{cls}"{sort} title="{_esc(title)}">{_esc(_fmt(value, spec))}</td>')


def _feeder_text(feeder: dict) -> str:
    return f"{feeder.get('head', '?')} ({_fmt(feeder.get('k_composition_excess'), '+.3f')})"


def _patterns(c: Classification) -> dict:
    patterns = c.example.get("patterns") if isinstance(c.example, dict) else None
    return patterns if isinstance(patterns, dict) else {}


def _first_head(c: Classification) -> str | None:
    """The head the explorer opens on: the first confirmed induction head with an example
    pattern, else the first classified head with one, else the first head with one, else
    the first head."""
    patterns = _patterns(c)
    for keep in (
        lambda h: "induction" in h.confirmed_classes,
        lambda h: bool(h.classes),
        lambda h: True,
    ):
        for h in c.heads:
            if h.head in patterns and keep(h):
                return h.head
    return c.heads[0].head if c.heads else None


def _explorer(c: Classification, first: str | None, pattern_div: str | None) -> str:
    e = _esc
    patterns = _patterns(c)
    options = "".join(
        f'<option value="{e(h.head)}"{" selected" if h.head == first else ""}>'
        f"{e(h.head)} — {e(_classes_plain(h))}"
        f"{'' if h.head in patterns else ' (no pattern)'}</option>"
        for h in c.heads
    )
    if pattern_div is None:
        figure = ("<p>No example attention pattern was recorded in this result (it predates "
                  "them, or was made by hand).</p>")
    else:
        figure = pattern_div
    return (
        "<p>The attention pattern of one head on the census' first stimulus sequence "
        "(query down, key across; dashed lines: where the second copy starts), and all its "
        "evidence. Pick a head here, or click a head in any figure or table row.</p>"
        '<div class="explorer"><div>'
        '<div class="picker"><label for="interp-head-select">head </label>'
        f'<select id="interp-head-select">{options}</select></div>'
        f"{figure}</div>"
        '<div id="interp-head-detail" class="detail" aria-live="polite">'
        "<p>Select a head to see its evidence.</p></div></div>"
    )


def _page_data(c: Classification, first: str | None) -> str:
    """The JSON the page script reads, safe inside ``<script>``: every ``<``, ``>`` and
    ``&`` is written as a ``\\u`` escape, so no ``</script>`` or ``<!--`` can occur."""
    example = c.example if isinstance(c.example, dict) else {}
    data = {
        "first": first,
        "figure": PATTERN_DIV,
        "config": _PLOT_CONFIG,
        "tokens": list(example.get("tokens") or []),
        "patterns": _patterns(c),
        "heads": {
            h.head: {
                "title": pattern_title(c, h.head),
                "classes": _classes_plain(h),
                "sections": _head_sections(c, h),
            }
            for h in c.heads
        },
    }
    text = json.dumps(_strict(data), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _head_sections(c: Classification, h: HeadClass) -> list[list]:
    """The explorer's text panel for one head: ``[[title, [line, ...]], ...]``."""
    sections: list[list] = []
    scores = []
    for b in _behaviors(c):
        if b not in h.scores:
            continue
        mark = " (classed)" if b in h.classes else ""
        no_repeat = (getattr(h, "no_repeat", None) or {}).get(b)
        shortcut = (
            f", same positions without repeats {_fmt(no_repeat, '.4f')}"
            if no_repeat is not None else ""
        )
        scores.append(
            f"{b}: score {_fmt(h.scores.get(b), '.4f')}, null {_fmt(h.nulls.get(b), '.4f')}, "
            f"lift {_fmt(h.lifts.get(b), '.3f')}, stderr {_fmt(h.stderr.get(b), '.2g')}"
            f"{shortcut}{mark}"
        )
    sections.append(["Scores", scores or ["none recorded"]])
    for behavior in h.classes:
        ev = h.ablation.get(behavior)
        if ev is None:
            sections.append([f"Ablation: {behavior}", ["not tested"]])
            continue
        ok = bool(ev.get("confirmed"))
        mark = CONFIRMED_MARK if ok else UNCONFIRMED_MARK
        lines = [
            f"{'confirmed' if ok else 'not confirmed'} by {ev.get('method', '?')} ablation",
            f"metric {ev.get('metric', '?')}: clean {_fmt(ev.get('clean'), '.4g')} → "
            f"ablated {_fmt(ev.get('ablated'), '.4g')}",
            f"effect {_fmt(ev.get('effect'), '.4g')} ± {_fmt(ev.get('stderr'), '.2g')} "
            f"(stderr)",
            f"relative {_fmt(ev.get('relative'), '.3f')} ± "
            f"{_fmt(_relative_stderr(ev), '.2g')} (effect / scale, scale "
            f"{_fmt(ev.get('scale'), '.4g')})",
        ]
        if "chance" in ev:
            lines.append(f"probe chance accuracy {_fmt(ev.get('chance'), '.3f')}")
        probe = ev.get("probe")
        if isinstance(probe, dict):
            probe_mark = CONFIRMED_MARK if probe.get("confirmed") else UNCONFIRMED_MARK
            lines.append(
                f"also a probe, {probe.get('metric', '?')}: clean "
                f"{_fmt(probe.get('clean'), '.4g')} → ablated {_fmt(probe.get('ablated'), '.4g')}"
                f", relative {_fmt(probe.get('relative'), '.3f')} {probe_mark}"
            )
        receivers = ev.get("receivers")
        if receivers:
            lines.append("receivers (later induction heads): "
                         + ", ".join(str(r) for r in receivers))
        group = ev.get("group")
        if isinstance(group, dict) and group.get("heads"):
            group_mark = CONFIRMED_MARK if group.get("confirmed") else UNCONFIRMED_MARK
            lines.append(
                f"ablated with {'+'.join(str(g) for g in group['heads'])} together: relative "
                f"{_fmt(group.get('relative'), '.3f')} {group_mark}"
            )
        sections.append([f"Ablation: {behavior} {mark}", lines])
    sections.append(["Weights", _weight_lines(h)])
    loss = ("not measured" if h.loss_effect is None
            else f"second-copy loss change when ablated alone: {_fmt(h.loss_effect, '+.4f')} "
                 "nats")
    sections.append(["Loss effect", [loss]])
    if h.head not in _patterns(c):
        sections.append(["Example pattern", ["not recorded for this head"]])
    return sections


def _weight_lines(h: HeadClass) -> list[str]:
    w = h.weights
    if not w:
        return ["not recorded"]
    lines = []
    if "error" in w:
        lines.append(str(w["error"]))
    if "ov_copying" in w:
        lines.append(f"OV copying {_fmt(w['ov_copying'], '.3f')} (-1..1; near 1: attending to "
                     "a token raises its logit)")
    if "key_feeders" in w:
        feeders = w["key_feeders"]
        lines.append(
            "key feeders (K-composition above random): "
            + (", ".join(_feeder_text(f) for f in feeders) if feeders
               else "none among the previous-token heads")
        )
    return lines or ["not recorded"]


def _groups_table(c: Classification) -> str:
    if not c.groups:
        return "<p>No behavior had two or more heads, so no group was ablated.</p>"
    e = _esc
    header = ("behavior", "heads", "metric", "clean → ablated", "effect ± stderr",
              "relative", "confirmed")
    rows = [
        "<tr>" + "".join(
            f'<td class="{"num" if i in (3, 4, 5) else ""}"{_group_title(g, i)}>{e(x)}</td>'
            for i, x in enumerate(_group_cells(g))
        ) + "</tr>"
        for g in c.groups
    ]
    return ("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header)
            + "</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def _group_title(g: dict, column: int) -> str:
    """Hover text with more digits for the numeric cells of a group row."""
    if column == 3:
        text = f"clean {_fmt(g.get('clean'), '.8g')} → ablated {_fmt(g.get('ablated'), '.8g')}"
    elif column == 4:
        text = f"effect {_fmt(g.get('effect'), '.8g')} ± {_fmt(g.get('stderr'), '.4g')}"
    elif column == 5:
        text = (f"relative {_fmt(g.get('relative'), '.8g')} ± "
                f"{_fmt(_relative_stderr(g), '.4g')}")
    else:
        return ""
    return f' title="{_esc(text)}"'


def _kv_table(prefix: str, data: dict) -> str:
    e = _esc
    rows = "".join(
        f"<tr><th>{e(prefix)}.{e(str(k))}</th><td>{e(_value_text(v))}</td></tr>"
        for k, v in data.items()
    )
    return f'<table class="kv">{rows}</table>'


def _group_cells(g: dict) -> list[str]:
    return [
        str(g.get("behavior", "")),
        "+".join(str(h) for h in g.get("heads", [])),
        str(g.get("metric", "")),
        f"{_fmt(g.get('clean'), '.4g')} → {_fmt(g.get('ablated'), '.4g')}",
        f"{_fmt(g.get('effect'), '.4g')} ± {_fmt(g.get('stderr'), '.2g')}",
        _fmt(g.get("relative"), ".3f"),
        "yes" if g.get("confirmed") else "no",
    ]


def _evidence_lines(h: HeadClass) -> list[str]:
    lines = []
    for behavior in h.classes:
        ev = h.ablation.get(behavior)
        if ev is None:
            lines.append(f"{behavior}: not tested")
            continue
        mark = CONFIRMED_MARK if ev.get("confirmed") else UNCONFIRMED_MARK
        relative_se = _relative_stderr(ev)
        spread = "" if relative_se is None else f" ± {relative_se:.2g}"
        text = (
            f"{mark} {behavior}: {ev.get('metric', '?')} "
            f"{_fmt(ev.get('clean'), '.4g')} → {_fmt(ev.get('ablated'), '.4g')}, "
            f"relative {_fmt(ev.get('relative'), '.3f')}{spread} "
            f"(effect {_fmt(ev.get('effect'), '.3g')} ± {_fmt(ev.get('stderr'), '.2g')})"
        )
        receivers = ev.get("receivers")
        if receivers and str(ev.get("metric", "")).startswith("downstream"):
            text += f", receivers {', '.join(str(r) for r in receivers)}"
        group = ev.get("group")
        if isinstance(group, dict) and group.get("heads"):
            group_mark = CONFIRMED_MARK if group.get("confirmed") else UNCONFIRMED_MARK
            text += (
                f"; with {'+'.join(str(g) for g in group['heads'])} together: relative "
                f"{_fmt(group.get('relative'), '.3f')} {group_mark}"
            )
        lines.append(text)
    return lines


def _classes_plain(h: HeadClass) -> str:
    if not h.classes:
        return "—"
    return ", ".join(
        f"{b} {CONFIRMED_MARK if _confirmed(h, b) else UNCONFIRMED_MARK}" for b in h.classes
    )


def _classes_html(h: HeadClass) -> str:
    if not h.classes:
        return "—"
    return ", ".join(
        f'<span class="ok">{_breakable(b)}&nbsp;{CONFIRMED_MARK}</span>' if _confirmed(h, b)
        else f'<span class="no">{_breakable(b)}&nbsp;{UNCONFIRMED_MARK}</span>'
        for b in h.classes
    )


def _breakable(name: str) -> str:
    """Escaped ``name`` that may wrap after its underscores (narrow table columns)."""
    return _esc(name).replace("_", "_<wbr>")


def _confirmed(h: HeadClass, behavior: str) -> bool:
    return bool(h.ablation.get(behavior, {}).get("confirmed"))


def _score_triple(h: HeadClass, behavior: str) -> str:
    return " / ".join(
        _fmt(d.get(behavior), ".3f") for d in (h.scores, h.nulls, h.lifts)
    )


def _baseline_rows(c: Classification) -> list[tuple[str, str]]:
    b = c.baseline
    if not b:
        return []
    rows = [(str(k).replace("_", " "), _fmt(v, ".4f")) for k, v in b.items()]
    first, second = _finite(b.get("first_copy_loss")), _finite(b.get("second_copy_loss"))
    if first is not None and second is not None:
        rows.append(("copy benefit (first − second)", f"{first - second:.4f}"))
    return rows


def _lead(c: Classification) -> str:
    m, s = c.model, c.settings
    text = f"{m.get('n_layers', '?')} layers × {m.get('n_heads', '?')} heads"
    if "d_model" in m:
        text += f", d_model {m['d_model']}"
    if "d_vocab" in m:
        text += f", vocabulary {m['d_vocab']}"
    text += (
        f"; {s.get('n_seqs', '?')} sequences of [BOS] r r (L = {s.get('seq_len', '?')}), "
        f"{s.get('method', '?')} ablation, seed {s.get('seed', '?')}."
    )
    return text


def _legend() -> str:
    return (
        f"Classes: {CONFIRMED_MARK} confirmed by ablation, {UNCONFIRMED_MARK} candidate the "
        "ablation did not confirm. Per behavior: score / null / lift (the classed ones "
        "highlighted). Evidence: the ablation metric, its value clean → ablated, and the "
        "relative effect (1 = all of the behavior lost). Loss effect: second-copy loss change "
        "(nats) when the head alone is ablated."
    )


def _guide(c: Classification) -> list[tuple[str, str]]:
    s = c.settings
    min_lift, z = _value_text(s.get("min_lift", "?")), _value_text(s.get("z", "?"))
    min_effect = _value_text(s.get("min_effect", "?"))
    z_effect = _value_text(s.get("z_effect", "?"))
    guide = [
        ("Score (0..1).",
         "The attention mass a head puts on a query's targets (previous_token: the key just "
         "before the query; duplicate_token: earlier copies of the query's token; induction: "
         "the tokens that followed earlier copies of it), averaged over the queries that have "
         "a target, then over sequences. BOS and the query itself are never targets."),
        ("Null (0..1).",
         "The mass the head would put on the targets if they were no more attractive than "
         "the other eligible keys, measured on the same attention pattern. A head that "
         "attends uniformly scores exactly its null; only the score above it means anything."),
        ("Lift (−1..1).",
         "(score − null) / (1 − null): the share of the attention that could move onto the "
         "targets beyond chance that does."),
        ("Candidate class.",
         f"A head is classed as a behavior when its lift is at least {min_lift} and its score "
         f"beats its null by more than {z} standard errors over sequences. For "
         "duplicate_token and induction the head must also lose at least half of that gap "
         "on [BOS] r s sequences without repeats (same positions): a head that keeps "
         "attending L or L − 1 back without repeats is a positional shortcut."),
        ("Confirmation.",
         f"Each class is tested by ablating the head ({s.get('method', '?')} ablation). "
         "induction: the second-copy loss must rise; previous_token: the induction score of "
         "later induction heads must fall (or, with none, the second-copy loss must rise); "
         "duplicate_token: a linear probe for 'this token occurred before', read after the "
         "head's layer, must lose accuracy. The relative effect is what is lost as a share of "
         "what the behavior achieves at all; it must reach "
         f"{min_effect} and the effect must exceed {z_effect} standard errors. A class the "
         "ablation does not support stays in the report, marked unconfirmed."),
        ("Relative effect 0.",
         "When the model shows the behavior too little to lose any of it (e.g. no drop from "
         "first to second copy loss), relative effects are reported as 0 and nothing is "
         "confirmed."),
        ("Group ablations.",
         "Heads sharing a class are also ablated together. A large group effect with small "
         "single-head effects means the heads back each other up."),
        ("Weights.",
         "Evidence read from the weights alone, with no input. OV copying (−1..1): near 1, "
         "attending to a token raises that token's logit (induction heads copy); near 0, no "
         "consistent effect. Key feeders: the previous-token heads whose output an induction "
         "head's keys read (K-composition), by how far it exceeds that of random weights."),
    ]
    controls = [b for b in _behaviors(c) if b in CONTROLS]
    if controls:
        guide.append((
            "Controls.",
            f"{', '.join(controls)}: scored like the behaviors (current_token: attention "
            "to the query's own position; first_token: to BOS, the attention sink) so that a "
            "head that merely rests there is seen for what it is; never made classes.",
        ))
    return guide


def _summary(c: Classification) -> str:
    try:
        return c.summary()
    except (KeyError, TypeError, ValueError) as err:  # incomplete hand-made results
        return f"(no summary: {type(err).__name__}: {err})"


def _model_name(c: Classification) -> str:
    return str(c.model.get("name", "unnamed model"))


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, float):
        return _fmt(value, "g")
    return str(value)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: Any, spec: str) -> str:
    """Format a number; ``n/a`` for None and NaN."""
    if value is None:
        return _NA
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if math.isnan(value):
        return _NA
    return format(value, spec)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _md(value: Any) -> str:
    """Escape text for a Markdown table cell: HTML, pipes and newlines."""
    text = html.escape(str(value), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _strict(value: Any) -> Any:
    """A copy of ``value`` that strict JSON accepts: NaN and infinities become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy or torch scalar
        return _strict(value.item())
    return value
