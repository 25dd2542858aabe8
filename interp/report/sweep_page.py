"""Figures and the HTML page of a checkpoint sweep (:class:`interp.results.checkpoints.CheckpointSweep`).

:func:`checkpoint_curves` takes a sweep and returns a ``plotly.graph_objects.Figure``; it
arranges the recorded values and computes nothing else (the lift is the sweep's own). It
never calls ``.show()``. :func:`render_sweep_html` puts one figure per behavior into a
self-contained page (plotly.js inlined once, fixed ``div`` ids, so the same sweep gives
the same bytes), and :func:`write_sweep` writes it with ``sweep.json``.

Plotly is used only here, in :mod:`interp.report.plots` and in :mod:`interp.report.head_report`.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..io.jsonsafe import finite_or_none
from ..io.output_files import SWEEP_FILES, write_set
from ..results.checkpoints import CheckpointSweep
from ..spec.behaviors import registered_behaviors
from .pages import asset, figure_divs, render_page

#: Template named by every figure (output does not depend on the global default).
TEMPLATE = "plotly_white"


#: One colour per layer (cycled); heads of a layer share it, told apart by dash.
LAYER_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


FIRST_COPY_COLOR = "#7f7f7f"


SECOND_COPY_COLOR = "#000000"


STATS = ("value", "lift")


def checkpoint_curves(sweep: CheckpointSweep, behavior: str, *, stat: str = "value") -> go.Figure:
    """A line per head: its ``behavior`` score against the training step; below, the copy
    losses against the step.

    Args:
        sweep: the scored checkpoints.
        behavior: one of ``sweep.behaviors``.
        stat: ``"value"`` (the score, 0..1) or ``"lift"`` (``(score - null) / (1 -
            null)``, -1..1).

    Returns:
        A figure with two rows sharing the x axis (step): row 1 one ``Scatter`` per head,
        named ``"L.H"``, coloured by layer; row 2 the first- and second-copy losses.

    Raises:
        KeyError: ``behavior`` was not scored.
        ValueError: unknown ``stat``.

    Example:
        >>> fig = checkpoint_curves(sweep, "induction")  # doctest: +SKIP
    """
    if behavior not in sweep.scores:
        raise KeyError(f"unknown behavior {behavior!r}; scored: {list(sweep.behaviors)}")
    if stat not in STATS:
        raise ValueError(f"stat must be one of {STATS}, got {stat!r}")
    values = sweep.scores[behavior] if stat == "value" else sweep.lift(behavior)  # (C, L, H)
    nulls = sweep.nulls[behavior]  # (C, L, H)
    steps = list(sweep.steps)
    name = html.escape(behavior.replace("_", "-"))
    y_title = f"{name} score" if stat == "value" else f"{name} lift"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32],
                        vertical_spacing=0.06)
    for layer in range(sweep.n_layers):
        for head in range(sweep.n_heads):
            label = f"{layer}.{head}"
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=[finite_or_none(v) for v in values[:, layer, head].tolist()],
                    customdata=[[html.escape(c), finite_or_none(n)] for c, n in
                                zip(sweep.labels, nulls[:, layer, head].tolist())],
                    name=label,
                    legendgroup=f"layer {layer}",
                    legendgrouptitle={"text": f"layer {layer}"} if head == 0 else None,
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": LAYER_COLORS[layer % len(LAYER_COLORS)],
                          "dash": DASHES[head % len(DASHES)], "width": 1.5},
                    hovertemplate=(f"head {label}<br>step %{{x}} (%{{customdata[0]}})"
                                   f"<br>{stat} %{{y:.3f}}<br>null %{{customdata[1]:.3f}}"
                                   "<extra></extra>"),
                ),
                row=1, col=1,
            )
    for text, losses, color in (
        ("first-copy loss", sweep.first_copy_loss, FIRST_COPY_COLOR),
        ("second-copy loss", sweep.second_copy_loss, SECOND_COPY_COLOR),
    ):
        fig.add_trace(
            go.Scatter(
                x=steps, y=[finite_or_none(v) for v in losses.tolist()], name=text,
                legendgroup="loss", legendgrouptitle={"text": "loss"}, mode="lines+markers",
                marker={"size": 4}, line={"color": color, "width": 2},
                hovertemplate=f"{text}<br>step %{{x}}<br>%{{y:.3f}} nats<extra></extra>",
            ),
            row=2, col=1,
        )
    fig.update_yaxes(title_text=y_title, row=1, col=1,
                     range=[0, 1] if stat == "value" else [-1, 1])
    fig.update_yaxes(title_text="loss (nats)", row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": f"{name} {'score' if stat == 'value' else 'lift'} across checkpoints"},
        height=560,
        margin={"t": 60, "b": 50},
        hovermode="closest",
    )
    return fig


ICL_COLOR = "#d62728"


PREFIX_COLOR = "#1f77b4"


#: Colours of the behaviors' curves on repeated held-out text (cycled, registry order).
TEXT_COLORS = ("#9467bd", "#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#17becf")


def measure_curves(sweep: CheckpointSweep, name: str) -> go.Figure:
    """Every head's value of one per-head measure (:mod:`interp.spec.measures`) at every
    checkpoint, one line per head (colour by layer, dash by head).

    Raises:
        KeyError: the sweep did not record ``name``.
    """
    if name not in sweep.measures:
        raise KeyError(f"unknown measure {name!r}; recorded: {list(sweep.measures)}")
    values = sweep.measures[name]  # (C, L, H)
    title = html.escape(name.replace("_", " "))
    fig = go.Figure()
    for layer in range(sweep.n_layers):
        for head in range(sweep.n_heads):
            label = f"{layer}.{head}"
            fig.add_trace(go.Scatter(
                x=list(sweep.steps), y=[finite_or_none(v) for v in values[:, layer, head].tolist()],
                name=label, legendgroup=f"layer {layer}", mode="lines+markers",
                marker={"size": 4},
                line={"color": LAYER_COLORS[layer % len(LAYER_COLORS)],
                      "dash": DASHES[head % len(DASHES)], "width": 1.5},
                hovertemplate=f"head {label}<br>step %{{x}}<br>{title} %{{y:.3f}}<extra></extra>",
            ))
    fig.update_layout(template=TEMPLATE, title={"text": f"{title} across checkpoints"},
                      height=380, margin={"t": 60, "b": 50}, hovermode="closest",
                      xaxis_title="step", yaxis_title=title)
    return fig


def _is_class(behavior: str) -> bool:
    """Whether a behavior can be a class (a control's curve is left out of the figure)."""
    known = {b.name: b for b in registered_behaviors()}
    return behavior not in known or known[behavior].is_class


def has_model_curves(sweep: CheckpointSweep) -> bool:
    """Whether the sweep measured any model-level curve (prefix matching, in-context score)."""
    return sweep.prefix_matching is not None or sweep.icl_score is not None


def model_curves(sweep: CheckpointSweep) -> go.Figure:
    """The induction phase change at a glance (Olsson et al. 2022): against the step, row 1
    the largest prefix-matching score over heads and, on repeated held-out text, the largest
    induction and previous-token scores (0..1); row 2 the in-context-learning score (nats);
    row 3 the held-out loss and the first- and second-copy losses on repeated held-out text.
    Curves the sweep did not measure are left out.

    Raises:
        ValueError: the sweep has no model-level curves.
    """
    if not has_model_curves(sweep):
        raise ValueError("this sweep measured no model-level curves (prefix matching or "
                         "in-context score)")
    steps = list(sweep.steps)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.4, 0.3, 0.3])

    def line(y, name, color, row, dash="solid", hover=""):
        fig.add_trace(go.Scatter(x=steps, y=[finite_or_none(v) for v in y], name=name,
                                 mode="lines+markers", marker={"size": 4},
                                 line={"color": color, "dash": dash, "width": 2},
                                 hovertemplate=f"{name}<br>step %{{x}}<br>%{{y:.3f}}{hover}"
                                               "<extra></extra>"),
                      row=row, col=1)

    if sweep.prefix_matching is not None:
        values = sweep.prefix_matching.flatten(1).nan_to_num(nan=0.0).amax(dim=1)  # (C,)
        line(values.tolist(), "prefix matching (max over heads)", PREFIX_COLOR, 1)
    classes = [b for b in sweep.text_scores if _is_class(b)]
    for i, behavior in enumerate(classes):
        values = sweep.text_scores[behavior].flatten(1).nan_to_num(nan=0.0).amax(dim=1)
        line(values.tolist(), f"{behavior.replace('_', '-')} on repeated text (max)",
             TEXT_COLORS[i % len(TEXT_COLORS)], 1, dash="dash")
    if sweep.icl_score is not None:
        icl = sweep.curves.get("icl", {})
        name = (f"in-context score (token {icl.get('late_token', '?')} - "
                f"{icl.get('early_token', '?')})")
        line(sweep.icl_score.tolist(), name, ICL_COLOR, 2, hover=" nats")
    for values, name, color, dash in (
        (sweep.heldout_loss, "held-out loss", "#8c564b", "solid"),
        (sweep.text_first_copy_loss, "repeated text: first copy", FIRST_COPY_COLOR, "solid"),
        (sweep.text_second_copy_loss, "repeated text: second copy", SECOND_COPY_COLOR, "dot"),
    ):
        if values is not None:
            line(values.tolist(), name, color, 3, dash=dash, hover=" nats")
    fig.update_yaxes(title_text="score", range=[0, 1], row=1, col=1)
    icl_range = [-0.5, 0.1]  # Olsson's models span about -0.15 .. -0.4: same scale for every run
    if sweep.icl_score is not None and torch.isfinite(sweep.icl_score).all():
        icl_range = [min(icl_range[0], float(sweep.icl_score.min()) - 0.05),
                     max(icl_range[1], float(sweep.icl_score.max()) + 0.05)]
    fig.update_yaxes(title_text="ICL score (nats)", range=icl_range, row=2, col=1)
    fig.update_yaxes(title_text="loss (nats)", row=3, col=1)
    fig.update_xaxes(title_text="step", row=3, col=1)
    fig.update_layout(template=TEMPLATE, height=720, margin={"t": 60, "b": 50},
                      title={"text": "Model-level curves: the induction phase change"},
                      hovermode="x unified")
    return fig


