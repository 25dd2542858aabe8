"""Rotary, grouped-query models (the Llama family) on every path, against Hugging Face.

A tiny random Llama (rotary positions, 4 query heads sharing 2 key/value heads, RMSNorm,
SwiGLU MLPs) is saved as a checkpoint and loaded with ``interp.load_model``; each path's
clean forward must equal the Hugging Face model's own (max abs difference <= 1e-4, fp32),
and TransformerBridge's "RoPE was NOT applied" warning is an error in every test
(``pyproject.toml``), so a computation that runs attention without rotary embeddings
fails here instead of giving plausible numbers.
"""

from __future__ import annotations

import pytest
import torch

import interp
from interp.engine.ablation import clean_run, copy_losses, measure_ablation
from interp.engine.ablation_sweep import ablation_sweep, attribution_scores
from interp.engine.census import score_heads
from interp.model.hooks import capture, pattern_hook
from interp.model.loading import uses_rotary

TOL = 1e-4


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=48, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    reference = LlamaForCausalLM(config).eval()
    path = tmp_path_factory.mktemp("tiny_llama")
    reference.save_pretrained(path)
    return reference, interp.load_model(path)


@pytest.fixture(scope="module")
def stimuli():
    return interp.repeated_tokens(6, 10, vocab_size=48, bos_token_id=1, seed=0)


def _reference_logits(reference, tokens):
    with torch.no_grad():
        return reference(tokens).logits


def test_it_is_rotary_with_grouped_query_attention(tiny_llama):
    _, model = tiny_llama
    assert uses_rotary(model)
    assert int(model.cfg.n_heads) == 4 and int(model.cfg.n_key_value_heads) == 2


def test_forward_and_patterns_equal_hugging_face(tiny_llama, stimuli, watch_model):
    reference, model = tiny_llama
    watch_model(model)
    tokens = stimuli.tokens
    with torch.no_grad():
        ours = model(tokens)
        theirs = reference(tokens, output_attentions=True)
    assert (ours - theirs.logits).abs().max() <= TOL
    names = [pattern_hook(layer) for layer in range(2)]
    captured = capture(model, tokens, names)
    for layer, name in enumerate(names):  # per query head, as Hugging Face reports them
        assert (captured[name] - theirs.attentions[layer]).abs().max() <= TOL


def test_copy_losses_equal_hugging_face(tiny_llama, stimuli):
    reference, model = tiny_llama
    logits = _reference_logits(reference, stimuli.tokens)
    nll = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), stimuli.tokens[:, 1:], reduction="none")  # (B, S-1)
    first, second = copy_losses(model, stimuli)
    length = stimuli.repeat_len
    assert torch.allclose(first, nll[:, 1:length].mean(-1), atol=TOL)
    assert torch.allclose(second, nll[:, length + 1: 2 * length].mean(-1), atol=TOL)


def test_exact_sweep_equals_one_head_at_a_time(tiny_llama, stimuli):
    """The sweep reruns blocks from a cached residual: on a rotary model that must go
    through the model's own forward (with RoPE), and give what a full ablated pass gives."""
    _, model = tiny_llama
    swept = ablation_sweep(model, stimuli, method="mean")
    clean = clean_run(model, stimuli)
    for label in ("0.1", "1.2"):
        alone = measure_ablation(model, stimuli, [label], method="mean")
        layer, head = map(int, label.split("."))
        assert float(swept.effects[layer, head]) == pytest.approx(alone.effect, abs=1e-4)
        reused = measure_ablation(model, stimuli, [label], method="mean", clean=clean)
        assert reused.effect == pytest.approx(alone.effect, abs=1e-4)
    screen = attribution_scores(model, stimuli, method="mean")
    assert torch.isfinite(screen.effects).all()


def test_census_and_classification_run_without_the_rope_warning(tiny_llama, stimuli):
    _, model = tiny_llama
    scores = score_heads(model, stimuli)
    assert scores.score("previous_token").shape == (2, 4)
    result = interp.classify_heads(model, interp.ClassifySettings(seed=0, n_seqs=4, seq_len=8))
    assert len(result.heads) == 8
    # weight evidence: OV copying is defined (grouped V expanded per query head); K
    # composition is not, and a class that would show it says why instead
    assert all(h.weights.ov_copying is not None for h in result.heads)
    for h in result.heads:
        if "induction" in h.classes:
            assert h.weights.feeders is None and "not defined" in h.weights.error


