"""Classification against hand-set weights: exactly the true heads, confirmed by ablation."""

import json

import pytest
import torch

from interp import (
    Classification,
    ClassifySettings,
    classify_heads,
    registered_behaviors,
    repeated_tokens,
)
from interp.train.planted import build_planted_model

TRUE_ROLES = ("previous_token", "duplicate_token", "induction")


@pytest.fixture(scope="module")
def planted_result(planted):
    return classify_heads(planted.model, ClassifySettings(seed=0))


def test_classifies_exactly_the_true_heads(planted, planted_result):
    for behavior in TRUE_ROLES:
        assert planted_result.heads_with(behavior) == planted.heads_with_role(behavior), behavior
        assert planted_result.heads_with(behavior, confirmed=True) == (
            planted.heads_with_role(behavior)
        ), behavior


#: Distractor roles that are a registered head type of their own (a two-back head is a
#: positional head inside the local window).
OTHER_TYPES = {"two_back": ("local_window",)}


def test_distractors_get_no_class(planted, planted_result):
    for head in planted_result.heads:
        role = planted.roles[head.label]
        if role not in TRUE_ROLES:
            assert head.classes == OTHER_TYPES.get(role, ()), (head.label, role)


def test_controls_expose_the_distractors(planted, planted_result):
    (current,) = planted.heads_with_role("current_token")
    (bos,) = planted.heads_with_role("bos")
    assert planted_result.head(current).lifts["current_token"] > 0.95
    assert planted_result.head(bos).lifts["first_token"] > 0.95
    two_back = planted.heads_with_role("two_back")[0]
    assert planted_result.head(two_back).lifts["previous_token"] < 0


def test_true_heads_score_near_one_above_null(planted, planted_result):
    for behavior in TRUE_ROLES:
        for label in planted.heads_with_role(behavior):
            head = planted_result.head(label)
            assert head.scores[behavior] > 0.97  # induction splits on direct repeats (a a)
            assert head.nulls[behavior] < 0.05
            assert head.lifts[behavior] > 0.98


def test_evidence_uses_the_metric_tied_to_each_behavior(planted, planted_result):
    prev = planted_result.head(planted.heads_with_role("previous_token")[0])
    assert prev.ablation["previous_token"].metric == "downstream_induction"
    assert list(prev.ablation["previous_token"].receivers) == planted.heads_with_role("induction")
    assert prev.ablation["previous_token"].relative > 0.9  # induction attention is gone
    ind = planted_result.head(planted.heads_with_role("induction")[0])
    assert ind.ablation["induction"].metric == "second_copy_loss"
    assert ind.ablation["induction"].ablated > ind.ablation["induction"].clean + 1.0
    dup = planted_result.head(planted.heads_with_role("duplicate_token")[0])
    assert dup.ablation["duplicate_token"].metric.startswith("probe_accuracy:occurred_before")
    # its output is read by nothing: the loss does not move, only the probe can confirm it
    assert abs(dup.loss_effect) < 1e-4
    assert dup.ablation["duplicate_token"].ablated < 0.65


def test_same_seed_same_result_and_json_round_trip(planted, planted_result):
    again = classify_heads(planted.model, ClassifySettings(seed=0))
    assert json.dumps(again.to_dict()) == json.dumps(planted_result.to_dict())
    text = json.dumps(planted_result.to_dict(), allow_nan=False)
    assert Classification.from_dict(json.loads(text)).to_dict() == planted_result.to_dict()


def test_report_json_shape(planted, planted_result):
    data = planted_result.to_dict()
    assert data["model"]["n_layers"] == 2 and data["settings"]["seed"] == 0
    assert len(data["heads"]) == 12
    entry = data["heads"][0]
    assert entry["head"] == "0.0" and entry["layer"] == 0 and entry["index"] == 0
    assert set(entry["scores"]) == {b.name for b in registered_behaviors()}
    assert set(entry["ablation"]["previous_token"]) >= {
        "method", "metric", "clean", "ablated", "effect", "confirmed"}


