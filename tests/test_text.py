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
