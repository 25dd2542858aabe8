"""Head-type evidence (interp.catalog) against the planted oracles and their decoys,
and against hand-made patterns whose answers are known exactly."""

from __future__ import annotations

import pytest
import torch

from conftest import watch
from interp.engine.ablation import measure_ablation
from interp.catalog.sink import SINK_THRESHOLD, sink_profile, sink_scores
from interp.catalog.copy_suppression import copy_suppression_targets, predicted_logit_effect, predicted_tokens
from interp.catalog.induction_distance import induction_band_targets, induction_by_distance
from interp.catalog.key_position import key_position_profile
from interp.catalog.local_window import local_profile, window_mass, window_width
from interp.catalog.successor import mlp0_embeddings, ordinal_token_sets, ov_circuit_among, successor_fraction, successor_scores
from interp.model.hooks import capture, pattern_hook
from interp.train.planted import PlantedModel, build_planted_model
from interp.engine.scoring import score_layer
from interp.stimuli.tokens import Stimuli
from interp.model.weights import ov_copying_scores

torch.set_num_threads(1)

D_VOCAB = 24
REPEAT = 20
BATCH = 8
LAYER0 = ("previous_token", "sink_1", "local_3", "uniform", "back_29", "current_token",
          "successor", "self_copy")
LAYER1 = ("induction", "copy_suppression", "bos")


def _stimuli(tokens: torch.Tensor, repeat_len: int | None = REPEAT) -> Stimuli:
    return Stimuli(tokens=tokens, valid=torch.ones_like(tokens, dtype=torch.bool),
                   bos_token_id=0, repeat_len=repeat_len)


def _repeated(seed: int = 0) -> torch.Tensor:
    """``[BOS] r r`` with r drawn without replacement: [BATCH, 2 * REPEAT + 1]."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.stack([torch.randperm(D_VOCAB - 1, generator=gen)[:REPEAT] + 1
                     for _ in range(BATCH)])
    return torch.cat([torch.zeros(BATCH, 1, dtype=torch.long), r, r], dim=1)


def _random(n_pos: int, seed: int = 0) -> torch.Tensor:
    """BOS then uniform random ordinary tokens: [BATCH, n_pos]."""
    gen = torch.Generator().manual_seed(seed)
    body = torch.randint(1, D_VOCAB, (BATCH, n_pos - 1), generator=gen)
    return torch.cat([torch.zeros(BATCH, 1, dtype=torch.long), body], dim=1)


def _layer_patterns(planted: PlantedModel, tokens: torch.Tensor) -> list[torch.Tensor]:
    """[batch, head, query, key] per layer."""
    got = capture(planted.model, tokens, [pattern_hook(0), pattern_hook(1)])
    return [got[pattern_hook(0)], got[pattern_hook(1)]]


def _head(planted: PlantedModel, role: str) -> tuple[int, int]:
    label = planted.heads_with_role(role)[0]
    layer, head = label.split(".")
    return int(layer), int(head)


@pytest.fixture(scope="module")
def typed() -> PlantedModel:
    planted = build_planted_model(d_vocab=D_VOCAB, roles_layer0=LAYER0, roles_layer1=LAYER1)
    watch(planted.model)
    return planted


@pytest.fixture(scope="module")
def suppressed() -> PlantedModel:
    planted = build_planted_model(d_vocab=D_VOCAB,
                                  roles_layer1=("induction", "copy_suppression"))
    watch(planted.model)
    return planted


@pytest.fixture(scope="module")
def repeated_patterns(typed: PlantedModel) -> list[torch.Tensor]:
    return _layer_patterns(typed, _repeated())


# --------------------------------------------------------------------------- sinks


def test_sink_profile_by_hand() -> None:
    pattern = torch.zeros(1, 2, 4, 4)
    pattern[0, 0, :, 0] = 1.0  # all on BOS
    pattern[0, 1] = torch.eye(4)  # current token
    alpha = sink_profile(pattern)
    assert alpha[0, 0].tolist() == [1.0, 0.0, 0.0, 0.0]
    # key k is seen by queries k..3: alpha_k = 1 / (4 - k)
    torch.testing.assert_close(alpha[0, 1], torch.tensor([1 / 4, 1 / 3, 1 / 2, 1.0]))
    # padding: the last position is no query and no key
    valid = torch.tensor([[True, True, True, False]])
    alpha = sink_profile(pattern, valid)
    torch.testing.assert_close(alpha[0, 1, :3], torch.tensor([1 / 3, 1 / 2, 1.0]))
    assert torch.isnan(alpha[0, :, 3]).all()


def test_sink_scores_find_the_planted_sinks(typed, repeated_patterns) -> None:
    layer0, layer1 = repeated_patterns
    score0, key0 = sink_scores(layer0)
    score1, key1 = sink_scores(layer1)
    sink = typed.heads_with_role("sink_1")[0]
    _, h_sink = _head(typed, "sink_1")
    _, h_bos = _head(typed, "bos")
    assert score0[:, h_sink].min() >= 0.99 and int(key0[h_sink]) == 1, sink
    assert score1[:, h_bos].min() >= 0.99 and int(key1[h_bos]) == 0
    # Decoys: uniform attention, previous-token and current-token heads sink nowhere.
    for role in ("uniform", "previous_token", "current_token", "local_3"):
        _, h = _head(typed, role)
        assert score0[:, h].mean() < SINK_THRESHOLD, role


def test_late_keys_need_min_queries(typed, repeated_patterns) -> None:
    """Without the min_queries guard a previous-token head 'sinks' on the last keys."""
    layer0 = repeated_patterns[0]
    _, h_prev = _head(typed, "previous_token")
    loose, key = sink_scores(layer0, min_queries=1)
    assert loose[:, h_prev].mean() > SINK_THRESHOLD
    assert int(key[h_prev]) >= layer0.shape[-1] - 3
    strict, _ = sink_scores(layer0, min_queries=16)
    assert strict[:, h_prev].mean() < 0.1


def test_heads_that_rest_on_bos_when_idle_are_sinks_by_this_metric(typed, repeated_patterns):
    """The induction head has no target in the first copy and rests on BOS there: half of
    the queries put everything on BOS, so Gu et al.'s alpha_0 is about 1/2."""
    _, h_ind = _head(typed, "induction")
    score, key = sink_scores(repeated_patterns[1])
    assert int(key[h_ind]) == 0
    assert 0.45 < float(score[:, h_ind].mean()) < 0.6


