"""``load_model(..., device_map=...)``: TransformerLens' multi-device loading for Hugging Face
checkpoints. Here every device map puts all modules on the CPU, which goes through the same
code path (accelerate's placement, no ``.to(device)``) as a map over several GPUs."""

import pytest
import torch

import interp
from interp import ModelLoadError, load_model

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_head=4, n_embd=64, vocab_size=100,
                                     n_positions=128, bos_token_id=0, eos_token_id=0)
    path = tmp_path_factory.mktemp("gpt2")
    transformers.GPT2LMHeadModel(config).save_pretrained(path)
    return path


PER_MODULE = {"transformer.wte": "cpu", "transformer.wpe": "cpu", "transformer.h.0": "cpu",
              "transformer.h.1": "cpu", "transformer.ln_f": "cpu", "lm_head": "cpu"}


@pytest.mark.parametrize("device_map", [{"": "cpu"}, "auto", PER_MODULE])
def test_device_map_gives_the_same_scores(gpt2_dir, device_map, watch_model):
    plain = watch_model(load_model(gpt2_dir))
    mapped = watch_model(load_model(gpt2_dir, device_map=device_map))
    assert {p.device.type for p in mapped.parameters()} == {"cpu"}
    stimuli = interp.repeated_tokens(4, 8, vocab_size=100, bos_token_id=0, seed=0)
    a, b = interp.score_heads(plain, stimuli), interp.score_heads(mapped, stimuli)
    for behavior in a.behaviors:
        torch.testing.assert_close(a.score(behavior), b.score(behavior), equal_nan=True)


def test_device_map_refused_where_it_cannot_apply(gpt2_dir):
    with pytest.raises(ModelLoadError, match="device_map applies to Hugging Face"):
        load_model("default", device_map="auto")
    with pytest.raises(ModelLoadError, match="device or device_map, not both"):
        load_model(gpt2_dir, device="cpu", device_map="auto")
    with pytest.raises(ModelLoadError, match="hub model names only"):
        load_model(gpt2_dir, checkpoint_value=1000)


def test_cli_device_map(gpt2_dir, tmp_path, capsys):
    from interp.cli import main

    out = tmp_path / "report"
    assert main(["report", "--model", str(gpt2_dir), "--out", str(out), "--n-seqs", "4",
                 "--seq-len", "8", "--no-sweep", "--quiet", "--device-map", "auto"]) == 0
    assert (out / "report.json").is_file()
