"""Figures of a head census, built from a :class:`~interp.classify.Classification`.

Every function takes a result and returns a ``plotly.graph_objects.Figure``. None of them
computes anything beyond arranging the recorded values (the one derived number, the
standard error of a relative ablation effect, is a rescaling of the recorded standard error),
and none calls ``.show()``: display or save the figure yourself, or let
:func:`interp.report.write_report` put them into a page.

Head grids put the layer on the y axis (layer 0 at the top, as in TransformerLens' plots)
and the head index on the x axis, so cell ``(layer, head)`` is head ``"layer.head"``. A
cell with no recorded value (a head missing from the result, a score with no counted query,
a loss effect that was not measured) is left blank. Each figure names its template
(``plotly_white``) so that a changed ``plotly.io.templates.default`` does not change it.

Plotly is used only here and in :mod:`interp.report.head_report`.

Example:
    >>> from interp.pipeline.classify import Classification
    >>> fig = scores_heatmaps(Classification.from_dict(document))  # doctest: +SKIP
    >>> fig.write_html("scores.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..io.jsonsafe import finite_or_none
from ..model.heads import HeadId
from ..results.classification import Classification, HeadClass

#: Template named by every figure (output does not depend on the global default).
TEMPLATE = "plotly_white"


#: Colour scale of scores (range 0..1).
SCORE_COLORS = "Blues"


#: Colour scale of a measure that is not a 0..1 score (a position, a width).
MEASURE_COLORS = "Viridis"


#: Colour scale of loss changes (diverging, centred on 0).
LOSS_COLORS = "RdBu_r"


CONFIRMED_COLOR = "#2a9d4b"


UNCONFIRMED_COLOR = "#b0b0b0"


#: Background of the pattern heatmap: shows through where a key lies after the query.
MASKED_COLOR = "#eeeeee"


#: Head grids with more heads than this are "large" (SmolLM2's 30 x 9): their cells carry
#: marks only (the numbers are in the hover), their rows are shorter, and line charts of
#: every head draw the classified heads only.
LARGE_GRID = 64


#: Marks after a class: confirmed by its ablation, or not.
CONFIRMED_MARK = "✓"


UNCONFIRMED_MARK = "✗"


def behavior_heatmap(classification: Classification, behavior: str) -> go.Figure:
    """Layer x head heatmap of one behavior's score.

    Each cell shows the score (two decimals) and, for heads classed as ``behavior``, a mark:
    ``✓`` when the ablation confirmed the class, ``✗`` when it did not. The hover shows the
    exact score, the null, the lift, the standard error and all the head's classes.

    Args:
        classification: the census result.
        behavior: one of the behaviors the heads were scored for (see
            ``classification.behavior_names``).

    Returns:
        A figure with one ``Heatmap`` trace whose ``z`` is ``[n_layers][n_heads]``, range
        0..1.

    Raises:
        ValueError: no head of ``classification`` has a score for ``behavior``.

    Example:
        >>> fig = behavior_heatmap(result, "induction")  # doctest: +SKIP
    """
    _check_behavior(classification, behavior)
    n_layers, n_heads = _shape(classification)
    fig = go.Figure(_score_trace(classification, behavior))
    fig.update_traces(zmin=0.0, zmax=1.0, colorscale=SCORE_COLORS,
                      colorbar={"title": {"text": "score"}})
    fig.update_layout(
        template=TEMPLATE,
        title={"text": f"{_text(behavior)} score"},
        height=_grid_height(n_layers),
        margin={"t": 60, "b": 50},
    )
    _head_axes(fig, n_layers, n_heads)
    return fig


def scores_heatmaps(classification: Classification) -> go.Figure:
    """One figure with a layer x head score heatmap per behavior, on one colour scale 0..1.

    Args:
        classification: the census result.

    Returns:
        A figure with one subplot (and one ``Heatmap`` trace, in
        report order) per scored behavior; all traces share
        ``layout.coloraxis`` with ``cmin=0``, ``cmax=1``.

    Example:
        >>> fig = scores_heatmaps(result)  # doctest: +SKIP
    """
    behaviors = _behaviors(classification)
    n_layers, n_heads = _shape(classification)
    fig = make_subplots(
        rows=1, cols=max(len(behaviors), 1), shared_yaxes=True,
        subplot_titles=[_text(b) for b in behaviors] or None, horizontal_spacing=0.04,
    )
    for col, behavior in enumerate(behaviors, start=1):
        trace = _score_trace(classification, behavior)
        trace.update(coloraxis="coloraxis")
        fig.add_trace(trace, row=1, col=col)
    fig.update_layout(
        template=TEMPLATE,
        coloraxis={"cmin": 0.0, "cmax": 1.0, "colorscale": SCORE_COLORS,
                   "colorbar": {"title": {"text": "score"}}},
        title={"text": "attention scores by behavior"},
        height=_grid_height(n_layers),
        margin={"t": 80, "b": 50},
    )
    _head_axes(fig, n_layers, n_heads)
    return fig


def ablation_effects(classification: Classification) -> go.Figure:
    """Bar chart of each classified head's relative ablation effect, per class.

    The x axis groups bars by behavior, then head. Bars of confirmed classes and of
    unconfirmed ones are two traces in two colours. Error bars are one standard error of
    the relative effect (the recorded standard error over the scale the effect was divided
    by); a bar whose relative effect was set to 0 because the behavior is absent from the
    model gets none. A dashed line marks ``min_effect`` from the settings, if recorded.

    Args:
        classification: the census result.

    Returns:
        A figure with traces ``"confirmed"`` and ``"unconfirmed"`` (``Bar``, x a
        ``[behaviors, heads]`` multi-category pair, y the relative effect), or, when no
        head was classified, an empty figure that says so.

    Example:
        >>> fig = ablation_effects(result)  # doctest: +SKIP
    """
    rows = [
        (behavior, h, h.ablation[behavior])
        for behavior in _behaviors(classification)
        for h in classification.heads
        if behavior in h.classes and behavior in h.ablation
    ]
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "ablation effect of each classified head (relative)"},
        yaxis={"title": {"text": "relative effect (1 = all lost)"}},
        barmode="overlay",
        height=420,
        margin={"t": 60, "b": 80},
    )
    if not rows:
        return _empty(fig, "no head was classified, so nothing was ablated")
    for name, color, confirmed in (
        ("confirmed", CONFIRMED_COLOR, True),
        ("unconfirmed", UNCONFIRMED_COLOR, False),
    ):
        part = [r for r in rows if (r[0] in r[1].confirmed_classes) == confirmed]
        if not part:
            continue
        fig.add_trace(go.Bar(
            name=name,
            x=[[_text(b) for b, _, _ in part], [h.label for _, h, _ in part]],
            y=[finite_or_none(ev.relative) for _, _, ev in part],
            marker={"color": color},
            error_y={"type": "data", "visible": True,
                     "array": [finite_or_none(ev.relative_stderr) for _, _, ev in part]},
            customdata=[
                [_text(h.label), _text(b), _text(ev.metric), finite_or_none(ev.clean),
                 finite_or_none(ev.ablated), finite_or_none(ev.effect), finite_or_none(ev.stderr),
                 _text(ev.method), _stderr_text(ev.relative_stderr),
                 _text(h.status(b)), _note_text(ev.note)]
                for b, h, ev in part
            ],
            hovertemplate=(
                "head %{customdata[0]} (%{customdata[1]})"
                "<br>relative effect %{y:.4f}%{customdata[8]}"
                "<br>metric %{customdata[2]}"
                "<br>clean %{customdata[3]:.4f} → ablated %{customdata[4]:.4f}"
                "<br>effect %{customdata[5]:.4f} ± %{customdata[6]:.4f}"
                "<br>%{customdata[7]} ablation: %{customdata[9]}%{customdata[10]}<extra>"
                + name + "</extra>"
            ),
        ))
    min_effect = classification.settings.get("min_effect")
    if isinstance(min_effect, (int, float)) and math.isfinite(min_effect):
        fig.add_hline(
            y=float(min_effect), line={"dash": "dash", "color": "#555555", "width": 1},
            annotation_text=f"min_effect {float(min_effect):g}",
            annotation_position="top left",
        )
    return fig


def loss_effect_heatmap(classification: Classification) -> go.Figure:
    """Layer x head heatmap of ``loss_effect``: the second-copy loss change (nats) when each
    head alone is ablated.

    Positive (red) means the head helped predict the second copy. Heads whose loss effect
    was not measured are blank; when none was (``ClassifySettings(sweep=False)``), the
    figure is empty and says so.

    Args:
        classification: the census result.

    Returns:
        A figure with one ``Heatmap`` trace whose ``z`` is ``[n_layers][n_heads]``
        (``None`` where not measured), colours centred on 0; or an empty figure.

    Example:
        >>> fig = loss_effect_heatmap(result)  # doctest: +SKIP
    """
    n_layers, n_heads = _shape(classification)
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "second-copy loss change when each head alone is ablated"},
        height=_grid_height(n_layers),
        margin={"t": 60, "b": 50},
    )
    if all(h.loss_effect is None for h in classification.heads):
        return _empty(fig, "not measured (the census ran without the ablation sweep)")
    fig.add_trace(go.Heatmap(
        z=_grid(classification, lambda h: finite_or_none(h.loss_effect)),
        x=list(range(n_heads)),
        y=list(range(n_layers)),
        zmid=0.0,
        colorscale=LOSS_COLORS,
        colorbar={"title": {"text": "Δ loss (nats)"}},
        customdata=_grid(classification, lambda h: [_text(h.label), _classes_text(h)]),
        texttemplate="%{z:.2f}",
        hovertemplate=(
            "head %{customdata[0]}<br>second-copy loss change %{z:.4f} nats"
            "<br>classes: %{customdata[1]}<extra></extra>"
        ),
        hoverongaps=False,
        xgap=1,
        ygap=1,
    ))
    _head_axes(fig, n_layers, n_heads)
    return fig


def attention_pattern(classification: Classification, head: str | HeadId) -> go.Figure:
    """Query x key heatmap of one head's attention on the census' example sequence.

    Rows are query positions (0 at the top), columns key positions; cell ``(q, k)`` is the
    attention weight (0..1, rounded to 3 decimals as recorded) from query ``q`` to key
    ``k``. Keys after the query cannot be attended to and are left blank (grey). When the
    example is a ``[BOS] r r`` sequence, dashed lines mark where the second copy of ``r``
    starts: an induction head's stripe runs just above the diagonal of the lower-left block
    of the second copy, a previous-token head's just below the main diagonal. Both axes are
    the positions labelled with their token (:func:`token_labels`: the decoded text where
    the result holds it, else the id); the hover shows both and the exact weight.

    Args:
        classification: the census result; its ``example`` holds the sequence and patterns.
        head: ``"L.H"`` (or a :class:`~interp.model.heads.HeadId`).

    Returns:
        A figure with one ``Heatmap`` trace whose ``z`` is ``[n_pos][n_pos]`` (``None``
        above the diagonal) and whose ``x`` and ``y`` are the positions' labels.

    Raises:
        ValueError: the label is malformed, or the classification recorded no example
            pattern for this head (none at all, or, on large models, only classified
            heads').

    Example:
        >>> fig = attention_pattern(result, "1.0")  # doctest: +SKIP
    """
    label = str(HeadId.parse(head))
    example = classification.example or {}
    patterns = example.get("patterns") or {}
    if label not in patterns:
        if not patterns:
            raise ValueError(
                f"head {label} has no example attention pattern: this classification "
                "recorded no example patterns at all"
            )
        raise ValueError(
            f"head {label} has no example attention pattern; patterns were recorded for "
            f"{', '.join(patterns)} only (large models keep those of classified heads)"
        )
    rows = patterns[label]
    tokens = list(example.get("tokens") or [])
    n_pos = max([len(rows), len(tokens)] + [len(r) for r in rows])
    labels = token_labels(classification, n_pos)
    fig = go.Figure(go.Heatmap(
        z=pattern_grid(rows, n_pos),
        x=labels,
        y=labels,
        zmin=0.0,
        zmax=1.0,
        colorscale=SCORE_COLORS,
        colorbar={"title": {"text": "attention"}},
        hovertemplate=(
            "query %{y}<br>key %{x}<br>attention %{z:.3f}<extra></extra>"
        ),
        hoverongaps=False,
        name="attention",
    ))
    fig.update_layout(
        template=TEMPLATE,
        title={"text": pattern_title(classification, label)},
        height=560,
        margin={"t": 60, "b": 50, "l": 60, "r": 20},
        plot_bgcolor=MASKED_COLOR,
    )
    fig.update_xaxes(title={"text": "key position"}, type="category",
                     range=[-0.5, n_pos - 0.5], showgrid=False, zeroline=False,
                     constrain="domain", tickangle=-60, tickfont={"size": 9})
    fig.update_yaxes(title={"text": "query position"}, type="category",
                     range=[n_pos - 0.5, -0.5], showgrid=False, zeroline=False,
                     scaleanchor="x", constrain="domain", tickfont={"size": 9})
    start = _second_copy_start(classification, n_pos)
    if start is not None:
        line = {"dash": "dash", "color": "#888888", "width": 1}
        fig.add_shape(type="line", x0=start - 0.5, x1=start - 0.5, y0=-0.5, y1=n_pos - 0.5,
                      line=line)
        fig.add_shape(type="line", x0=-0.5, x1=n_pos - 0.5, y0=start - 0.5, y1=start - 0.5,
                      line=line)
    return fig


def pattern_title(classification: Classification, label: str) -> str:
    """Title of :func:`attention_pattern` for head ``label`` (also used by the report)."""
    try:
        classes = _classes_text(classification.head(label))
    except KeyError:
        classes = "none"
    return f"head {_text(label)} on the example sequence (classes: {classes})"


def pattern_grid(rows: list[list[float]], n_pos: int) -> list[list[float | None]]:
    """``[n_pos][n_pos]`` attention grid from recorded rows (row ``q`` holds keys
    ``0..q``): missing cells, the keys after each query, are None."""
    grid = [[finite_or_none(v) for v in row[:n_pos]] + [None] * (n_pos - len(row)) for row in rows]
    return grid[:n_pos] + [[None] * n_pos for _ in range(n_pos - len(grid))]


def token_texts(classification: Classification) -> list[str] | None:
    """The example sequence's tokens as text (``example["token_text"]``, one string per
    token, recorded where the model has a tokenizer), or None where the result has none."""
    example = classification.example if isinstance(classification.example, dict) else {}
    texts, tokens = example.get("token_text"), example.get("tokens") or []
    if not isinstance(texts, list) or len(texts) != len(tokens) or \
            not all(isinstance(t, str) for t in texts):
        return None
    return texts


#: How invisible characters of a token show in a label.
_VISIBLE = str.maketrans({" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"})


def token_labels(classification: Classification, n_pos: int) -> list[str]:
    """One label per position of the example: ``"5 ␣the"`` (the decoded token, spaces and
    newlines made visible, cut at 16 characters) where the result holds token text, else
    ``"5 #283"`` (the id); ``"5 ?"`` past the recorded tokens. HTML-escaped for plotly."""
    example = classification.example if isinstance(classification.example, dict) else {}
    tokens = list(example.get("tokens") or [])
    texts = token_texts(classification)
    labels = []
    for pos in range(n_pos):
        if texts is not None and pos < len(texts):
            shown = texts[pos].translate(_VISIBLE)
            shown = shown if len(shown) <= 16 else shown[:15] + "…"
        elif pos < len(tokens):
            shown = f"#{tokens[pos]}"
        else:
            shown = "?"
        labels.append(_text(f"{pos} {shown}"))
    return labels


def _second_copy_start(classification: Classification, n_pos: int) -> int | None:
    """Position where the second copy of ``r`` starts, for ``[BOS] r r`` examples."""
    stimuli = classification.settings.get("stimuli")
    repeat = stimuli.get("repeat_len") if isinstance(stimuli, dict) else None
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat <= 0:
        return None
    start = n_pos - repeat
    return start if 0 < start < n_pos else None


def _score_trace(classification: Classification, behavior: str) -> go.Heatmap:
    """A score heatmap trace (no colour settings) with marks, hover and custom data."""
    n_layers, n_heads = _shape(classification)
    large = _is_large(classification)

    def cell_text(h: HeadClass) -> str:
        score = finite_or_none(h.scores.get(behavior))
        text = "" if score is None or large else f"{score:.2f}"
        if behavior in h.classes:
            confirmed = behavior in h.confirmed_classes
            text += ("" if large else "<br>") + (CONFIRMED_MARK if confirmed
                                                 else UNCONFIRMED_MARK)
        return text

    return go.Heatmap(
        z=_grid(classification, lambda h: _round(h.scores.get(behavior), 4)),
        x=list(range(n_heads)),
        y=list(range(n_layers)),
        text=_grid(classification, cell_text, ""),
        texttemplate="%{text}",
        customdata=_grid(
            classification,
            lambda h: [_text(h.label), _round(h.nulls.get(behavior), 4),
                       _round(h.lifts.get(behavior), 4), _round(h.stderr.get(behavior), 5),
                       _classes_text(h)],
        ),
        hovertemplate=(
            "head %{customdata[0]}<br>" + _text(behavior)
            + "<br>score %{z:.4f}<br>null %{customdata[1]:.4f}"
            "<br>lift %{customdata[2]:.4f}<br>stderr %{customdata[3]:.5f}"
            "<br>classes: %{customdata[4]}<extra></extra>"
        ),
        hoverongaps=False,
        name=_text(behavior),
        xgap=1,
        ygap=1,
    )


def _behaviors(classification: Classification) -> list[str]:
    """Scored behaviors in report order (as recorded with the result)."""
    return list(classification.behavior_names)


def _check_behavior(classification: Classification, behavior: str) -> None:
    known = _behaviors(classification)
    if behavior not in known:
        raise ValueError(f"no head has a {behavior!r} score; scored behaviors: {known}")


def _shape(classification: Classification) -> tuple[int, int]:
    """``(n_layers, n_heads)`` from the model record, else from the heads present."""
    model = classification.model
    layers = model.get("n_layers")
    heads = model.get("n_heads")
    if layers is None:
        layers = max((h.layer for h in classification.heads), default=-1) + 1
    if heads is None:
        heads = max((h.index for h in classification.heads), default=-1) + 1
    return int(layers), int(heads)


def _grid(
    classification: Classification, value: Callable[[HeadClass], Any], missing: Any = None
) -> list[list[Any]]:
    """``[n_layers][n_heads]`` of ``value(head)``; ``missing`` where a head is absent."""
    n_layers, n_heads = _shape(classification)
    grid = [[missing] * n_heads for _ in range(n_layers)]
    for h in classification.heads:
        if 0 <= h.layer < n_layers and 0 <= h.index < n_heads:
            grid[h.layer][h.index] = value(h)
    return grid


def _head_axes(fig: go.Figure, n_layers: int, n_heads: int) -> None:
    fig.update_xaxes(title={"text": "head"}, tickmode="linear", dtick=1,
                     range=[-0.5, n_heads - 0.5], showgrid=False, zeroline=False,
                     tickfont={"size": 9 if n_layers > 12 else 12})
    fig.update_yaxes(tickmode="linear", dtick=1, range=[n_layers - 0.5, -0.5],
                     showgrid=False, zeroline=False)
    fig.layout.yaxis.title.text = "layer"  # the first (left-most) y axis only


def _grid_height(n_layers: int) -> int:
    """Height of a layer x head figure: 36 px a layer, 22 px past 12 layers."""
    return max(300, 110 + (36 if n_layers <= 12 else 22) * n_layers)


def _is_large(classification: Classification) -> bool:
    return len(classification.heads) > LARGE_GRID


def _round(value: Any, digits: int = 6) -> float | None:
    """A recorded number as a figure carries it: ``digits`` decimals (more than any hover
    shows), None where missing or not finite."""
    value = finite_or_none(value)
    return None if value is None else round(float(value), digits)


def _empty(fig: go.Figure, message: str) -> go.Figure:
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, height=200)
    fig.add_annotation(text=_text(message), showarrow=False, x=0.5, y=0.5,
                       xref="paper", yref="paper", font={"size": 14})
    return fig


def _classes_text(h: HeadClass) -> str:
    if not h.classes:
        return "none"
    return ", ".join(
        f"{_text(c)} " + (CONFIRMED_MARK if c in h.confirmed_classes else UNCONFIRMED_MARK)
        for c in h.classes
    )


def _note_text(note: str | None) -> str:
    """A relative effect's reading (outside 0..1) as a hover line, wrapped; empty without."""
    if not note:
        return ""
    words, lines, line = note.split(), [], ""
    for word in words:
        if line and len(line) + len(word) > 60:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>" + "<br>".join(_text(x) for x in lines)


