"""Per-head measures (interp.spec.measures): the registry capability, and each built-in
measure against planted heads and their look-alikes."""

from __future__ import annotations

import json

import pytest
import torch

import interp
from interp import ClassifySettings, Classification, Measure, MeasureCheck, classify_heads
from interp.catalog.induction_distance import copy_band_positions, copy_loss_effect
from interp.catalog.successor import ordinal_stimuli, successor_logit_effect
from interp.catalog.sink import sink_values
from interp.stimuli.long import long_stimuli
from interp.spec.measures import resolve_measures
from interp.catalog.successor import successor_measure
from interp.engine.measures import uniform_pattern
from interp.stimuli.tokens import Stimuli
from interp.train.planted import build_planted_model
from interp.results.classification import SCHEMA_VERSION

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
    assert document["schema_version"] == SCHEMA_VERSION == 4
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
    with pytest.raises(TypeError, match="expected an interp.Measure, got str"):
        interp.register_measure("m")
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
    assert f"sink (measure): {on_key} (1.00, no-op sink refuted), {on_bos} (1.00, " \
        "no-op sink confirmed)" in result.summary()


def test_a_no_op_sink_is_confirmed_and_a_reader_of_its_sink_key_refuted(sinks):
    planted, result = sinks
    (reader,) = planted.heads_with_role("sink_1")  # all on key 1, a random token it copies
    (no_op,) = planted.heads_with_role("bos")  # all on BOS, whose value is empty
    confirmed, refuted = result.head(no_op).checks["sink"], result.head(reader).checks["sink"]
    assert confirmed.status == "confirmed" and confirmed.metric == "sink_value_norm"
    assert confirmed.ablated == 0.0 and confirmed.relative == pytest.approx(1.0)
    assert refuted.status == "refuted" and refuted.relative == pytest.approx(0.0, abs=1e-6)
    assert refuted.reason.startswith("key 1 writes 1 per unit of attention, 1x a content key's")
    assert all(h.checks == {} for h in result.heads if h.label not in (reader, no_op))
    assert (f"{reader} (1.00, no-op sink refuted), {no_op} (1.00, no-op sink confirmed)"
            in result.summary())
    marks = result.marks()["sink"]
    assert marks[reader]["no-op sink"] == "refuted" and marks[no_op]["no-op sink"] == "confirmed"
    assert result.roles()["marked"] == result.marks()


def test_the_sink_check_of_every_marked_head_in_one_pass_agrees_with_one_at_a_time(sinks):
    """``MeasureCheck.each`` (one forward pass for all marked heads) gives each head the
    evidence ``fn`` gives it alone."""
    planted, result = sinks
    check = interp.spec.measures.get_measure("sink").check
    heads = [interp.HeadId.parse(h) for h in result.marked_by("sink")]
    stimuli = long_stimuli(planted.model, 8, seed=2, bos_token_id=0)
    together = check.each(planted.model, stimuli, heads, min_effect=0.1, z=2.0)
    alone = [check.fn(planted.model, stimuli, [h], min_effect=0.1, z=2.0) for h in heads]
    assert len(heads) >= 2 and together == alone


def _sink_beside(edit):
    """A planted BOS sink (0.0) beside a uniform head, its weights changed by ``edit(state)``;
    classified for the sink measure only."""
    planted = build_planted_model(roles_layer0=("bos", "uniform"), roles_layer1=("uniform",))
    state = {k: v.clone() for k, v in planted.model.state_dict().items()}
    edit(state)
    planted.model.load_state_dict(state)
    watch(planted.model)
    result = classify_heads(planted.model, ClassifySettings(**{**QUICK, "measures": ("sink",)}))
    assert result.marked_by("sink") == ["0.0"]
    return result.head("0.0").checks["sink"]


def test_a_sink_that_adds_a_constant_from_bos_is_refuted():
    def bos_value(state):  # BOS now carries ten times token 5's one-hot, which V reads
        state["embed.weight"][0] += 10 * state["embed.weight"][5]

    evidence = _sink_beside(bos_value)
    assert evidence.status == "refuted"
    assert evidence.ablated == pytest.approx(10.0) and evidence.relative == pytest.approx(-9.0)
    assert "writes more than a content key" in evidence.note


