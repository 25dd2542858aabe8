"""Figures and the HTML page of a checkpoint sweep (:class:`interp.checkpoints.CheckpointSweep`).

:func:`checkpoint_curves` takes a sweep and returns a ``plotly.graph_objects.Figure``; it
arranges the recorded values and computes nothing else (the lift is the sweep's own). It
never calls ``.show()``. :func:`render_sweep_html` puts one figure per behavior into a
self-contained page (plotly.js inlined once, fixed ``div`` ids, so the same sweep gives
the same bytes), and :func:`write_sweep` writes it with ``sweep.json``.

Plotly is used only here, in :mod:`interp.plots` and in :mod:`interp.report`.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .jsonsafe import finite_or_none
from .output_files import write_output_set
from .pages import asset, figure_divs, render_page

if TYPE_CHECKING:
    from .checkpoints import CheckpointSweep

__all__ = ["SWEEP_FILES", "best_head", "checkpoint_curves", "render_sweep_html", "write_sweep"]

#: File name of each rendering in the output directory.
SWEEP_FILES: dict[str, str] = {"json": "sweep.json", "html": "sweep.html"}
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


def render_sweep_html(sweep: CheckpointSweep) -> str:
    """The sweep as one self-contained, offline HTML page (template ``sweep.html.j2``): a
    summary table and, per behavior, :func:`checkpoint_curves`. The same sweep gives the
    same bytes.

    Example:
        >>> page = render_sweep_html(sweep)  # doctest: +SKIP
    """
    divs = figure_divs([(f"interp-sweep-{b}", checkpoint_curves(sweep, b))
                        for b in sweep.behaviors])
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
        rows=rows, figures=list(divs.values()),
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
    (:func:`interp.output_files.write_output_set`: safe temporaries, atomic renames,
    ``sweep.json`` last with the run id and the sha256 of ``sweep.html``).

    Returns:
        ``{"json": path, "html": path}``.
    """
    texts = {
        "json": json.dumps(sweep.to_dict(), indent=2, sort_keys=True) + "\n",
        "html": render_sweep_html(sweep),
    }
    return write_output_set(
        out_dir, {kind: (SWEEP_FILES[kind], text) for kind, text in texts.items()},
        manifest="json",
    )
