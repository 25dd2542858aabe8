"""The text-model pipeline (corpus, tokenizer, training, held-out text, sweep curves) on tiny
data, and the bundled text model itself."""

import dataclasses
import json

import pytest
import torch

from interp import load_model
from interp.results.checkpoints import CheckpointSweep
from interp.pipeline.checkpoints import score_checkpoints
from interp.report.sweep_page import model_curves, render_sweep_html
from interp.cli import main
from interp.model.loading import TEXT_MODEL_DIR
from interp.stimuli.text import repeated_text_tokens
from interp.pipeline.text_model import heldout_documents, measure_text_heads
from interp.train.text_model import TextTrainConfig, _is_heldout, corpus_fingerprint, encode_stream, load_stdlib_corpus, sample_windows, stdlib_files, train_text_model, train_tokenizer, write_heldout_text
from interp.stimuli.text import read_heldout_documents

#: The behaviors the text model's heads.json is checked on.
BEHAVIORS = ("previous_token", "duplicate_token", "induction")

DOC = '''def add(a, b):
    """Return the sum of a and b."""
    return a + b


class Counter:
    def __init__(self):
        self.count = 0

    def increment(self):
        self.count += 1
        return self.count
'''
TINY = TextTrainConfig(seed=0, n_layers=1, n_heads=2, d_model=32, d_mlp=64, d_vocab=300,
                       n_ctx=40, steps=4, batch_size=2, warmup_steps=2, log_every=2,
                       eval_every=2, model_name="tiny-text")


@pytest.fixture(scope="module")
def fake_stdlib(tmp_path_factory):
    root = tmp_path_factory.mktemp("stdlib")
    for i in range(40):
        (root / f"mod{i:02d}.py").write_text(DOC.replace("add", f"add{i}") * 2)
    for skipped in ("test", "site-packages", "pkg/tests"):
        (root / skipped).mkdir(parents=True)
        (root / skipped / "x.py").write_text("skipped = True\n")
    (root / "pkg" / "inner.py").write_text(DOC)
    return root


@pytest.fixture(scope="module")
def tiny_run(fake_stdlib, tmp_path_factory):
    corpus = load_stdlib_corpus(fake_stdlib)
    tokenizer = train_tokenizer([t for _, t in corpus.train], TINY.d_vocab)
    stream = encode_stream(tokenizer, [t for _, t in corpus.train])
    ckpt = tmp_path_factory.mktemp("ckpt")
    model, history = train_text_model(TINY, stream, tokenizer, checkpoint_dir=ckpt,
                                      checkpoint_every=2)
    return corpus, tokenizer, stream, ckpt, model, history


def test_stdlib_files_skip_tests_and_sort(fake_stdlib):
    names = [p.relative_to(fake_stdlib).as_posix() for p in stdlib_files(fake_stdlib)]
    assert names == sorted(names) and "pkg/inner.py" in names
    assert not any(n.startswith(("test/", "site-packages/", "pkg/tests/")) for n in names)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        stdlib_files(fake_stdlib / "missing")


def test_split_is_by_file_name_hash(fake_stdlib):
    corpus = load_stdlib_corpus(fake_stdlib)
    assert all(_is_heldout(rel, 20) for rel, _ in corpus.heldout)
    assert not any(_is_heldout(rel, 20) for rel, _ in corpus.train)
    assert len(corpus.train) + len(corpus.heldout) == 41
    assert corpus_fingerprint(corpus.train) == corpus_fingerprint(load_stdlib_corpus(
        fake_stdlib).train)
    with pytest.raises(ValueError, match="heldout_every"):
        TextTrainConfig(heldout_every=1)


def test_tokenizer_has_bos_zero_and_round_trips(tiny_run):
    _, tokenizer, stream, *_ = tiny_run
    assert tokenizer.token_to_id("<bos>") == 0 and tokenizer.get_vocab_size() <= 300
    assert tokenizer.decode(tokenizer.encode(DOC).ids) == DOC
    assert int(stream[0]) == 0  # every file starts with <bos>
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a, b = sample_windows(stream, 3, 40, g1), sample_windows(stream, 3, 40, g2)
    assert torch.equal(a, b) and a.shape == (3, 40) and (a[:, 0] == 0).all()


