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
from torch import Tensor

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
    fig.update_xaxes(showticklabels=True)  # both panels read their steps
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
    """The induction phase change at a glance (Olsson et al. 2022): against the step, the
    largest prefix-matching score over heads and, on repeated held-out text, the largest
    induction and previous-token scores (0..1); the in-context-learning score (nats); the
    held-out loss and the first- and second-copy losses on repeated held-out text. One
    panel per kind of curve the sweep measured (a sweep without held-out text has the
    prefix-matching panel alone); every panel has its step axis.

    Raises:
        ValueError: the sweep has no model-level curves.
    """
    if not has_model_curves(sweep):
        raise ValueError("this sweep measured no model-level curves (prefix matching or "
                         "in-context score)")
    steps = list(sweep.steps)
    classes = [b for b in sweep.text_scores if _is_class(b)]
    losses = [(values, name, color, dash) for values, name, color, dash in (
        (sweep.heldout_loss, "held-out loss", "#8c564b", "solid"),
        (sweep.text_first_copy_loss, "repeated text: first copy", FIRST_COPY_COLOR, "solid"),
        (sweep.text_second_copy_loss, "repeated text: second copy", SECOND_COPY_COLOR, "dot"),
    ) if values is not None]
    panels = [name for name, measured in (
        ("scores", sweep.prefix_matching is not None or bool(classes)),
        ("icl", sweep.icl_score is not None),
        ("losses", bool(losses)),
    ) if measured]
    weights = {"scores": 0.4, "icl": 0.3, "losses": 0.3}
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[weights[p] for p in panels])
    row_of = {name: i + 1 for i, name in enumerate(panels)}

    def line(y, name, color, row, dash="solid", hover=""):
        fig.add_trace(go.Scatter(x=steps, y=[finite_or_none(v) for v in y], name=name,
                                 mode="lines+markers", marker={"size": 4},
                                 line={"color": color, "dash": dash, "width": 2},
                                 hovertemplate=f"{name}<br>step %{{x}}<br>%{{y:.3f}}{hover}"
                                               "<extra></extra>"),
                      row=row, col=1)

    if sweep.prefix_matching is not None:
        values = sweep.prefix_matching.flatten(1).nan_to_num(nan=0.0).amax(dim=1)  # (C,)
        line(values.tolist(), "prefix matching (max over heads)", PREFIX_COLOR,
             row_of["scores"])
    for i, behavior in enumerate(classes):
        values = sweep.text_scores[behavior].flatten(1).nan_to_num(nan=0.0).amax(dim=1)
        line(values.tolist(), f"{behavior.replace('_', '-')} on repeated text (max)",
             TEXT_COLORS[i % len(TEXT_COLORS)], row_of["scores"], dash="dash")
    if sweep.icl_score is not None:
        icl = sweep.curves.get("icl", {})
        name = (f"in-context score (token {icl.get('late_token', '?')} - "
                f"{icl.get('early_token', '?')})")
        line(sweep.icl_score.tolist(), name, ICL_COLOR, row_of["icl"], hover=" nats")
    for values, name, color, dash in losses:
        line(values.tolist(), name, color, row_of["losses"], dash=dash, hover=" nats")
    if "scores" in row_of:
        fig.update_yaxes(title_text="score", range=[0, 1], row=row_of["scores"], col=1)
    if "icl" in row_of:
        # Olsson's models span about -0.15 .. -0.4: the same scale for every run
        icl_range = [-0.5, 0.1]
        if torch.isfinite(sweep.icl_score).all():
            icl_range = [min(icl_range[0], float(sweep.icl_score.min()) - 0.05),
                         max(icl_range[1], float(sweep.icl_score.max()) + 0.05)]
        fig.update_yaxes(title_text="ICL score (nats)", range=icl_range, row=row_of["icl"],
                         col=1)
    if "losses" in row_of:
        fig.update_yaxes(title_text="loss (nats)", row=row_of["losses"], col=1)
    fig.update_xaxes(title_text="step", row=len(panels), col=1)
    fig.update_xaxes(showticklabels=True)  # every panel reads its steps
    fig.update_layout(template=TEMPLATE, height=140 + 230 * len(panels),
                      margin={"t": 60, "b": 50},
                      title={"text": "Model-level curves: the induction phase change"},
                      hovermode="x unified")
    return fig


