"""Ablation invariants and effects on hand-set weights."""

import pytest
import torch

from interp import ablation_hooks, attached_hooks, copy_losses, measure_ablation, repeated_tokens
from interp.engine.ablation import residual_after_layer
from interp.spec.ablation_methods import derangement


@pytest.fixture(scope="module")
def stimuli():
    return repeated_tokens(16, 20, vocab_size=24, seed=1)


def test_empty_ablation_equals_clean(planted, stimuli):
    assert ablation_hooks(planted.model, stimuli, []) == []
    first, second = copy_losses(planted.model, stimuli)
    first2, second2 = copy_losses(planted.model, stimuli, [])
    assert torch.equal(second, second2)


def test_ablating_a_silent_head_changes_nothing(planted, stimuli):
    silent = planted.heads_with_role("bos")[0]
    for method in ("mean", "zero", "resample"):
        effect = measure_ablation(planted.model, stimuli, [silent], method=method)
        assert abs(effect.effect) < 1e-5, method


@pytest.mark.parametrize("method", ["mean", "zero", "resample"])
def test_induction_ablation_destroys_copying(planted, stimuli, method):
    head = planted.heads_with_role("induction")[0]
    effect = measure_ablation(planted.model, stimuli, [head], method=method)
    assert effect.effect > 1.0 and effect.relative > 0.3
    assert effect.supports(0.1)
    assert effect.heads == (head,) and effect.method == method


def test_previous_token_ablation_removes_downstream_induction(planted, stimuli):
    prev = planted.heads_with_role("previous_token")
    ind = planted.heads_with_role("induction")
    effect = measure_ablation(planted.model, stimuli, prev, metric="downstream_induction",
                              receivers=ind)
    assert effect.clean > 0.95 and effect.ablated < 0.05 and effect.relative > 0.95


def test_hooks_do_not_write_into_activations_they_were_given(planted, stimuli):
    hooks = ablation_hooks(planted.model, stimuli, ["1.0"], method="zero")
    z = torch.ones(2, 5, 6, 90)
    out = hooks[0][1](z, None)
    assert torch.equal(z, torch.ones_like(z)) and (out[:, :, 0] == 0).all()


def test_mean_ablation_preserves_the_average_output(planted, stimuli):
    hooks = ablation_hooks(planted.model, stimuli, ["0.0"], method="mean")
    clean = residual_after_layer(planted.model, stimuli, 0)
    ablated = residual_after_layer(planted.model, stimuli, 0, hooks)
    assert torch.allclose(clean.mean((0, 1)), ablated.mean((0, 1)), atol=1e-4)
    assert not torch.allclose(clean, ablated)


def test_resample_permutation_has_no_fixed_point_and_is_seeded():
    for n in (2, 3, 10):
        perm = derangement(n, seed=4)
        assert sorted(perm.tolist()) == list(range(n))
        assert not (perm == torch.arange(n)).any()
        assert torch.equal(perm, derangement(n, seed=4))


def test_hooks_removed_when_the_forward_raises(planted, stimuli):
    hooks = ablation_hooks(planted.model, stimuli, ["1.0"])
    with pytest.raises(ValueError, match="exceeds n_ctx"):
        with attached_hooks(planted.model, hooks):
            planted.model(torch.zeros(1, 100, dtype=torch.long))  # longer than the context


@pytest.mark.parametrize("kwargs, match", [
    (dict(heads=["9.0"]), "does not exist"),
    (dict(heads=["banana"]), "L.H"),
    (dict(heads=["1.0"], method="median"), "unknown ablation method"),
    (dict(heads=["1.0"], metric="accuracy"), "unknown ablation metric"),
    (dict(heads=["0.0"], metric="downstream_induction"), "receiver"),
])
def test_bad_input(planted, stimuli, kwargs, match):
    with pytest.raises(ValueError, match=match):
        measure_ablation(planted.model, stimuli, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(heads=[]), "at least one head"),
    (dict(heads=["1.0"], metric="downstream_induction", receivers=["0.1"]),
     "not in a layer after"),
    (dict(heads=["1.0"], metric="downstream_induction", receivers=["1.1"]),
     "not in a layer after"),
])
def test_ablations_that_measure_nothing_are_refused_up_front(planted, stimuli, kwargs, match):
    """No heads, or receivers no ablated head can reach: an error, not an effect of 0."""
    with pytest.raises(ValueError, match=match):
        measure_ablation(planted.model, stimuli, **kwargs)