def test_training_is_deterministic_and_checkpoints_load(tiny_run):
    corpus, tokenizer, stream, ckpt, model, history = tiny_run
    again, _ = train_text_model(TINY, stream, tokenizer)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert [h["step"] for h in history] == [2, 4]
    loaded = load_model(ckpt / "step_00004")
    assert loaded.tokenizer.bos_token_id == 0 and loaded.cfg.d_mlp == 64
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    # the schedule does not depend on the step count: a shorter run is a prefix of a
    # longer one, so checkpoint step_N is what --steps N trains
    short, _ = train_text_model(dataclasses.replace(TINY, steps=2), stream, tokenizer)
    mid = load_model(ckpt / "step_00002")
    for key, value in short.state_dict().items():
        assert torch.equal(value, mid.state_dict()[key]), key
    pos = load_model(ckpt / "step_00000").state_dict()["pos_embed.weight"]
    assert abs(float(pos.pow(2).mean().sqrt()) - TINY.pos_scale) < 1e-3  # sinusoids


def test_heldout_text_round_trip(tmp_path):
    docs = [("a.py", "x = 1\n"), ("big.py", "y" * 100), ("b.py", "z = 2")]
    names = write_heldout_text(docs, tmp_path / "h.txt", max_doc_chars=50)
    assert names == ["a.py", "b.py"]
    assert read_heldout_documents(tmp_path / "h.txt") == ["x = 1\n", "z = 2\n"]
    (tmp_path / "bad.txt").write_text("no marker\n")
    with pytest.raises(ValueError, match="interp-heldout-file"):
        read_heldout_documents(tmp_path / "bad.txt")


def test_sweep_model_curves_on_a_text_run(tiny_run, tmp_path):
    corpus, *_, ckpt, _, _ = tiny_run
    docs = [t for _, t in corpus.train[:6]]
    sweep = score_checkpoints(ckpt, n_seqs=4, seq_len=8, heldout_texts=docs)
    assert sweep.icl_score.shape == (3,) and torch.isfinite(sweep.icl_score).all()
    assert sweep.prefix_matching.shape == (3, 1, 2)
    assert ((sweep.prefix_matching >= 0) & (sweep.prefix_matching <= 1)).all()
    assert sweep.text_scores["induction"].shape == (3, 1, 2)
    assert sweep.curves["icl"]["n_ctx"] == 40
    again = CheckpointSweep.from_dict(json.loads(json.dumps(sweep.to_dict())))
    assert again.to_dict() == sweep.to_dict()
    fig = model_curves(sweep)
    assert any("in-context" in (t.name or "") for t in fig.data)
    assert "Model-level curves" in render_sweep_html(sweep)
    with pytest.raises(ValueError, match="non-empty list"):
        score_checkpoints(ckpt, n_seqs=4, seq_len=8, heldout_texts=[])


def test_cli_sweep_heldout_text(tiny_run, tmp_path, capsys):
    corpus, *_, ckpt, _, _ = tiny_run
    text = tmp_path / "h.txt"
    write_heldout_text(corpus.train[:6], text)
    assert main(["sweep", "--model", str(ckpt), "--out", str(tmp_path / "out"),
                 "--n-seqs", "4", "--seq-len", "8", "--heldout-text", str(text),
                 "--quiet"]) == 0
    assert "in-context" in capsys.readouterr().out
    assert main(["sweep", "--model", str(ckpt), "--out", str(tmp_path / "o2"),
                 "--heldout-text", str(tmp_path / "nope"), "--quiet"]) == 2
    assert "neither a text file nor a model" in capsys.readouterr().err


# --- the bundled text model -------------------------------------------------------------

def test_bundled_text_model_loads_with_tokenizer():
    model = load_model("text")
    assert model.tokenizer is not None and model.tokenizer.bos_token_id == 0
    assert model.cfg.n_layers == 2 and model.cfg.n_ctx >= 256 and not model.cfg.attn_only
    assert model.cfg.normalization_type == "LN"
    assert (TEXT_MODEL_DIR / "model.safetensors").stat().st_size <= 8 * 2**20
    text = "def f(x):\n    return x + 1\n"
    assert model.tokenizer.decode(model.tokenizer.encode(text)) == text