def _stderr_text(value: float | None) -> str:
    return "" if value is None else f" ± {value:.4f}"


def _text(value: Any) -> str:
    """Text for plotly labels, which read a subset of HTML: escape it."""
    return html.escape(str(value))


def probe_accuracy(classification: Classification) -> go.Figure:
    """Held-out probe accuracy at the embedding and after each layer, one line per task,
    with each task's chance level dashed."""
    fig = go.Figure()
    probes = list(getattr(classification, "probes", ()) or ())
    if not probes:
        return _empty(fig, "no probes were fitted")
    for probe in probes:
        results = probe.results
        depth = ["embedding"] + [f"after {i}" for i in range(len(results) - 1)]
        fig.add_trace(go.Scatter(
            x=depth, y=[r.accuracy for r in results], mode="lines+markers",
            name=_text(probe.task), hovertemplate="%{x}: accuracy %{y:.3f}<extra></extra>",
        ))
        fig.add_trace(go.Scatter(
            x=depth, y=[r.chance for r in results], mode="lines",
            line={"dash": "dash"}, name=f"{_text(probe.task)} (chance)",
            hovertemplate="%{x}: chance %{y:.3f}<extra></extra>",
        ))
    fig.update_layout(template=TEMPLATE, height=360, yaxis_range=[0, 1.02],
                      yaxis_title="held-out accuracy",
                      xaxis_title="residual stream: at the embedding, after layer L",
                      margin={"t": 30})
    return fig


