"""Loading and saving: round trips, the bundled model, and clear errors on bad input."""

import json
import time

import pytest
import torch

from interp import ModelLoadError, load_model, save_model


def test_save_load_round_trip_gives_identical_logits(random_model, tmp_path):
    tokens = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(0))
    save_model(random_model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    with torch.inference_mode():
        assert torch.equal(random_model(tokens), again(tokens))
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["n_layers"] == 2 and config["dtype"] == "float32"


def test_bridge_is_returned_as_is(random_model):
    assert load_model(random_model) is random_model


def test_default_model_loads_offline(bundled_model):
    assert bundled_model.cfg.n_layers >= 2
    assert (load_model("default").state_dict()["embed.weight"]
            == bundled_model.state_dict()["embed.weight"]).all()


def test_dtype_option(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    half = load_model(tmp_path / "m", dtype="bfloat16")
    assert next(half.parameters()).dtype == torch.bfloat16
    with pytest.raises(ModelLoadError, match="unknown dtype"):
        load_model(tmp_path / "m", dtype="float8")


def test_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "nope")


def test_directory_without_config(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(tmp_path)


def test_missing_weights(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_model(tmp_path / "m")


def test_corrupt_weights(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(tmp_path / "m")


def test_corrupt_config(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(tmp_path / "m")


def test_weights_that_do_not_match_the_config(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    config["d_model"] = 32
    config["d_head"] = 8
    path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="do not match its config"):
        load_model(tmp_path / "m")


def test_unknown_name_fails_fast():
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="unknown model"):
        load_model("surely-not-a-model")
    assert time.perf_counter() - start < 5


def test_hub_name_offline_fails_fast_and_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="hub is not reachable"):
        load_model("gpt2")
    assert time.perf_counter() - start < 10


def test_wrong_spec_type():
    with pytest.raises(ModelLoadError, match="model spec"):
        load_model(3.5)


def test_save_does_not_leave_temporary_files(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json",
                                                                  "model.safetensors"]


def test_special_tokens_round_trip_and_stay_out_of_stimuli(random_model, tmp_path):
    from interp import ClassifySettings, classify_heads
    from interp.model.loading import set_special_token_ids, special_token_ids

    save_model(random_model, tmp_path / "plain")
    model = load_model(tmp_path / "plain")
    assert special_token_ids(model) == ()
    set_special_token_ids(model, [1, 2])
    save_model(model, tmp_path / "marked")
    again = load_model(tmp_path / "marked")
    assert special_token_ids(again) == (1, 2)
    assert special_token_ids(random_model) == ()  # the caller's model is untouched
    result = classify_heads(again, ClassifySettings(n_seqs=4, seq_len=10, sweep=False,
                                                    probes=False))
    tokens = result.example["tokens"]
    assert 1 not in tokens and 2 not in tokens
    (tmp_path / "marked" / "special_tokens.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError, match="special_token_ids"):
        load_model(tmp_path / "marked")


def test_bundled_model_marks_its_mark_token(bundled_model):
    from interp.model.loading import special_token_ids

    assert special_token_ids(bundled_model) == (1,)


def test_names_with_a_slash_go_to_the_name_loader(monkeypatch):
    """240 of TransformerLens' 249 names hold a '/': they are names, not directories."""
    from interp.model.loading import _known_names

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "EleutherAI/pythia-14m" in _known_names()
    with pytest.raises(ModelLoadError, match="hub is not reachable"):
        load_model("EleutherAI/pythia-14m")
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model("EleutherAI/not-a-model")  # not a known name: a missing directory


@pytest.mark.parametrize("device, match", [
    ("bogus", "unknown device 'bogus'"),
    ("meta", "holds no weights"),
    ("cuda:99", "CUDA|does not exist"),
    ("xla", "not supported"),
])
def test_bad_device_is_a_clear_error(random_model, tmp_path, device, match):
    save_model(random_model, tmp_path / "m")
    with pytest.raises(ModelLoadError, match=match):
        load_model(tmp_path / "m", device=device)
    with pytest.raises(ModelLoadError, match=match):
        load_model("default", device=device)


def test_cuda_without_cuda_is_a_clear_error(random_model, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the message for cuda:99 is tested above")
    save_model(random_model, tmp_path / "m")
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_model(tmp_path / "m", device="cuda")


def test_save_clears_what_the_model_does_not_have(random_model, tmp_path):
    """A tokenizer.json (or special_tokens.json) left by another model is removed."""
    from tokenizers import Tokenizer, models

    from interp.model.loading import set_special_token_ids, special_token_ids

    out = tmp_path / "m"
    out.mkdir()
    Tokenizer(models.WordLevel({"<bos>": 0, "<unk>": 1}, unk_token="<unk>")).save(
        str(out / "tokenizer.json"))
    (out / "special_tokens.json").write_text('{"special_token_ids": [3]}')
    save_model(random_model, out)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    again = load_model(out)
    assert again.tokenizer is None and special_token_ids(again) == ()
    set_special_token_ids(again, [5])
    save_model(again, out)
    assert special_token_ids(load_model(out)) == (5,)


def test_save_model_leaves_no_temporary_on_failure(random_model, tmp_path, monkeypatch):
    import interp.io.output_files as output_files

    save_model(random_model, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(output_files.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        save_model(random_model, tmp_path / "m")
    assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == before


# ------------------------------------------- configs checked before building (issue 20, item 3)


def _edited(random_model, tmp_path, **changes):
    save_model(random_model, tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))
    return tmp_path / "m"


@pytest.mark.parametrize("changes, match", [
    ({"n_layers": 10**6}, r"config\.json: n_layers must be less than or equal to 4096"),
    ({"n_layers": 3000}, r"n_layers is 3000; model\.safetensors holds 2 layers"),
    ({"n_heads": -2}, r"config\.json: n_heads must be greater than or equal to 1"),
    ({"n_heads": "4"}, r"config\.json: n_heads must be an integer"),
    ({"d_vocab": 10**5}, r"embed\.weight has shape \(64, 64\), the config implies \(100000, 64\)"),
    ({"n_ctx": 100_000}, r"pos_embed\.weight has shape \(65, 64\)"),
    ({"attn_only": False, "d_mlp": 10**6}, "imply at least"),
    ({"n_ctx": 2**20, "positional_embedding_type": "rotary"},
     r"needs about .* GiB to build \(2 layers with a 1048576 x 1048576 attention mask"),
])
def test_absurd_configs_are_refused_before_the_model_is_built(random_model, tmp_path, changes,
                                                              match):
    """Old code: n_layers 10^6 built for 23-180 s and GBs before "can't allocate";
    n_heads -2 loaded and the census died with a traceback."""
    path = _edited(random_model, tmp_path, **changes)
    started = time.perf_counter()
    with pytest.raises(ModelLoadError, match=match):
        load_model(path)
    assert time.perf_counter() - started < 5


def test_a_special_tokens_file_is_checked_too(random_model, tmp_path):
    save_model(random_model, tmp_path / "m")
    for content, match in [('{"special_token_ids": [1, "x"]}', r"special_token_ids\[1\]"),
                           ("[" * 100_000, "nested deeper"), ("{}", "special_token_ids")]:
        (tmp_path / "m" / "special_tokens.json").write_text(content)
        with pytest.raises(ModelLoadError, match=match):
            load_model(tmp_path / "m")


@pytest.mark.parametrize("changes, match", [
    ({"n_layer": 10**6}, r"n_layer must be less than or equal to 4096"),
    ({"n_layer": 4000}, r"n_layer is 4000; the weights hold 2 layers"),
    ({"n_head": -2}, r"n_head must be greater than or equal to 1"),
    ({"n_embd": 100_000}, "imply at least"),
])
def test_absurd_hugging_face_configs_are_refused_before_loading(tmp_path, changes, match):
    """Old code: n_layer 10^6 (Hugging Face) allocated 4 GB before ``std::bad_alloc``."""
    import transformers

    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(transformers.GPT2Config(
        n_layer=2, n_head=4, n_embd=64, vocab_size=100, n_positions=128)).save_pretrained(
        tmp_path / "g")
    path = tmp_path / "g" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    started = time.perf_counter()
    with pytest.raises(ModelLoadError, match=match):
        load_model(tmp_path / "g")
    assert time.perf_counter() - started < 5
