"""Write a head census to disk: an offline HTML page, the JSON document and Markdown.

:func:`write_report` renders a :class:`~interp.results.Classification` three ways and
writes them into one directory:

- ``report.html``: one self-contained page that works offline (plotly.js is inlined once;
  no script, style or font is fetched), rendered from the Jinja2 template
  ``interp/report/templates/report.html.j2`` (autoescaped; CSS and JavaScript are the
  package files ``report.css`` and ``report.js``): the summary, the score heatmaps, a head
  explorer, the classification table, the ablation effects, the loss effect of each head,
  the group ablations, model, settings and baseline losses, and a guide generated from the
  behaviors' own descriptions and the recorded settings. Hovering shows exact values;
  clicking a head (a heatmap cell, a bar, a table row, a head named in the summary) or
  picking it from the explorer's list (grouped by layer, or typed) draws its attention
  pattern and lists its evidence; clicking a table header sorts the table, and its filters
  show every head, the classified ones, those with a confirmed class or those a measure
  marks, by class and by layer.

  It reads at any size (SmolLM2's 30 x 9 heads): the summary counts each confirmed class
  and names its strongest heads, says a measure that marks 160 heads in one line, and
  folds the rest (unconfirmed candidates, behaviors with no candidate, groups that showed
  nothing) one click away; heatmaps of more than :data:`~interp.report.plots.LARGE_GRID`
  heads carry marks, not numbers; the table opens on the classified heads, with the null
  and lift columns on demand; wide tables scroll in their own box with the head column in
  view; long names wrap between their parts. The page carries each number once where it
  can (the explorer's scores and the table's hover text come from the page data), so
  plotly.js is most of its size;
- ``report.json``: ``Classification.to_dict()`` as strict JSON (NaN and infinities become
  ``null``), which ``Classification.from_dict`` reads back;
- ``report.md``: the summary, the same tables and the guide as GitHub Markdown, rendered
  from ``report.md.j2`` (Markdown syntax in names escaped).

With a :class:`~interp.results.circuit.Circuit` of the same census (``interp report
--circuit``), :func:`write_report` also writes the circuit set (``circuit.html``,
``circuit.json``, ``circuit.md``; :mod:`interp.report.circuit_page`) into the directory,
first, and the report gains a *circuit* section that links ``circuit.html`` (the page) or
``circuit.md`` (the Markdown) and lists, per confirmed head and for the logits, the
confirmed incoming edges (sender, input, path-patching effect); ``report.json`` records the
circuit set's run id under ``circuit`` (``interp check`` verifies the pair). Without a
circuit the report is what it always was, byte for byte.

This module only turns a result into a template context; it never imports or runs a
model. Output is deterministic: the same result gives byte-identical files.

Example:
    >>> paths = write_report(result, "report")  # doctest: +SKIP
    >>> sorted(paths)
    ['html', 'json', 'markdown']
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from string import Formatter
from typing import Any

from ..io.jsonsafe import finite_or_none, strict_json
from ..io.output_files import CIRCUIT_FILES, REPORT_FILES, set_run_id, write_set
from ..results.circuit import Circuit, CircuitEdge
from ..results.classification import (
    SUMMARY_HEADS,
    SUMMARY_STRONGEST,
    Classification,
    HeadClass,
)
from ..results.evidence import Evidence, GroupEvidence, standing
from ..spec.behaviors import POSITIONAL_SHORTCUT_SHARE
from .circuit_page import circuit_texts
from .pages import PLOT_CONFIG, asset, figure_divs, render_page, script_json
from .plots import (
    CONFIRMED_MARK,
    LARGE_GRID,
    UNCONFIRMED_MARK,
    ablation_effects,
    attention_pattern,
    distance_profiles,
    loss_effect_heatmap,
    measure_heatmaps,
    measure_profiles,
    pattern_title,
    probe_accuracy,
    scores_heatmaps,
    token_texts,
)

_NA = "n/a"


#: Id of the explorer's attention-pattern figure (redrawn by the page script).
PATTERN_DIV = "interp-pattern"


_NAV = (
    ("summary", "summary"), ("scores", "scores"), ("explore", "head explorer"),
    ("heads", "heads"), ("ablations", "ablations"), ("loss", "loss effects"),
    ("groups", "groups"), ("probes", "probes"), ("distance", "distances"),
    ("measures", "measures"),
    ("text", "text"), ("setup", "settings"), ("guide", "how to read this"),
)


#: Where the circuit section goes in the navigation (after this anchor), when there is one.
_CIRCUIT_AFTER = "groups"


_GROUP_HEADER = ("behavior", "heads", "metric", "clean → ablated", "effect ± stderr",
                 "relative", "strongest alone", "redundancy", "adds nothing")


def render_json(classification: Classification, circuit_run_id: str | None = None) -> str:
    """The ``report.json`` document: ``to_dict()`` as strict JSON, ending in a newline.

    Every NaN or infinite float is replaced by ``null`` (so any JSON parser reads it).
    With ``circuit_run_id`` (the run id of the circuit set written beside it) the document
    ends with ``"circuit": {"run_id": ..., "files": {...}}``.

    Example:
        >>> document = json.loads(render_json(result))  # doctest: +SKIP
    """
    document = strict_json(classification.to_dict())
    if circuit_run_id is not None:
        document["circuit"] = {"run_id": circuit_run_id, "files": dict(CIRCUIT_FILES.files)}
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def render_markdown(classification: Classification, circuit: Circuit | None = None) -> str:
    """The report as GitHub Markdown (``report.md.j2``): settings, baseline, summary, the
    tables and the guide.

    Every piece of text from the result is escaped for Markdown and HTML (a model named
    ``![x](http://...)`` stays text); the summary is printed as is, inside a code fence.
    With ``circuit``, a circuit section links ``circuit.md`` (module docstring).

    Example:
        >>> text = render_markdown(result)  # doctest: +SKIP
    """
    c = classification
    context = _shared_context(c, circuit)
    return render_page(
        "report.md.j2",
        **context,
        fence=_fence(context["summary"]),
        behaviors=list(c.behavior_names),
        heads=[_markdown_row(c, h) for h in c.heads],
        groups=[{"cells": _group_cells(g), "heads": g.heads, "reason": g.reason}
                for g in c.groups],
    )


def render_html(classification: Classification, circuit: Circuit | None = None) -> str:
    """The report as one self-contained, offline, interactive HTML page (module docstring);
    with ``circuit``, a circuit section links ``circuit.html``.

    Example:
        >>> page = render_html(result)  # doctest: +SKIP
    """
    c = classification
    first = _first_head(c)
    specs = [
        ("interp-scores", scores_heatmaps(c)),
        ("interp-ablation-effects", ablation_effects(c)),
        ("interp-loss-effect", loss_effect_heatmap(c)),
        ("interp-probes", probe_accuracy(c)),
        ("interp-distance", distance_profiles(c)),
        ("interp-measures", measure_heatmaps(c)),
    ]
    profiles = [m.name for m in c.measures if m.is_profile]
    specs += [(f"interp-measure-{name}", measure_profiles(c, name)) for name in profiles]
    if first is not None and first in _patterns(c):
        specs.append((PATTERN_DIV, attention_pattern(c, first)))
    divs = figure_divs(specs)
    return render_page(
        "report.html.j2",
        **_shared_context(c, circuit),
        css=asset("report.css"),
        script=asset("report.js"),
        nav=_nav(circuit is not None),
        marks={"yes": CONFIRMED_MARK, "no": UNCONFIRMED_MARK},
        figures={
            "scores": divs["interp-scores"], "ablations": divs["interp-ablation-effects"],
            "loss": divs["interp-loss-effect"], "probes": divs["interp-probes"],
            "distance": divs["interp-distance"], "pattern": divs.get(PATTERN_DIV),
            "measures": divs["interp-measures"],
            "profiles": [divs[f"interp-measure-{name}"] for name in profiles],
        },
        explorer=_explorer(c, first),
        example_text=_example_text(c),
        view=_summary_view(c),
        large=_large(c),
        n_heads=len(c.heads),
        table=_heads_table(c),
        groups=[_group_row(c, g) for g in c.groups],
        relative_legend=_relative_legend(),
        text=_text_scores(c),
        page_data=script_json(strict_json(_page_data(c, first))),
    )


def write_report(
    classification: Classification, out_dir: str | os.PathLike, *,
    circuit: Circuit | None = None,
) -> dict[str, Path]:
    """Write ``report.html``, ``report.json`` and ``report.md`` into ``out_dir`` (and, with
    ``circuit``, the circuit set the report links).

    Everything is rendered before anything is written; the files are then written as one
    set (:data:`~interp.io.output_files.REPORT_FILES`) by
    :func:`interp.io.output_files.write_set`: safe temporaries (never following a planted
    link), each renamed into place, ``report.json`` last with the run id and the
    sha256 of the other two (``interp check DIR`` detects a set mixed by a crash). On
    failure the temporary files (and a directory this call created) are removed, and a
    failure before the renames leaves any earlier report in ``out_dir`` as it was.

    With ``circuit``, both sets are rendered first; the circuit set
    (:data:`~interp.io.output_files.CIRCUIT_FILES`) is written first, the same way, and
    ``report.json`` records its run id, so a crash between the two sets leaves a pair that
    ``interp check`` calls mixed (an earlier report linking another circuit) or a report
    that links nothing.

    Args:
        classification: the census result.
        out_dir: the directory to write into; created (with parents) if missing. Existing
            report files in it are replaced.
        circuit: the circuit found from this census (:func:`interp.find_circuit` with
            ``classification=``), or None (no circuit files, the report unchanged).

    Returns:
        ``{"html": path, "json": path, "markdown": path}``; with ``circuit`` also
        ``circuit_json``, ``circuit_html``, ``circuit_markdown``.

    Raises:
        NotADirectoryError: ``out_dir`` (or one of its parents) is an existing file.
        ValueError: ``circuit`` is not of this census' model (a receiver that is not one
            of its confirmed heads).

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
    if circuit is None:
        documents = {
            "html": render_html(classification),
            "json": render_json(classification),
            "markdown": render_markdown(classification),
        }
        return write_set(out_dir, REPORT_FILES, documents)
    _check_circuit(classification, circuit)
    linked = circuit_texts(circuit)
    documents = {
        "html": render_html(classification, circuit),
        "json": render_json(classification, set_run_id(CIRCUIT_FILES, linked)),
        "markdown": render_markdown(classification, circuit),
    }
    written = write_set(out_dir, CIRCUIT_FILES, linked)
    paths = write_set(out_dir, REPORT_FILES, documents)
    return {**paths, **{f"circuit_{key}": path for key, path in written.items()}}


def _check_circuit(c: Classification, circuit: Circuit) -> None:
    """The circuit's receivers must be confirmed heads of this census."""
    confirmed = {h.label for h in c.heads if h.confirmed_classes}
    stray = sorted(set(circuit.receivers) - confirmed)
    if stray:
        raise ValueError(f"the circuit's receivers {', '.join(stray)} are not confirmed heads "
                         f"of this census of {_model_name(c)}: find the circuit with "
                         "classification= this census")


def _nav(circuit: bool) -> tuple[tuple[str, str], ...]:
    """The page's navigation: :data:`_NAV`, with the circuit section when there is one."""
    if not circuit:
        return _NAV
    out: list[tuple[str, str]] = []
    for anchor, text in _NAV:
        out.append((anchor, text))
        if anchor == _CIRCUIT_AFTER:
            out.append(("circuit", "circuit"))
    return tuple(out)


def _edge_text(edge: CircuitEdge) -> str:
    """An incoming edge in a few characters: ``0.0 [k] +0.988 ± 0.0035`` (sender, input,
    path-patching effect), and the group that confirmed it."""
    text = (f"{edge.source} [{edge.input}] {_fmt(edge.effect, '+.3g')} ± "
            f"{_fmt(edge.stderr, '.2g')}")
    others = [s for s in edge.group if s != edge.source]
    return text + (f" (with {'+'.join(others)})" if others else "")


def _circuit_view(c: Classification, circuit: Circuit | None) -> dict | None:
    """The circuit section: the linked files, the edge counts, and per confirmed head (and
    the logits) its confirmed incoming edges (:func:`_edge_text`)."""
    if circuit is None:
        return None
    rows = []
    for h in c.heads:
        if h.confirmed_classes:
            rows.append({"label": h.label, "classes": ", ".join(h.confirmed_classes),
                         "edges": [_edge_text(e) for e in circuit.confirmed_into(h.label)]})
    rows.append({"label": "logits", "classes": "second-copy loss",
                 "edges": [_edge_text(e) for e in circuit.confirmed_into("logits")]})
    counts = {s: len(circuit.with_status(s)) for s in
              ("confirmed", "refuted", "undecidable", "unchecked")}
    return {"html": CIRCUIT_FILES.files["html"], "markdown": CIRCUIT_FILES.files["markdown"],
            "n_edges": len(circuit.edges), "counts": counts, "rows": rows}


def _shared_context(c: Classification, circuit: Circuit | None = None) -> dict:
    """The template context the HTML page and the Markdown share."""
    return {
        "circuit": _circuit_view(c, circuit),
        "name": _model_name(c),
        "lead": _lead(c),
        "summary": _summary(c),
        "legend": _legend(),
        "model_rows": [(str(k), _value_text(v)) for k, v in c.model.items()],
        "settings_rows": [(str(k), _value_text(v)) for k, v in c.settings.items()],
        "baseline": _baseline_rows(c),
        "group_header": _GROUP_HEADER,
        "measures": _measures_table(c),
        "guide": _guide(c),
    }


def _markdown_row(c: Classification, h: HeadClass) -> dict:
    """One head's row of the Markdown heads table (score / null / lift per behavior)."""
    return {
        "label": h.label,
        "classes": _with_marks(_classes_plain(h), _marks(c, h)),
        "scores": [{"text": _score_triple(h, b), "classed": b in h.classes}
                   for b in c.behavior_names],
        "evidence": _evidence_lines(h),
        "loss_effect": _fmt(h.loss_effect, ".4f"),
    }


def _fence(text: str) -> str:
    """A Markdown code fence (three backticks or more) that ``text`` does not contain."""
    fence = "```"
    while fence in text:
        fence += "`"
    return fence


def _cell(lines: Any, cls: str = "num", sort: float | None = None, title: str = "") -> dict:
    """A table cell for the template: text line(s), class, sort key (6 significant
    digits) and hover title."""
    if isinstance(lines, str):
        lines = [lines]
    return {"lines": list(lines), "cls": cls,
            "sort": None if sort is None else format(sort, ".6g"), "title": title}


def _num_cell(value: Any, spec: str, cls: str, title: str) -> dict:
    """A number shown with ``spec``, sorted by its value (not carried where the shown
    text says as much)."""
    text = _fmt(value, spec)
    number = finite_or_none(value)
    same = number is not None and format(number, ".6g") == text
    return _cell(text, cls, None if same else number, title)


def _heads_table(c: Classification) -> dict:
    """The classification table: sortable headers carry ``data-col`` (the cell index in a
    row) and ``data-type``; a numeric cell sorts by its text, or by its ``data-sort`` where
    the text is not the number (a feeder list); the page script gives each score cell its
    hover text (null, lift, standard error) from the page data (``scores``), and a score
    header carries ``data-b``, its behavior. Control behaviors (never classes) get a score
    column only. The null and lift columns carry the class ``nl`` (shown on demand). The
    filters read each row's head label (its layer) and its class spans (``data-b``: the
    behavior, class ``ok`` when confirmed) and measure marks; on a large model
    (:data:`LARGE_GRID`) the table opens on the classified heads."""
    behaviors = list(c.behavior_names)
    columns = [{"name": b, "control": c.is_control(b),
                "words": ("score",) if c.is_control(b) else ("score", "null", "lift")}
               for b in behaviors]
    words, col = [], 2
    for column in columns:
        for word in column["words"]:
            words.append({"col": col, "word": word, "cls": "" if word == "score" else "nl",
                          "behavior": column["name"] if word == "score" else ""})
            col += 1
    tail = [(col + 1, "loss effect"), (col + 2, "OV copying"), (col + 3, "feeders")]
    rows = []
    for h in c.heads:
        cells = []
        for column in columns:
            b = column["name"]
            score, null, lift = h.scores.get(b), h.nulls.get(b), h.lifts.get(b)
            cls = "num cls" if b in h.classes else "num"
            cells.append(_cell(_fmt(score, ".3f"), cls))
            if not column["control"]:
                cells += [_cell(_fmt(null, ".3f"), "num nl"), _cell(_fmt(lift, ".3f"), "num nl")]
        cells.append(_cell(_evidence_lines(h), "ev"))
        cells.append(_cell(_fmt(h.loss_effect, ".4f"), "num"))
        ov = h.weights.ov_copying
        cells.append(_num_cell(ov, ".3f", "num", "" if ov is None else "OV copying (-1..1)"))
        feeders = h.weights.feeders
        if feeders is None:
            cells.append(_cell([], ""))
        elif not feeders:
            cells.append(_cell("none", "", None, "no head of the source class composes above "
                                                 "random"))
        else:
            cells.append(_cell([_feeder_text(f) for f in feeders], "num",
                               finite_or_none(feeders[0].excess),
                               f"{h.weights.mode}-composition above its random baseline"))
        rows.append({
            "label": h.label,
            "classes": [{"name": b, "ok": b in h.confirmed_classes,
                         "mark": CONFIRMED_MARK if b in h.confirmed_classes
                         else UNCONFIRMED_MARK} for b in h.classes],
            "classes_sort": _classes_plain(h) if h.classes else "",
            "marks": _marks(c, h),
            "cells": cells,
        })
    n_layers = int(c.model.get("n_layers") or (max((h.layer for h in c.heads), default=-1) + 1))
    return {"behaviors": columns, "words": words, "tail": tail, "rows": rows,
            "show": "classed" if _large(c) else "all", "layers": list(range(n_layers)),
            "classes": [b for b in behaviors if not c.is_control(b)]}


def _measures_table(c: Classification) -> dict:
    """The measures section: one column per measure (a profile shows its peak bin; a measure
    whose every value is a whole number, such as a key position, prints as one), the
    marked heads highlighted; one entry per marking measure naming its heads (past
    :data:`SUMMARY_HEADS`, a count and the strongest, the rest in ``more``); the checks of
    the marked heads, and how to read them."""
    columns, cells_of = [], []
    for m in c.measures:
        columns.append(m.name)
        cells_of.append(m)
    whole = {m.name: _whole_numbers(c, m.name) for m in c.measures}
    rows = []
    for h in c.heads:
        cells = []
        for m in cells_of:
            value = h.measures.get(m.name)
            if m.is_profile:
                if isinstance(value, list) and any(finite_or_none(v) is not None
                                                   for v in value):
                    peak = max(range(len(value)),
                               key=lambda i: -math.inf if finite_or_none(value[i]) is None
                               else value[i])
                    text = f"peak {m.bins[peak]} ({_fmt(value[peak], '.2f')})"
                    title = ", ".join(f"{b}: {_fmt(v, '.3f')}" for b, v in zip(m.bins, value))
                    cells.append(_cell(text, "num", peak, title))
                else:
                    cells.append(_cell(_NA, "num"))
                continue
            cls = "num cls" if m.passes(value) else "num"
            cells.append(_cell(_fmt(value, ".0f" if whole[m.name] else ".3f"), cls))
        rows.append({"label": h.label, "cells": cells})
    marked = []
    for m in c.measures:
        if m.note:
            marked.append({"text": f"{m.name}: {m.note}", "more": []})
        elif m.threshold is not None:
            heads = c.marked_by(m.name)
            rule = f"({m.rule()}; a measure, not an ablation-confirmed class)"
            if len(heads) > SUMMARY_HEADS:
                shown = heads[:SUMMARY_STRONGEST]
                text = (f"{m.label}: {len(heads)} of {len(c.heads)} heads"
                        f"{_check_counts(c, m, heads)}; strongest "
                        + ", ".join(f"{h} ({_fmt(c.head(h).measures[m.name], '.2f')})"
                                    for h in shown) + f" {rule}")
                marked.append({"text": text, "more": heads})
            else:
                listed = [h + _check_text(c, h, m) for h in heads]
                marked.append({"text": f"{m.label}: {', '.join(listed) if listed else 'none'} "
                                       f"{rule}", "more": []})
    checks = [{"text": f"{h.label} {m.check_claim} {_check_mark(ev)}: {ev.reason}"
                       + (f"; {_group_line(ev)}" if ev.group is not None else ""),
               "title": _check_reading(c, ev), "ok": standing(ev) in ("confirmed",
                                                                      "confirmed together")}
              for m in c.measures for h in c.heads
              if (ev := h.checks.get(m.name)) is not None]
    failed = [line for line in checks if not line["ok"]]
    return {"columns": columns, "rows": rows, "marked": marked, "checks": checks,
            "checks_summary": f"{len(checks)} check{'s' if len(checks) != 1 else ''}: "
                              f"{len(checks) - len(failed)} confirmed, {len(failed)} refuted "
                              "or undecided",
            "collapsed": _large(c), "reading": _check_legend(c) if checks else ""}


def _whole_numbers(c: Classification, name: str) -> bool:
    """Whether every recorded value of a single-value measure is a whole number (a key
    position, a count): it then prints without decimals."""
    values = [finite_or_none(h.measures.get(name)) for h in c.heads]
    values = [v for v in values if isinstance(v, (int, float))]
    return bool(values) and all(float(v).is_integer() for v in values)


def _check_counts(c: Classification, m: Any, heads: list[str]) -> str:
    """``", no-op sink: 140 confirmed, 20 refuted"`` for the marked heads of a measure with
    a check (empty without one)."""
    if not m.check_claim:
        return ""
    counts: dict[str, int] = {}
    for label in heads:
        status = standing(c.head(label).checks.get(m.name))
        word = {"undecidable": "undecided"}.get(status, status)
        counts[word] = counts.get(word, 0) + 1
    return f", {m.check_claim}: " + ", ".join(f"{n} {word}" for word, n in counts.items())


#: The bar a verdict's reason compares the relative effect with (``relative effect 0.711
#: >= 0.337``).
_BAR = re.compile(r"relative effect (-?[0-9.]+) (>=|<) (-?[0-9.]+)")


def _own_bar(c: Classification, ev: Evidence) -> float | None:
    """The bar a head's relative effect was held to, when it is the head's own (above the
    ablations' ``min_effect``, as a measure check may set per head); else None."""
    match = _BAR.search(ev.reason or "")
    min_effect = c.settings.get("min_effect")
    if match is None or not isinstance(min_effect, (int, float)):
        return None
    bar = float(match.group(3))
    return bar if abs(bar - float(min_effect)) > 5e-4 else None


def _check_reading(c: Classification, ev: Evidence) -> str:
    """How to read one check's numbers, where the legend's general words do not say it
    (hover text of its line, a line of its panel): the head's own bar, a relative effect
    outside 0..1. Empty when there is nothing particular."""
    words = []
    bar = _own_bar(c, ev)
    if bar is not None:
        words.append(f"{bar:g} is this head's own bar, set by the check from its numbers "
                     f"(not the ablations' min_effect "
                     f"{_value_text(c.settings.get('min_effect'))})")
    if ev.note:
        words.append(f"relative {_fmt(ev.relative, '.3f')}, {ev.note}")
    return "; ".join(words)


def _check_legend(c: Classification) -> str:
    """One paragraph on reading the checks' lines (relative effects, per-head bars)."""
    text = ("How to read a check: the relative effect is the effect over its scale, the "
            "share of the metric the claim accounts for (1 = all of it, 0 = none); above 1 or "
            "below 0 it says more than the claim (a line whose numbers need it says how to "
            "read them: on hover in the page, after the line in Markdown). It must "
            f"reach the ablations' min_effect ({_value_text(c.settings.get('min_effect', '?'))})"
            " and clear 2 standard errors")
    if any(_own_bar(c, ev) is not None for h in c.heads for ev in h.checks.values()):
        text += (", or, where a check sets each head's own bar from that head's numbers "
                 "(the number after >= or < differs from head to head), that bar; each "
                 "check's description in the guide says how it is set")
    return text + "."


def _check_text(c: Classification, label: str, m: Any) -> str:
    evidence = c.head(label).checks.get(m.name)
    if not m.check_claim or evidence is None:
        return ""
    return f" ({m.check_claim} {_check_mark(evidence)})"


def _feeder_text(feeder: Any) -> str:
    return f"{feeder.head} ({_fmt(feeder.excess, '+.3f')})"


def _patterns(c: Classification) -> dict:
    patterns = c.example.get("patterns") if isinstance(c.example, dict) else None
    return patterns if isinstance(patterns, dict) else {}


def _first_head(c: Classification) -> str | None:
    """The head the explorer opens on: among heads with an example pattern and a confirmed
    class, the one in the latest layer (the end of a circuit), highest lift first; else the
    first classified head with a pattern, else the first head with one, else the first."""
    patterns = _patterns(c)
    confirmed = [(h.layer, h.lifts.get(b, -1.0), -_order(c, h.label), h.label)
                 for h in c.heads if h.label in patterns for b in h.confirmed_classes]
    if confirmed:
        return max(confirmed)[-1]
    for keep in (lambda h: bool(h.classes), lambda h: True):
        for h in c.heads:
            if h.label in patterns and keep(h):
                return h.label
    return c.heads[0].label if c.heads else None


def _order(c: Classification, label: str) -> int:
    return [h.label for h in c.heads].index(label)


def _explorer(c: Classification, first: str | None) -> list[dict]:
    """The explorer's picker: one option group per layer, one option per head."""
    patterns = _patterns(c)
    layers: dict[int, list[dict]] = {}
    for h in c.heads:
        layers.setdefault(h.layer, []).append(
            {"label": h.label, "selected": h.label == first,
             "text": f"{h.label} — {_with_marks(_classes_plain(h), _marks(c, h))}"
                     + ("" if h.label in patterns else " (no pattern)")})
    return [{"layer": layer, "options": options} for layer, options in layers.items()]


def _page_patterns(c: Classification) -> tuple[dict, dict]:
    """The example patterns as the page carries them, and each one's scale: rows of
    integers in thousandths (``scale`` 1000) when every weight was recorded to 3 decimals
    (as the census records them), else as recorded (``scale`` 1). The page divides back,
    which gives the recorded numbers exactly."""
    rows_of, scale_of = {}, {}
    for label, rows in _patterns(c).items():
        values = [finite_or_none(v) for row in rows for v in row]
        if all(v is None or abs(v * 1000 - round(v * 1000)) < 1e-6 for v in values):
            rows_of[label] = [[None if finite_or_none(v) is None else round(v * 1000)
                               for v in row] for row in rows]
            scale_of[label] = 1000
        else:
            rows_of[label] = [[finite_or_none(v) for v in row] for row in rows]
            scale_of[label] = 1
    return rows_of, scale_of


def _page_data(c: Classification, first: str | None) -> dict:
    """The data the page script reads (``#interp-data``)."""
    example = c.example if isinstance(c.example, dict) else {}
    patterns, scales = _page_patterns(c)
    return {
        "first": first,
        "figure": PATTERN_DIV,
        "config": PLOT_CONFIG,
        "tokens": list(example.get("tokens") or []),
        "patterns": patterns,
        "scale": scales,
        "behaviors": list(c.behavior_names),
        "scores": {h.label: [_score_entry(h, b) for b in c.behavior_names] for h in c.heads},
        "heads": {
            h.label: {
                **({"title": pattern_title(c, h.label)} if h.label in patterns else {}),
                "classes": _classes_plain(h),
                "sections": _head_sections(c, h),
            }
            for h in c.heads
        },
    }


def _score_entry(h: HeadClass, behavior: str) -> list | None:
    """One head's numbers for one behavior as the page script reads them: ``[score, null,
    lift, stderr, no-repeat score or None, 1 if classed else 0]`` (rounded as shown), or
    None where the head has no score for it."""
    if behavior not in h.scores:
        return None

    def rounded(value: Any, digits: int) -> float | None:
        value = finite_or_none(value)
        return None if value is None else round(float(value), digits)

    stderr = finite_or_none(h.stderr.get(behavior))
    return [rounded(h.scores.get(behavior), 4), rounded(h.nulls.get(behavior), 4),
            rounded(h.lifts.get(behavior), 3),
            None if stderr is None else float(f"{stderr:.2g}"),
            rounded(h.no_repeat.get(behavior), 4), int(behavior in h.classes)]


def _example_text(c: Classification) -> str:
    """The example sequence as decoded text (empty when the result holds no token text)."""
    texts = token_texts(c)
    return "".join(texts) if texts else ""


def _head_sections(c: Classification, h: HeadClass) -> list[list]:
    """The explorer's text panel for one head: ``[[title, [line, ...]], ...]``, after the
    scores (which the page script writes from the page data's ``scores``)."""
    sections: list[list] = []
    for behavior in h.classes:
        ev = h.ablation.get(behavior)
        if ev is None:
            sections.append([f"Ablation: {behavior}", ["not tested"]])
            continue
        status = h.status(behavior)
        mark = CONFIRMED_MARK if behavior in h.confirmed_classes else UNCONFIRMED_MARK
        words = {"refuted": "not confirmed", "undecidable": "undecided"}.get(status, status)
        lines = [f"{words} by {ev.method} ablation" + (f": {ev.reason}" if ev.reason else "")]
        lines += _measurement_lines(ev)
        if ev.probe is not None:
            probe_mark = CONFIRMED_MARK if ev.probe.confirmed else UNCONFIRMED_MARK
            lines.append(
                f"also a probe, {ev.probe.metric}: clean {_fmt(ev.probe.clean, '.4g')} → "
                f"ablated {_fmt(ev.probe.ablated, '.4g')}, relative "
                f"{_fmt(ev.probe.relative, '.3f')} {probe_mark}"
            )
        if ev.receivers:
            lines.append(f"receivers (later {ev.metric.removeprefix('downstream_')} heads): "
                         + ", ".join(ev.receivers))
        if ev.group is not None:
            lines.append(_group_line(ev))
        sections.append([f"Ablation: {behavior} {mark}", lines])
    for m in c.measures:
        evidence = h.checks.get(m.name)
        if evidence is not None:
            reading = _check_reading(c, evidence)
            sections.append([f"Check: {m.check_claim} {_check_mark(evidence)}",
                             _check_lines(evidence)
                             + ([f"how to read: {reading}"] if reading else [])])
    sections.append(["Weights", _weight_lines(h)])
    loss = ("not measured" if h.loss_effect is None
            else f"second-copy loss change when ablated alone: {_fmt(h.loss_effect, '+.4f')} "
                 "nats")
    sections.append(["Loss effect", [loss]])
    if h.label not in _patterns(c):
        sections.append(["Example pattern", ["not recorded for this head"]])
    return sections


def _measurement_lines(ev: Evidence) -> list[str]:
    lines = [
        f"metric {ev.metric}: clean {_fmt(ev.clean, '.4g')} → ablated {_fmt(ev.ablated, '.4g')}",
        f"effect {_fmt(ev.effect, '.4g')} ± {_fmt(ev.stderr, '.2g')} (stderr)",
        f"relative {_fmt(ev.relative, '.3f')} ± {_fmt(ev.relative_stderr, '.2g')} "
        f"(effect / scale, scale {_fmt(ev.scale, '.4g')}; 1 = the behavior fully removed)",
    ]
    if ev.note:
        lines.append(ev.note)
    if ev.chance is not None:
        lines.append(f"probe chance accuracy {_fmt(ev.chance, '.3f')}")
    return lines


def _members(heads: Any) -> str:
    """A group's members, ``"1.1+1.2"``, or past :data:`SUMMARY_HEADS` of them ``"its 14
    heads"`` (the group table lists them)."""
    heads = list(heads)
    return "+".join(heads) if len(heads) <= SUMMARY_HEADS else f"its group of {len(heads)} heads"


def _group_line(ev: Evidence) -> str:
    group = ev.group
    assert group is not None
    mark = CONFIRMED_MARK if group.confirmed else UNCONFIRMED_MARK
    share = {True: "adds to the group", False: "adds nothing to the group",
             None: "the group was not ablated without it (no class hangs on it)"}[group.adds]
    return (f"ablated with {_members(group.heads)} together: relative "
            f"{_fmt(group.relative, '.3f')}, redundancy {mark}; this head {share}")


def _weight_lines(h: HeadClass) -> list[str]:
    w = h.weights
    lines = []
    if w.error is not None:
        lines.append(w.error)
    if w.ov_copying is not None:
        lines.append(f"OV copying {_fmt(w.ov_copying, '.3f')} (-1..1; near 1: attending to "
                     "a token raises its logit)")
    if w.feeders is not None:
        kind = {"Q": "query", "K": "key", "V": "value"}.get(str(w.mode), "")
        lines.append(
            f"{kind} feeders ({w.mode}-composition above random): "
            + (", ".join(_feeder_text(f) for f in w.feeders) if w.feeders
               else f"none among the {w.source or 'source'} heads")
        )
    return lines or ["not recorded"]


def _group_cells(g: GroupEvidence) -> list[str]:
    t = g.together
    idle = [h for h in g.heads if g.adds.get(h) is False]
    return [
        g.behavior,
        "+".join(g.heads),
        t.metric,
        f"{_fmt(t.clean, '.4g')} → {_fmt(t.ablated, '.4g')}",
        f"{_fmt(t.effect, '.4g')} ± {_fmt(t.stderr, '.2g')}",
        _fmt(t.relative, ".3f"),
        f"{g.strongest} ({_fmt(g.alone.get(g.strongest), '.3f')})",
        "confirmed" if g.confirmed else "not shown",
        ", ".join(idle) or "—",
    ]


def _group_row(c: Classification, g: GroupEvidence) -> dict:
    """Template cells of one group row (numbers with more digits on hover; a relative
    effect outside 0..1 says how to read it, on hover and as a mark), and whether the row
    says something (:meth:`Classification.group_shows`)."""
    t = g.together
    titles = {
        3: f"clean {_fmt(t.clean, '.8g')} → ablated {_fmt(t.ablated, '.8g')}",
        4: f"effect {_fmt(t.effect, '.8g')} ± {_fmt(t.stderr, '.4g')}",
        5: f"relative {_fmt(t.relative, '.8g')} ± {_fmt(t.relative_stderr, '.4g')}: the "
           "group's effect as a share of what the behavior achieves (1 = all of it)"
           + (f"; {t.note}" if t.note else ""),
        7: g.reason,
    }
    cells = []
    for i, text in enumerate(_group_cells(g)):
        cls = "num" if i in (3, 4, 5) else ""
        if i == 5 and t.note:
            cls += " outside"
        if i == 1 and len(g.heads) > SUMMARY_HEADS:
            text = f"{len(g.heads)} heads: {text}"
        cells.append(_cell(text, cls, None, titles.get(i, "")))
    return {"cells": cells, "shows": c.group_shows(g)}


def _relative_legend() -> str:
    return ("Relative effect: the effect as a share of what the behavior achieves on these "
            "stimuli (1 = all of it removed, 0 = nothing). Above 1 the ablation removed more "
            "than the behavior (the heads, or the replacement, also change what the metric "
            "compares with, e.g. the first copy's loss); below 0 the model did better "
            "without the heads. Numbers outside 0..1 are underlined: hover one for its "
            "reading.")


def _evidence_lines(h: HeadClass) -> list[str]:
    lines = []
    for behavior in h.classes:
        ev = h.ablation.get(behavior)
        if ev is None:
            lines.append(f"{behavior}: not tested")
            continue
        mark = CONFIRMED_MARK if behavior in h.confirmed_classes else UNCONFIRMED_MARK
        spread = "" if ev.relative_stderr is None else f" ± {ev.relative_stderr:.2g}"
        if ev.status == "undecidable":
            text = (f"{mark} {behavior}: {ev.reason}; {ev.metric} {_fmt(ev.clean, '.4g')} → "
                    f"{_fmt(ev.ablated, '.4g')} (effect {_fmt(ev.effect, '.3g')} ± "
                    f"{_fmt(ev.stderr, '.2g')})")
        else:
            text = (
                f"{mark} {behavior}: {ev.metric} {_fmt(ev.clean, '.4g')} → "
                f"{_fmt(ev.ablated, '.4g')}, relative {_fmt(ev.relative, '.3f')}{spread} "
                f"(effect {_fmt(ev.effect, '.3g')} ± {_fmt(ev.stderr, '.2g')})"
            )
        if ev.receivers:
            text += f", receivers {', '.join(ev.receivers)}"
        if ev.group is not None:
            group = ev.group
            text += (f"; with {_members(group.heads)} together: relative "
                     f"{_fmt(group.relative, '.3f')} "
                     f"{CONFIRMED_MARK if group.confirmed else UNCONFIRMED_MARK}"
                     + (", adds nothing" if group.adds is False else ""))
        if ev.note:
            text += f" [{ev.note}]"
        lines.append(text)
    return lines


def _marks(c: Classification, h: HeadClass) -> list[str]:
    """The labels of the measures that mark ``h`` (e.g. ``sink (measure)``), each followed
    by its check's mark where the measure has a check (``sink (measure), no-op sink ✓``)."""
    marks = []
    for m in c.measures:
        if not (m.label and m.passes(h.measures.get(m.name))):
            continue
        evidence = h.checks.get(m.name)
        if m.check_claim and evidence is not None:
            marks.append(f"{m.label}, {m.check_claim} {_check_mark(evidence)}")
        else:
            marks.append(m.label)
    return marks


def _check_mark(evidence: Evidence) -> str:
    return {"confirmed": CONFIRMED_MARK, "confirmed together": f"{CONFIRMED_MARK} (together)",
            "refuted": UNCONFIRMED_MARK}.get(standing(evidence), "(undecided)")


def _check_lines(evidence: Evidence) -> list[str]:
    """A measure check's verdict and numbers for a head's panel."""
    status = standing(evidence)
    words = {"undecidable": "undecided"}.get(status, status)
    lines = [f"{words} ({evidence.method}): {evidence.reason}",
             f"metric {evidence.metric}: effect {_fmt(evidence.effect, '.4g')} ± "
             f"{_fmt(evidence.stderr, '.2g')} (stderr), relative "
             f"{_fmt(evidence.relative, '.3f')} (effect / scale, scale "
             f"{_fmt(evidence.scale, '.4g')})"]
    if evidence.note:
        lines.append(evidence.note)
    if evidence.group is not None:
        lines.append(_group_line(evidence))
    return lines


def _with_marks(classes: str, marks: list[str]) -> str:
    if not marks:
        return classes
    return ", ".join(marks) if classes == "—" else f"{classes}, {', '.join(marks)}"


def _classes_plain(h: HeadClass) -> str:
    if not h.classes:
        return "—"
    return ", ".join(
        f"{b} {CONFIRMED_MARK if b in h.confirmed_classes else UNCONFIRMED_MARK}"
        for b in h.classes
    )


def _score_triple(h: HeadClass, behavior: str) -> str:
    return " / ".join(
        _fmt(d.get(behavior), ".3f") for d in (h.scores, h.nulls, h.lifts)
    )


def _text_scores(c: Classification) -> dict | None:
    """Each head's lift on the user's text next to its lift on [BOS] r r."""
    text = c.text_scores or {}
    if not text.get("heads"):
        return None
    behaviors = [b for b in c.behavior_names if not c.is_control(b)]
    rows = []
    for h in c.heads:
        entry = text["heads"].get(h.label, {})
        values = []
        for b in behaviors:
            values += [_fmt(entry.get(b, {}).get("lift"), ".2f"), _fmt(h.lifts.get(b), ".2f")]
        rows.append({"label": h.label, "cells": values})
    stimuli = text.get("stimuli", {})
    return {"behaviors": behaviors, "rows": rows, "n_seqs": stimuli.get("n_seqs", "?"),
            "n_pos": stimuli.get("n_pos", "?")}


def _baseline_rows(c: Classification) -> list[tuple[str, str]]:
    b = c.baseline
    if not b:
        return []
    rows = [(str(k).replace("_", " "), _fmt(v, ".4f")) for k, v in b.items()]
    first = finite_or_none(b.get("first_copy_loss"))
    second = finite_or_none(b.get("second_copy_loss"))
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
    text += f"; {c.stimuli_text()}, {s.get('method', '?')} ablation, seed {s.get('seed', '?')}."
    return text


def _legend() -> str:
    return (
        f"Classes: {CONFIRMED_MARK} confirmed by ablation (alone, or together with its group), "
        f"{UNCONFIRMED_MARK} candidate the ablation did not confirm. Per behavior: score / "
        "null / lift (the classed ones highlighted; the page shows the score, the null and "
        "lift on demand and on hover). Evidence: the ablation metric, its value "
        "clean → ablated, and the relative effect (1 = the behavior fully removed). Loss "
        "effect: second-copy loss change (nats) when the head alone is ablated."
    )


#: The guide's general entries, after each behavior's and measure's own. ``{field}`` is the
#: value of that :class:`~interp.pipeline.classify.ClassifySettings` field recorded in the
#: result, so the rules read as the thresholds the classifier ran with.
_GUIDE = (
    ("Score (0..1).", (
        "The attention mass a head puts on a query's targets (as each behavior defines "
        "them above), averaged over the queries that have a target, then over sequences. "
        "BOS and the query itself are never targets of the behaviors."
    )),
    ("Null (0..1).", (
        "The mass the head would put on the targets if they were no more attractive than "
        "the other eligible keys, measured on the same attention pattern. A head that "
        "attends uniformly scores exactly its null; only the score above it means anything."
    )),
    ("Lift (−1..1).", (
        "(score − null) / (1 − null): the share of the attention that could move onto the "
        "targets beyond chance that does."
    )),
    ("Candidate class.", (
        "A head is classed as a behavior when its lift is at least {min_lift} and its score "
        "beats its null by more than {z} standard errors over sequences. Behaviors with a "
        "positional control must also lose at least {shortcut_loss} of that gap on [BOS] r s "
        "sequences without repeats (same positions): a head that keeps attending there "
        "without repeats is a positional shortcut."
    )),
    ("Confirmation.", (
        "Each class is tested by ablating the head ({method} ablation) as its "
        "behavior says. The relative effect is what is lost as a share of what the behavior "
        "achieves at all (1 = fully removed); it must reach {min_effect} and the effect must "
        "exceed {z_effect} standard errors. A class the ablation does not support stays in "
        "the report, marked unconfirmed."
    )),
    ("Cannot confirm.", (
        "When the stimuli give the ablation nothing to measure (no drop from first- to "
        "second-copy loss, a probe at chance, receivers without the behavior), the class is "
        "neither confirmed nor refuted: the report says so, with the absolute effect."
    )),
    ("Relative effects outside 0..1.", (
        "Above 1 the ablation removed more than the behavior achieves (the heads also do "
        "other work the metric sees); below 0 the model did better without the heads."
    )),
    ("Group ablations.", (
        "Heads sharing a class are also ablated together. Redundancy is confirmed only when "
        "together they do clearly more than the strongest member alone; a member whose "
        "removal from the group changes nothing adds nothing and stays unconfirmed. The group "
        "is ablated without a member only where that can confirm it: when redundancy is "
        "confirmed and the member is unconfirmed alone."
    )),
    ("Weights.", (
        "Evidence read from the weights alone, with no input. OV copying (−1..1): near 1, "
        "attending to a token raises that token's logit; near 0, no consistent effect. "
        "Feeders: the heads whose output this head's queries, keys or values read "
        "(composition), by how far it exceeds that of random weights."
    )),
)


def _guide(c: Classification) -> list[tuple[str, str]]:
    """How to read the report: each behavior's and measure's own description (as recorded),
    then :data:`_GUIDE` with the recorded settings filled in (``?`` where one is missing)."""
    guide = []
    for info in (c.behavior(name) for name in c.behavior_names):
        kind = "Control" if info.kind == "control" else "Behavior"
        text = info.description
        if info.confirmation:
            text += f" Confirmation: {info.confirmation}."
        if info.positional_control:
            text += " Checked against the no-repeat positional control."
        guide.append((f"{kind} {info.name}.", text))
    for m in c.measures:
        text = m.description
        if m.threshold is not None:
            text += f" Heads with {m.rule()} are listed as {m.label}: evidence, not a class."
        if m.check:
            text += (f" Each is put to a check, {m.check_claim}: {m.check} Decided like the "
                     "ablations (confirmed, refuted, or undecided).")
        if m.note:
            text += f" ({m.note}.)"
        guide.append((f"Measure {m.name}.", text))
    lose = 1.0 - POSITIONAL_SHORTCUT_SHARE  # the share of its gap a head must lose
    constants = {"shortcut_loss": "half" if lose == 0.5 else f"{lose:.0%}"}
    for title, text in _GUIDE:
        fields = {name for _, name, _, _ in Formatter().parse(text) if name}
        guide.append((title, text.format_map(
            {name: constants[name] if name in constants
             else _value_text(c.settings.get(name, "?")) for name in fields})))
    return guide


def _large(c: Classification) -> bool:
    """Whether the model has more heads than a page shows in full (:data:`LARGE_GRID`)."""
    return len(c.heads) > LARGE_GRID


def _ranked(c: Classification, labels: list[str], behavior: str) -> list[dict]:
    """Heads strongest first (by their lift for ``behavior``), each with its lift."""
    def lift(label: str) -> float:
        value = finite_or_none(c.head(label).lifts.get(behavior))
        return -math.inf if value is None else value

    return [{"label": label, "value": _fmt(c.head(label).lifts.get(behavior), ".2f")}
            for label in sorted(labels, key=lambda h: -lift(h))]


def _summary_view(c: Classification) -> dict:
    """The page's summary: what holds, first and short; the rest one click away.

    - ``classes``: per behavior with a confirmed head (registry order) the count, the
      :data:`SUMMARY_STRONGEST` strongest heads (by lift) and the rest (``more``), its
      unconfirmed and undecided candidates;
    - ``findings``: per marking measure that marks a head, one line (a count and the
      strongest, not every head: 160 sinks are a finding about the model);
    - ``groups``: the group ablations that show something
      (:meth:`Classification.group_shows`);
    - ``rest``: behaviors whose candidates all failed, behaviors with no candidate, the
      other groups (folded away).
    """
    classes, failed, nothing = [], [], []
    for b in c.behavior_names:
        if c.is_control(b):
            continue
        candidates = c.heads_with(b)
        if not candidates:
            nothing.append(b)
            continue
        confirmed = c.heads_with(b, confirmed=True)
        ranked = _ranked(c, confirmed, b)
        undecided = c.heads_with(b, status="undecidable")
        entry = {
            "name": b, "count": len(confirmed),
            "together": len(c.heads_with(b, status="confirmed together")),
            "top": ranked[:SUMMARY_STRONGEST], "more": [r["label"] for r in
                                                         ranked[SUMMARY_STRONGEST:]],
            "unconfirmed": [r["label"] for r in _ranked(
                c, c.heads_with(b, status=("refuted", "not tested")), b)],
            "undecided": undecided,
            "reason": c.head(undecided[0]).ablation[b].reason if undecided else "",
        }
        (classes if confirmed else failed).append(entry)
    findings, notes = [], []
    for m in c.measures:
        if m.threshold is None:
            continue
        if m.note:
            notes.append(f"{m.name}: {m.note}")
            continue
        heads = c.marked_by(m.name)
        if not heads:
            continue
        findings.append({
            "label": m.label or m.name, "count": len(heads), "of": len(c.heads),
            "share": f"{len(heads) / max(len(c.heads), 1):.0%}",
            "checks": _check_counts(c, m, heads).removeprefix(", "),
            "top": [{"label": h, "value": _fmt(c.head(h).measures[m.name], ".2f")}
                    for h in heads[:SUMMARY_STRONGEST]],
            "more": heads[SUMMARY_STRONGEST:], "rule": m.rule(),
        })
    groups, other_groups = [], []
    for g in c.groups:
        entry = {
            "behavior": g.behavior, "heads": list(g.heads), "n": len(g.heads),
            "relative": _fmt(g.relative, ".2f"), "note": g.together.note or "",
            "alone": _fmt(g.alone.get(g.strongest), ".2f"), "strongest": g.strongest,
            "verdict": "redundancy confirmed" if g.confirmed else "no redundancy shown",
            "idle": [h for h in g.heads if g.adds.get(h) is False],
        }
        (groups if c.group_shows(g) else other_groups).append(entry)
    return {"classes": classes, "findings": findings, "groups": groups,
            "failed": failed, "nothing": nothing, "other_groups": other_groups,
            "notes": notes, "has_rest": bool(failed or nothing or other_groups or notes)}


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


def _fmt(value: Any, spec: str) -> str:
    """Format a number; ``n/a`` for None and NaN."""
    if value is None:
        return _NA
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if math.isnan(value):
        return _NA
    return format(value, spec)