def distance_profiles(classification: Classification) -> go.Figure:
    """Each head's mean attention on the key ``d`` positions back (BOS excluded), one line
    per head: local heads peak at small ``d``, induction heads near ``L - 1``. Heads with a
    class start shown, the others hidden (click the legend); on a large model
    (:data:`LARGE_GRID`) only the heads with a class are drawn (every head's profile is in
    ``report.json``)."""
    fig = go.Figure()
    heads = [h for h in classification.heads if getattr(h, "distance", None)]
    large = _is_large(classification)
    if large:
        heads = [h for h in heads if h.classes]
    if not heads:
        return _empty(fig, "no distance profiles were recorded" if not large else
                      "no classified head has a distance profile")
    for h in heads:
        values = [_round(v, 4) for v in h.distance]
        fig.add_trace(go.Scatter(
            x=list(range(len(values))), y=values, mode="lines", name=_text(h.label),
            visible=True if h.classes else "legendonly",
            hovertemplate=f"head {_text(h.label)}, distance %{{x}}: %{{y:.3f}}<extra></extra>",
        ))
    title = "classified heads only (every head's profile is in report.json)" if large else ""
    fig.update_layout(template=TEMPLATE, height=360, xaxis_title="query - key distance",
                      yaxis_title="mean attention", margin={"t": 40 if large else 30},
                      title={"text": title, "font": {"size": 12}},
                      legend_title_text="head (click to show)")
    return fig