def test_sink_scores_count_later_queries_on_real_tokens_only() -> None:
    pattern = torch.zeros(2, 1, 20, 20)
    pattern[:, 0, :5, 0] = 1.0  # queries 0..4 rest on BOS
    pattern[:, 0, 5:, 5] = 1.0  # queries 5.. sink on key 5
    valid = torch.ones(2, 20, dtype=torch.bool)
    valid[1, 10:] = False  # the second sequence has 10 real tokens: key 5 has 5 queries
    score, key = sink_scores(pattern, valid, min_queries=5)
    assert int(key[0]) == 5 and score[:, 0].tolist() == [1.0, 1.0]
    score, key = sink_scores(pattern, valid, min_queries=8)  # keys 0..2 only
    assert int(key[0]) == 0
    torch.testing.assert_close(score[:, 0], torch.tensor([5 / 20, 5 / 10]))


def test_sink_scores_reject_short_sequences_and_bad_arguments() -> None:
    pattern = torch.full((1, 1, 4, 4), 0.25)
    with pytest.raises(ValueError, match="no key is seen by 16 queries"):
        sink_scores(pattern)
    with pytest.raises(ValueError, match="min_queries must be a positive integer"):
        sink_scores(pattern, min_queries=0)
    with pytest.raises(ValueError, match=r"pattern must be \[batch, head, query, key\]"):
        sink_profile(torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="valid must be"):
        sink_profile(pattern, torch.ones(1, 3, dtype=torch.bool))


# --------------------------------------------------------------------------- local window


def test_local_window_tells_the_local_head_from_its_decoys(typed, repeated_patterns) -> None:
    layer0 = repeated_patterns[0]
    profile = local_profile(layer0, window=3).mean(0)  # [head, 4]
    mass, width = window_mass(profile), window_width(profile)
    _, h_local = _head(typed, "local_3")
    torch.testing.assert_close(profile[h_local], torch.tensor([0.0, 1 / 3, 1 / 3, 1 / 3]),
                               atol=1e-4, rtol=0)
    assert mass[h_local] > 0.99 and 2.95 < width[h_local] < 3.05
    for role in ("previous_token", "current_token"):  # window of one: same mass, width 1
        _, h = _head(typed, role)
        assert mass[h] > 0.99 and width[h] < 1.01, role
    _, h_far = _head(typed, "back_29")  # long range: no mass near the query
    assert mass[h_far] < 0.01
    _, h_uni = _head(typed, "uniform")  # diffuse: little mass, spread over all four
    assert mass[h_uni] < 0.3 and width[h_uni] > 3.9


