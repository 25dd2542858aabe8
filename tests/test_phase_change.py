"""Model-level phase-change measures against known truth: planted heads and made-up losses."""

import pytest
import torch

from interp.pipeline.phase_change import icl_positions, in_context_score, prefix_matching_from_patterns, prefix_matching_scores
from interp.stimuli.text import mid_frequency_ids, repeated_text_tokens, text_windows
from interp.stimuli.tokens import prefix_matching_tokens
from interp.stimuli.tokens import repeated_tokens


def _prefix(planted, seq_len=10, n_seqs=8):
    return prefix_matching_tokens(n_seqs, vocab_size=int(planted.model.cfg.d_vocab),
                                  seq_len=seq_len, seed=3)


def test_prefix_matching_stimuli_repeat_distinct_tokens():
    s = prefix_matching_tokens(4, vocab_size=50, seed=1, exclude_ids=[7])
    assert s.tokens.shape == (4, 101) and (s.tokens[:, 0] == 0).all()
    body = s.tokens[:, 1:].view(4, 4, 25)  # (batch, repeat, L)
    assert (body == body[:, :1]).all()  # four identical copies
    assert all(len(set(row.tolist())) == 25 for row in body[:, 0])  # distinct tokens
    assert not (s.tokens[:, 1:] == 7).any() and not (s.tokens[:, 1:] == 0).any()
    again = prefix_matching_tokens(4, vocab_size=50, seed=1, exclude_ids=[7])
    assert torch.equal(again.tokens, s.tokens)
    only = prefix_matching_tokens(2, vocab_size=50, seq_len=3, allowed_ids=[5, 6, 9])
    assert set(only.tokens[:, 1:].flatten().tolist()) == {5, 6, 9}


def test_prefix_matching_bad_input():
    with pytest.raises(ValueError, match="drawable"):
        prefix_matching_tokens(2, vocab_size=20)  # 19 ids for 25 distinct tokens
    with pytest.raises(ValueError, match="n_repeats"):
        prefix_matching_tokens(2, vocab_size=50, n_repeats=1)
    with pytest.raises(ValueError, match="pattern must be"):
        prefix_matching_from_patterns(torch.zeros(1, 2, 10, 10), 25, 4)


def test_planted_induction_head_scores_one_and_others_zero(planted):
    scores = prefix_matching_scores(planted.model, _prefix(planted))  # (layer, head)
    roles = planted.roles
    for label, role in roles.items():
        layer, head = map(int, label.split("."))
        value = float(scores[layer, head])
        if role == "induction":
            assert value > 0.99, label
        elif role in ("previous_token", "bos", "current_token", "two_back", "duplicate_token"):
            assert value < 0.01, (label, role)


def test_prefix_matching_of_hand_made_patterns():
    L, n = 3, 3
    n_pos = 1 + L * n
    uniform = torch.tril(torch.ones(n_pos, n_pos))
    uniform = (uniform / uniform.sum(-1, keepdim=True))[None, None]  # (1, 1, q, k)
    # queries 4..9; query q has (q - 1) // L earlier copies, each with a successor key
    expected = torch.tensor([((q - 1) // L) / (q + 1) for q in range(4, 10)]).mean()
    got = prefix_matching_from_patterns(uniform, L, n)
    assert got.shape == (1,) and abs(float(got[0]) - float(expected)) < 1e-6
    with pytest.raises(ValueError, match="prefix-matching scores need"):
        prefix_matching_scores(None, repeated_tokens(2, 5, vocab_size=20))


def test_in_context_score_against_known_losses():
    t = torch.arange(1, 256, dtype=torch.float32)  # tokens 1..255
    loss = (5.0 - 0.01 * t).repeat(3, 1)  # (batch, pos - 1): loss of token t is 5 - t/100
    assert in_context_score(loss) == pytest.approx((5 - 2.0) - (5 - 0.2), abs=1e-5)
    assert in_context_score(torch.ones(2, 255)) == pytest.approx(0.0)
    assert icl_positions(256) == (200, 20)
    late, early = icl_positions(65)
    assert late + 5 <= 64 and early - 5 >= 1 and early < late


def test_in_context_score_bad_input():
    with pytest.raises(ValueError, match="beyond"):
        in_context_score(torch.ones(2, 100))  # token 200 does not exist
    with pytest.raises(ValueError, match="NaN"):
        in_context_score(torch.full((2, 255), float("nan")))
    with pytest.raises(ValueError, match="early < late"):
        in_context_score(torch.ones(2, 255), late=20, early=200)
    with pytest.raises(ValueError, match="batch"):
        in_context_score(torch.ones(255))


def test_text_windows_and_frequency_ids():
    docs = [[1, 2, 3, 4, 5], [6, 7, 8], [9] * 10]
    w = text_windows(docs, 5, max_windows=10)
    assert w.tolist()[0] == [0, 1, 2, 3, 4] and w.shape[1] == 5
    assert w[1].tolist() == [0, 5, 0, 6, 7]  # documents joined by BOS
    with pytest.raises(ValueError, match="fewer than one window"):
        text_windows([[1, 2]], 8)
    ids = mid_frequency_ids([[1, 1, 1, 2, 2, 3]], drop_top=1, min_count=2)
    assert ids == [2]


def test_repeated_text_tokens_repeat_a_span(planted, tmp_path):
    import os

    from tokenizers import Tokenizer, models, pre_tokenizers

    from interp import load_model, save_model

    words = ["<bos>", "<unk>"] + [f"w{i}" for i in range(22)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    save_model(planted.model, tmp_path)
    tok.save(os.path.join(tmp_path, "tokenizer.json"))
    model = load_model(tmp_path)
    docs = [" ".join(f"w{(i * 7) % 22}" for i in range(40))]
    s = repeated_text_tokens(model, docs, 4, 8, seed=0)
    assert s.tokens.shape == (4, 17) and s.repeat_len == 8
    assert torch.equal(s.tokens[:, 1:9], s.tokens[:, 9:])
    with pytest.raises(ValueError, match="no document holds"):
        repeated_text_tokens(model, ["w1 w2"], 2, 8)
    with pytest.raises(ValueError, match="tokenizer"):
        repeated_text_tokens(planted.model, docs, 2, 8)


def test_per_position_loss_matches_the_copy_losses(planted):
    """Column t - 1 is the loss of token t; chunking does not change it."""
    from interp import copy_losses
    from interp.pipeline.phase_change import per_position_loss

    stimuli = repeated_tokens(6, 10, vocab_size=24, seed=2)
    loss = per_position_loss(planted.model, stimuli.tokens, batch_size=4)
    torch.testing.assert_close(loss, per_position_loss(planted.model, stimuli.tokens))
    first, second = copy_losses(planted.model, stimuli)
    L = 10  # copy_losses: second copy = tokens L + 2 .. 2L, first = tokens 2 .. L
    torch.testing.assert_close(loss[:, L + 1 : 2 * L].mean(-1), second)
    torch.testing.assert_close(loss[:, 1:L].mean(-1), first)
    assert float(second.mean()) < float(first.mean()) - 1.0  # the planted induction head