def test_a_sink_in_a_head_that_writes_nothing_is_undecided():
    def silence(state):  # head 0.0 keeps its pattern but its W_O is zero
        d_head = state["blocks.0.attn.o.weight"].shape[1] // 2
        state["blocks.0.attn.o.weight"][:, :d_head] = 0.0

    evidence = _sink_beside(silence)
    assert evidence.status == "undecidable"
    assert "writes nothing from its content keys" in evidence.reason


def test_bad_checks_are_refused_naming_the_problem(sinks):
    planted, _ = sinks
    with pytest.raises(ValueError, match="claim"):
        MeasureCheck(claim=" ", description="d", fn=lambda *a, **k: {})
    with pytest.raises(ValueError, match="callable"):
        MeasureCheck(claim="c", description="d", fn=None)
    check = MeasureCheck(claim="c", description="d", fn=lambda *a, **k: {})  # not Evidence
    with pytest.raises(ValueError, match="needs a threshold"):
        Measure(name="m", description="d", fn=self_attention, check=check)
    with pytest.raises(ValueError, match="MeasureCheck"):
        Measure(name="m", description="d", fn=self_attention, threshold=0.5, check="c")
    lazy = Measure(name="on_itself", description="d", fn=self_attention, stimuli="census",
                   threshold=0.5, check=check)
    with pytest.raises(TypeError, match="check of measure 'on_itself' must return an "
                                        "interp.Evidence"):
        classify_heads(planted.model, ClassifySettings(**{**QUICK, "measures": (lazy,)}))
    stimuli = long_stimuli(planted.model, 2, seed=0, bos_token_id=0)
    with pytest.raises(ValueError, match="quantile"):
        sink_values(planted.model, stimuli, ["0.0"], quantile=1.0)
    with pytest.raises(ValueError, match="does not exist"):
        sink_values(planted.model, stimuli, ["3.0"])
    short = Stimuli(tokens=stimuli.tokens[:, :2], valid=stimuli.valid[:, :2], bos_token_id=0)
    with pytest.raises(ValueError, match="three real tokens"):
        sink_values(planted.model, short, ["0.0"])


def test_checks_survive_the_report_and_old_reports_read_without_them(sinks, tmp_path):
    planted, result = sinks
    (no_op,) = planted.heads_with_role("bos")
    paths = interp.write_report(result, tmp_path)
    document = json.loads(paths["json"].read_text())
    again = Classification.from_dict(document)
    assert again.head(no_op).checks == result.head(no_op).checks
    assert again.measure("sink").check_claim == "no-op sink"
    assert again.summary() == result.summary()
    page, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    for text in (page, markdown):
        assert f"{no_op} no-op sink ✓: BOS writes 0 per unit of attention" in text
        assert "Each is put to a check, no-op sink" in text
    document["schema_version"] = 3
    for head in document["heads"]:
        del head["checks"]
    for m in document["measures"]:
        del m["check_claim"], m["check"]
    old = Classification.from_dict(document)
    assert all(h.checks == {} for h in old.heads)
    assert f"{no_op} (1.00)" in old.summary()


# ------------------------------------------------------------------ window, distance, position


def test_copy_band_positions_find_continued_copies_only():
    #            0  1  2  3  4  5  6  7  8  9
    tokens = torch.tensor([[0, 5, 6, 7, 9, 5, 6, 7, 3, 9]])
    copies, sources = copy_band_positions(tokens, min_distance=2)
    # positions 5, 6 predict 6, 7 from the copy 4 back; 9 repeats 4 but nothing follows
    assert copies[0].nonzero().flatten().tolist() == [5, 6]
    assert sources[0].nonzero().flatten().tolist() == [1, 2]
    copies, _ = copy_band_positions(tokens, min_distance=5)
    assert not copies.any()