def test_key_composition_is_marked_undefined_on_rotary_models(tiny_llama):
    """An induction class on a rotary model gets no K-composition feeders, and says why."""
    from interp.pipeline.classify import _weight_evidence
    from interp.spec.behaviors import resolve_behaviors

    _, model = tiny_llama
    candidates = {h: [] for h in interp.model.heads.all_heads(2, 4)}
    candidates[interp.HeadId(0, 1)] = ["previous_token"]
    candidates[interp.HeadId(1, 2)] = ["induction"]
    evidence = _weight_evidence(model, candidates, resolve_behaviors(None), seed=0)
    induction = evidence[interp.HeadId(1, 2)]
    assert induction.feeders is None and induction.mode is None
    assert "K composition is not defined for this architecture" in induction.error
    assert all(-1 <= e.ov_copying <= 1 for e in evidence.values())


def test_blocks_called_alone_get_the_rotary_embeddings(tiny_llama, stimuli):
    """A block called on its own with the model's rotary cos/sin maps the clean residual
    exactly as inside the forward pass; the clean run then reruns blocks directly (a
    bridge's forward(start_at_layer=...) costs about a full pass)."""
    from interp.engine.ablation import blocks_run_alone, run_blocks

    _, model = tiny_llama
    clean = clean_run(model, stimuli)
    assert clean.direct
    assert blocks_run_alone(model, 1, clean.resid_pre[1], clean.final)
    with torch.inference_mode():
        direct = run_blocks(model, clean.resid_pre[1], 1, True)
        bridged = run_blocks(model, clean.resid_pre[1], 1, False)
    assert (direct - bridged).abs().max() <= TOL and (direct - clean.final).abs().max() <= TOL


def test_circuit_edges_recompute_rotary_attention(tiny_llama, stimuli, watch_model):
    """The circuit's hand-made attention (``ln1``, ``W_Q``/``W_K``, RoPE, grouped keys)
    equals the model's own pattern on every head, and ``find_circuit`` runs end to end
    (receivers taken from a census whose top induction-scored head is marked confirmed:
    a random model confirms nothing)."""
    from dataclasses import replace

    from interp.engine.edges import check_by_hand, check_supported, circuit_run
    from interp.results.evidence import Evidence

    _, model = tiny_llama
    watch_model(model)
    check_supported(model)
    run = circuit_run(model, stimuli)
    check_by_hand(model, run, list(interp.model.heads.all_heads(2, 4)))

    settings = interp.CircuitSettings(n_seqs=6, seq_len=10, ig_steps=2)
    census = interp.classify_heads(model, settings.census(), stimuli=stimuli)
    late = [h for h in census.heads if h.layer == 1]
    top = max(late, key=lambda h: h.scores["induction"])
    confirmed = Evidence(method="mean", metric="second_copy_loss", clean=1.0, ablated=1.0,
                         effect=1.0, stderr=0.0, scale=1.0, relative=1.0,
                         status="confirmed", reason="marked for the test")
    marked = replace(top, classes=("induction",), ablation={"induction": confirmed})
    census = replace(census, heads=tuple(marked if h is top else replace(h, classes=())
                                         for h in census.heads))
    circuit = interp.find_circuit(model, settings, classification=census, stimuli=stimuli)
    assert circuit.receivers == {top.label: "induction"}
    into = [e for e in circuit.edges if e.target == top.label]
    assert len(into) == 3 * (1 + 4 + 1)  # embed, 4 heads and 1 MLP of layer 0; q, k, v
    assert all(e.status != "unchecked" for e in circuit.edges)
    assert all(e.effect == 0 for e in into if e.input == "v")


def test_attention_alone_reads_what_the_forward_pass_reads(tiny_llama, stimuli):
    """The sink check's attention-only path (each layer's attention on the clean residual,
    rotary embeddings applied) gives the forward pass's values."""
    from interp.catalog.sink import sink_values

    _, model = tiny_llama
    heads = [f"{layer}.{head}" for layer in range(model.cfg.n_layers) for head in range(2)]
    full = sink_values(model, stimuli, heads, min_queries=2)
    fast = sink_values(model, stimuli, heads, min_queries=2, clean=clean_run(model, stimuli))
    for a, b in zip(full, fast):
        assert a.key == b.key
        assert (a.sink - b.sink).abs().max() <= TOL and (a.content - b.content).abs().max() <= TOL
