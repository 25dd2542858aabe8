"""The fast ablation sweep equals the naive loop; the attribution screen is the gradient it
claims to be; neither leaves anything on the model."""

import json

import pytest
import torch
import torch.nn.functional as F

from interp import attached_hooks, copy_losses, leftover_hooks, measure_ablation, repeated_tokens
from interp.spec.ablation_methods import derangement
from interp.model.hooks import z_hook
from interp.stimuli.tokens import Stimuli
from interp.engine.ablation import run_blocks
from interp.engine.ablation_sweep import AblationSweep, ablation_sweep, attribution_scores

from conftest import watch

METHODS = ("mean", "zero", "resample")


def _native(dtype=torch.float32, attn_only=False, seed=0):
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(
        d_model=32, d_head=8, n_heads=3, n_layers=3, n_ctx=41, d_vocab=40, d_mlp=64,
        attn_only=attn_only, act_fn="gelu_new", normalization_type="LN", seed=seed,
        model_name="random-mlp",
    )
    model = TransformerBridge.boot_native(cfg, dtype=dtype)
    model.eval()
    return watch(model)


@pytest.fixture(scope="module")
def mlp_model():
    """3 layers x 3 heads with MLPs (the session's random_model is attention-only)."""
    return _native()


@pytest.fixture(scope="module")
def stimuli():
    return repeated_tokens(6, 12, vocab_size=40, seed=3)


def _naive(model, stimuli, method, seed=0):
    """measure_ablation once per head: the loop the sweep replaces."""
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    def effect(layer, head):
        label = f"{layer}.{head}"
        return measure_ablation(model, stimuli, [label], method=method, seed=seed).effect

    rows = [[effect(layer, head) for head in range(n_heads)] for layer in range(n_layers)]
    return torch.tensor(rows)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("which", ["random_model", "mlp_model"])
def test_sweep_equals_naive_loop(which, method, request, stimuli):
    model = request.getfixturevalue(which)
    result = ablation_sweep(model, stimuli, method=method, seed=2)
    assert torch.allclose(result.effects, _naive(model, stimuli, method, seed=2), atol=1e-5)
    first, second = copy_losses(model, stimuli)
    assert result.clean_loss == pytest.approx(float(second.mean()), abs=1e-5)
    assert result.first_copy_loss == pytest.approx(float(first.mean()), abs=1e-5)
    assert (result.estimator, result.method, result.seed) == ("exact", method, 2)
    assert leftover_hooks(model) == []


def test_stacked_heads_and_subsets_give_the_same_effects(mlp_model, stimuli):
    full = ablation_sweep(mlp_model, stimuli, method="resample")
    stacked = ablation_sweep(mlp_model, stimuli, method="resample", heads_per_pass=3)
    assert torch.allclose(stacked.effects, full.effects, atol=1e-5)
    part = ablation_sweep(mlp_model, stimuli, method="resample", heads=["2.1", "1.0", "2.1"])
    measured = ~torch.isnan(part.effects)
    assert measured.sum() == 2 and measured[2, 1] and measured[1, 0]
    assert torch.allclose(part.effects[measured], full.effects[measured], atol=1e-5)
    assert [row["label"] for row in part.to_table()] == ["1.0", "2.1"]


def test_direct_blocks_equal_the_bridges_start_at_layer(mlp_model, stimuli):
    resid = torch.randn(2, stimuli.n_pos, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        for start in range(3):
            direct = run_blocks(mlp_model, resid, start, direct=True)
            bridged = run_blocks(mlp_model, resid, start, direct=False)
            assert torch.allclose(direct, bridged, atol=1e-5)
    assert leftover_hooks(mlp_model) == []


def test_planted_roles_show_in_the_sweep_and_the_screen(planted):
    stimuli = repeated_tokens(16, 20, vocab_size=24, seed=1)
    sweep = ablation_sweep(planted.model, stimuli)
    inert = [h for h, role in planted.roles.items() if role not in ("previous_token", "induction")]
    needed = [h for h, role in planted.roles.items() if role in ("previous_token", "induction")]
    scale = sweep.first_copy_loss - sweep.clean_loss  # the planted model copies perfectly
    for head in needed:
        assert sweep.effect(head) > 1.0, head
        layer, index = map(int, head.split("."))
        assert float(sweep.relative()[layer, index]) == pytest.approx(sweep.effect(head) / scale)
    screen = attribution_scores(planted.model, stimuli)
    for head in inert:
        # nothing reads these heads' outputs: exactly no effect, and exactly no gradient
        assert sweep.effect(head) == pytest.approx(0.0, abs=1e-5), head
        assert screen.effect(head) == pytest.approx(0.0, abs=1e-6), head


def _loss64(model, tokens, length, hooks=()):
    """Mean second-copy loss, in float64 end to end (copy_losses casts to float32)."""
    with torch.no_grad(), attached_hooks(model, list(hooks)):
        logits = model(tokens)
    logprobs = F.log_softmax(logits.double(), dim=-1)
    nll = -logprobs[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]
    return float(nll[:, length + 1 : 2 * length].mean())


@pytest.mark.parametrize("method", METHODS)
def test_attribution_is_the_directional_derivative(method):
    """attribution(h) = d/d eps loss(z_h + eps * (replacement - z_h)) at eps = 0, for heads in
    every layer (so gradients through later heads' queries, keys and values count)."""
    model = _native(dtype=torch.float64, seed=1)
    stimuli = repeated_tokens(4, 10, vocab_size=40, seed=5)
    length, tokens = stimuli.repeat_len, stimuli.tokens
    screen = attribution_scores(model, stimuli, method=method, seed=4)
    names = [z_hook(layer) for layer in range(3)]
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in names)
    eps = 1e-4
    for layer, head in [(0, 1), (1, 2), (2, 0)]:
        z = cache[z_hook(layer)][:, :, head]  # (B, S, d_head)
        if method == "zero":
            target = torch.zeros_like(z)
        elif method == "mean":
            target = z.mean((0, 1)).expand_as(z)
        else:
            target = z[derangement(z.shape[0], 4)]

        def shifted(step):
            def hook(act, hook, step=step):
                out = act.clone()
                out[:, :, head] = act[:, :, head] + step * (target - z)
                return out

            return [(z_hook(layer), hook)]

        slope = (_loss64(model, tokens, length, shifted(eps))
                 - _loss64(model, tokens, length, shifted(-eps))) / (2 * eps)
        assert screen.effects[layer, head] == pytest.approx(slope, rel=1e-4, abs=1e-7)


