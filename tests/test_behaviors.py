"""The behavior registry: built-ins, validation, and a user-defined behavior that flows
through every stage (scores, positional control, classes, confirmation, report, sweep)."""

from __future__ import annotations

import json

import pytest
import torch

import interp
from interp import Behavior, ClassifySettings, Confirmation, classify_heads
from interp.spec.probe_tasks import ProbeTask
from interp.spec.behaviors import offset_targets, resolve_behaviors, token_back_labels
from interp.results.evidence import decide, relative_note
from interp.train.planted import build_planted_model

BUILTINS = ("previous_token", "duplicate_token", "induction", "copy_suppression", "local_window",
            "current_token", "first_token")


def two_back_behavior(confirmation=None) -> Behavior:
    """The notebook's example: attend to the token two back; a probe for that token's
    identity, read after the head's layer, must lose accuracy when the head is ablated."""
    task = ProbeTask("back_two_identity", token_back_labels(2), stimuli="census",
                     max_classes=1024)
    return Behavior(
        name="back_two",
        description="attends to the token two positions back (key q - 2).",
        targets=lambda tokens, valid: offset_targets(tokens, 2),
        confirmation=confirmation or Confirmation("probe", probe_task=task),
    )


@pytest.fixture
def two_back():
    behavior = interp.register_behavior(two_back_behavior())
    yield behavior
    interp.unregister_behavior("back_two")


def test_builtins_in_report_order():
    assert [b.name for b in interp.registered_behaviors()][:len(BUILTINS)] == list(BUILTINS)
    assert [b.name for b in interp.registered_behaviors("control")] == [
        "current_token", "first_token"]
    assert interp.get_behavior("induction").positional is not None
    assert interp.get_behavior("previous_token").positional is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="two back"), "identifier"),
    (dict(description=" "), "description"),
    (dict(targets=3), "callable"),
    (dict(eligible="everything"), "eligible"),
    (dict(kind="class"), "kind"),
    (dict(confirmation="ablate"), "unknown confirmation"),
    (dict(confirmation=3), "must be a Confirmation"),
])
def test_bad_behaviors_are_refused_naming_the_problem(kwargs, message):
    base = dict(name="x", description="d", targets=lambda t, v: offset_targets(t, 2))
    with pytest.raises(ValueError, match=message):
        Behavior(**{**base, **kwargs})


def test_bad_confirmations_and_registrations():
    with pytest.raises(ValueError, match="receivers"):
        Confirmation("downstream")
    with pytest.raises(ValueError, match="probe_task"):
        Confirmation("probe")
    with pytest.raises(ValueError, match="callable"):
        Confirmation("custom")
    with pytest.raises(ValueError, match="registered already"):
        interp.register_behavior(interp.get_behavior("induction"))
    with pytest.raises(KeyError, match="unknown behavior 'nope'"):
        interp.get_behavior("nope")
    with pytest.raises(KeyError, match="nope"):
        ClassifySettings(behaviors=("induction", "nope"))
    other = Behavior(name="induction", description="d", targets=lambda t, v: offset_targets(t, 2))
    with pytest.raises(ValueError, match="two different behaviors"):
        resolve_behaviors([interp.get_behavior("induction"), other])
    with pytest.raises(KeyError, match="refers to unknown behavior 'ghost'"):
        resolve_behaviors([Behavior(name="x", description="d", targets=lambda t, v: t,
                                    confirmation=Confirmation("downstream", receivers="ghost"))])


def test_targets_of_the_wrong_shape_fail_before_scoring(planted):
    broken = Behavior(name="broken", description="d",
                      targets=lambda tokens, valid: tokens[:, :, None] > 0)
    stimuli = interp.repeated_tokens(2, 5, vocab_size=24)
    with pytest.raises(ValueError, match="broken.*expected a bool tensor"):
        interp.score_heads(planted.model, stimuli, behaviors=[broken])


