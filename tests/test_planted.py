"""The planted models are the toolkit's oracles, so they are checked here against ground truth
computed straight from the tokens: every head's attention lands where its role says, the
induction circuit lowers second-copy loss, and ablations break it the way the construction
predicts."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
import torch
import torch.nn.functional as F

from interp.train.planted import PLANTED_ROLES, PlantedModel, build_planted_model

torch.set_num_threads(1)

D_VOCAB = 24
REPEAT = 20  # length of r in [BOS] r r
BATCH = 8
ON_TARGET = 0.95


def _repeated_tokens(*, distinct: bool, seed: int = 0) -> torch.Tensor:
    """``[BOS] r r`` with r drawn from ids 1..D_VOCAB-1: shape [BATCH, 2 * REPEAT + 1].

    ``distinct=True`` draws r without replacement, so every second-copy token has a single
    induction target; otherwise r has chance repeats (several targets per query).
    """
    gen = torch.Generator().manual_seed(seed)
    if distinct:
        rows = [torch.randperm(D_VOCAB - 1, generator=gen)[:REPEAT] + 1 for _ in range(BATCH)]
        r = torch.stack(rows)  # [batch, repeat]
    else:
        r = torch.randint(1, D_VOCAB, (BATCH, REPEAT), generator=gen)  # [batch, repeat]
    bos = torch.zeros(BATCH, 1, dtype=torch.long)
    return torch.cat([bos, r, r], dim=1)  # [batch, 2 * repeat + 1]


def _targets(tokens: torch.Tensor, role: str) -> torch.Tensor:
    """True target keys of ``role`` from the tokens alone: bool [batch, query, key]."""
    batch, seq = tokens.shape
    q = torch.arange(seq)[:, None]
    k = torch.arange(seq)[None, :]
    if role == "previous_token":
        mask = (k == q - 1).expand(batch, seq, seq)
    elif role == "two_back":
        mask = (k == q - 2).expand(batch, seq, seq)
    elif role == "current_token":
        mask = (k == q).expand(batch, seq, seq)
    elif role == "bos":
        mask = ((k == 0) & (k <= q)).expand(batch, seq, seq)
    elif role == "duplicate_token":
        same = tokens[:, :, None] == tokens[:, None, :]  # [batch, query, key]
        mask = same & (k < q) & (k > 0)
    elif role == "induction":
        previous = torch.cat([torch.full((batch, 1), -1), tokens[:, :-1]], dim=1)
        match = tokens[:, :, None] == previous[:, None, :]  # [batch, query, key]
        # The planted induction head also matches itself when a token directly repeats
        # (previous token == current token), as a learned one would: k <= q.
        mask = match & (k <= q)
    else:
        raise AssertionError(f"no targets for {role}")
    return mask


def _patterns(planted: PlantedModel, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """Head label -> attention pattern [batch, query, key]."""
    with torch.no_grad():
        _, cache = planted.model.run_with_cache(
            tokens, names_filter=lambda name: name.endswith("hook_pattern")
        )
    out = {}
    for label in planted.roles:
        layer, head = (int(x) for x in label.split("."))
        out[label] = cache[f"blocks.{layer}.attn.hook_pattern"][:, head]  # [batch, q, k]
    return out


def _mean_ablation(labels: list[str]) -> list[tuple[str, Callable]]:
    """Forward hooks that replace each head's z by its mean over batch and positions."""
    by_layer: dict[int, list[int]] = {}
    for label in labels:
        layer, head = (int(x) for x in label.split("."))
        by_layer.setdefault(layer, []).append(head)

    def make(heads: list[int]) -> Callable:
        def hook(z: torch.Tensor, hook: object) -> torch.Tensor:
            z = z.clone()  # [batch, pos, head, d_head]
            z[:, :, heads] = z[:, :, heads].mean(dim=(0, 1), keepdim=True)
            return z

        return hook

    return [(f"blocks.{layer}.attn.hook_z", make(heads)) for layer, heads in by_layer.items()]


def _logits(planted: PlantedModel, tokens: torch.Tensor, ablate: list[str]) -> torch.Tensor:
    with torch.no_grad():
        return planted.model.run_with_hooks(tokens, fwd_hooks=_mean_ablation(ablate))


def _second_copy_loss(logits: torch.Tensor, tokens: torch.Tensor) -> float:
    """Mean loss on second-copy tokens 2..REPEAT (the first is not predictable)."""
    log_probs = F.log_softmax(logits[:, REPEAT + 1 : -1], dim=-1)  # [batch, repeat-1, vocab]
    wanted = tokens[:, REPEAT + 2 :, None]  # [batch, repeat-1, 1]
    return -log_probs.gather(-1, wanted).mean().item()


