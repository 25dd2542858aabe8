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
    from interp.models import set_special_token_ids, special_token_ids

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
    from interp.models import special_token_ids

    assert special_token_ids(bundled_model) == (1,)