def test_ablation_methods_are_registry_entries(planted, stimuli):
    """A method is a registered object: a new one is chosen by name like the built-ins, and
    every path (hooks, exact sweep, attribution screen) replaces outputs through it."""
    from interp import ablation_sweep
    from interp.engine.ablation_sweep import attribution_scores
    from interp.spec.ablation_methods import (
        ZeroAblation,
        ablation_method,
        ablation_method_names,
        register_ablation_method,
        unregister_ablation_method,
    )

    assert ablation_method_names()[:3] == ("mean", "zero", "resample")
    with pytest.raises(ValueError, match=r"unknown ablation method 'nope'; choose from \("):
        ablation_method("nope")
    with pytest.raises(ValueError, match="resample ablation needs at least 2 sequences"):
        ablation_method("resample").check(1)

    class Nothing(ZeroAblation):  # zeros under another name: must agree with "zero"
        pass

    register_ablation_method(Nothing(name="nothing", description="zeros again"))
    try:
        heads = planted.heads_with_role("induction")
        same = measure_ablation(planted.model, stimuli, heads, method="nothing")
        zero = measure_ablation(planted.model, stimuli, heads, method="zero")
        assert same.method == "nothing" and same.effect == pytest.approx(zero.effect)
        swept = ablation_sweep(planted.model, stimuli, method="nothing")
        assert torch.allclose(swept.effects, ablation_sweep(planted.model, stimuli,
                                                            method="zero").effects)
        screened = attribution_scores(planted.model, stimuli, method="nothing")
        assert torch.allclose(screened.effects, attribution_scores(
            planted.model, stimuli, method="zero").effects)
    finally:
        unregister_ablation_method("nothing")
    with pytest.raises(ValueError, match="unknown ablation method"):
        measure_ablation(planted.model, stimuli, heads, method="nothing")


def test_seeds_are_derived_by_purpose():
    from interp.stimuli.seeds import SEED_OFFSETS, derive_seed

    assert derive_seed(5, "census") == 5
    assert len(set(SEED_OFFSETS.values())) == len(SEED_OFFSETS)  # no two purposes share
    assert {derive_seed(0, p) for p in SEED_OFFSETS} == set(SEED_OFFSETS.values())
    with pytest.raises(KeyError, match="known"):
        derive_seed(0, "typo")


@pytest.mark.parametrize("method", ["mean", "zero", "resample"])
def test_a_clean_run_gives_the_same_effects(planted, stimuli, method, watch_model):
    """Ablations that reuse one clean pass (starting at the first ablated layer, reading
    only the positions the metric needs) measure what full ablated passes measure."""
    from interp.engine.ablation import clean_run

    watch_model(planted.model)
    clean = clean_run(planted.model, stimuli)
    induction = planted.heads_with_role("induction")
    prev = planted.heads_with_role("previous_token")
    cases = [(induction, {}), (prev + induction, {}),
             (prev, {"metric": "downstream_induction", "receivers": induction})]
    for heads, kwargs in cases:
        full = measure_ablation(planted.model, stimuli, heads, method=method, seed=3, **kwargs)
        fast = measure_ablation(planted.model, stimuli, heads, method=method, seed=3,
                                clean=clean, **kwargs)
        for name in ("clean", "ablated", "effect", "stderr", "scale"):
            assert getattr(fast, name) == pytest.approx(getattr(full, name), abs=1e-5), name
    other = repeated_tokens(4, 20, vocab_size=24, seed=2)
    with pytest.raises(ValueError, match="other stimuli"):
        measure_ablation(planted.model, other, induction, clean=clean)


def test_copy_suppression_effect_from_a_clean_run_is_the_same(planted, stimuli):
    from interp.catalog.copy_suppression import copy_suppression_effect
    from interp.engine.ablation import clean_run

    clean = clean_run(planted.model, stimuli)
    heads = planted.heads_with_role("induction")
    full = copy_suppression_effect(planted.model, stimuli, heads)
    fast = copy_suppression_effect(planted.model, stimuli, heads, clean=clean)
    for name in ("clean", "ablated", "effect", "stderr", "scale", "relative"):
        assert getattr(fast, name) == pytest.approx(getattr(full, name), abs=1e-5), name