def describe_stimuli(description: dict) -> str:
    """Words for a stimuli description (``Stimuli.to_dict()``, a sweep's ``stimuli`` or one
    of its ``curves``): ``"4 sequences of [BOS] r r, r 8 random tokens; seed 0, 17
    positions"``. Keys it does not know are listed as ``key value``, never as JSON."""
    d = dict(description)
    kind = str(d.pop("kind", ""))
    n = d.pop("n_seqs", None)
    length = d.pop("repeat_len", None)
    seq_len = d.pop("seq_len", None)
    length = length if length is not None else seq_len
    sequences = f"{n} sequences" if n is not None else "sequences"
    if kind == "repeated_random_tokens":
        text = f"{sequences} of [BOS] r r, r {length} random tokens"
    elif kind == "repeated_text":
        text = f"{sequences} of [BOS] s s, s {length} tokens of held-out text"
    elif kind == "prefix_matching":
        text = (f"{sequences} of [BOS] + {length} distinct random tokens repeated "
                f"{d.pop('n_repeats', '?')} times")
    else:
        text = f"{sequences} ({kind.replace('_', ' ') or 'stimuli'})"
    extras = []
    if "drawn_from" in d:
        extras.append(f"drawn from {d.pop('drawn_from')}")
    if "offset" in d:
        extras.append(f"offset {d.pop('offset')}")
    if "seed" in d:
        extras.append(f"seed {d.pop('seed')}")
    if "n_pos" in d:
        extras.append(f"{d.pop('n_pos')} positions")
    for key in ("exclude_tokens", "excluded_ids"):
        ids = d.pop(key, None)
        if ids:
            shown = ", ".join(str(i) for i in list(ids)[:8])
            extras.append(f"excluding ids {shown}" + (f" and {len(ids) - 8} more"
                                                       if len(ids) > 8 else ""))
    d.pop("bos_token_id", None)
    d.pop("restricted_ids", None)
    for key, value in d.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        extras.append(f"{str(key).replace('_', ' ')} {value}")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _measured_on(sweep: CheckpointSweep) -> list[str]:
    """What each model-level curve was measured on, one line each, in words."""
    lines = []
    for name, info in sweep.curves.items():
        if not isinstance(info, dict):
            lines.append(f"{name.replace('_', ' ')}: {info}")
        elif "skipped" in info:
            lines.append(f"{name.replace('_', ' ')}: not measured ({info['skipped']})")
        elif name == "icl":
            lines.append(
                f"in-context score: mean loss at token {info.get('late_token', '?')} minus "
                f"token {info.get('early_token', '?')} (each averaged over ±"
                f"{info.get('half_width', '?')} tokens) on {info.get('n_windows', '?')} "
                f"held-out windows of {info.get('n_ctx', '?')} tokens")
        else:
            lines.append(f"{name.replace('_', ' ')}: {describe_stimuli(info)}")
    return lines


def _model_curves_text(sweep: CheckpointSweep) -> list[str]:
    """What the model-level curves that were measured mean (and nothing about the others)."""
    text = []
    prefix = sweep.curves.get("prefix_matching")
    if sweep.prefix_matching is not None:
        repeats = prefix.get("n_repeats", "?") if isinstance(prefix, dict) else "?"
        length = (prefix.get("repeat_len", prefix.get("seq_len", "?"))
                  if isinstance(prefix, dict) else "?")
        text.append(f"Prefix matching: on [BOS] + {length} distinct random tokens repeated "
                    f"{repeats} times, a head's attention from each token of repeats 2-"
                    f"{repeats} to the token after its earlier copies (offset +1); the "
                    "curve is the largest over heads.")
    if sweep.icl_score is not None:
        text.append("In-context score: mean loss at a late token minus an early one on "
                    "held-out text windows (negative when context helps).")
    if sweep.text_scores or sweep.text_first_copy_loss is not None:
        text.append("Repeated text: [BOS] s s with s a span of held-out text; the largest "
                    "score per behavior over heads, and the loss on each copy.")
    return text


def _cell_text(value: Any, spec: str = ".3f") -> str:
    number = finite_or_none(value)
    return "n/a" if number is None else format(number, spec)


def _model_curves_context(sweep: CheckpointSweep, figure: Any) -> dict | None:
    """The model-level section of the sweep page (None when nothing was measured)."""
    if not has_model_curves(sweep):
        return None
    rows = sweep.model_curve_table()
    keys = [k for k in rows[0] if k not in ("checkpoint",) and not k.endswith("_head")
            or k == "prefix_matching_head"]
    cells = [[str(row[k]) if isinstance(row[k], str) or k == "step" else _cell_text(row[k])
              for k in keys] for row in rows]
    return {"header": [k.replace("_", " ") for k in keys], "rows": cells, "figure": figure,
            "text": _model_curves_text(sweep), "measured_on": _measured_on(sweep)}


def _all_missing(values: Tensor) -> bool:
    return not bool(torch.isfinite(values).any())


#: A rise in lift this large is a rise worth naming beside another behavior's.
CLEAR_RISE = 0.1


