"""Hugging Face checkpoint directories load offline and their hooks line up with HF.

Tiny random GPT-2, GPT-NeoX (Pythia) and Llama (grouped-query attention) models are
built with ``transformers``, saved with ``save_pretrained`` (no tokenizer files) and loaded
with :func:`interp.load_model`; the bridge's logits and ``hook_pattern`` must equal the
HF model's own logits and ``output_attentions`` (eager attention on both sides).
"""

import json
import time

import pytest
import torch

import interp
from interp import ModelLoadError, load_model
from interp.model.hooks import pattern_hook

transformers = pytest.importorskip("transformers")

VOCAB = 100
N_LAYERS = 2


def _gpt2():
    config = transformers.GPT2Config(
        n_layer=N_LAYERS, n_head=4, n_embd=64, vocab_size=VOCAB, n_positions=128,
        bos_token_id=0, eos_token_id=0,
    )
    return transformers.GPT2LMHeadModel(config)


def _neox():
    config = transformers.GPTNeoXConfig(
        num_hidden_layers=N_LAYERS, num_attention_heads=4, hidden_size=64,
        intermediate_size=128, vocab_size=VOCAB, max_position_embeddings=128,
        rotary_pct=0.25, bos_token_id=0, eos_token_id=0,
    )
    return transformers.GPTNeoXForCausalLM(config)


def _llama():
    config = transformers.LlamaConfig(
        num_hidden_layers=N_LAYERS, num_attention_heads=4, num_key_value_heads=2,
        hidden_size=64, intermediate_size=128, vocab_size=VOCAB, max_position_embeddings=128,
        bos_token_id=1, eos_token_id=2,
    )
    return transformers.LlamaForCausalLM(config)


BUILDERS = {"gpt2": _gpt2, "neox": _neox, "llama": _llama}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def checkpoint(request, tmp_path_factory):
    """``(directory, HF model in eval mode)`` for one architecture, no tokenizer files."""
    torch.manual_seed(0)
    hf_model = BUILDERS[request.param]()
    hf_model.eval()  # dropout off: the bridge is compared with this model
    hf_model.set_attn_implementation("eager")
    path = tmp_path_factory.mktemp(request.param)
    hf_model.save_pretrained(path)
    return path, hf_model


@pytest.fixture(scope="module")
def loaded(checkpoint):
    path, _ = checkpoint
    return load_model(path)


def _tokens():
    return torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(1))


def test_loads_offline_without_tokenizer(checkpoint, loaded, watch_model):
    watch_model(loaded)
    path, hf_model = checkpoint
    assert not any(p.name.startswith("tokenizer") for p in path.iterdir())
    assert loaded.tokenizer is None
    assert loaded.cfg.n_layers == N_LAYERS and loaded.cfg.n_heads == 4
    assert loaded.cfg.d_vocab == VOCAB
    assert interp.model.loading.model_name(loaded) == path.name


def test_logits_equal_hf(checkpoint, loaded):
    _, hf_model = checkpoint
    tokens = _tokens()
    with torch.inference_mode():
        ours = loaded(tokens)
        theirs = hf_model(tokens).logits
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_pattern_hooks_equal_hf_attentions(checkpoint, loaded):
    _, hf_model = checkpoint
    tokens = _tokens()
    names = {pattern_hook(layer) for layer in range(N_LAYERS)}
    with torch.inference_mode():
        _, cache = loaded.run_with_cache(tokens, names_filter=lambda n: n in names)
        attentions = hf_model(tokens, output_attentions=True).attentions
    for layer in range(N_LAYERS):
        pattern = cache[pattern_hook(layer)]  # (batch, head, query, key)
        assert pattern.shape == (2, 4, 12, 12)
        torch.testing.assert_close(pattern, attentions[layer], rtol=1e-5, atol=1e-6)


def test_census_runs(loaded):
    scores = interp.score_heads(loaded, interp.repeated_tokens(4, 10, vocab_size=VOCAB))
    for b in interp.registered_behaviors("behavior"):
        values = scores.score(b.name)
        assert values.shape == (N_LAYERS, 4)
        if b.needs_predictions:  # a random model predicts nothing: no query has a target
            values = values[~values.isnan()]
        assert torch.isfinite(values).all()
        assert ((values >= 0) & (values <= 1)).all()


def test_classify_runs(loaded):
    result = interp.classify_heads(
        loaded, interp.ClassifySettings(n_seqs=4, seq_len=10, sweep=False)
    )
    assert len(result.heads) == N_LAYERS * 4
    assert set(result.baseline) >= {"first_copy_loss", "second_copy_loss"}
    # weight evidence works for every architecture, grouped-query attention included
    assert all(h.weights.error is None for h in result.heads)
    assert all(-1 <= h.weights.ov_copying <= 1 for h in result.heads)


def test_bfloat16_on_cpu(checkpoint, capfd):
    path, hf_model = checkpoint
    model = load_model(path, dtype="bfloat16", device="cpu")
    assert "Loading weights" not in capfd.readouterr().err  # no progress bar per load
    assert transformers.utils.logging.is_progress_bar_enabled()  # the setting is restored
    assert next(model.parameters()).dtype == torch.bfloat16
    assert next(model.parameters()).device.type == "cpu"
    tokens = _tokens()
    with torch.inference_mode():
        ours = model(tokens)
        theirs = hf_model(tokens).logits
    assert ours.dtype == torch.bfloat16
    # Random tiny models have logits of size ~1; bf16 keeps 8 bits of mantissa.
    assert (ours.float() - theirs).abs().max() < 0.05
    scores = interp.score_heads(model, interp.repeated_tokens(4, 10, vocab_size=VOCAB))
    assert torch.isfinite(scores.score("induction")).all()