def test_long_range_induction_is_checked_by_retrieval():
    planted = build_planted_model(roles_layer0=("previous_token", "uniform"),
                                  roles_layer1=("induction", "copy_suppression"))
    watch(planted.model)
    result = classify_heads(planted.model, ClassifySettings(**QUICK))
    (induction,), (suppressor,) = (planted.heads_with_role(r)
                                   for r in ("induction", "copy_suppression"))
    assert result.marked_by("induction_long") == [induction, suppressor]  # same pattern
    retrieves, look_alike = (result.head(h).checks["induction_long"]
                             for h in (induction, suppressor))
    assert retrieves.status == "confirmed" and retrieves.metric == "copy_loss:9+"
    assert retrieves.effect > 1.0  # nats on the long copies
    assert look_alike.status == "refuted" and look_alike.effect < 0  # it made copies harder
    assert "long-range induction (measure)" in result.summary()


def test_redundant_long_range_induction_heads_are_confirmed_together():
    planted = build_planted_model(roles_layer0=("previous_token", "uniform"),
                                  redundant_induction=True)
    watch(planted.model)
    result = classify_heads(planted.model, ClassifySettings(**QUICK))
    heads = planted.heads_with_role("induction")
    (group,) = [g for g in result.groups if g.behavior == "induction_long: retrieval"]
    assert group.heads == tuple(heads) and group.confirmed
    for label in heads:
        evidence = result.head(label).checks["induction_long"]
        assert evidence.status == "refuted"  # alone each head carries half the copy
        assert result.marks()["induction_long"][label]["retrieval"] == "confirmed together"
    assert f"{heads[0]} (0.84, retrieval confirmed together)" in result.summary()


def test_copy_loss_effect_cannot_decide_where_nothing_copies():
    planted = build_planted_model(roles_layer0=("previous_token",), roles_layer1=("uniform",))
    stimuli = long_stimuli(planted.model, 4, seed=0, bos_token_id=0)
    effect = copy_loss_effect(planted.model, stimuli, ["1.0"], min_distance=9)
    assert abs(effect.scale) < 1e-2 and effect.relative != effect.relative  # NaN
    with pytest.raises(ValueError, match="no sequence holds a copy at distance 60+"):
        copy_loss_effect(planted.model, stimuli, ["1.0"], min_distance=60)
    assert not interp.leftover_hooks(planted.model)


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
    figure = interp.report.plots.measure_profiles(result, "key_position")
    assert len(figure.data) == len(result.heads)
    assert 'id="interp-measure-key_position"' in interp.render_html(result)


# ------------------------------------------------------------------ successor (Gould et al.)


def test_successor_measure_tells_a_successor_head_from_its_look_alikes():
    planted = build_planted_model(
        roles_layer0=("successor", "self_copy", "uniform", "idle_successor"),
        roles_layer1=("uniform",))
    watch(planted.model)
    ordinal = successor_measure([list(range(1, 24))], name="successor_ids")
    result = classify_heads(planted.model, ClassifySettings(**QUICK, measures=(ordinal,)))
    scores = {planted.roles[h.label]: h.measures["successor_ids"] for h in result.heads}
    assert scores["successor"] == 1.0 and scores["self_copy"] == 0.0
    assert scores["idle_successor"] == 1.0  # the weights alone cannot tell these two apart
    assert result.measure("successor_ids").kind == "weights"
    (successor,), (idle,) = (planted.heads_with_role(r) for r in ("successor", "idle_successor"))
    assert result.marked_by("successor_ids") == [successor, idle]
    works, idles = result.head(successor).checks["successor_ids"], result.head(idle).checks[
        "successor_ids"]
    # in context the planted head gives the successor its whole logit (10, centred 9.17 for
    # 24 tokens); mean ablation leaves the average successor, spread over 23 tokens
    assert works.status == "confirmed" and works.metric == "successor_logit"
    assert works.clean == pytest.approx(10 * 22 / 24, abs=1e-3) and works.relative > 0.95
    assert idles.status == "refuted" and idles.effect == pytest.approx(0.0, abs=1e-6)
    assert (f"successor_ids (measure): {successor} (1.00, successor in context confirmed), "
            f"{idle} (1.00, successor in context refuted)") in result.summary()