def _unit_range(classification: Classification, name: str) -> bool:
    """Whether every recorded value of a measure lies in 0..1 (a score, a share of
    attention): it is then drawn on the fixed 0..1 scale the scores use."""
    values = [finite_or_none(h.measures.get(name)) for h in classification.heads]
    values = [v for v in values if isinstance(v, (int, float))]
    return bool(values) and all(0.0 <= v <= 1.0 for v in values)


def _whole(classification: Classification, name: str) -> bool:
    """Whether every recorded value of a measure is a whole number (a key position)."""
    values = [finite_or_none(h.measures.get(name)) for h in classification.heads]
    values = [v for v in values if isinstance(v, (int, float))]
    return bool(values) and all(float(v).is_integer() for v in values)


def measure_heatmaps(classification: Classification) -> go.Figure:
    """One layer x head heatmap per single-value measure (:mod:`interp.spec.measures`).

    A measure whose values all lie in 0..1 (a sink score, a share of attention) is drawn on
    the fixed 0..1 scale the scores use (``layout.coloraxis``), so a sink score of 0.11 is a
    pale cell, not the panel's darkest; its threshold, where it has one, is in the panel's
    title, and the heads it marks (e.g. sinks) carry a ``*`` in their cell. Any other
    measure (a key position, a width of 1..5) gets its own colour scale (``coloraxis2``,
    ``coloraxis3`` ...) with its own colour bar under the panel; whole numbers print as
    such ("239", not "239.000"). On a large model (:data:`LARGE_GRID`) the cells carry the
    marks only; every value is in the hover.

    Returns:
        A figure with one ``Heatmap`` subplot per measure with values (report order).
    """
    infos = [m for m in classification.measures
             if not m.is_profile and any(finite_or_none(h.measures.get(m.name)) is not None
                                         for h in classification.heads)]

    def title(m: Any) -> str:
        if m.threshold is None:
            return _text(m.name)
        return _text(f"{m.name} (* > {m.threshold:g})")

    fig = make_subplots(rows=1, cols=max(len(infos), 1), shared_yaxes=True,
                        subplot_titles=[title(m) for m in infos] or None,
                        horizontal_spacing=0.05 if len(infos) < 6 else 0.03)
    if not infos:
        return _empty(fig, "no per-head measure has values")
    n_layers, n_heads = _shape(classification)
    large = _is_large(classification)
    own = [m for m in infos if not _unit_range(classification, m.name)]
    height = _grid_height(n_layers) + (70 if own else 0)
    top, bottom = 80, 130 if own else 50
    bar_y = -75 / (height - top - bottom)  # own colour bars: under the "head" axis title
    n_own = 0
    for col, info in enumerate(infos, start=1):
        whole = _whole(classification, info.name)
        spec = ".0f" if whole else ".2f"

        def cell(h: HeadClass, spec: str = spec, info: Any = info) -> str:
            value = finite_or_none(h.measures.get(info.name))
            mark = "*" if info.passes(value) else ""
            return mark if large or value is None else format(value, spec) + mark

        if _unit_range(classification, info.name):
            axis = "coloraxis"
        else:
            n_own += 1
            axis = f"coloraxis{n_own + 1}"
            domain = fig.get_subplot(1, col).xaxis.domain
            fig.update_layout({axis: {
                "colorscale": MEASURE_COLORS,
                "colorbar": {"orientation": "h", "x": (domain[0] + domain[1]) / 2,
                             "xanchor": "center", "len": domain[1] - domain[0],
                             "y": bar_y, "yanchor": "top", "thickness": 10,
                             "tickfont": {"size": 9}},
            }})
        fig.add_trace(go.Heatmap(
            z=_grid(classification, lambda h, info=info: _round(h.measures.get(info.name))),
            text=_grid(classification, cell, ""), texttemplate="%{text}",
            hovertemplate=(f"head %{{y}}.%{{x}}<br>{_text(info.name)} %{{z:{spec}}}"
                           + "<extra></extra>"),
            hoverongaps=False, coloraxis=axis, xgap=1, ygap=1, name=_text(info.name),
        ), row=1, col=col)
    fig.update_layout(template=TEMPLATE,
                      title={"text": "per-head measures (* marked; 0..1 measures on one fixed "
                                     "0..1 scale, the others on their own, below)"},
                      coloraxis={"cmin": 0.0, "cmax": 1.0, "colorscale": SCORE_COLORS,
                                 "colorbar": {"title": {"text": "0..1"}}},
                      height=height, margin={"t": top, "b": bottom})
    _head_axes(fig, n_layers, n_heads)
    return fig


