"""Ablated passes kept on a clean run: a later ablation starts where it first differs from
one already run, and gets exactly what a full ablated pass gives."""

from __future__ import annotations

import pytest
import torch

from interp.engine import ablation
from interp.engine.ablation import (
    ablated_resid,
    ablation_hooks,
    clean_run,
    measure_ablation,
    rerun_key,
)
from interp.engine.ablation_sweep import ablation_sweep
from interp.model.heads import HeadId
from interp.model.hooks import attached_hooks, resid_post_hook, resid_pre_hook
from interp.stimuli.tokens import repeated_tokens

from conftest import watch


@pytest.fixture(scope="module")
def deep_model():
    """Four layers with MLPs, random weights: groups of heads span several layers."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(
        d_model=32, d_head=8, n_heads=4, n_layers=4, n_ctx=41, d_vocab=50, d_mlp=64,
        act_fn="gelu", normalization_type="LN", seed=1, model_name="random-deep",
    )
    model = TransformerBridge.boot_native(cfg)
    model.eval()
    return watch(model)


@pytest.fixture(scope="module")
def stimuli():
    return repeated_tokens(6, 12, vocab_size=50, seed=4)


def _full_pass(model, stimuli, heads, method="mean", seed=0):
    """The residual leaving the last block of a whole ablated forward pass."""
    kept = {}

    def keep(resid, hook):
        kept["final"] = resid.detach().clone()

    hooks = ablation_hooks(model, stimuli, heads, method=method, seed=seed)
    last = int(model.cfg.n_layers) - 1
    with torch.inference_mode(), attached_hooks(model, hooks + [(resid_post_hook(last), keep)]):
        model(stimuli.tokens)
    return kept["final"]


def _blocks_run(model):
    """A read-only hook on every block's input, and the list of layers it saw run."""
    seen: list[int] = []

    def make(layer):
        def count(resid, hook):
            seen.append(layer)

        return count

    return [(resid_pre_hook(layer), make(layer)) for layer in range(model.cfg.n_layers)], seen


@pytest.mark.parametrize("method", ["mean", "zero", "resample"])
def test_a_group_without_one_member_restarts_at_that_members_layer(deep_model, stimuli, method):
    clean = clean_run(deep_model, stimuli)
    group = [HeadId(0, 1), HeadId(1, 2), HeadId(2, 0), HeadId(2, 3)]
    together = ablated_resid(deep_model, clean, group, method=method, seed=2)
    torch.testing.assert_close(together, _full_pass(deep_model, stimuli, group, method, 2))
    for member in group:
        rest = [h for h in group if h != member]
        counting, seen = _blocks_run(deep_model)
        out = ablated_resid(deep_model, clean, rest, method=method, seed=2, hooks=counting,
                            hooks_from=member.layer)
        # blocks before the member's layer are in the group's state already
        assert min(seen) == member.layer, (member, seen)
        torch.testing.assert_close(out, _full_pass(deep_model, stimuli, rest, method, 2),
                                   rtol=0, atol=1e-6)
    # asked again: nothing is run
    counting, seen = _blocks_run(deep_model)
    again = ablated_resid(deep_model, clean, group, method=method, seed=2)
    assert torch.equal(again, together)
    # another seed or method is another ablation: never read from these
    assert rerun_key(method, 3, group) not in clean.reruns


def test_the_sweep_leaves_each_heads_pass_for_the_confirmations(deep_model, stimuli):
    clean = clean_run(deep_model, stimuli)
    heads = [HeadId(1, 0), HeadId(3, 2)]
    sweep = ablation_sweep(deep_model, stimuli, heads=heads, clean=clean)
    fresh = ablation_sweep(deep_model, stimuli, heads=heads)
    torch.testing.assert_close(sweep.effects, fresh.effects, equal_nan=True)
    counting, seen = _blocks_run(deep_model)
    with attached_hooks(deep_model, counting):
        for head in heads:
            effect = measure_ablation(deep_model, stimuli, [head], clean=clean)
            assert effect.effect == pytest.approx(float(sweep.effects[head]), abs=1e-6)
    assert seen == []  # read from the sweep's passes, no block run again
    with pytest.raises(ValueError, match="other stimuli"):
        ablation_sweep(deep_model, repeated_tokens(6, 12, vocab_size=50, seed=5), heads=heads,
                       clean=clean)


def test_the_kept_passes_stay_within_their_budget(deep_model, stimuli, monkeypatch):
    clean = clean_run(deep_model, stimuli)
    one_layer = clean.final.numel() * clean.final.element_size()
    monkeypatch.setattr(ablation, "RERUN_CACHE_BYTES", 5 * one_layer)
    for layer in range(4):
        for head in range(4):
            out = ablated_resid(deep_model, clean, [HeadId(layer, head)])
            torch.testing.assert_close(
                out, _full_pass(deep_model, stimuli, [HeadId(layer, head)]), rtol=0, atol=1e-6)
    kept = sum(t.numel() * t.element_size() for e in clean.reruns.values() for t in e.values())
    assert kept <= 5 * one_layer
    assert rerun_key("mean", 0, [HeadId(3, 3)]) in clean.reruns  # the latest stays