def _ordered(sweep: CheckpointSweep) -> list[str]:
    """The sweep's behaviors in registry order (a read-back ``sweep.json`` has them
    sorted by name), then any the registry does not know."""
    known = [b.name for b in registered_behaviors() if b.name in sweep.scores]
    return known + [b for b in sweep.behaviors if b not in known]


def rise_lines(sweep: CheckpointSweep) -> list[str]:
    """Per behavior (registry order), where some head's lift rises most; a behavior no
    head scores at any checkpoint says so, and a clear rise (:data:`CLEAR_RISE`) of the
    same head as an earlier behavior's clear rise says that attention alone does not tell
    the two apart (so the later behavior's line names no head of its own)."""
    seen: dict[str, str] = {}
    out = []
    for b in _ordered(sweep):
        if _all_missing(sweep.scores[b]):
            out.append(f"{b}: not scored at any checkpoint (no query had a target)")
            continue
        step, head, rise = sweep.largest_rise(b)
        if not rise >= 0.005:  # prints as +0.00
            out.append(f"{b}: no head's lift rises by 0.01 or more between checkpoints")
            continue
        text = f"{b}: step {step} (head {head}, lift {rise:+.2f})"
        same = seen.get(head) if rise >= CLEAR_RISE else None
        if same is not None:
            text += (f"; the same head as {same}'s rise: on these stimuli a head that "
                     f"attends to {same}'s targets also scores here, so this names no "
                     f"{b} head (only an ablation, in interp report, tells the classes "
                     "apart)")
        elif rise >= CLEAR_RISE:
            seen[head] = b
        out.append(text)
    return out


def render_sweep_html(sweep: CheckpointSweep) -> str:
    """The sweep as one self-contained, offline HTML page (template ``sweep.html.j2``): the
    model-level curves that were measured, a summary table and, per behavior and per
    measure with any value, its curves (the others are listed, not drawn as empty charts).
    The same sweep gives the same bytes.

    Example:
        >>> page = render_sweep_html(sweep)  # doctest: +SKIP
    """
    behaviors = _ordered(sweep)
    drawn = [b for b in behaviors if not _all_missing(sweep.scores[b])]
    measures = [m for m in sweep.measures if not _all_missing(sweep.measures[m])]
    specs = [(f"interp-sweep-{b}", checkpoint_curves(sweep, b)) for b in drawn]
    specs += [(f"interp-sweep-measure-{m}", measure_curves(sweep, m)) for m in measures]
    if has_model_curves(sweep):  # first: the page's plotly.js comes with the first figure
        specs.insert(0, ("interp-sweep-model-curves", model_curves(sweep)))
    divs = figure_divs(specs)
    model_figure = divs.pop("interp-sweep-model-curves", None)
    measure_divs = [divs.pop(f"interp-sweep-measure-{m}") for m in measures]
    header = ["step", "checkpoint", "first-copy loss", "second-copy loss"] + [
        f"best {b.replace('_', '-')} score (head)" for b in behaviors
    ]
    rows = []
    for c, row in enumerate(sweep.loss_table()):
        cells = [str(row["step"]), str(row["checkpoint"]), _cell_text(row["first_copy_loss"]),
                 _cell_text(row["second_copy_loss"])]
        cells += [best_head_text(sweep, b, c) for b in behaviors]
        rows.append(cells)
    return render_page(
        "sweep.html.j2", css=asset("report.css"), n_checkpoints=sweep.n_checkpoints,
        n_layers=sweep.n_layers, n_heads=sweep.n_heads,
        stimuli=describe_stimuli(sweep.stimuli), rises=rise_lines(sweep), header=header,
        rows=rows, figures=[divs[f"interp-sweep-{b}"] for b in drawn],
        not_drawn=[b for b in behaviors if b not in drawn],
        model=_model_curves_context(sweep, model_figure),
        measures=[{"name": m, "figure": f} for m, f in zip(measures, measure_divs)],
        measures_not_drawn=[m for m in sweep.measures if m not in measures],
        failed=[f"{f['checkpoint']} ({f['source']}): {f['error']}" for f in sweep.failed],
    )


def best_head_text(sweep: CheckpointSweep, behavior: str, checkpoint: int) -> str:
    """``"0.42 (1.2)"``: the best head's score and label at one checkpoint, or ``"n/a"``
    where no head has a score (no query had a target, e.g. a behavior whose targets come
    from predictions the model does not make yet); never ``nan (0.0)``."""
    head, score = best_head(sweep, behavior, checkpoint)
    number = finite_or_none(score)
    return "n/a" if number is None else f"{number:.2f} ({head})"


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
