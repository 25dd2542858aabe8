"""Linear probes: known-truth features, chance levels, labels and bad input."""

import pytest
import torch

from interp import occurrence_tokens
from interp.engine.ablation import residual_after_layer
from probes import ProbeResult, fit_linear_probe, occurred_before_labels, previous_token_labels


def test_probe_reads_a_planted_linear_feature_and_not_noise():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (600,), generator=g)
    noise = torch.randn(600, 8, generator=g)
    informative = noise.clone()
    informative[:, 3] += 3.0 * labels
    good = fit_linear_probe(informative, labels, task="t", site="s", seed=0)
    bad = fit_linear_probe(noise, labels, task="t", site="s", seed=0)
    assert good.accuracy > 0.9 and good.above_chance > 0.8
    assert abs(bad.accuracy - bad.chance) < 0.1
    assert ProbeResult.from_dict(good.to_dict()) == good
    assert fit_linear_probe(informative, labels, task="t", site="s", seed=0) == good


def test_labels():
    tokens = torch.tensor([[0, 5, 7, 5, 0, 7]])
    labels, keep = occurred_before_labels(tokens)
    assert labels[0].tolist() == [False, False, False, True, False, True]
    assert keep[0].tolist() == [False, True, True, True, True, True]
    prev, keep = previous_token_labels(tokens)
    assert prev[0, 2:].tolist() == [5, 7, 5, 0] and not keep[0, :2].any()


def test_duplicate_head_information_lives_after_layer_0_of_the_planted_model(planted):
    stimuli = occurrence_tokens(24, 20, vocab_size=24, seed=0)
    labels, keep = occurred_before_labels(stimuli.tokens)
    resid = residual_after_layer(planted.model, stimuli, 0)[keep]
    result = fit_linear_probe(resid, labels[keep], task="occurred_before",
                              site="blocks.0.hook_resid_post", seed=0)
    assert result.accuracy > 0.95


@pytest.mark.parametrize("features, labels, match", [
    (torch.zeros(10, 3), torch.zeros(9), "features must be"),
    (torch.zeros(10, 3), torch.zeros(10), "single class"),
    (torch.zeros(3, 3), torch.tensor([0, 1, 0]), "too few rows"),
])
def test_bad_input(features, labels, match):
    with pytest.raises(ValueError, match=match):
        fit_linear_probe(features, labels, task="t", site="s")


def test_probe_layers_find_where_the_planted_heads_write(planted):
    from interp import ablation_hooks, repeated_tokens
    from interp.results.classification import LayerProbes
    from interp.engine.probing import probe_layers

    repeated = repeated_tokens(16, 20, vocab_size=24, seed=0)
    prev = probe_layers(planted.model, repeated, "previous_token_identity")
    assert [r.site for r in prev.results] == [
        "blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    assert prev.accuracy[0] < 0.3 and prev.accuracy[1] > 0.95  # written by layer 0
    head = planted.heads_with_role("previous_token")[0]
    hooks = ablation_hooks(planted.model, repeated, [head])
    gone = probe_layers(planted.model, repeated, "previous_token_identity", hooks=hooks, ablated=[head])
    assert gone.accuracy[1] < 0.3 and gone.ablated == (head,)
    assert LayerProbes.from_dict(gone.to_dict()) == gone
    assert len(gone.to_table()) == 3
    with pytest.raises(KeyError, match="unknown probe task"):
        probe_layers(planted.model, repeated, "sentiment")


def test_probe_tasks_are_a_registry():
    """Probe tasks live on the one registry implementation: a name registers once, lookups
    name what is registered, and a task can be replaced or removed."""
    from interp.spec.probe_tasks import (
        ProbeTask,
        probe_task,
        register_probe_task,
        registered_probe_tasks,
        unregister_probe_task,
    )

    names = [t.name for t in registered_probe_tasks()]
    assert names[:2] == ["previous_token_identity", "occurred_before"]
    original = probe_task("occurred_before")
    with pytest.raises(ValueError, match="registered already"):
        register_probe_task(ProbeTask("occurred_before", original.labels))
    with pytest.raises(TypeError, match="ProbeTask"):
        register_probe_task("occurred_before")
    twin = ProbeTask("occurred_before", original.labels, stimuli="census")
    try:
        assert register_probe_task(twin, replace=True) is probe_task("occurred_before")
    finally:
        register_probe_task(original, replace=True)
    extra = register_probe_task(ProbeTask("extra_task", original.labels))
    assert unregister_probe_task("extra_task") is extra
    with pytest.raises(KeyError, match="known"):
        unregister_probe_task("extra_task")
