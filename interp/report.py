"""Write a head census to disk: an offline HTML page, the JSON document and Markdown.

:func:`write_report` renders a :class:`~interp.classify.Classification` three ways and
writes them into one directory:

- ``report.html``: one self-contained page that works offline (plotly.js is inlined once;
  no script, style or font is fetched): model and settings, baseline losses, the summary,
  the score heatmaps, the classification table, the ablation effects, the loss effect of
  each head, the group ablations and a short guide to reading it all;
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

from .plots import (
    CONFIRMED_MARK,
    UNCONFIRMED_MARK,
    _behaviors,
    ablation_effects,
    loss_effect_heatmap,
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

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
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
    """The report as one self-contained, offline HTML page.

    plotly.js is inlined once (with the first figure); every other figure reuses it. Plot
    ``div`` ids are fixed, so the page is byte-identical for the same result.

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
    figures = _figure_divs([
        ("interp-scores", scores_heatmaps(c)),
        ("interp-ablation-effects", ablation_effects(c)),
        ("interp-loss-effect", loss_effect_heatmap(c)),
    ])
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
                ("setup", "settings"), ("summary", "summary"), ("scores", "scores"),
                ("heads", "heads"), ("ablations", "ablations"), ("loss", "loss effects"),
                ("groups", "groups"), ("guide", "how to read this"),
            )
        ) + "</nav>",
        '<section id="setup"><h2>Model and settings</h2>',
        _kv_table("model", c.model),
        _kv_table("settings", c.settings),
        "</section>",
        '<section id="baseline"><h2>Baseline</h2>',
    ]
    baseline = _baseline_rows(c)
    if baseline:
        parts.append(
            '<table class="kv"><tr><th></th><th>loss (nats)</th></tr>'
            + "".join(f'<tr><th>{e(k)}</th><td class="num">{e(v)}</td></tr>'
                      for k, v in baseline)
            + "</table>"
        )
    else:
        parts.append("<p>Not recorded.</p>")
    parts += [
        "</section>",
        f'<section id="summary"><h2>Summary</h2><pre>{e(_summary(c))}</pre></section>',
        '<section id="scores"><h2>Scores</h2>',
        "<p>Score of every head for each behavior (layer down, head across). "
        f"{e(CONFIRMED_MARK)}: classed and confirmed by ablation; {e(UNCONFIRMED_MARK)}: "
        "classed but not confirmed. Hover a cell for the exact score, null, lift and "
        "standard error.</p>",
        figures["interp-scores"],
        "</section>",
        '<section id="heads"><h2>Classification</h2>',
        f"<p>{e(_legend())}</p>",
        _heads_table(c, behaviors),
        "</section>",
        '<section id="ablations"><h2>Ablation effects</h2>',
        "<p>Relative effect of ablating each classified head alone on the metric that "
        "tests its class, with one standard error.</p>",
        figures["interp-ablation-effects"],
        "</section>",
        '<section id="loss"><h2>Loss effect of each head</h2>',
        "<p>Change of the second-copy loss when the head alone is ablated (positive: the "
        "head helped copy).</p>",
        figures["interp-loss-effect"],
        "</section>",
        '<section id="groups"><h2>Group ablations</h2>',
        _groups_table(c),
        "</section>",
        '<section id="guide"><h2>How to read this</h2>',
    ]
    parts += [f"<p><b>{e(title)}</b> {e(text)}</p>" for title, text in _guide(c)]
    parts += [
        "</section>",
        "<footer>Written by interp.report. The same data, with full precision, is in "
        "report.json.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(classification: Classification, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``report.html``, ``report.json`` and ``report.md`` into ``out_dir``.

    Everything is rendered before anything is written; each file is then written under a
    temporary name in ``out_dir`` and renamed into place. On failure the temporary files
    (and a directory this call created) are removed, and a failure before the renames
    leaves any earlier report in ``out_dir`` as it was.

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
    created = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for key, text in documents.items():
            temp = out / f".{REPORT_FILES[key]}.{os.getpid()}.tmp"
            temps[key] = temp
            with open(temp, "wb") as fh:
                fh.write(text.encode("utf-8"))
        paths = {}
        for key, temp in temps.items():
            paths[key] = out / REPORT_FILES[key]
            os.replace(temp, paths[key])
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        for path in created:  # deepest first
            try:
                path.rmdir()
            except OSError:
                break
        raise
    return paths


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
    e = _esc
    head = ['<table class="heads">', "<thead><tr>",
            '<th rowspan="2">head</th><th rowspan="2">classes</th>']
    head += [f'<th colspan="3">{e(b)}</th>' for b in behaviors]
    head += ['<th rowspan="2">ablation evidence<br>(metric: clean → ablated, relative '
             'effect)</th>', '<th rowspan="2">loss effect</th>', "</tr><tr>"]
    head += ["<th>score</th><th>null</th><th>lift</th>" for _ in behaviors]
    head += ["</tr></thead>", "<tbody>"]
    rows = []
    for h in c.heads:
        cells = [f"<th>{e(h.head)}</th>", f"<td>{_classes_html(h)}</td>"]
        for b in behaviors:
            cls = "num cls" if b in h.classes else "num"
            cells += [
                f'<td class="{cls}">{e(_fmt(h.scores.get(b), ".3f"))}</td>',
                f'<td class="num">{e(_fmt(h.nulls.get(b), ".3f"))}</td>',
                f'<td class="num">{e(_fmt(h.lifts.get(b), ".3f"))}</td>',
            ]
        cells.append("<td>" + "<br>".join(e(line) for line in _evidence_lines(h)) + "</td>")
        cells.append(f'<td class="num">{e(_fmt(h.loss_effect, ".4f"))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(head) + "\n" + "\n".join(rows) + "\n</tbody></table>"


def _groups_table(c: Classification) -> str:
    if not c.groups:
        return "<p>No behavior had two or more heads, so no group was ablated.</p>"
    e = _esc
    header = ("behavior", "heads", "metric", "clean → ablated", "effect ± stderr",
              "relative", "confirmed")
    rows = [
        "<tr>" + "".join(
            f'<td class="{"num" if i in (3, 4, 5) else ""}">{e(x)}</td>'
            for i, x in enumerate(_group_cells(g))
        ) + "</tr>"
        for g in c.groups
    ]
    return ("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header)
            + "</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


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
        text = (
            f"{mark} {behavior}: {ev.get('metric', '?')} "
            f"{_fmt(ev.get('clean'), '.4g')} → {_fmt(ev.get('ablated'), '.4g')}, "
            f"relative {_fmt(ev.get('relative'), '.3f')} "
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
        f'<span class="ok">{_esc(b)} {CONFIRMED_MARK}</span>' if _confirmed(h, b)
        else f'<span class="no">{_esc(b)} {UNCONFIRMED_MARK}</span>'
        for b in h.classes
    )


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
    return [
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
         f"beats its null by more than {z} standard errors over sequences."),
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
    ]


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