def test_redundant_induction_heads_are_reported_as_a_group(watch_model):
    planted = build_planted_model(redundant_induction=True)
    watch_model(planted.model)
    result = classify_heads(planted.model, ClassifySettings(seed=0, sweep=False))
    pair = planted.heads_with_role("induction")
    assert result.heads_with("induction") == pair
    # each alone barely matters: reported, but unconfirmed alone ...
    for label in pair:
        assert result.head(label).ablation["induction"].status == "refuted"
    # ... and together they carry the behavior: both are the behavior's, confirmed together
    (group,) = [g for g in result.groups if g.behavior == "induction"]
    assert list(group.heads) == pair and group.confirmed and group.relative > 0.3
    assert all(group.adds[label] for label in pair)
    assert max(group.alone.values()) < 0.1
    assert result.head(pair[0]).ablation["induction"].group.confirmed
    assert result.heads_with("induction", status="confirmed together") == pair
    assert result.heads_with("induction", confirmed=True) == pair
    assert f"induction: confirmed together: {', '.join(pair)}" in result.summary()


def test_random_model_has_no_confirmed_class(random_model):
    result = classify_heads(random_model, ClassifySettings(seed=0, n_seqs=16, sweep=False))
    for behavior in TRUE_ROLES:
        assert result.heads_with(behavior, confirmed=True) == []


def test_bad_settings_and_stimuli(planted):
    with pytest.raises(ValueError, match="n_seqs"):
        ClassifySettings(n_seqs=1)
    with pytest.raises(ValueError, match="min_lift"):
        ClassifySettings(min_lift=0)
    with pytest.raises(ValueError, match="context"):
        classify_heads(planted.model, ClassifySettings(seq_len=40))
    from interp import occurrence_tokens

    with pytest.raises(ValueError, match=r"\[BOS\] r r"):
        classify_heads(planted.model, stimuli=occurrence_tokens(4, 10, vocab_size=24))


def test_caller_stimuli_untouched(planted):
    stimuli = repeated_tokens(4, 10, vocab_size=24, seed=5)
    before = stimuli.tokens.clone()
    classify_heads(planted.model, ClassifySettings(sweep=False), stimuli=stimuli)
    assert torch.equal(stimuli.tokens, before)


def test_weight_evidence_names_the_planted_feeder(planted, planted_result):
    ind = planted_result.head(planted.heads_with_role("induction")[0])
    prev = planted.heads_with_role("previous_token")
    assert [f.head for f in ind.weights.feeders] == prev and ind.weights.mode == "K"
    assert ind.weights.ov_copying > 0.9  # copies the attended token to the logits
    assert planted_result.head(prev[0]).weights.ov_copying == pytest.approx(0, abs=1e-6)


def test_example_patterns_are_recorded(planted, planted_result):
    example = planted_result.example
    assert len(example["tokens"]) == 61 and len(example["patterns"]) == 12
    prev = example["patterns"][planted.heads_with_role("previous_token")[0]]
    assert all(prev[q][q - 1] > 0.99 for q in range(2, 61))


def test_probe_evidence_and_layer_probes(planted, planted_result):
    prev = planted_result.head(planted.heads_with_role("previous_token")[0])
    probe = prev.ablation["previous_token"].probe
    assert probe.clean > 0.95 and probe.confirmed
    tasks = {p.task: p for p in planted_result.probes}
    assert set(tasks) == {"occurred_before", "previous_token_identity", "token_two_back"}
    after_layer0 = tasks["occurred_before"].results[1]
    assert after_layer0.accuracy > 0.95


def test_positional_shortcuts_are_not_called_induction_or_duplicate(watch_model):
    # back_29 / back_30 attend exactly where induction / duplicate targets sit in [BOS] r r
    # with L = 30, by position alone: high lift there, but they keep it without repeats.
    planted = build_planted_model(roles_layer0=(
        "previous_token", "duplicate_token", "back_29", "back_30", "uniform", "two_back"))
    watch_model(planted.model)
    result = classify_heads(planted.model, ClassifySettings(seed=0, n_seqs=16, sweep=False,
                                                            probes=False))
    fake_induction, fake_duplicate = result.head("0.2"), result.head("0.3")
    assert fake_induction.lifts["induction"] > 0.5 and fake_induction.classes == ()
    assert fake_duplicate.lifts["duplicate_token"] > 0.5 and fake_duplicate.classes == ()
    assert fake_induction.no_repeat["induction"] > 0.99
    assert result.heads_with("induction") == ["1.0"]
    assert result.heads_with("duplicate_token") == ["0.1"]
    assert result.head("1.0").no_repeat["induction"] < 0.1