def _loss(planted: PlantedModel, tokens: torch.Tensor, ablate: list[str] | None = None) -> float:
    return _second_copy_loss(_logits(planted, tokens, ablate or []), tokens)


@pytest.fixture(scope="module")
def planted() -> PlantedModel:
    return build_planted_model(d_vocab=D_VOCAB)


@pytest.fixture(scope="module")
def redundant() -> PlantedModel:
    return build_planted_model(d_vocab=D_VOCAB, redundant_induction=True)


@pytest.fixture(autouse=True)
def no_hooks_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("planted", "redundant"):
        if name in request.fixturenames:
            model = request.getfixturevalue(name).model
            left = [n for n, hp in model.hook_dict.items() if hp.fwd_hooks or hp.bwd_hooks]
            assert not left, f"hooks left on the model: {left}"


def test_default_layout(planted: PlantedModel) -> None:
    assert planted.bos_token_id == 0
    assert planted.roles == {
        "0.0": "previous_token",
        "0.1": "duplicate_token",
        "0.2": "current_token",
        "0.3": "bos",
        "0.4": "uniform",
        "0.5": "two_back",
        "1.0": "induction",
        "1.1": "uniform",
        "1.2": "uniform",
        "1.3": "uniform",
        "1.4": "uniform",
        "1.5": "uniform",
    }
    assert planted.heads_with_role("induction") == ["1.0"]
    assert planted.heads_with_role("uniform") == ["0.4", "1.1", "1.2", "1.3", "1.4", "1.5"]
    assert set(planted.roles.values()) <= set(PLANTED_ROLES)
    cfg = planted.model.cfg
    assert (cfg.n_layers, cfg.n_heads, cfg.d_vocab, cfg.n_ctx) == (2, 6, D_VOCAB, 64)
    assert not planted.model.training
    with pytest.raises(ValueError, match="unknown role"):
        planted.heads_with_role("copy")


@pytest.mark.parametrize("distinct", [True, False], ids=["distinct", "chance_repeats"])
def test_every_head_attends_where_its_role_says(planted: PlantedModel, distinct: bool) -> None:
    tokens = _repeated_tokens(distinct=distinct)
    patterns = _patterns(planted, tokens)
    seq = tokens.shape[1]
    causal_uniform = torch.tril(torch.ones(seq, seq)) / torch.arange(1, seq + 1)[:, None]
    for label, role in planted.roles.items():
        pattern = patterns[label]  # [batch, query, key]
        if role == "uniform":
            torch.testing.assert_close(pattern, causal_uniform.expand_as(pattern))
            continue
        targets = _targets(tokens, role)
        has_target = targets.any(dim=-1)  # [batch, query]
        on_target = (pattern * targets).sum(dim=-1)  # [batch, query]
        assert has_target.any()
        assert on_target[has_target].min() >= ON_TARGET, (label, role)
        if (~has_target).any():  # no target: the BOS sink takes the attention
            assert pattern[..., 0][~has_target].min() >= ON_TARGET, (label, role)


def test_induction_targets_are_the_classic_offset(planted: PlantedModel) -> None:
    """Second-copy query i attends key i - REPEAT + 1; the duplicate head key i - REPEAT."""
    tokens = _repeated_tokens(distinct=True)
    patterns = _patterns(planted, tokens)
    queries = torch.arange(REPEAT + 1, 2 * REPEAT + 1)
    induction = patterns["1.0"][:, queries, queries - REPEAT + 1]  # [batch, repeat]
    duplicate = patterns["0.1"][:, queries, queries - REPEAT]  # [batch, repeat]
    assert induction.min() >= 0.99
    assert duplicate.min() >= 0.99
    first_copy = patterns["1.0"][:, 1 : REPEAT + 1, 0]  # no target yet: all on BOS
    assert first_copy.min() >= 0.99


def test_second_copy_loss_and_ablations(planted: PlantedModel) -> None:
    tokens = _repeated_tokens(distinct=True)
    chance = math.log(D_VOCAB)
    clean = _loss(planted, tokens)
    assert clean < 0.05
    assert _loss(planted, tokens, ["1.0"]) > clean + 0.8 * chance
    assert _loss(planted, tokens, ["0.0"]) > clean + 0.8 * chance
    # Heads whose output nothing reads cost nothing, exactly.
    inert = [
        label
        for label, role in planted.roles.items()
        if role not in ("previous_token", "induction")
    ]
    assert _loss(planted, tokens, inert) == pytest.approx(clean, abs=1e-6)


