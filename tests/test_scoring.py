"""Scores on hand-made attention patterns, where the right answer is known exactly."""

import pytest
import torch

from interp.spec.behaviors import registered_behaviors

# the behaviors whose targets come from tokens alone (the others need the model's predictions)
BEHAVIORS = tuple(b.name for b in registered_behaviors("behavior") if not b.needs_predictions)
from interp.engine.scoring import distance_profile, score_layer, score_layer_all, target_masks
from interp.results.scores import HeadScores, lift

L = 6


def repeated(batch: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # distinct tokens in r: no chance repeats, so targets are exactly the textbook ones
    r = torch.stack([torch.randperm(20, generator=g)[:L] + 1 for _ in range(batch)])
    return torch.cat([torch.zeros(batch, 1, dtype=torch.long), r, r], dim=1)


def planted_pattern(tokens: torch.Tensor, offset_fn) -> torch.Tensor:
    """A one-head pattern with all mass on key offset_fn(q) (BOS when None)."""
    batch, n = tokens.shape
    pattern = torch.zeros(batch, 1, n, n)
    for q in range(n):
        k = offset_fn(q)
        pattern[:, 0, q, k if k is not None else 0] = 1.0
    return pattern


def score_of(pattern, tokens, behavior):
    masks = target_masks(tokens)
    return score_layer(pattern, masks.targets[behavior], masks.eligible[behavior])


def test_textbook_targets_in_second_copy():
    tokens = repeated()
    masks = target_masks(tokens)
    q = L + 3  # a second-copy query
    assert masks.targets["previous_token"][0, q].nonzero().flatten().tolist() == [q - 1]
    assert masks.targets["duplicate_token"][0, q].nonzero().flatten().tolist() == [q - L]
    assert masks.targets["induction"][0, q].nonzero().flatten().tolist() == [q - L + 1]
    # first-copy queries have no duplicate or induction target; BOS is never a target
    assert not masks.targets["induction"][:, 1 : L + 1].any()
    assert not masks.targets["duplicate_token"][:, : L + 1].any()
    for behavior in BEHAVIORS:
        assert not masks.targets[behavior][:, :, 0].any()


def test_perfect_heads_score_one_and_null_near_zero():
    tokens = repeated()
    cases = {
        "previous_token": lambda q: q - 1 if q >= 1 else None,
        "duplicate_token": lambda q: q - L if q > L else None,
        "induction": lambda q: q - L + 1 if q > L else None,
    }
    for behavior, fn in cases.items():
        result = score_of(planted_pattern(tokens, fn), tokens, behavior)
        assert torch.allclose(result.score, torch.ones(3, 1)), behavior
        assert torch.allclose(result.null, torch.zeros(3, 1)), behavior


def test_distractors_do_not_score():
    tokens = repeated()
    bos = planted_pattern(tokens, lambda q: None)
    current = planted_pattern(tokens, lambda q: q)
    for behavior in ("previous_token", "duplicate_token", "induction"):
        for pattern in (bos, current):
            result = score_of(pattern, tokens, behavior)
            assert torch.allclose(result.score, torch.zeros(3, 1))
            assert torch.allclose(result.null, torch.zeros(3, 1))


def test_uniform_head_scores_its_null():
    tokens = repeated()
    n = tokens.shape[1]
    pattern = torch.tril(torch.ones(n, n))
    pattern = (pattern / pattern.sum(-1, keepdim=True)).expand(3, 1, n, n)
    for behavior in ("previous_token", "duplicate_token", "induction"):
        result = score_of(pattern, tokens, behavior)
        assert torch.allclose(result.score, result.null, atol=1e-6), behavior
        assert (lift(result.score, result.null).abs() < 1e-5).all()


def test_two_back_head_is_below_its_null_for_previous_token():
    tokens = repeated()
    result = score_of(planted_pattern(tokens, lambda q: max(q - 2, 0)), tokens, "previous_token")
    assert torch.allclose(result.score, torch.zeros(3, 1))
    assert (result.null > 0).all()


def test_only_queries_with_targets_count_no_dilution():
    # detect_head's flaw: a perfect induction head scores ~0.5 on a doubled sequence.
    tokens = repeated()
    result = score_of(planted_pattern(tokens, lambda q: q - L + 1 if q > L else None),
                      tokens, "induction")
    assert result.n_queries.tolist() == [L] * 3  # second-copy queries L+1 .. 2L only
    assert torch.allclose(result.score, torch.ones(3, 1))


def test_chance_repeats_are_targets():
    tokens = torch.tensor([[0, 5, 7, 5, 9]])
    masks = target_masks(tokens)
    assert masks.targets["duplicate_token"][0, 3].nonzero().flatten().tolist() == [1]
    assert masks.targets["induction"][0, 3].nonzero().flatten().tolist() == [2]


def test_padding_is_never_a_query_or_key():
    tokens = torch.tensor([[0, 5, 7, 5, 7, 0, 0]])
    valid = torch.tensor([[True] * 5 + [False] * 2])
    masks = target_masks(tokens, valid)
    for t in masks.targets.values():
        assert not t[:, 5:].any() and not t[:, :, 5:].any()


def test_inputs_are_not_modified():
    tokens = repeated()
    pattern = planted_pattern(tokens, lambda q: q - 1 if q else None)
    before_t, before_p = tokens.clone(), pattern.clone()
    score_of(pattern, tokens, "previous_token")
    assert torch.equal(tokens, before_t) and torch.equal(pattern, before_p)


def test_bad_shapes_raise_clear_errors():
    tokens = repeated()
    masks = target_masks(tokens)
    with pytest.raises(ValueError, match="pattern must be"):
        score_layer(torch.zeros(3, 13, 13), masks.targets["induction"], masks.eligible["induction"])
    with pytest.raises(ValueError, match="do not match"):
        score_layer(torch.zeros(2, 1, 13, 13), masks.targets["induction"], masks.eligible["induction"])
    with pytest.raises(ValueError, match="tokens must be"):
        target_masks(torch.zeros(13, dtype=torch.long))


def test_head_scores_round_trip_and_table():
    nan = float("nan")
    per = torch.tensor([[[1.0, 0.5]], [[0.8, nan]]])  # (seq=2, layer=1, head=2)
    scores = HeadScores(
        model_name="m", n_layers=1, n_heads=2,
        per_seq_score={"induction": per}, per_seq_null={"induction": torch.zeros_like(per)},
        n_queries={"induction": 7}, stimuli={"seed": 1},
    )
    again = HeadScores.from_dict(scores.to_dict())
    assert torch.allclose(again.score("induction"), scores.score("induction"))
    assert torch.allclose(again.score("induction"), torch.tensor([[0.9, 0.5]]))
    rows = scores.to_table()
    assert {r["label"] for r in rows} == {"0.0", "0.1"}
    assert all(set(r) >= {"layer", "head", "label", "behavior", "value"} for r in rows)
    with pytest.raises(KeyError, match="unknown behavior"):
        scores.score("copying")


def test_controls_recognise_self_and_bos_heads():
    tokens = repeated()
    current = planted_pattern(tokens, lambda q: q)
    bos = planted_pattern(tokens, lambda q: None)
    assert torch.allclose(score_of(current, tokens, "current_token").score, torch.ones(3, 1))
    assert torch.allclose(score_of(bos, tokens, "first_token").score, torch.ones(3, 1))
    assert torch.allclose(score_of(bos, tokens, "current_token").score, torch.zeros(3, 1))
    prev = planted_pattern(tokens, lambda q: max(q - 1, 0))
    result = score_of(prev, tokens, "first_token")
    assert (result.score < 0.1).all() and (lift(result.score, result.null) < 0).all()


def test_distance_profile_of_a_previous_token_head():
    tokens = repeated()
    prev = planted_pattern(tokens, lambda q: max(q - 1, 0))
    profile = distance_profile(prev, torch.ones_like(tokens, dtype=torch.bool), 5)
    assert profile.shape == (3, 1, 6)
    assert torch.allclose(profile[0, 0], torch.tensor([0.0, 1.0, 0, 0, 0, 0]))


def test_positional_targets_catch_a_fixed_offset_head_without_repeats():
    from interp.engine.scoring import positional_masks
    from interp.stimuli.tokens import unrepeated_tokens

    s = unrepeated_tokens(3, L, vocab_size=64, seed=0)
    assert not torch.equal(s.tokens[:, 1 : L + 1], s.tokens[:, L + 1 :])
    shortcut = planted_pattern(s.tokens, lambda q: q - L + 1 if q > L else None)
    masks = positional_masks(s.tokens, L)
    result = score_layer(shortcut, masks.targets["induction"], masks.eligible["induction"])
    assert torch.allclose(result.score, torch.ones(3, 1))
    by_identity = score_of(shortcut, s.tokens, "induction")  # chance repeats only, if any
    assert (torch.nan_to_num(by_identity.score) < 0.5).all()


def test_score_layer_all_equals_score_layer_per_behavior():
    tokens = repeated()
    valid = torch.ones_like(tokens, dtype=torch.bool)
    valid[0, -2:] = False
    masks = target_masks(tokens, valid)
    n = tokens.shape[1]
    causal = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
    g = torch.Generator().manual_seed(0)
    pattern = torch.softmax(3 * torch.randn(3, 2, n, n, generator=g) + causal, dim=-1)
    together = score_layer_all(pattern, masks)
    assert set(together) == set(masks.targets)
    for behavior, result in together.items():
        alone = score_layer(pattern, masks.targets[behavior], masks.eligible[behavior])
        assert torch.allclose(result.score, alone.score, atol=1e-6, equal_nan=True)
        assert torch.allclose(result.null, alone.null, atol=1e-6, equal_nan=True)
        assert torch.equal(result.n_queries, alone.n_queries)