def test_attribution_leaves_the_model_as_it_was():
    model = _native()
    stimuli = repeated_tokens(4, 10, vocab_size=40, seed=5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    first = attribution_scores(model, stimuli)
    with torch.inference_mode():  # works, and gives the same, under inference mode too
        again = attribution_scores(model, stimuli)
    assert torch.equal(first.effects, again.effects)
    assert all(p.grad is None for p in model.parameters())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert leftover_hooks(model) == []
    # frozen parameters: still a gradient (it flows from the residual, not the weights)
    for p in model.parameters():
        p.requires_grad_(False)
    frozen = attribution_scores(model, stimuli)
    assert torch.allclose(frozen.effects, first.effects, atol=1e-6)
    assert not any(p.requires_grad for p in model.parameters())


def test_result_round_trips_and_tables(mlp_model, stimuli):
    result = ablation_sweep(mlp_model, stimuli, heads=["0.0", "2.2"])
    data = json.loads(json.dumps(result.to_dict()))
    back = AblationSweep.from_dict(data)
    assert torch.equal(torch.isnan(back.effects), torch.isnan(result.effects))
    assert torch.allclose(back.effects.nan_to_num(), result.effects.nan_to_num())
    assert back.to_dict() == result.to_dict()
    rows = result.to_table()
    assert {r["label"] for r in rows} == {"0.0", "2.2"}
    assert set(rows[0]) >= {"layer", "head", "label", "metric", "value", "stderr"}
    assert rows[0]["metric"] == "second_copy_loss"
    # a random model does not copy, so there is no benefit to lose: relative effects are 0
    assert result.first_copy_loss - result.clean_loss < 0.01
    assert all(r["relative"] == 0.0 for r in rows)


def test_bad_input_raises_and_names_the_problem(mlp_model, stimuli):
    with pytest.raises(ValueError, match="unknown ablation method 'median'"):
        ablation_sweep(mlp_model, stimuli, method="median")
    with pytest.raises(ValueError, match="unknown ablation method"):
        attribution_scores(mlp_model, stimuli, method="median")
    text_like = Stimuli(tokens=stimuli.tokens, valid=stimuli.valid, bos_token_id=0)
    for fn in (ablation_sweep, attribution_scores):
        with pytest.raises(ValueError, match="not repeated"):
            fn(mlp_model, text_like)
    shuffled = Stimuli(
        tokens=torch.cat([stimuli.tokens[:, :13], stimuli.tokens[:, 13:].flip(1)], dim=1),
        valid=stimuli.valid, bos_token_id=0, repeat_len=12,
    )
    with pytest.raises(ValueError, match="second copy differs"):
        ablation_sweep(mlp_model, shuffled)
    with pytest.raises(ValueError, match="at least 2 sequences"):
        ablation_sweep(mlp_model, stimuli.subset(torch.tensor([0])), method="resample")
    with pytest.raises(ValueError, match="does not exist"):
        ablation_sweep(mlp_model, stimuli, heads=["3.0"])
    with pytest.raises(ValueError, match="heads is empty"):
        ablation_sweep(mlp_model, stimuli, heads=[])
    with pytest.raises(ValueError, match="heads_per_pass"):
        ablation_sweep(mlp_model, stimuli, heads_per_pass=0)
    assert leftover_hooks(mlp_model) == []
