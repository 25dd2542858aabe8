"""The circuit page: ``circuit.html`` (a plotly graph, offline), ``circuit.md`` and
``circuit.json`` from a :class:`interp.results.circuit.Circuit`.

The graph puts the nodes in ranks by layer (``embed`` left, ``logits`` right, each layer's
heads in a column, its MLP below them); an edge is drawn when path patching confirmed it,
and the strongest unconfirmed ones are drawn faint and dotted. Width follows the
path-patching effect relative to its scale (the attribution score where unchecked), colour
the input it enters (``q``, ``k``, ``v``, ``out``); hovering an edge's midpoint shows its
evidence. Reporting code: it reads results, never models; the same circuit gives the
same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ..io.output_files import CIRCUIT_FILES, write_set
from ..results.circuit import Circuit, CircuitEdge
from .pages import asset, figure_divs, render_page

#: Colour of each input an edge enters.
INPUT_COLORS = {"q": "#1f77b4", "k": "#d62728", "v": "#2ca02c", "out": "#7f7f7f"}
#: Unconfirmed edges drawn faint, at most this many (largest ``|score|`` first).
FAINT_EDGES = 12
TEMPLATE = "plotly_white"


def _position(label: str, n_layers: int, n_heads: int) -> tuple[float, float]:
    """(x, y) of a node: x the rank (embed 0, layer L at L + 1, logits last)."""
    middle = (n_heads - 1) / 2
    if label == "embed":
        return 0.0, middle
    if label == "logits":
        return float(n_layers + 1), middle
    if label.startswith("mlp."):
        return int(label.split(".")[1]) + 1.35, -1.0
    layer, head = (int(x) for x in label.split("."))
    return float(layer + 1), float(head)


def _width(edge: CircuitEdge) -> float:
    size = edge.relative if edge.relative is not None else edge.score
    return 1.0 + 7.0 * min(abs(size or 0.0), 1.0)


def _hover(edge: CircuitEdge) -> str:
    text = (f"{edge.source} → {edge.target} [{edge.input}]<br>score {edge.score:.4g}"
            f"<br>metric {edge.metric}<br>{edge.status}")
    if edge.effect is not None:
        text += f": effect {edge.effect:.4g} ± {edge.stderr:.2g}"
    if edge.relative is not None:
        text += f" (relative {edge.relative:.3g})"
    return text


def drawn_edges(circuit: Circuit) -> list[CircuitEdge]:
    """The confirmed edges, then the :data:`FAINT_EDGES` strongest others."""
    others = sorted((e for e in circuit.edges if e.status != "confirmed"),
                    key=lambda e: (-abs(e.score), e.key))
    return circuit.confirmed + others[:FAINT_EDGES]


def circuit_figure(circuit: Circuit) -> go.Figure:
    """The circuit as a graph (module docstring)."""
    n_layers, n_heads = int(circuit.model["n_layers"]), int(circuit.model["n_heads"])
    nodes = {"embed", "logits"} | set(circuit.receivers)
    edges = drawn_edges(circuit)
    for e in edges:
        nodes |= {e.source, e.target}
    fig = go.Figure()
    shown: set[str] = set()
    mid_x, mid_y, mid_text, mid_color = [], [], [], []
    for e in edges:
        (x0, y0), (x1, y1) = (_position(e.source, n_layers, n_heads),
                              _position(e.target, n_layers, n_heads))
        strong = e.status == "confirmed"
        fig.add_trace(go.Scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip",
            line={"color": INPUT_COLORS[e.input], "width": _width(e) if strong else 1.0,
                  "dash": "solid" if strong else "dot"},
            opacity=0.9 if strong else 0.35, legendgroup=e.input,
            name=f"into {e.input}", showlegend=strong and e.input not in shown,
        ))
        if strong:
            shown.add(e.input)
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        mid_text.append(_hover(e))
        mid_color.append(INPUT_COLORS[e.input])
    fig.add_trace(go.Scatter(x=mid_x, y=mid_y, mode="markers", hovertext=mid_text,
                             hoverinfo="text", marker={"size": 7, "color": mid_color},
                             showlegend=False, name="edges"))
    ordered = sorted(nodes, key=lambda n: _position(n, n_layers, n_heads))
    xy = [_position(n, n_layers, n_heads) for n in ordered]
    fig.add_trace(go.Scatter(
        x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers+text", text=ordered,
        textposition="top center", showlegend=False, name="nodes",
        hovertext=[f"{n}: {circuit.receivers[n]}" if n in circuit.receivers else n
                   for n in ordered], hoverinfo="text",
        marker={"size": 18, "color": ["#ffbf00" if n in circuit.receivers else "#dddddd"
                                      for n in ordered], "line": {"width": 1, "color": "#333"}},
    ))
    ticks = ["embed"] + [f"layer {i}" for i in range(n_layers)] + ["logits"]
    fig.update_layout(
        template=TEMPLATE, height=max(360, 70 * (n_heads + 2)),
        xaxis={"tickvals": list(range(n_layers + 2)), "ticktext": ticks, "showgrid": False,
               "zeroline": False},
        yaxis={"visible": False, "autorange": "reversed"},
        legend={"title": {"text": "edge enters"}}, margin={"l": 20, "r": 20, "t": 30, "b": 30},
    )
    return fig


def _rows(circuit: Circuit) -> list[dict[str, Any]]:
    def num(value: float | None, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    return [{"source": e.source, "target": e.target, "input": e.input,
             "score": num(e.score, ".4g"), "effect": num(e.effect, ".4g"),
             "stderr": num(e.stderr, ".2g"), "relative": num(e.relative, ".3g"),
             "status": e.status, "metric": e.metric, "reason": e.reason}
            for e in circuit.edges]


def _context(circuit: Circuit) -> dict[str, Any]:
    counts = {s: len(circuit.with_status(s)) for s in
              ("confirmed", "refuted", "undecidable", "unchecked")}
    return {"circuit": circuit, "rows": _rows(circuit), "counts": counts,
            "confirmed": [r for r in _rows(circuit) if r["status"] == "confirmed"],
            "settings": json.dumps(circuit.settings, sort_keys=True)}


def render_circuit_html(circuit: Circuit) -> str:
    """``circuit.html``: the graph (plotly.js inlined, offline) and the edge table."""
    (figure,) = figure_divs([("interp-circuit-graph", circuit_figure(circuit))]).values()
    return render_page("circuit.html.j2", css=asset("report.css"), figure=figure,
                       **_context(circuit))


def render_circuit_markdown(circuit: Circuit) -> str:
    """``circuit.md``: the confirmed edges and the full edge table."""
    return render_page("circuit.md.j2", **_context(circuit))


def circuit_texts(circuit: Circuit) -> dict[str, str]:
    """The documents of the circuit set (:data:`CIRCUIT_FILES`): ``{"json", "html",
    "markdown"}`` -> text, as :func:`write_circuit` writes them."""
    return {"json": json.dumps(circuit.to_dict(), indent=2, allow_nan=False) + "\n",
            "html": render_circuit_html(circuit),
            "markdown": render_circuit_markdown(circuit)}


def write_circuit(circuit: Circuit, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``circuit.json``, ``circuit.html`` and ``circuit.md`` into ``out_dir`` (all
    rendered first, each written atomically, the JSON last with the set's run record).
    Returns ``{"json", "html", "markdown"}`` -> path."""
    return write_set(out_dir, CIRCUIT_FILES, circuit_texts(circuit))