def test_local_profile_uses_the_same_queries_for_every_distance() -> None:
    # one head: query q puts 1 on key q - 1; padding on the last two positions
    pattern = torch.zeros(1, 1, 8, 8)
    pattern[0, 0, 0, 0] = 1.0
    pattern[0, 0, torch.arange(1, 8), torch.arange(0, 7)] = 1.0
    valid = torch.tensor([[True] * 6 + [False] * 2])
    profile = local_profile(pattern, valid, window=2)  # queries 3..5
    torch.testing.assert_close(profile[0, 0], torch.tensor([0.0, 1.0, 0.0]))
    assert window_width(torch.zeros(3)).isnan()
    with pytest.raises(ValueError, match="window must be a positive integer"):
        local_profile(pattern, window=0)
    with pytest.raises(ValueError, match="needs more than 8 positions"):
        local_profile(pattern, window=7)


# --------------------------------------------------------------------------- induction bands


def _two_distance_tokens(seed: int = 0) -> torch.Tensor:
    """``[BOS] A A B F B``: A and B 4 distinct tokens each, F 30; all 38 distinct. The A
    copy sits 4 back (short range), the B copy 34 back (long range)."""
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(BATCH):
        ids = torch.randperm(47, generator=gen)[:38] + 1
        a, b, f = ids[:4], ids[4:8], ids[8:]
        rows.append(torch.cat([torch.zeros(1, dtype=torch.long), a, a, b, f, b]))
    return torch.stack(rows)  # [batch, 47]


@pytest.fixture(scope="module")
def banded() -> PlantedModel:
    planted = build_planted_model(d_vocab=48, n_ctx=64,
                                  roles_layer0=("previous_token", "back_33"),
                                  roles_layer1=("induction",))
    watch(planted.model)
    return planted


def test_induction_bands_partition_the_induction_targets() -> None:
    tokens = _two_distance_tokens()
    n_pos = tokens.shape[1]
    short = induction_band_targets(tokens, max_distance=8)
    long = induction_band_targets(tokens, min_distance=9)
    everything = induction_band_targets(tokens)
    assert not (short & long).any()
    assert torch.equal(short | long, everything)
    # the definition: key 2 <= k < q whose previous token is the token at q
    q = torch.arange(n_pos)[:, None]
    k = torch.arange(n_pos)[None, :]
    follows = tokens[:, :, None] == tokens[:, None, :].roll(1, dims=2)
    assert torch.equal(everything, follows & (k >= 2) & (k < q))
    # the A copy: queries 5..8 target 3 back (copy distance 4); the B copy: queries
    # 43..46 target 33 back (copy distance 34)
    assert short.sum().item() == 4 * BATCH and long.sum().item() == 4 * BATCH
    assert short[:, torch.arange(5, 9), torch.arange(2, 6)].all()
    assert long[:, torch.arange(43, 47), torch.arange(10, 14)].all()
    with pytest.raises(ValueError, match="empty band"):
        induction_band_targets(tokens, min_distance=9, max_distance=8)


def test_induction_by_distance_on_planted_heads(banded) -> None:
    tokens = _two_distance_tokens()
    layer0, layer1 = _layer_patterns(banded, tokens)
    ind = induction_by_distance(layer1, tokens, edges=(8,))
    assert list(ind) == ["2-8", "9+"]
    # A content-based induction head finds its target at any distance.
    assert ind["2-8"].score[:, 0].min() >= 0.99 and ind["9+"].score[:, 0].min() >= 0.99
    assert (ind["2-8"].n_queries == 4).all() and (ind["9+"].n_queries == 4).all()
    # The positional decoy back_33 hits the long copy only; previous-token neither.
    pos = induction_by_distance(layer0, tokens, edges=(8,))
    assert pos["9+"].score[:, 1].min() >= 0.99 and pos["2-8"].score[:, 1].max() < 0.01
    assert pos["9+"].score[:, 0].max() < 0.01 and pos["2-8"].score[:, 0].max() < 0.01
    assert (pos["9+"].null[:, 1] < 0.05).all()