def test_a_user_behavior_is_scored_without_registering(planted):
    """``score_heads(behaviors=[...])`` takes unregistered values too."""
    stimuli = interp.repeated_tokens(8, 20, vocab_size=24, seed=0)
    scores = interp.score_heads(planted.model, stimuli, behaviors=[two_back_behavior()])
    assert scores.behaviors == ("back_two",)
    (head,) = planted.heads_with_role("two_back")
    layer, index = map(int, head.split("."))
    assert scores.score("back_two")[layer, index] > 0.99
    assert scores.lift("back_two")[layer, index] > 0.95
    (prev,) = planted.heads_with_role("previous_token")
    assert scores.lift("back_two")[int(prev[0]), int(prev[2])] < 0.05  # the decoy


def test_a_registered_behavior_flows_through_every_stage(two_back, planted, tmp_path):
    result = classify_heads(planted.model, ClassifySettings(seed=0, sweep=False))
    (head,) = planted.heads_with_role("two_back")
    assert result.heads_with("back_two") == [head]  # the decoys (previous-token ...) are not
    evidence = result.head(head).ablation["back_two"]
    assert evidence.metric == "probe_accuracy:back_two_identity@blocks.0.hook_resid_post"
    assert evidence.status == "confirmed" and evidence.relative > 0.9
    assert "back_two: " + head in result.summary()
    assert "back_two_identity" in [p.task for p in result.probes]
    paths = interp.write_report(result, tmp_path)
    page = paths["html"].read_text()
    assert "back_<wbr>two" in page and "attends to the token two positions back" in page
    document = json.loads(paths["json"].read_text())
    assert document["behaviors"][-1]["name"] == "back_two"
    assert "back_two" in document["heads"][0]["scores"]
    assert "back_two (score / null / lift)" in paths["markdown"].read_text()
    # the checkpoint sweep curves it too
    sweep = interp.score_checkpoints([planted.model, planted.model], labels=["a1", "a2"],
                                     n_seqs=4, seq_len=10)
    assert "back_two" in sweep.behaviors
    from interp.report.sweep_page import render_sweep_html

    assert 'id="interp-sweep-back_two"' in render_sweep_html(sweep)


def test_settings_choose_which_behaviors_run(planted):
    result = classify_heads(planted.model, ClassifySettings(
        seed=0, sweep=False, probes=False, behaviors=("induction", "first_token")))
    assert result.behavior_names == ("induction", "first_token")
    assert set(result.heads[0].scores) == {"induction", "first_token"}
    assert result.settings["behaviors"] == ["induction", "first_token"]
    assert result.heads_with("induction") == planted.heads_with_role("induction")


def test_prediction_dependent_targets(planted):
    """A behavior may ask for the model's predicted tokens (a registry capability)."""
    predicted_copy = Behavior(
        name="predicted_copy", description="attends to earlier copies of the predicted token.",
        targets=lambda tokens, valid, predicted: tokens[:, None, :] == predicted[:, :, None],
        needs_predictions=True, confirmation="second_copy_loss",
    )
    stimuli = interp.repeated_tokens(8, 20, vocab_size=24, seed=0)
    scores = interp.score_heads(planted.model, stimuli, behaviors=[predicted_copy])
    (ind,) = planted.heads_with_role("induction")
    lifts = scores.lift("predicted_copy")
    assert lifts[1, int(ind[2])] > 0.7  # the induction head attends where the model predicts
    others = torch.cat([lifts[0], lifts[1, 1:]])
    assert float(others.max()) < 0.1
    with pytest.raises(ValueError, match="needs the model's predictions"):
        predicted_copy.target_mask(stimuli.tokens, stimuli.valid)
    with pytest.raises(ValueError, match="min_prediction_prob"):
        Behavior(name="x", description="d", targets=lambda t, v, p: t, min_prediction_prob=2)


# ------------------------------------------------------------------ the verdict rule


def test_decide_confirms_refutes_and_cannot_decide():
    assert decide(0.5, 0.1, 1.0, 0.1, 2.0).status == "confirmed"
    assert decide(0.05, 0.01, 1.0, 0.1, 2.0).status == "refuted"  # too small
    assert decide(0.5, 0.3, 1.0, 0.1, 2.0).status == "refuted"  # within noise
    undecided = decide(0.5, 0.1, 0.001, 0.1, 2.0, "second_copy_loss")
    assert undecided.status == "undecidable" and undecided.relative != undecided.relative
    assert "second copy is not easier than the first" in undecided.reason
    assert "probe is at chance" in decide(0.0, 0.1, 0.0, 0.1, 2.0, "probe_accuracy:x").reason
    assert relative_note(0.5) is None and "above 1" in relative_note(2.02, "second_copy_loss")
    assert "below 0" in relative_note(-0.3)