def measure_profiles(classification: Classification, name: str) -> go.Figure:
    """One line per head over a profile measure's bins (e.g. attention by relative key
    position): a sink peaks in the first bin, a local head in the last; heads that are
    not classed start hidden (click the legend to show them). On a large model
    (:data:`LARGE_GRID`) only the classified heads are drawn, the confirmed ones shown.

    Raises:
        ValueError: ``name`` is not a recorded profile measure.
    """
    info = classification.measure(name)
    if not info.is_profile:
        raise ValueError(f"measure {name!r} is a single value per head, not a profile")
    fig = go.Figure()
    bins = [_text(b) for b in info.bins]
    heads = [h for h in classification.heads if isinstance(h.measures.get(name), list)]
    large = _is_large(classification)
    if large:
        heads = [h for h in heads if h.classes]
    if not heads:
        return _empty(fig, f"no {name} profile was recorded")
    for h in heads:
        marked = any(m.passes(h.measures.get(m.name)) for m in classification.measures)
        fig.add_trace(go.Scatter(
            x=bins, y=[_round(v, 4) for v in h.measures[name]], mode="lines+markers",
            name=_text(h.label),
            visible=True if (h.confirmed_classes if large else (h.classes or marked))
            else "legendonly",
            hovertemplate=f"head {_text(h.label)}, bin %{{x}}: %{{y:.3f}}<extra></extra>",
        ))
    title = _text(name) + (" (classified heads only; every head's values are in "
                           "report.json)" if large else "")
    fig.update_layout(template=TEMPLATE, height=360, title={"text": title},
                      xaxis_title="bin", yaxis_title="mean attention mass",
                      margin={"t": 50}, legend_title_text="head (click to show)")
    return fig