def test_induction_by_distance_by_hand_and_errors() -> None:
    tokens = _two_distance_tokens()
    short = induction_band_targets(tokens, max_distance=8).float()
    pattern = short / short.sum(-1, keepdim=True).clamp(min=1)  # only the short targets
    pattern[..., 0] += (short.sum(-1) == 0).float()  # other queries rest on BOS
    bands = induction_by_distance(pattern[:, None], tokens, edges=(8, 20))
    assert list(bands) == ["2-8", "9-20", "21+"]
    assert (bands["2-8"].score == 1.0).all()
    assert bands["21+"].score.max() == 0.0
    assert torch.isnan(bands["9-20"].score).all()  # no copy at 9..20
    with pytest.raises(ValueError, match="edges must be increasing integers >= 2"):
        induction_by_distance(pattern[:, None], tokens, edges=(8, 8))
    with pytest.raises(ValueError, match="tokens must be"):
        induction_by_distance(pattern[:, None], tokens[0], edges=(8,))


# --------------------------------------------------------------------------- key position


def test_key_position_profile_on_planted_heads(typed) -> None:
    tokens = _random(64)
    layer0, layer1 = _layer_patterns(typed, tokens)
    profile0 = key_position_profile(layer0, n_bins=8).nanmean(0)  # [head, bin]
    profile1 = key_position_profile(layer1, n_bins=8).nanmean(0)
    torch.testing.assert_close(profile0.sum(-1), torch.ones(len(LAYER0)))
    _, h_uni = _head(typed, "uniform")
    torch.testing.assert_close(profile0[h_uni], torch.full((8,), 1 / 8), atol=0.02, rtol=0)
    _, h_bos = _head(typed, "bos")
    assert profile1[h_bos, 0] > 0.99
    _, h_sink = _head(typed, "sink_1")
    assert profile0[h_sink, 0] > 0.99
    for role in ("previous_token", "local_3", "current_token"):
        _, h = _head(typed, role)
        assert profile0[h, -1] > 0.99, role
    # back_29 from queries 32..63 lands at relative positions 0.05..0.53
    _, h_far = _head(typed, "back_29")
    assert profile0[h_far, :5].sum() > 0.99 and profile0[h_far, 0] < 0.2


def test_key_position_profile_padding_and_errors() -> None:
    pattern = torch.tril(torch.ones(10, 10))
    pattern = (pattern / pattern.sum(-1, keepdim=True))[None, None]  # uniform
    valid = torch.tensor([[True] * 6 + [False] * 4])
    # only queries 3..5 (half of the 6 real tokens onward); 2 bins
    profile = key_position_profile(pattern, valid, n_bins=2)
    expected = torch.tensor([(2 / 4 + 3 / 5 + 3 / 6) / 3, (2 / 4 + 2 / 5 + 3 / 6) / 3])
    torch.testing.assert_close(profile[0, 0], expected)
    with pytest.raises(ValueError, match="n_bins must be an integer >= 2"):
        key_position_profile(pattern, n_bins=1)
    with pytest.raises(ValueError, match="use at least 3"):
        key_position_profile(pattern, n_bins=4, min_query=2)


# --------------------------------------------------------------------------- copy suppression


def test_copy_suppression_targets_by_hand() -> None:
    tokens = torch.tensor([[0, 5, 6, 5, 7]])
    predicted = torch.tensor([[9, 6, 5, 6, 5]])
    targets = copy_suppression_targets(tokens, None, predicted)
    expected = torch.zeros(1, 5, 5, dtype=torch.bool)
    expected[0, 2, 1] = True  # q=2 predicts 5, held by key 1
    expected[0, 3, 2] = True  # q=3 predicts 6, held by key 2
    expected[0, 4, [1, 3]] = True  # q=4 predicts 5, held by keys 1 and 3
    assert torch.equal(targets, expected)
    # a negative id is no prediction
    none = copy_suppression_targets(tokens, None, torch.full_like(predicted, -1))
    assert not none.any()
    with pytest.raises(ValueError, match="must have the shape of tokens"):
        copy_suppression_targets(tokens, None, predicted[:, :3])
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])  # p = 0.88, then a tie at 0.5
    assert predicted_tokens(logits).tolist() == [[0, 0]]
    assert predicted_tokens(logits, min_prob=0.6).tolist() == [[0, -1]]
    with pytest.raises(ValueError, match="min_prob must lie in 0..1"):
        predicted_tokens(logits, min_prob=2.0)
    with pytest.raises(ValueError, match="logits must be"):
        predicted_tokens(logits[0])