def test_previous_token_ablation_blinds_the_induction_head(planted: PlantedModel) -> None:
    tokens = _repeated_tokens(distinct=True)
    targets = _targets(tokens, "induction")
    has_target = targets.any(dim=-1)
    with torch.no_grad(), planted.model.hooks(fwd_hooks=_mean_ablation(["0.0"])):
        _, cache = planted.model.run_with_cache(
            tokens, names_filter="blocks.1.attn.hook_pattern"
        )
    pattern = cache["blocks.1.attn.hook_pattern"][:, 0]  # [batch, query, key]
    on_target = (pattern * targets).sum(dim=-1)[has_target]
    assert on_target.max() < 0.05
    assert pattern[..., 0][has_target].min() >= ON_TARGET  # it falls back on BOS


def test_redundant_induction_heads_back_each_other_up(redundant: PlantedModel) -> None:
    assert redundant.heads_with_role("induction") == ["1.0", "1.1"]
    tokens = _repeated_tokens(distinct=True)
    chance = math.log(D_VOCAB)
    clean = _loss(redundant, tokens)
    one = [_loss(redundant, tokens, [label]) for label in ("1.0", "1.1")]
    both = _loss(redundant, tokens, ["1.0", "1.1"])
    assert clean < 0.05
    assert max(one) - clean < 0.3  # one head alone still copies
    assert max(one) < 0.25 * chance  # clearly below no copying at all
    assert both - clean > 0.8 * chance
    assert both - clean > 5 * (max(one) - clean)


def test_duplicate_feeds_output_only_when_asked(planted: PlantedModel) -> None:
    tokens = _repeated_tokens(distinct=False)
    silent = _logits(planted, tokens, []) - _logits(planted, tokens, ["0.1"])
    assert silent.abs().max() == 0.0
    fed = build_planted_model(d_vocab=D_VOCAB, duplicate_feeds_output=True)
    clean = _logits(fed, tokens, [])
    ablated = _logits(fed, tokens, ["0.1"])
    # Where the current token repeats an earlier one, its logit is pushed down by ~10.
    repeats = _targets(tokens, "duplicate_token").any(dim=-1)  # [batch, query]
    own = clean.gather(-1, tokens[..., None])[..., 0]  # [batch, query]
    own_ablated = ablated.gather(-1, tokens[..., None])[..., 0]
    assert (own_ablated - own)[repeats].min() > 5.0


def test_no_direct_path_from_tokens_to_logits(planted: PlantedModel) -> None:
    tokens = _repeated_tokens(distinct=True)

    def zero(z: torch.Tensor, hook: object) -> torch.Tensor:
        return torch.zeros_like(z)

    with torch.no_grad():
        logits = planted.model.run_with_hooks(
            tokens, fwd_hooks=[("blocks.1.attn.hook_z", zero)]
        )
    assert logits.abs().max() == 0.0


def test_deterministic_and_seed_free() -> None:
    a = build_planted_model(d_vocab=8, n_ctx=16, seed=0).model.state_dict()
    b = build_planted_model(d_vocab=8, n_ctx=16, seed=1).model.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_custom_layout_is_padded_and_small_sizes_work() -> None:
    planted = build_planted_model(
        d_vocab=5,
        n_ctx=8,
        roles_layer0=("uniform", "previous_token"),
        roles_layer1=("bos", "induction", "induction"),
    )
    assert planted.roles == {
        "0.0": "uniform",
        "0.1": "previous_token",
        "0.2": "uniform",
        "1.0": "bos",
        "1.1": "induction",
        "1.2": "induction",
    }
    tokens = torch.tensor([[0, 1, 2, 3, 1, 2, 3]])
    with torch.no_grad():
        logits = planted.model(tokens)
    assert logits[0, 4:6].argmax(dim=-1).tolist() == [2, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"d_vocab": 2}, "d_vocab must be an integer >= 3"),
        ({"n_ctx": 3}, "n_ctx must be an integer >= 4"),
        ({"n_ctx": 8.0}, "n_ctx must be an integer"),
        ({"sharpness": 0.0}, "sharpness must be positive"),
        ({"sharpness": float("nan")}, "sharpness must be positive"),
        ({"roles_layer0": ("previous_token", "copying")}, "unknown role 'copying'"),
        ({"roles_layer1": ("induction", "name_mover")}, "unknown role 'name_mover'"),
        ({"roles_layer0": "previous_token"}, "must be a sequence of role names"),
        ({"roles_layer1": ()}, "roles_layer1 is empty"),
        ({"roles_layer0": ("previous_token", "induction")}, "must be in layer 1"),
        ({"roles_layer0": ("uniform", "bos")}, "no 'previous_token' head"),
        ({"redundant_induction": True, "roles_layer1": ("induction",)}, "at least two"),
        (
            {"duplicate_feeds_output": True, "roles_layer0": ("previous_token",)},
            "no head has the role 'duplicate_token'",
        ),
    ],
)
def test_bad_arguments_raise(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_planted_model(**kwargs)