def test_batched_census_gives_the_same_classification(planted):
    settings = dict(seed=0, n_seqs=12, seq_len=10, sweep=False, probes=False)
    whole = classify_heads(planted.model, ClassifySettings(**settings))
    chunked = classify_heads(planted.model, ClassifySettings(**settings, batch_size=5))
    for a, b in zip(whole.heads, chunked.heads):
        assert a.classes == b.classes
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        ClassifySettings(batch_size=0)


def test_many_heads_are_screened_by_attribution_before_exact_ablation(watch_model):
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    from interp.pipeline.classify import SCREENED_EXACT

    cfg = TransformerBridgeConfig(d_model=32, d_head=4, n_heads=40, n_layers=2, n_ctx=33,
                                  d_vocab=32, attn_only=True, normalization_type="LN", seed=1)
    model = watch_model(TransformerBridge.boot_native(cfg))
    result = classify_heads(model, ClassifySettings(n_seqs=4, seq_len=8, probes=False))
    measured = {h.label for h in result.heads if h.loss_effect is not None}
    classified = {h.label for h in result.heads if h.classes}
    assert SCREENED_EXACT <= len(measured) <= SCREENED_EXACT + len(classified) < 80
    assert classified <= measured
    assert "attribution" in result.settings["loss_sweep"]


def test_a_group_is_not_ablated_without_a_member_confirmed_alone():
    """judge_group tests the group without each member *unconfirmed* alone (its class
    hangs on whether it adds); a member confirmed alone keeps its class whatever the
    group shows, so that ablation is skipped and its ``adds`` is None (not measured)."""
    from interp.model.heads import HeadId
    from interp.pipeline.confirm import judge_group
    from interp.results.evidence import AblationEffect, Evidence

    a, b, c = HeadId(1, 0), HeadId(1, 1), HeadId(2, 0)
    # relative effect of each ablated set: a alone clears the bar, b and c do not, the
    # group does clearly more than a; without b it loses a lot, without c nothing
    relative = {(a,): 0.5, (b,): 0.05, (c,): 0.02, (a, b, c): 0.9, (a, c): 0.55,
                (a, b): 0.9}
    tested: list[tuple] = []

    def test(heads: list) -> Evidence:
        key = tuple(sorted(heads))
        tested.append(key)
        r = relative[key]
        effect = AblationEffect(heads=tuple(map(str, heads)), method="mean", metric="m",
                                clean=1.0, ablated=1.0 - r, effect=r, stderr=0.01,
                                relative=r, scale=1.0, seed=0)
        return Evidence.from_effect(effect, 0.1, 2.0)

    group = judge_group("induction", [a, b, c], test, min_effect=0.1, z=2.0)
    assert group.confirmed
    assert group.adds == {"1.0": None, "1.1": True, "2.0": False}
    assert (b, c) not in tested  # the group without a: never run
    assert sorted(tested) == sorted([(a, b, c), (a,), (b,), (c,), (a, c), (a, b)])

    # no redundancy (together no more than a alone): no member is ablated without
    tested.clear()
    relative[(a, b, c)] = 0.52
    group = judge_group("induction", [a, b, c], test, min_effect=0.1, z=2.0)
    assert not group.confirmed and group.adds == dict.fromkeys(["1.0", "1.1", "2.0"])
    assert sorted(tested) == sorted([(a, b, c), (a,), (b,), (c,)])

    # a member's own test may read another metric than the group's (a probe after its own
    # layer): the census says which members its own evidence confirms, and only those skip
    # the group without them (b passes the group's metric alone but not its own test)
    tested.clear()
    relative.update({(a, b, c): 0.95, (b,): 0.3, (b, c): 0.5, (a, c): 0.55, (a, b): 0.95})
    group = judge_group("induction", [a, b, c], test, min_effect=0.1, z=2.0,
                        confirmed_alone=[a])
    assert group.confirmed and group.adds == {"1.0": None, "1.1": True, "2.0": False}
    assert (b, c) not in tested and (a, c) in tested