def test_copy_suppression_head_and_its_induction_decoy(suppressed) -> None:
    """Same pattern, same targets; only the OV sign and the ablation tell them apart."""
    tokens = _repeated()
    with torch.no_grad():
        logits = suppressed.model(tokens)  # [batch, pos, vocab]
    # In the first copy the model predicts nothing (all logits ~0): its argmax is noise
    # that names earlier tokens by chance, so only confident predictions count.
    noisy = copy_suppression_targets(tokens, None, predicted_tokens(logits))
    assert noisy[:, 1 : REPEAT + 1].any()
    predicted = predicted_tokens(logits, min_prob=0.5)
    assert (predicted[:, : REPEAT + 1] == -1).all()
    targets = copy_suppression_targets(tokens, None, predicted)
    second = torch.arange(REPEAT + 1, 2 * REPEAT)
    assert targets[:, second, second - REPEAT + 1].all()  # = the induction targets
    assert targets[:, second].sum() == BATCH * len(second)
    assert targets.sum() == BATCH * (len(second) + 2)  # the last query: keys 1 and L + 1
    eligible = torch.ones_like(targets) & torch.tril(torch.ones(41, 41, dtype=torch.bool), -1)
    eligible[..., 0] = False
    layer1 = _layer_patterns(suppressed, tokens)[1]
    scores = score_layer(layer1, targets, eligible).score.mean(0)  # [head]
    cs, ind = (int(h.split(".")[1]) for h in ("1.1", "1.0"))
    assert scores[cs] > 0.99 and scores[ind] > 0.99
    copying = ov_copying_scores(suppressed.model)
    assert copying[1, cs] < -0.99 and copying[1, ind] > 0.99
    stimuli = _stimuli(tokens)
    for method in ("mean", "zero", "resample"):
        effect = predicted_logit_effect(suppressed.model, stimuli, ["1.1"], method=method)
        assert effect.metric == "predicted_logit"
        assert effect.effect > 4.5 and effect.relative > 0.95, method  # 5 -> 10 (centred)
        assert effect.effect > 10 * effect.stderr
        decoy = predicted_logit_effect(suppressed.model, stimuli, ["1.0"], method=method)
        assert decoy.effect < -4.5, method
    inert = predicted_logit_effect(suppressed.model, stimuli, ["0.4"])  # uniform head
    assert abs(inert.effect) < 1e-5
    # The loss is the wrong test: ablating the suppression head lowers it.
    assert measure_ablation(suppressed.model, stimuli, ["1.1"]).effect < -0.1


def test_predicted_logit_effect_needs_repeated_stimuli(suppressed) -> None:
    tokens = _repeated()
    with pytest.raises(ValueError, match=r"repeated-token stimuli \(\[BOS\] r r\)"):
        predicted_logit_effect(suppressed.model, _stimuli(tokens, None), ["1.1"])
    with pytest.raises(ValueError, match="does not exist"):
        predicted_logit_effect(suppressed.model, _stimuli(tokens), ["2.0"])


# --------------------------------------------------------------------------- successor


def test_successor_fraction_by_hand() -> None:
    n = 5
    shift = torch.diag(torch.ones(n - 1), 1)
    assert successor_fraction(shift) == 1.0
    assert successor_fraction(torch.eye(n)) == 0.0  # copying
    assert successor_fraction(torch.zeros(n, n)) == 0.0  # ties are misses
    half = shift.clone()
    half[0, 3] = 2.0  # row 0 prefers 3 over its successor 1
    assert successor_fraction(half) == pytest.approx(3 / 4)
    gen = torch.Generator().manual_seed(0)
    noise = successor_fraction(torch.randn(2000, 10, 10, generator=gen)).mean()
    assert abs(float(noise) - 0.1) < 0.01  # chance is 1 / n
    with pytest.raises(ValueError, match=r"circuit must be \[\.\.\., n, n\]"):
        successor_fraction(torch.zeros(3, 4))


def test_successor_scores_on_the_planted_head_and_its_copying_decoy(typed) -> None:
    ordinal = {"all": list(range(1, D_VOCAB))}
    scores = successor_scores(typed.model, ordinal)  # [layer, head]
    _, h_succ = _head(typed, "successor")
    _, h_copy = _head(typed, "self_copy")
    assert scores[0, h_succ] == 1.0
    assert scores[0, h_copy] == 0.0
    others = scores.clone()
    others[0, h_succ] = 0.0
    assert others.max() == 0.0  # induction copies (0), the rest write no logits (ties)
    # A set the head does not step through: evens 2, 4, ... (it maps 2 -> 3)
    assert successor_scores(typed.model, [list(range(2, D_VOCAB, 2))])[0, h_succ] == 0.0
    # The OV copying score sees the copier but not the successor head (nilpotent OV).
    copying = ov_copying_scores(typed.model)
    assert copying[0, h_copy] > 0.99 and abs(float(copying[0, h_succ])) < 1e-6