def test_a_confirmation_that_cannot_be_made_says_so(watch_model):
    """No induction head: the second copy is no easier, so a class tested on the
    second-copy loss can be neither confirmed nor refuted (and the report says why)."""
    planted = build_planted_model(roles_layer1=("uniform", "uniform"))
    watch_model(planted.model)
    interp.register_behavior(two_back_behavior(Confirmation("second_copy_loss")))
    try:
        result = classify_heads(planted.model, ClassifySettings(seed=0, sweep=False,
                                                                probes=False))
    finally:
        interp.unregister_behavior("back_two")
    (head,) = planted.heads_with_role("two_back")
    evidence = result.head(head).ablation["back_two"]
    assert evidence.status == "undecidable" and result.head(head).status("back_two") == \
        "undecidable"
    assert evidence.reason.startswith("cannot confirm on these stimuli: the second copy is "
                                      "not easier than the first")
    assert abs(evidence.effect) < 1e-3 and evidence.stderr >= 0  # absolute effect kept
    assert f"(undecided: {head}: cannot confirm on these stimuli" in result.summary()
    document = json.loads(interp.render_json(result))
    entry = next(h for h in document["heads"] if h["head"] == head)["ablation"]["back_two"]
    assert entry["relative"] is None and entry["status"] == "undecidable"
    assert "cannot confirm on these stimuli" in interp.render_markdown(result)


def test_a_group_does_not_confirm_a_look_alike(watch_model):
    """One true induction head and a look-alike with the same attention that writes
    nothing: the group of both does no more than the true head alone, so no redundancy is
    claimed and the look-alike stays unconfirmed."""
    planted = build_planted_model(roles_layer1=("induction", "uniform"))
    model = planted.model
    watch_model(model)
    true, fake = 0, 1
    d_head = int(model.cfg.d_head)
    with torch.no_grad():
        attn = model.blocks[1].attn
        for name in ("q", "k"):
            layer = getattr(attn, name)
            weight = layer.weight
            rows = slice(fake * d_head, (fake + 1) * d_head)
            src = slice(true * d_head, (true + 1) * d_head)
            weight[rows] = weight[src]
            if getattr(layer, "bias", None) is not None:
                layer.bias[rows] = layer.bias[src]
    result = classify_heads(model, ClassifySettings(seed=0, sweep=False, probes=False))
    assert result.heads_with("induction") == ["1.0", "1.1"]
    assert result.head("1.0").status("induction") == "confirmed"
    assert result.head("1.1").status("induction") == "refuted"
    (group,) = [g for g in result.groups if g.behavior == "induction"]
    assert group.strongest == "1.0" and not group.confirmed
    # no redundancy: no class can hang on a member adding to the group, so the group is
    # not ablated without each (None: not measured), and the look-alike stays refuted
    assert group.adds == {"1.0": None, "1.1": None}
    assert result.heads_with("induction", confirmed=True) == ["1.0"]
    assert result.head("1.1").status("induction") == "refuted"
    assert "no redundancy shown" in result.summary()


def test_group_members_are_measured_like_the_group(watch_model):
    """Previous-token heads in layers 0 and 1: alone, the layer-0 head is tested on the
    induction head it feeds (downstream), but the group has no later receiver, so the group
    and each member alone are compared on the second-copy loss."""
    planted = build_planted_model(roles_layer1=("induction", "previous_token"))
    watch_model(planted.model)
    result = classify_heads(planted.model, ClassifySettings(seed=0, sweep=False, probes=False))
    early, late = planted.heads_with_role("previous_token")
    assert result.head(early).ablation["previous_token"].metric == "downstream_induction"
    (group,) = [g for g in result.groups if g.behavior == "previous_token"]
    assert group.together.metric == "second_copy_loss"
    stimuli = interp.repeated_tokens(32, 30, vocab_size=24, seed=0)  # the census' stimuli
    alone = interp.measure_ablation(planted.model, stimuli, [early], metric="second_copy_loss")
    assert group.alone[early] == pytest.approx(alone.relative, rel=1e-5)
