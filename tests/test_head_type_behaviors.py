"""The head types of issue 11 as registry entries, each against a planted oracle with a
look-alike decoy, through :func:`interp.classify_heads`."""

from __future__ import annotations

import pytest
import torch

import interp

from interp import ClassifySettings, classify_heads
from interp.train.planted import build_planted_model

from conftest import watch

FAST = dict(seed=0, n_seqs=16, sweep=False, probes=False)


@pytest.fixture(scope="module")
def suppression():
    """Layer 1: an induction head (1.0) and a copy-suppression head (1.1) with the same
    attention pattern and opposite OV signs; layer 0 holds a positional shortcut
    (back_29) that lands on the same keys in [BOS] r r with L = 30."""
    planted = build_planted_model(roles_layer0=("previous_token", "back_29", "uniform"),
                                  roles_layer1=("induction", "copy_suppression"))
    watch(planted.model)
    return planted, classify_heads(planted.model, ClassifySettings(**FAST))


def test_copy_suppression_is_told_from_induction_by_its_ablation(suppression):
    planted, result = suppression
    (ind,) = planted.heads_with_role("induction")
    (sup,) = planted.heads_with_role("copy_suppression")
    # Both attend the same keys, so both are candidates for both classes ...
    for label in (ind, sup):
        assert set(result.head(label).classes) == {"induction", "copy_suppression"}
        assert result.head(label).lifts["copy_suppression"] > 0.8
    # ... and the ablations separate them.
    assert result.heads_with("copy_suppression", confirmed=True) == [sup]
    assert result.heads_with("induction", confirmed=True) == [ind]
    suppressed = result.head(sup).ablation["copy_suppression"]
    assert suppressed.metric == "predicted_logit" and suppressed.status == "confirmed"
    assert suppressed.relative == pytest.approx(0.5, abs=0.05)  # the planted strength
    writer = result.head(ind).ablation["copy_suppression"]
    assert writer.status == "refuted" and writer.effect < 0  # ablating it LOWERS the logit
    assert result.head(sup).status("induction") == "refuted"  # it costs loss, not helps
    assert result.head(sup).weights.ov_copying < 0 < result.head(ind).weights.ov_copying
    summary = result.summary()
    assert f"copy_suppression: {sup} (unconfirmed: {ind})" in summary
    assert f"induction: {ind} (unconfirmed: {sup})" in summary


def test_positional_shortcut_is_not_copy_suppression(suppression):
    planted, result = suppression
    (shortcut,) = planted.heads_with_role("back_29")
    head = result.head(shortcut)
    assert head.lifts["copy_suppression"] > 0.3  # it lands on the predicted copies ...
    assert head.no_repeat["copy_suppression"] > 0.99  # ... by position alone
    assert head.classes == ()


@pytest.fixture(scope="module")
def local():
    """Layer 0: a local head spread over the last three tokens (local_3) beside a
    previous-token head (a window of one) and a long-range positional head (back_29)."""
    planted = build_planted_model(roles_layer0=("local_3", "previous_token", "back_29",
                                                "uniform"))
    watch(planted.model)
    settings = ClassifySettings(**{**FAST, "probes": True})
    return planted, classify_heads(planted.model, settings)


def test_local_window_head_against_previous_token_and_long_range_decoys(local):
    planted, result = local
    (window,) = planted.heads_with_role("local_3")
    (prev,) = planted.heads_with_role("previous_token")
    (far,) = planted.heads_with_role("back_29")
    assert result.heads_with("local_window") == [window]
    assert result.heads_with("local_window", confirmed=True) == [window]
    assert result.head(window).lifts["local_window"] > 0.6  # 2 of its 3 keys are targets
    assert result.head(prev).lifts["local_window"] < 0  # offset 1 is no target
    assert result.head(far).lifts["local_window"] < 0
    evidence = result.head(window).ablation["local_window"]
    assert evidence.metric == "probe_accuracy:token_two_back@blocks.0.hook_resid_post"
    assert evidence.relative > 0.5
    assert "token_two_back" in [p.task for p in result.probes]


def test_pure_target_masks_leave_out_prediction_behaviors_unless_named():
    from interp.spec.behaviors import registered_behaviors
    from interp.engine.scoring import target_masks

    tokens = torch.tensor([[0, 3, 4, 3, 4]])
    masks = target_masks(tokens)  # the registry, without predictions
    needs = [b.name for b in registered_behaviors() if b.needs_predictions]
    assert needs and not set(needs) & set(masks.targets)
    with pytest.raises(ValueError, match="needs the model's predictions"):
        target_masks(tokens, behaviors=needs)
    predicted = interp.spec.behaviors.Predictions(tokens=torch.tensor([[3, 4, 3, 4, 3]]),
                                             probs=torch.ones(1, 5))
    masks = target_masks(tokens, behaviors=needs, predictions=predicted)
    # query 2 predicts 3 (key 1 holds it); query 3 predicts 4 (key 2)
    assert masks.targets[needs[0]][0].nonzero().tolist() == [[2, 1], [3, 2], [4, 1], [4, 3]]
