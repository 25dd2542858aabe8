"""Stimuli: seeded, shaped as documented, and bad sizes rejected."""

import pytest
import torch

from interp import occurrence_tokens, repeated_tokens, text_stimuli
from probes import occurred_before_labels


def test_repeated_tokens_shape_and_repeat():
    s = repeated_tokens(4, 10, vocab_size=64, seed=3)
    assert s.tokens.shape == (4, 21) and s.repeat_len == 10
    assert (s.tokens[:, 0] == 0).all()
    assert torch.equal(s.tokens[:, 1:11], s.tokens[:, 11:])
    assert not (s.tokens[:, 1:] == 0).any()  # BOS never drawn


def test_same_seed_same_tokens_other_seed_other_tokens():
    a = repeated_tokens(4, 10, vocab_size=64, seed=1)
    assert torch.equal(a.tokens, repeated_tokens(4, 10, vocab_size=64, seed=1).tokens)
    assert not torch.equal(a.tokens, repeated_tokens(4, 10, vocab_size=64, seed=2).tokens)


def test_exclude_ids():
    s = repeated_tokens(8, 20, vocab_size=6, seed=0, exclude_ids=[1])
    assert not (s.tokens == 1).any()


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_seqs=1, seq_len=10, vocab_size=64), "n_seqs"),
    (dict(n_seqs=4, seq_len=1, vocab_size=64), "seq_len"),
    (dict(n_seqs=4, seq_len=5, vocab_size=2), "vocab_size"),
])
def test_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        repeated_tokens(**kwargs)


def test_occurrence_tokens_balance_repeats_across_positions():
    s = occurrence_tokens(400, 30, vocab_size=64, seed=0)
    labels, keep = occurred_before_labels(s.tokens)
    rate = labels[:, 2:].float().mean(0)  # per position
    assert (rate - 0.5).abs().max() < 0.12  # independent of position
    assert not labels[:, 1].any()


def test_text_needs_a_tokenizer(random_model):
    with pytest.raises(ValueError, match="tokenizer"):
        text_stimuli(random_model, ["hello"])


def test_spaced_copy_tokens_place_each_copy_at_its_distance():
    from interp.catalog.induction_distance import induction_band_targets
    from interp.stimuli.tokens import spaced_copy_tokens

    s = spaced_copy_tokens(16, 64, vocab_size=64, distances=(5, 40), span=4, seed=2,
                           exclude_ids=[1])
    assert s.tokens.shape == (16, 64) and s.repeat_len is None
    assert (s.tokens[:, 0] == 0).all() and not (s.tokens[:, 1:] == 0).any()
    assert not (s.tokens == 1).any()
    assert s.description["distances"] == [5, 40]
    for d in (5, 40):
        same = s.tokens[:, d:] == s.tokens[:, :-d]  # [batch, n_pos - d]: token d back
        runs = same.unfold(1, 4, 1).all(-1)  # a span of 4 equal to the one d back
        assert runs.any(1).all(), d  # every sequence holds the copy
        # each of its 4 tokens has an induction target at copy distance d
        band = induction_band_targets(s.tokens, min_distance=d, max_distance=d)
        assert (band.sum((1, 2)) >= 4).all(), d
    again = spaced_copy_tokens(16, 64, vocab_size=64, distances=(5, 40), span=4, seed=2,
                               exclude_ids=[1])
    assert torch.equal(s.tokens, again.tokens)


@pytest.mark.parametrize("kwargs, match", [
    (dict(distances=(3,), span=4), "each >= span"),
    (dict(distances=(), span=4), "non-empty"),
    (dict(distances=(60,), span=4), "cannot hold"),
    (dict(distances=(4,), span=1), "span must be at least 2"),
])
def test_spaced_copy_tokens_bad_sizes(kwargs, match):
    from interp.stimuli.tokens import spaced_copy_tokens

    with pytest.raises(ValueError, match=match):
        spaced_copy_tokens(4, 64, vocab_size=64, **kwargs)