def test_bundled_heldout_text_was_held_out():
    training = json.loads((TEXT_MODEL_DIR / "training.json").read_text())
    names = training["corpus"]["heldout_txt_files"]
    assert names and all(_is_heldout(n, training["config"]["heldout_every"]) for n in names)
    docs = heldout_documents("text")
    assert len(docs) == len(names)
    assert (TEXT_MODEL_DIR / "heldout.txt").stat().st_size <= 400_000


def test_long_measure_stimuli_of_a_text_model_are_held_out_text_with_copies():
    from interp.catalog.induction_distance import copy_band_positions
    from interp.stimuli.text import spaced_copy_text_tokens

    model = load_model("text")
    docs = heldout_documents("text")
    stimuli = spaced_copy_text_tokens(model, docs, 4, 256, distances=(8, 127), span=8, seed=5)
    assert stimuli.tokens.shape == (4, 256) and (stimuli.tokens[:, 0] == 0).all()
    assert not (stimuli.tokens[:, 1:] == 0).any()  # no BOS inside the text
    again = spaced_copy_text_tokens(model, docs, 4, 256, distances=(8, 127), span=8, seed=5)
    assert torch.equal(stimuli.tokens, again.tokens)
    long_copies, _ = copy_band_positions(stimuli.tokens, min_distance=9)
    assert long_copies.sum(1).min() >= 7  # the planted 8-token copy 127 back, per sequence
    with pytest.raises(ValueError, match="context"):
        spaced_copy_text_tokens(model, docs, 4, 4096, distances=(8, 127), span=8)
    with pytest.raises(ValueError, match="no document holds"):
        spaced_copy_text_tokens(model, ["def f(): pass"], 4, 256, distances=(8, 127), span=8)


def test_text_too_short_for_the_long_stimuli_falls_back_to_random_tokens_and_says_so():
    from interp import ClassifySettings, classify_heads

    model = load_model("text")
    result = classify_heads(model, ClassifySettings(sweep=False, probes=False, n_seqs=8,
                                                    measures=("sink",)),
                            long_text=["def f(): pass"])
    note = result.settings["long_stimuli"]
    assert note["kind"] == "spaced_copies" and note["errors"] == ["no document holds 255 tokens"]
    assert result.measure("sink").note == ""  # measured, on the random tokens


def test_bundled_text_model_learned_in_context():
    """On repeated held-out text the second copy is cheaper than the first (0.70 nats
    measured; the 1-layer run's last checkpoint: 0.26), and mean-ablating the induction
    head takes back much of that advantage."""
    from interp import copy_losses, measure_ablation

    model = load_model("text")
    stimuli = repeated_text_tokens(model, heldout_documents("text"), 32, 30, seed=0)
    first, second = copy_losses(model, stimuli)
    advantage = float(first.mean() - second.mean())
    assert advantage > 0.5
    induction = json.loads((TEXT_MODEL_DIR / "heads.json").read_text())["induction"]
    effect = measure_ablation(model, stimuli, induction, metric="second_copy_loss")
    assert effect.effect > 0.3 * advantage


@pytest.mark.slow
def test_bundled_heads_json_matches_a_fresh_census():
    stored = json.loads((TEXT_MODEL_DIR / "heads.json").read_text())
    fresh = measure_text_heads(TEXT_MODEL_DIR)
    for behavior in BEHAVIORS:
        assert fresh[behavior] == stored[behavior], behavior
    assert stored["previous_token"] and stored["induction"]


@pytest.mark.slow
def test_cli_report_on_the_text_model_names_confirmed_heads(tmp_path, capsys):
    assert main(["report", "--model", "text", "--out", str(tmp_path), "--quiet"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    confirmed = {b: [h["head"] for h in report["heads"]
                     if h["ablation"].get(b, {}).get("confirmed")] for b in BEHAVIORS}
    stored = json.loads((TEXT_MODEL_DIR / "heads.json").read_text())
    assert confirmed["induction"] == stored["induction"]
    assert confirmed["previous_token"] == stored["previous_token"]
    assert report["text_scores"]["stimuli"]["kind"] == "text"
    assert report["settings"]["stimuli"]["kind"] == "repeated_text"
    assert report["settings"]["long_stimuli"]["kind"] == "spaced_copies_text"
