"""interp.report.plots: each figure arranges the recorded values (layer rows, head columns) and
nothing else."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from interp.results.classification import Classification
#: The behaviors of the hand-made documents below.
BEHAVIORS = ("previous_token", "duplicate_token", "induction")
from interp.report.plots import ablation_effects, attention_pattern, behavior_heatmap, loss_effect_heatmap, pattern_grid, scores_heatmaps

torch.set_num_threads(1)

N_LAYERS, N_HEADS = 2, 3


def _score(layer: int, head: int, behavior: str) -> float:
    return round(0.1 * layer + 0.01 * head + 0.3 * BEHAVIORS.index(behavior), 4)


def _evidence(relative: float, effect: float, confirmed: bool) -> dict:
    return {"method": "mean", "metric": "second_copy_loss", "clean": 2.0,
            "ablated": 2.0 + effect, "effect": effect, "relative": relative,
            "stderr": 0.1, "confirmed": confirmed}


def make_result(loss_effects: bool = True, classes: bool = True) -> Classification:
    """2 x 3 heads with score ``0.1 layer + 0.01 head + 0.3 i_behavior``; 1.2 induction
    (confirmed), 0.1 previous-token (unconfirmed), 1.0 induction (unconfirmed, relative 0)."""
    heads = []
    for layer in range(N_LAYERS):
        for index in range(N_HEADS):
            heads.append({
                "head": f"{layer}.{index}", "layer": layer, "index": index,
                "scores": {b: _score(layer, index, b) for b in BEHAVIORS},
                "nulls": {b: 0.05 for b in BEHAVIORS},
                "lifts": {b: 0.5 for b in BEHAVIORS},
                "stderr": {b: 0.01 for b in BEHAVIORS},
                "classes": [], "ablation": {},
                "loss_effect": (layer - index) / 10 if loss_effects else None,
            })
    if classes:
        heads[5].update(classes=["induction"], ablation={"induction": _evidence(0.5, 1.0, True)})
        heads[1].update(classes=["previous_token"],
                        ablation={"previous_token": _evidence(0.02, 0.04, False)})
        heads[3].update(classes=["induction"], ablation={"induction": _evidence(0.0, 0.3, False)})
    return Classification.from_dict({
        "model": {"name": "grid", "n_layers": N_LAYERS, "n_heads": N_HEADS},
        "settings": {"seed": 0, "n_seqs": 4, "seq_len": 3, "method": "mean",
                     "min_effect": 0.1, "stimuli": {"repeat_len": 3}},
        "heads": heads,
        "example": {"tokens": TOKENS, "patterns": {"1.2": INDUCTION, "0.0": [[1.0]]}},
    })


#: Example sequence [BOS] r r, r = 9 8 7, and an induction head's pattern on it: from the
#: second copy (queries 4..6), all attention on the token after the earlier copy.
TOKENS = [0, 9, 8, 7, 9, 8, 7]
INDUCTION = [[1.0], [1.0, 0.0], [0.5, 0.5, 0.0], [0.4, 0.3, 0.2, 0.1],
             [0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
             [0.1, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0]]


def _expected(behavior: str) -> np.ndarray:
    return np.array([[_score(layer, h, behavior) for h in range(N_HEADS)]
                     for layer in range(N_LAYERS)])


@pytest.fixture(autouse=True)
def never_show(monkeypatch):
    def show(self, *args, **kwargs):
        raise AssertionError("plot functions must not call show()")

    monkeypatch.setattr(go.Figure, "show", show)


@pytest.mark.parametrize("behavior", BEHAVIORS)
def test_behavior_heatmap_is_layer_by_head_with_the_scores(behavior):
    fig = behavior_heatmap(make_result(), behavior)
    assert isinstance(fig, go.Figure) and len(fig.data) == 1
    trace = fig.data[0]
    assert trace.type == "heatmap"
    z = np.array(trace.z, dtype=float)
    assert z.shape == (N_LAYERS, N_HEADS)
    np.testing.assert_array_equal(z, _expected(behavior))
    assert list(trace.x) == list(range(N_HEADS)) and list(trace.y) == list(range(N_LAYERS))
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    for word in ("score", "null", "lift", "stderr", "classes"):
        assert word in trace.hovertemplate
    assert trace.customdata[1][2][0] == "1.2"  # row = layer, column = head
    assert fig.layout.yaxis.title.text == "layer" and fig.layout.xaxis.title.text == "head"


def test_behavior_heatmap_marks_classes():
    text = behavior_heatmap(make_result(), "induction").data[0].text
    assert text[1][2].endswith("✓") and text[1][0].endswith("✗")
    assert not text[0][0].endswith(("✓", "✗"))
    with pytest.raises(ValueError, match="no head has"):
        behavior_heatmap(make_result(), "name_mover")


def test_missing_scores_are_blank():
    document = make_result().to_dict()
    document["heads"][0]["scores"]["induction"] = float("nan")
    del document["heads"][4]
    z = behavior_heatmap(Classification.from_dict(document), "induction").data[0].z
    assert z[0][0] is None and z[1][1] is None and z[1][2] == _score(1, 2, "induction")


def test_scores_heatmaps_share_one_colour_scale():
    fig = scores_heatmaps(make_result())
    assert [t.type for t in fig.data] == ["heatmap"] * len(BEHAVIORS)
    for trace, behavior in zip(fig.data, BEHAVIORS):
        assert trace.coloraxis == "coloraxis"
        np.testing.assert_array_equal(np.array(trace.z, dtype=float), _expected(behavior))
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert [a.text for a in fig.layout.annotations] == list(BEHAVIORS)


def test_ablation_effects_split_confirmed_and_unconfirmed():
    fig = ablation_effects(make_result())
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"confirmed", "unconfirmed"}
    confirmed, unconfirmed = traces["confirmed"], traces["unconfirmed"]
    assert confirmed.marker.color != unconfirmed.marker.color
    assert [list(axis) for axis in confirmed.x] == [["induction"], ["1.2"]]
    assert list(confirmed.y) == [0.5]
    # stderr of the relative effect: stderr * relative / effect
    assert confirmed.error_y.array[0] == pytest.approx(0.1 * 0.5 / 1.0)
    assert [list(axis) for axis in unconfirmed.x] == [
        ["previous_token", "induction"], ["0.1", "1.0"]
    ]
    assert list(unconfirmed.y) == [0.02, 0.0]
    assert unconfirmed.error_y.array[0] == pytest.approx(0.1 * 0.02 / 0.04)
    assert unconfirmed.error_y.array[1] is None  # relative forced to 0: scale unknown
    assert any(s.y0 == 0.1 for s in fig.layout.shapes)  # the min_effect line


def test_ablation_effects_without_classes_is_empty():
    fig = ablation_effects(make_result(classes=False))
    assert len(fig.data) == 0
    assert "no head was classified" in fig.layout.annotations[0].text


def test_loss_effect_heatmap():
    fig = loss_effect_heatmap(make_result())
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (N_LAYERS, N_HEADS)
    np.testing.assert_allclose(z, [[(la - h) / 10 for h in range(N_HEADS)]
                                   for la in range(N_LAYERS)])
    assert fig.data[0].zmid == 0.0
    empty = loss_effect_heatmap(make_result(loss_effects=False))
    assert len(empty.data) == 0 and "not measured" in empty.layout.annotations[0].text


def test_loss_effect_heatmap_leaves_unmeasured_heads_blank():
    document = make_result().to_dict()
    document["heads"][2]["loss_effect"] = None
    z = loss_effect_heatmap(Classification.from_dict(document)).data[0].z
    assert z[0][2] is None and z[0][1] == pytest.approx(-0.1)


def test_ablation_effect_bars_name_their_head_first():
    """``customdata[0]`` is the head label in every head figure: the report opens that head
    when a bar or cell is clicked."""
    result = make_result()
    for trace in ablation_effects(result).data:
        assert [cd[0] for cd in trace.customdata] == list(trace.x[1])
        assert "± %{customdata[8]" not in trace.hovertemplate  # pre-formatted: may be blank
    unconfirmed = {t.name: t for t in ablation_effects(result).data}["unconfirmed"]
    assert unconfirmed.customdata[0][8] == " ± 0.0500"  # 0.1 * 0.02 / 0.04
    assert unconfirmed.customdata[1][8] == ""  # relative forced to 0: no stderr
    for fig in (scores_heatmaps(result), loss_effect_heatmap(result)):
        assert fig.data[0].customdata[1][2][0] == "1.2"


def test_attention_pattern_is_query_by_key_with_blank_future_keys():
    fig = attention_pattern(make_result(), "1.2")
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    trace = fig.data[0]
    z = [list(row) for row in trace.z]
    n = len(TOKENS)
    assert len(z) == n and all(len(row) == n for row in z)
    for q in range(n):
        assert z[q][: q + 1] == INDUCTION[q]
        assert z[q][q + 1:] == [None] * (n - q - 1)
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    # each position labelled with its token (no text recorded: its id)
    assert list(trace.x) == list(trace.y) == [f"{i} #{t}" for i, t in enumerate(TOKENS)]
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "category"
    for word in ("query", "key", "attention"):
        assert word in trace.hovertemplate
    assert tuple(fig.layout.yaxis.range) == (n - 0.5, -0.5)  # query 0 at the top
    assert fig.layout.xaxis.title.text == "key position"
    assert fig.layout.yaxis.title.text == "query position"
    assert "head 1.2" in fig.layout.title.text and "induction ✓" in fig.layout.title.text
    # the second copy starts at position 4: dashed lines between 3 and 4
    assert sorted((s.x0, s.y0) for s in fig.layout.shapes) == [(-0.5, 3.5), (3.5, -0.5)]


def test_attention_pattern_accepts_a_head_id_and_pads_short_records():
    from interp.model.heads import HeadId

    fig = attention_pattern(make_result(), HeadId(0, 0))
    assert [list(row) for row in fig.data[0].z][0] == [1.0] + [None] * (len(TOKENS) - 1)
    assert len(fig.data[0].z) == len(TOKENS)  # as long as the token sequence
    assert pattern_grid([[1.0], [0.25, 0.75]], 3) == [
        [1.0, None, None], [0.25, 0.75, None], [None, None, None]
    ]


def test_attention_pattern_without_a_recorded_pattern_raises():
    with pytest.raises(ValueError, match=r"head 1\.0 has no example attention pattern.*1\.2"):
        attention_pattern(make_result(), "1.0")
    document = make_result().to_dict()
    document["example"] = {}
    with pytest.raises(ValueError, match="recorded no example patterns"):
        attention_pattern(Classification.from_dict(document), "1.2")
    with pytest.raises(ValueError, match="not of the form"):
        attention_pattern(make_result(), "induction")


def test_probe_and_distance_figures_from_a_real_classification(planted):
    from interp import ClassifySettings, classify_heads
    from interp.report.plots import distance_profiles, probe_accuracy

    result = classify_heads(planted.model, ClassifySettings(n_seqs=8, seq_len=10, sweep=False))
    fig = probe_accuracy(result)
    lines = {t.name: list(t.y) for t in fig.data}
    assert lines["previous_token_identity"][1] > 0.7 > lines["previous_token_identity"][0]  # few rows here
    assert len(lines["previous_token_identity"]) == 3
    dist = distance_profiles(result)
    prev = next(t for t in dist.data if t.name == planted.heads_with_role("previous_token")[0])
    assert prev.visible is True and max(prev.y) == prev.y[1]  # peaks one position back
    empty = Classification.from_dict({**result.to_dict(), "probes": []})
    assert probe_accuracy(empty).layout.annotations