def _model_curves_context(sweep: CheckpointSweep, figure: Any) -> dict | None:
    """The model-level section of the sweep page (None when nothing was measured)."""
    if not has_model_curves(sweep):
        return None
    rows = sweep.model_curve_table()
    keys = [k for k in rows[0] if k not in ("checkpoint",) and not k.endswith("_head")
            or k == "prefix_matching_head"]
    cells = [[str(row[k]) if isinstance(row[k], str) or k == "step" else f"{row[k]:.3f}"
              for k in keys] for row in rows]
    return {"header": [k.replace("_", " ") for k in keys], "rows": cells, "figure": figure,
            "measured_on": json.dumps(sweep.curves, sort_keys=True)}


def render_sweep_html(sweep: CheckpointSweep) -> str:
    """The sweep as one self-contained, offline HTML page (template ``sweep.html.j2``): a
    summary table and, per behavior, :func:`checkpoint_curves`. The same sweep gives the
    same bytes.

    Example:
        >>> page = render_sweep_html(sweep)  # doctest: +SKIP
    """
    specs = [(f"interp-sweep-{b}", checkpoint_curves(sweep, b)) for b in sweep.behaviors]
    specs += [(f"interp-sweep-measure-{m}", measure_curves(sweep, m)) for m in sweep.measures]
    if has_model_curves(sweep):  # first: the page's plotly.js comes with the first figure
        specs.insert(0, ("interp-sweep-model-curves", model_curves(sweep)))
    divs = figure_divs(specs)
    model_figure = divs.pop("interp-sweep-model-curves", None)
    measure_divs = [divs.pop(f"interp-sweep-measure-{m}") for m in sweep.measures]
    header = ["step", "checkpoint", "first-copy loss", "second-copy loss"] + [
        f"best {b.replace('_', '-')} score (head)" for b in sweep.behaviors
    ]
    rows = []
    for c, row in enumerate(sweep.loss_table()):
        cells = [str(row["step"]), str(row["checkpoint"]), f"{row['first_copy_loss']:.3f}",
                 f"{row['second_copy_loss']:.3f}"]
        for b in sweep.behaviors:
            head, score = best_head(sweep, b, c)
            cells.append(f"{score:.2f} ({head})")
        rows.append(cells)
    rises = ["{}: step {} (head {}, lift {:+.2f})".format(b, *sweep.largest_rise(b))
             for b in sweep.behaviors]
    return render_page(
        "sweep.html.j2", css=asset("report.css"), n_checkpoints=sweep.n_checkpoints,
        n_layers=sweep.n_layers, n_heads=sweep.n_heads,
        stimuli=json.dumps(sweep.stimuli, sort_keys=True), rises=rises, header=header,
        rows=rows, figures=list(divs.values()), model=_model_curves_context(sweep, model_figure),
        measures=[{"name": m, "figure": f} for m, f in zip(sweep.measures, measure_divs)],
        failed=[f"{f['checkpoint']} ({f['source']}): {f['error']}" for f in sweep.failed],
    )


def best_head(sweep: CheckpointSweep, behavior: str, checkpoint: int) -> tuple[str, float]:
    """The head with the highest ``behavior`` score at one checkpoint, and that score."""
    values = sweep.scores[behavior][checkpoint].nan_to_num(nan=-1.0)  # (L, H)
    index = int(values.flatten().argmax())
    layer, head = divmod(index, sweep.n_heads)
    return f"{layer}.{head}", float(sweep.scores[behavior][checkpoint, layer, head])


def write_sweep(sweep: CheckpointSweep, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``sweep.json`` (:meth:`CheckpointSweep.to_dict`) and ``sweep.html`` into
    ``out_dir`` (created if missing; both rendered before either is written), as one set
    (:func:`interp.io.output_files.write_output_set`: safe temporaries, atomic renames,
    ``sweep.json`` last with the run id and the sha256 of ``sweep.html``).

    Returns:
        ``{"json": path, "html": path}``.
    """
    texts = {
        "json": json.dumps(sweep.to_dict(), indent=2, sort_keys=True) + "\n",
        "html": render_sweep_html(sweep),
    }
    return write_set(out_dir, SWEEP_FILES, texts)
