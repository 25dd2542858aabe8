"""Per-head measures (interp.measures): the registry capability, and each built-in
measure against planted heads and their look-alikes."""

from __future__ import annotations

import json

import pytest
import torch

import interp
from interp import ClassifySettings, Classification, Measure, classify_heads
from interp.measures import resolve_measures, successor_measure, uniform_pattern
from interp.planted import build_planted_model
from interp.results import SCHEMA_VERSION

from conftest import watch

QUICK = dict(seed=0, n_seqs=8, sweep=False, probes=False, behaviors=("previous_token",))


def self_attention(pattern, tokens, valid):
    """Mean attention of each query on itself (a toy pattern measure)."""
    return pattern.diagonal(dim1=-2, dim2=-1)[..., 1:].mean(-1)  # (B, H)


@pytest.fixture(scope="module")
def sinks():
    """Layer 0: two sinks (on key 1 and on BOS) beside look-alikes that are no sink."""
    planted = build_planted_model(
        roles_layer0=("sink_1", "bos", "uniform", "previous_token", "current_token",
                      "local_3"),
        roles_layer1=("uniform",))
    watch(planted.model)
    return planted, classify_heads(planted.model, ClassifySettings(**QUICK))


def test_a_user_measure_flows_through_every_stage(sinks, tmp_path):
    planted, _ = sinks
    mine = Measure(name="on_itself", description="mean attention of a query on itself.",
                   fn=self_attention, stimuli="census", threshold=0.5)
    result = classify_heads(planted.model, ClassifySettings(**QUICK, measures=(mine,)))
    (current,) = planted.heads_with_role("current_token")
    assert result.head(current).measures["on_itself"] == pytest.approx(1.0, abs=1e-3)
    assert result.marked_by("on_itself") == [current]
    assert f"on_itself (measure): {current} (1.00)" in result.summary()
    assert result.settings["measures"] == ["on_itself"]
    paths = interp.write_report(result, tmp_path)
    document = json.loads(paths["json"].read_text())
    assert document["schema_version"] == SCHEMA_VERSION == 3
    assert document["measures"][0]["name"] == "on_itself"
    again = Classification.from_dict(document)
    assert again.head(current).measures == result.head(current).measures
    assert again.marked_by("on_itself") == [current]
    page = paths["html"].read_text()
    assert 'id="measures"' in page and "mean attention of a query on itself." in page
    markdown = paths["markdown"].read_text()
    assert "| head | on_itself |" in markdown and "**Measure on_itself.**" in markdown
    # a result written before measures existed reads back without them
    del document["measures"]
    document["schema_version"] = 2
    for head in document["heads"]:
        del head["measures"]
    old = Classification.from_dict(document)
    assert old.measures == () and old.heads[0].measures == {}


def test_bad_measures_are_refused_naming_the_problem():
    base = dict(name="m", description="d", fn=self_attention)
    for kwargs, message in [(dict(name="a b"), "identifier"), (dict(kind="tokens"), "kind"),
                            (dict(stimuli="text"), "stimuli"),
                            (dict(bins=("a",), threshold=0.1), "profile"),
                            (dict(kind="weights", above_uniform=True), "above_uniform"),
                            (dict(fn=3), "callable")]:
        with pytest.raises(ValueError, match=message):
            Measure(**{**base, **kwargs})
    with pytest.raises(KeyError, match="unknown measure"):
        resolve_measures(["no_such_measure"])
    with pytest.raises(KeyError, match="unknown measure"):
        ClassifySettings(measures=("no_such_measure",))
    mine = interp.register_measure(Measure(**base))
    try:
        with pytest.raises(ValueError, match="registered already"):
            interp.register_measure(Measure(**base))
        assert interp.registered_measures()[-1] is mine
    finally:
        interp.unregister_measure("m")


def test_uniform_pattern_rows_sum_to_one():
    valid = torch.tensor([[True, True, True, False]])
    pattern = uniform_pattern(valid)[0, 0]
    torch.testing.assert_close(pattern[2], torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0]))
    torch.testing.assert_close(pattern[:3].sum(-1), torch.ones(3))


# ------------------------------------------------------------------ sinks (Gu et al.)


