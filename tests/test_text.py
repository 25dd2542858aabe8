"""Models with a tokenizer: text stimuli, and the census on natural text."""

import os

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from interp import (
    ClassifySettings,
    classify_heads,
    load_model,
    save_model,
    score_heads,
    text_stimuli,
)

WORDS = ["<bos>", "<unk>"] + "the cat sat on a mat and dog ran to park big red ball".split()
TEXTS = ["the cat sat on the mat", "the dog ran to the park and the dog sat on a ball"]


@pytest.fixture(scope="module")
def text_model(tmp_path_factory, planted):
    """The planted model's weights are for 24 tokens; give a 24-token word tokenizer."""
    vocab = WORDS + [f"w{i}" for i in range(24 - len(WORDS))]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path_factory.mktemp("text_model")
    save_model(planted.model, path)
    tokenizer.save(os.path.join(path, "tokenizer.json"))
    return load_model(path)


def test_tokenizer_round_trip_and_bos(text_model, tmp_path):
    assert text_model.tokenizer.bos_token_id == 0
    save_model(text_model, tmp_path / "again")
    assert (tmp_path / "again" / "tokenizer.json").is_file()
    assert load_model(tmp_path / "again").tokenizer.bos_token_id == 0


def test_text_stimuli_pad_and_mark_valid(text_model):
    s = text_stimuli(text_model, TEXTS)
    assert s.tokens.shape == (2, 14) and (s.tokens[:, 0] == 0).all()
    assert s.valid.sum(1).tolist() == [7, 14]
    assert s.to_dict()["kind"] == "text"
    with pytest.raises(ValueError, match="non-empty list"):
        text_stimuli(text_model, "a single string")


def test_planted_heads_keep_their_roles_on_text(text_model):
    scores = score_heads(text_model, text_stimuli(text_model, TEXTS))
    assert scores.score("previous_token")[0, 0] > 0.99
    assert scores.score("duplicate_token")[0, 1] > 0.99
    assert scores.lift("induction")[1, 0] > 0.9


def test_classification_records_text_scores(text_model):
    result = classify_heads(text_model, ClassifySettings(n_seqs=8, seq_len=10, sweep=False),
                            texts=TEXTS)
    assert result.text_scores["stimuli"]["kind"] == "text"
    assert result.text_scores["heads"]["0.1"]["duplicate_token"]["score"] > 0.99
    assert result.settings["stimuli"]["kind"] == "repeated_random_tokens"


def test_text_census_in_batches_gives_the_same_scores(text_model):
    """Texts are scored ``batch_size`` at a time (memory flat in the number of texts);
    the scores equal one pass over all of them."""
    from interp.pipeline.classify import _text_scores

    texts = TEXTS * 3 + ["the big red ball ran"]
    whole = score_heads(text_model, text_stimuli(text_model, texts), distance=False)
    for size in (1, 2, 100):
        batched = _text_scores(text_model, texts, size)
        assert batched["stimuli"]["n_texts"] == len(texts)
        assert batched["n_queries"] == dict(whole.n_queries)
        for b in whole.behaviors:
            assert batched["heads"]["1.0"][b]["score"] == pytest.approx(
                float(whole.score(b)[1, 0]), abs=1e-6, nan_ok=True)


def test_huge_line_is_cut_before_tokenizing(text_model):
    """A 20 MB line gives the same row as a line just longer than the context."""
    from interp.stimuli.text import MAX_CHARS_PER_TOKEN

    unit = "the cat sat on a mat "
    huge = unit * (20_000_000 // len(unit))
    short = unit * (text_model.cfg.n_ctx // 3)
    big, small = text_stimuli(text_model, [huge]), text_stimuli(text_model, [short])
    assert big.n_pos == text_model.cfg.n_ctx
    assert torch.equal(big.tokens, small.tokens)
    assert MAX_CHARS_PER_TOKEN * text_model.cfg.n_ctx < 10_000


def test_read_texts_caps_what_it_reads(tmp_path):
    from interp.stimuli.preflight import read_texts

    assert read_texts(__file__)[0].startswith('"""')
    with pytest.raises(ValueError, match="more than 64 MiB"):
        read_texts("/dev/zero")
    small = tmp_path / "t.txt"
    small.write_text("a\n\n b \n")
    assert read_texts(small) == ["a", "b"]
    with pytest.raises(ValueError, match="more than 0 MiB"):
        read_texts(small, max_bytes=3)
    small.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_texts(small)


def test_score_texts_bad_input(text_model):
    from interp.engine.text_census import score_texts

    with pytest.raises(ValueError, match="non-empty list"):
        score_texts(text_model, [])
    with pytest.raises(ValueError, match="batch_size must be positive"):
        score_texts(text_model, TEXTS, batch_size=-1)
    assert score_texts(text_model, TEXTS, batch_size=1).stimuli["n_texts"] == 2