def test_out_of_vocabulary_bos_is_dropped(tmp_path):
    """GPT-2's config keeps BOS 50256 even with a 100-token vocabulary: unusable."""
    torch.manual_seed(0)
    hf_model = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        n_layer=1, n_head=2, n_embd=32, vocab_size=VOCAB, n_positions=64))
    hf_model.save_pretrained(tmp_path)
    model = load_model(tmp_path)
    assert interp.model.loading.bos_token_id(model) == 0
    result = interp.classify_heads(model, interp.ClassifySettings(n_seqs=2, seq_len=5,
                                                                  sweep=False))
    assert len(result.heads) == 2


def test_tokenizer_files_are_used(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"<bos>": 0, "<unk>": 1, **{f"w{i}": i for i in range(2, VOCAB)}}
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<bos>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    hf_model = _llama()
    hf_model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model = load_model(tmp_path)
    assert model.tokenizer is not None
    assert interp.model.loading.bos_token_id(model) == 0
    stimuli = interp.text_stimuli(model, ["w5 w6 w7 w5 w6 w7"])
    assert stimuli.tokens[0].tolist() == [0, 5, 6, 7, 5, 6, 7]


def test_broken_tokenizer_files_name_the_problem(tmp_path):
    torch.manual_seed(0)
    _gpt2().save_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not a tokenizer")
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load_model(tmp_path)


def test_config_without_weights_fails_fast(tmp_path):
    torch.manual_seed(0)
    _gpt2().save_pretrained(tmp_path)
    for weights in tmp_path.glob("*.safetensors"):
        weights.unlink()
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="no weights"):
        load_model(tmp_path)
    assert time.perf_counter() - start < 2


def test_unknown_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="cannot load the Hugging Face checkpoint"):
        load_model(tmp_path)
    assert time.perf_counter() - start < 5


def test_bad_device_names_the_problem(checkpoint):
    path, _ = checkpoint
    with pytest.raises(ModelLoadError, match="device 'no-such-device'"):
        load_model(path, device="no-such-device")


def _saved_gpt2(path):
    torch.manual_seed(0)
    model = _gpt2()
    model.save_pretrained(path)
    return path


def _edit_weights(path, edit):
    from safetensors.torch import load_file, save_file

    state = load_file(str(path / "model.safetensors"))
    edit(state)
    save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})


@pytest.mark.parametrize("edit, match", [
    (lambda s: s.pop("transformer.h.0.attn.c_attn.weight"),
     r"missing transformer\.h\.0\.attn\.c_attn\.weight"),
    (lambda s: s.__setitem__("transformer.h.9.extra", torch.zeros(3)),
     r"unexpected transformer\.h\.9\.extra"),
    (lambda s: s.__setitem__("transformer.h.1.mlp.c_fc.bias", torch.zeros(7)),
     r"mismatched transformer\.h\.1\.mlp\.c_fc\.bias has shape \(7,\)"),
    (lambda s: s["transformer.h.1.ln_2.weight"].__setitem__(3, float("nan")),
     r"transformer\.h\.1\.ln_2\.weight holds NaN or inf"),
    (lambda s: s["transformer.wte.weight"].__setitem__((0, 0), float("inf")),
     r"transformer\.wte\.weight holds NaN or inf"),
])
def test_checkpoint_with_bad_tensors_is_refused_naming_the_tensor(tmp_path, edit, match):
    """from_pretrained fills such tensors with random weights and carries on; not here."""
    path = _saved_gpt2(tmp_path / "gpt2")
    _edit_weights(path, edit)
    with pytest.raises(ModelLoadError, match=match):
        load_model(path)


def test_cli_on_a_checkpoint_with_a_missing_tensor_exits_2(tmp_path, capsys):
    from interp.cli import main

    path = _saved_gpt2(tmp_path / "gpt2")
    _edit_weights(path, lambda s: s.pop("transformer.h.0.attn.c_attn.weight"))
    assert main(["report", "--model", str(path), "--out", str(tmp_path / "r"), "--quiet",
                 "--n-seqs", "4", "--seq-len", "8"]) == 2
    assert "transformer.h.0.attn.c_attn.weight" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_special_tokens_json_is_honored_in_hugging_face_directories(tmp_path):
    from interp import ClassifySettings, classify_heads
    from interp.model.loading import special_token_ids

    path = _saved_gpt2(tmp_path / "gpt2")
    keep = [5, 6, 7, 8, 9, 10]
    marked = [t for t in range(1, VOCAB) if t not in keep]  # all but a few ids
    (path / "special_tokens.json").write_text(json.dumps({"special_token_ids": marked}))
    model = load_model(path)
    assert special_token_ids(model) == tuple(marked)
    result = classify_heads(model, ClassifySettings(n_seqs=4, seq_len=8, sweep=False,
                                                    probes=False))
    assert set(result.example["tokens"][1:]) <= set(keep)
    assert result.settings["excluded_ids"] == marked