def test_sinks_are_reported_as_sinks_and_look_alikes_are_not(sinks):
    planted, result = sinks
    (on_key, on_bos) = planted.heads_with_role("sink_1") + planted.heads_with_role("bos")
    assert result.marked_by("sink") == [on_key, on_bos]
    assert result.head(on_key).measures["sink_key"] == 1.0
    assert result.head(on_bos).measures["sink_key"] == 0.0
    info = result.measure("sink")
    assert info.threshold == 0.3 and 0.0 < info.baseline < 0.3
    for role in ("uniform", "previous_token", "current_token", "local_3"):
        (label,) = planted.heads_with_role(role)[:1]
        assert result.head(label).measures["sink"] < 0.3, role
    assert f"sink (measure): {on_key} (1.00), {on_bos} (1.00)" in result.summary()


# ------------------------------------------------------------------ window, distance, position


@pytest.fixture(scope="module")
def positional():
    """A local head beside a previous-token head (window of one), a sink, a uniform head
    and a fixed long-range head (back_30: the induction target of the copy 31 back in the long stimuli, n_ctx 64);
    an induction head in layer 1."""
    planted = build_planted_model(
        roles_layer0=("local_3", "previous_token", "sink_1", "uniform", "back_30"),
        roles_layer1=("induction",))
    watch(planted.model)
    return planted, classify_heads(planted.model, ClassifySettings(**QUICK))


def _of(planted, result, role):
    label = planted.heads_with_role(role)[0]
    return result.head(label).measures


def test_window_width_tells_a_local_head_from_a_previous_token_head(positional):
    planted, result = positional
    local, prev = _of(planted, result, "local_3"), _of(planted, result, "previous_token")
    assert local["window_mass"] > 0.99 and prev["window_mass"] > 0.99
    assert local["window_width"] == pytest.approx(3.0, abs=0.01)
    assert prev["window_width"] == pytest.approx(1.0, abs=0.01)
    assert _of(planted, result, "uniform")["window_mass"] < 0.3


def test_induction_split_by_copy_distance(positional):
    planted, result = positional
    induction, fixed = _of(planted, result, "induction"), _of(planted, result, "back_30")
    assert induction["induction_long"] > 0.8 and induction["induction_short"] > 0.5
    # a fixed-offset head lands on the long copy's targets only (not on the chance repeats
    # at other long distances, nor on the short copy): one distance, not copies
    assert fixed["induction_short"] < 0.1 < fixed["induction_long"]
    assert fixed["induction_long"] < induction["induction_long"] - 0.3


def test_key_position_profile_of_sink_local_and_uniform_heads(positional):
    planted, result = positional
    assert result.measure("key_position").bins == tuple(f"{i}/8" for i in range(1, 9))
    sink = _of(planted, result, "sink_1")["key_position"]
    local = _of(planted, result, "local_3")["key_position"]
    flat = _of(planted, result, "uniform")["key_position"]
    assert sink[0] > 0.99 and local[-1] > 0.99
    assert max(flat) - min(flat) < 0.05 and sum(flat) == pytest.approx(1.0, abs=1e-3)
    figure = interp.plots.measure_profiles(result, "key_position")
    assert len(figure.data) == len(result.heads)
    assert 'id="interp-measure-key_position"' in interp.render_html(result)


# ------------------------------------------------------------------ successor (Gould et al.)


def test_successor_measure_tells_a_successor_head_from_a_self_copy_head():
    planted = build_planted_model(roles_layer0=("successor", "self_copy", "uniform"),
                                  roles_layer1=("uniform",))
    watch(planted.model)
    ordinal = successor_measure([list(range(1, 24))], name="successor_ids")
    result = classify_heads(planted.model, ClassifySettings(**QUICK, measures=(ordinal,)))
    scores = {planted.roles[h.label]: h.measures["successor_ids"] for h in result.heads}
    assert scores["successor"] == 1.0 and scores["self_copy"] == 0.0
    assert result.measure("successor_ids").kind == "weights"


def test_a_weights_measure_the_model_cannot_have_says_why(sinks):
    planted, result = sinks
    info = result.measure("successor")  # the planted model has no tokenizer
    assert info.kind == "weights" and "tokenizer" in info.note
    assert all(h.measures["successor"] is None for h in result.heads)
    assert "successor: not available" in interp.render_markdown(result)


def test_marked_heads_are_shown_beside_their_classes(sinks):
    planted, result = sinks
    (on_key,) = planted.heads_with_role("sink_1")
    page = interp.render_html(result)
    assert f'<tr data-head="{on_key}"><th>{on_key}</th><td data-sort=""><span class="measure"' in page
    assert f"| {on_key} | sink (measure) |" in interp.render_markdown(result)