def test_in_context_successor_check_is_undecided_where_nothing_raises_successors():
    planted = build_planted_model(roles_layer0=("idle_successor", "uniform"),
                                  roles_layer1=("uniform",))
    watch(planted.model)
    ordinal = successor_measure([list(range(1, 24))], name="successor_ids")
    result = classify_heads(planted.model, ClassifySettings(**QUICK, measures=(ordinal,)))
    (idle,) = planted.heads_with_role("idle_successor")
    evidence = result.head(idle).checks["successor_ids"]
    assert evidence.status == "undecidable"
    assert "does not raise successors" in evidence.reason


def test_ordinal_stimuli_and_successor_effect_refuse_bad_input():
    planted = build_planted_model(roles_layer0=("successor",), roles_layer1=("uniform",))
    stimuli = ordinal_stimuli([[1, 2, 3]], 4, 8, vocab_size=24, bos_token_id=0, seed=1)
    assert stimuli.tokens.shape == (4, 9) and set(stimuli.tokens[:, 1:].unique().tolist()) <= {1, 2, 3}
    assert torch.equal(stimuli.tokens, ordinal_stimuli([[1, 2, 3]], 4, 8, vocab_size=24,
                                                       bos_token_id=0, seed=1).tokens)
    with pytest.raises(ValueError, match="n_seqs"):
        ordinal_stimuli([[1, 2, 3]], 0, 8, vocab_size=24, bos_token_id=0, seed=1)
    with pytest.raises(ValueError, match="vocab|outside"):
        ordinal_stimuli([[1, 99]], 2, 8, vocab_size=24, bos_token_id=0, seed=1)
    with pytest.raises(ValueError, match="two distinct ids"):
        ordinal_stimuli([[3]], 2, 4, vocab_size=24, bos_token_id=0, seed=1)
    no_successor = ordinal_stimuli([[5, 6]], 2, 4, vocab_size=24, bos_token_id=0, seed=1)
    no_successor.tokens[:, 1:] = 6  # the last member: it has no successor
    with pytest.raises(ValueError, match="no position"):
        successor_logit_effect(planted.model, no_successor, ["0.0"], [[5, 6]])
    with pytest.raises(ValueError, match="does not exist"):
        successor_logit_effect(planted.model, stimuli, ["2.0"], [[1, 2, 3]])
    assert not interp.leftover_hooks(planted.model)


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
    assert f"| {on_key} | sink (measure), no-op sink ✗ |" in interp.render_markdown(result)


def test_the_retrieval_check_from_a_clean_run_is_the_same():
    from interp.engine.ablation import clean_run

    planted = build_planted_model(redundant_induction=True)
    stimuli = long_stimuli(planted.model, 8, seed=2, bos_token_id=0)
    heads = planted.heads_with_role("induction")
    clean = clean_run(planted.model, stimuli)
    for chosen in ([heads[0]], heads):
        full = copy_loss_effect(planted.model, stimuli, chosen, min_distance=9)
        fast = copy_loss_effect(planted.model, stimuli, chosen, min_distance=9, clean=clean)
        for name in ("clean", "ablated", "effect", "stderr", "scale"):
            assert getattr(fast, name) == pytest.approx(getattr(full, name), abs=1e-5), name


def test_sink_values_from_a_clean_run_read_each_attention_alone(sinks):
    """With a clean run each layer's attention runs alone on the residual entering it (no
    MLP, no forward pass), and the values are those of the forward pass."""
    from interp.engine.ablation import clean_run

    planted, _ = sinks
    stimuli = long_stimuli(planted.model, 8, seed=3, bos_token_id=0)
    heads = ["0.0", "0.1", "0.2", "1.0"]
    full = sink_values(planted.model, stimuli, heads)
    fast = sink_values(planted.model, stimuli, heads, clean=clean_run(planted.model, stimuli))
    for a, b in zip(full, fast):
        assert (a.head, a.key) == (b.head, b.key)
        torch.testing.assert_close(a.sink, b.sink)
        torch.testing.assert_close(a.content, b.content)
        assert a.content_quantile == pytest.approx(b.content_quantile)
