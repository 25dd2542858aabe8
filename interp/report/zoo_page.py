"""The comparison page of a model zoo: which heads of which model hold which class.

:func:`zoo_document` arranges the classifications of several models (each from
:func:`interp.classify_heads`) into one JSON-safe document; :func:`render_zoo_html` renders
it with the Jinja2 template ``interp/report/templates/zoo.html.j2`` (autoescaped: model names and
error messages are text, never markup), and :func:`write_zoo` writes ``zoo.json`` and
``zoo.html``. Reporting code: it reads results, never models. The same results give the
same bytes.

The page has one column per model and one row per behavior; a cell lists the heads classed
with that behavior, confirmed ones (an ablation that could refute the class did not) plain
and unconfirmed ones marked ``?``. Below, each model's heads as a layer x head grid, and a
link to its full report: ``<label>/report.html``, a relative path the template builds from
the label, which is a plain file name (:mod:`interp.io.labels`: no ``/``, no ``:``, so no
URL scheme); a page is never rendered with any other label.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..io.jsonsafe import finite_or_none
from ..io.labels import check_label
from ..io.output_files import ZOO_FILES, write_set
from .pages import asset, render_page

TEMPLATE = "zoo.html.j2"


def zoo_document(
    models: Mapping[str, Any],
    *,
    failed: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
) -> dict:
    """The comparison as a JSON-safe dict.

    Args:
        models: label -> :class:`interp.Classification`, in display order.
        failed: label -> error message of the models that could not be classified.
        sources: label -> what the model was loaded from.

    Returns:
        ``{"behaviors": [...], "models": [{"label", "source", "name", "n_layers",
        "n_heads", "report", "first_copy_loss", "second_copy_loss", "classes": {behavior:
        {"confirmed": [heads], "unconfirmed": [heads]}}, "heads": {"L.H": [classes]}}],
        "failed": [{"label", "source", "error"}]}``.
    """
    sources = dict(sources or {})
    behaviors: list[str] = []
    for c in models.values():
        behaviors += [b for b in c.behavior_names if not c.is_control(b) and b not in behaviors]
    rows = []
    for label, c in models.items():
        baseline = dict(c.baseline)
        rows.append({
            "label": label,
            "source": sources.get(label, label),
            "name": c.model.get("name"),
            "n_layers": int(c.model.get("n_layers", 0)),
            "n_heads": int(c.model.get("n_heads", 0)),
            "report": f"{label}/report.html",
            "first_copy_loss": finite_or_none(baseline.get("first_copy_loss")),
            "second_copy_loss": finite_or_none(baseline.get("second_copy_loss")),
            "classes": {b: {"confirmed": c.heads_with(b, confirmed=True),
                            "unconfirmed": c.heads_with(b, confirmed=False)}
                        for b in behaviors},
            "heads": {h.label: [b for b in behaviors if b in h.classes] for h in c.heads},
        })
    return {
        "behaviors": behaviors,
        "models": rows,
        "failed": [{"label": k, "source": sources.get(k, k), "error": v}
                   for k, v in (failed or {}).items()],
    }


def render_zoo_html(document: dict) -> str:
    """The comparison page (self-contained HTML, no scripts) of a :func:`zoo_document`.

    Raises:
        ValueError: a model's label is not a plain file name (its link could point
            elsewhere).
    """
    for model in document["models"]:
        check_label(model["label"])
    grids = {m["label"]: _grid(m) for m in document["models"]}
    tags = {b: _tag(b) for b in document["behaviors"]}
    colors = {b: f"t{i % 6}" for i, b in enumerate(document["behaviors"])}
    return render_page(TEMPLATE, css=asset("report.css") + asset("zoo.css"), doc=document,
                       grids=grids, tags=tags, colors=colors)


def _tag(behavior: str) -> str:
    """A short tag for the head grids: the initials of the behavior's name (``I``, ``PT``)."""
    return "".join(part[:1] for part in behavior.split("_")).upper()


def write_zoo(
    models: Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    failed: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Write ``zoo.json`` and ``zoo.html`` into ``out_dir`` (both rendered first, each
    written atomically). Returns ``{"json": path, "html": path}``."""
    document = zoo_document(models, failed=failed, sources=sources)
    texts = {"json": json.dumps(document, indent=2, sort_keys=True) + "\n",
             "html": render_zoo_html(document)}
    return write_set(out_dir, ZOO_FILES, texts)


def _grid(model: dict) -> list[list[list[dict]]]:
    """``[layer][head]`` -> the head's classes, each ``{"behavior", "confirmed"}`` (an
    unconfirmed class is marked ``?`` on the page, as in the table above it)."""
    confirmed = {b: set(c.get("confirmed", ())) for b, c in model.get("classes", {}).items()}
    grid = []
    for layer in range(model["n_layers"]):
        row = []
        for head in range(model["n_heads"]):
            label = f"{layer}.{head}"
            row.append([{"behavior": b, "confirmed": label in confirmed.get(b, ())}
                        for b in model["heads"].get(label, [])])
        grid.append(row)
    return grid