def test_successor_scores_with_explicit_ids_and_embeddings() -> None:
    planted = build_planted_model(d_vocab=16, n_ctx=16,
                                  roles_layer0=("successor", "self_copy"),
                                  roles_layer1=("uniform",), successor_ids=(3, 5, 7, 9))
    watch(planted.model)
    assert successor_scores(planted.model, {"odd": [3, 5, 7, 9]})[0].tolist() == [1.0, 0.0]
    # pooled over sets, weighted by pairs: 3 hits of 3, 0 of 5
    pooled = successor_scores(planted.model, [[3, 5, 7, 9], [1, 2, 4, 6, 8, 10]])
    assert pooled[0, 0] == pytest.approx(3 / 8)
    # effective embeddings: give each member the embedding of its successor and the
    # copying head becomes a successor head
    ids = [3, 5, 7, 9]
    shifted = planted.model.W_E[[5, 7, 9, 9]]
    scores = successor_scores(planted.model, [ids], embeddings=[shifted])
    assert scores[0, 1] == 1.0
    circuit = ov_circuit_among(planted.model, ids)
    assert circuit.shape == (2, 2, 4, 4)
    assert circuit[0, 0, 0, 1] == pytest.approx(10.0)
    for bad, message in [
        ({}, "no ordinal sets"),
        ([[3]], "at least two distinct ids"),
        ([[3, 3]], "at least two distinct ids"),
        ([[3, 16]], "outside the vocabulary 0..15"),
    ]:
        with pytest.raises(ValueError, match=message):
            successor_scores(planted.model, bad)
    with pytest.raises(ValueError, match="1 embedding tables for 2 sets"):
        successor_scores(planted.model, [ids, ids], embeddings=[shifted])
    with pytest.raises(ValueError, match=r"embeddings must be \[4, "):
        ov_circuit_among(planted.model, ids, embeddings=shifted[:3])


def test_ordinal_token_sets_from_a_tokenizer() -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = list("0123456789") + list("abcdefghijklmnopqrstuvwxyz") + [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
        "January", "[UNK]",
    ]
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    sets = ordinal_token_sets(tokenizer)
    assert sets["digits"] == tuple(range(10))
    assert sets["letters"] == tuple(range(10, 36))
    assert sets["weekdays"] == tuple(range(36, 43))
    assert sets["space_weekdays"] == sets["weekdays"]  # the pre-tokenizer drops the space
    assert "months" not in sets  # only January is a token
    assert "capitals" not in sets  # capitals are unknown: all map to [UNK], not distinct
    with pytest.raises(ValueError, match="needs a tokenizer"):
        ordinal_token_sets(None)


def test_functions_leave_inputs_untouched(typed, repeated_patterns) -> None:
    layer0 = repeated_patterns[0]
    before = layer0.clone()
    tokens = _repeated()
    sink_scores(layer0)
    local_profile(layer0)
    key_position_profile(layer0)
    induction_by_distance(layer0, tokens)
    assert torch.equal(layer0, before)



def test_successor_scores_through_mlp0() -> None:
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(
        d_model=32, d_head=8, n_heads=3, n_layers=2, n_ctx=16, d_vocab=40, d_mlp=64,
        attn_only=False, act_fn="gelu_new", normalization_type="LN", seed=0,
        model_name="random-mlp",
    )
    model = watch(TransformerBridge.boot_native(cfg))
    model.eval()
    ids = list(range(5, 15))
    effective = mlp0_embeddings(model, ids)
    with torch.no_grad():
        embed = model.W_E[ids]
        manual = embed + model.blocks[0].mlp(model.blocks[0].ln2(embed[None]))[0]
    torch.testing.assert_close(effective, manual)
    assert not torch.allclose(effective, embed)
    through = successor_scores(model, [ids], through_mlp0=True)
    torch.testing.assert_close(through, successor_scores(model, [ids], embeddings=[manual]))
    assert through.shape == (2, 3) and ((through >= 0) & (through <= 1)).all()
    with pytest.raises(ValueError, match="either embeddings or through_mlp0"):
        successor_scores(model, [ids], embeddings=[manual], through_mlp0=True)


def test_mlp0_needs_mlps(typed) -> None:
    with pytest.raises(ValueError, match="attention-only"):
        successor_scores(typed.model, [[1, 2, 3]], through_mlp0=True)
