"""Attention-pattern scores for each head: pure tensor maths, no model calls.

For every query position ``q`` a behavior names a set of *target* keys:

- ``previous_token``: the key ``q - 1`` (queries ``q >= 2``; query 1's previous token is BOS,
  the attention sink, so it is not counted);
- ``duplicate_token``: earlier keys ``1 <= k < q`` holding the same token as ``q``;
- ``induction``: keys ``2 <= k < q`` whose *previous* token equals the token at ``q`` (the
  token that followed an earlier copy of the current token). In ``[BOS] r r`` the
  targets of a second-copy query ``q`` are ``q - L + 1`` (induction) and ``q - L``
  (duplicate), plus any chance repeats inside ``r``, which are real targets and counted.

Targets are defined by token identity, so the same scores work on text. BOS (position 0)
and the query itself are never targets, and padding is never a key or a query.

Two *control* behaviors are scored the same way, so that a head that merely rests on BOS
or on itself is seen for what it is: ``current_token`` (target: the query's own key) and
``first_token`` (target: BOS, the attention sink). For these the eligible keys include the
query itself (and BOS for ``first_token``), so their null is again "no preference".

**Score** (range 0..1): the attention mass a head puts on a query's targets, averaged over
the queries that *have* a target (queries without one are left out rather than diluting
the score, the flaw of TransformerLens' ``detect_head``), then over sequences.

**Null** (range 0..1): the mass the head would put on the targets if they were no more
attractive than the other eligible keys: ``n_targets x`` the mean attention on the
eligible non-target keys (keys ``1..q-1`` that are not targets; BOS and the query excluded,
so an attention sink or a current-token head does not inflate it). It is measured on the
same pattern in the same pass. A uniform head scores exactly its null; a head that prefers
the targets scores far above it.

**Lift** ``(score - null) / (1 - null)`` (range -1..1): the fraction of the attention that
could move onto the targets beyond chance that does.

**Distance profile** (each entry 0..1): a head's mean attention on the key ``d`` positions
back, over the queries that have such a key (BOS excluded), for ``d = 0, 1, ...``: local
heads peak at small ``d``, long-range heads spread out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..spec.behaviors import Behavior, Predictions, resolve_behaviors


@dataclass(frozen=True)
class TargetMasks:
    """Per behavior, which keys are targets of each query, and which keys are eligible.

    Attributes:
        targets: behavior -> ``[batch, query, key]`` bool.
        eligible: behavior -> ``[batch, query, key]`` bool, the keys the null compares
            with: ``1 <= k < q`` on real tokens for the main behaviors; ``1 <= k <= q`` for
            ``current_token``; ``0 <= k <= q`` for ``first_token``.
    """

    targets: dict[str, Bool[Tensor, "batch query key"]]
    eligible: dict[str, Bool[Tensor, "batch query key"]]


@dataclass(frozen=True)
class LayerScores:
    """One layer's per-sequence scores for one behavior.

    Attributes:
        score: ``[batch, head]`` mean target mass over counted queries (NaN: none counted).
        null: ``[batch, head]`` mean null mass over the same queries (NaN: none).
        n_queries: ``[batch]`` number of counted queries per sequence.
    """

    score: Float[Tensor, "batch head"]
    null: Float[Tensor, "batch head"]
    n_queries: Int[Tensor, " batch"]


def eligible_keys(
    kind: str, n_pos: int, valid: Bool[Tensor, "batch pos"]
) -> Bool[Tensor, "batch query key"]:
    """The keys a behavior's null compares with (:data:`interp.spec.behaviors.ELIGIBLE_KEYS`):
    ``earlier`` keys ``1..q-1``, ``up_to_self`` keys ``1..q``, ``with_bos`` keys ``0..q``
    (queries ``q >= 1``), on real tokens only."""
    device = valid.device
    q_idx = torch.arange(n_pos, device=device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=device)[None, :]  # (1, K)
    if kind == "earlier":
        keys = (k_idx < q_idx) & (k_idx >= 1)  # (Q, K)
    elif kind == "up_to_self":
        keys = (k_idx <= q_idx) & (k_idx >= 1)
    elif kind == "with_bos":
        keys = (k_idx <= q_idx) & (q_idx >= 1)
    else:
        raise ValueError(f"unknown eligible keys {kind!r}")
    pair_valid = valid[:, :, None] & valid[:, None, :]  # (B, Q, K)
    return keys[None] & pair_valid  # (B, Q, K)


def target_masks(
    tokens: Int[Tensor, "batch pos"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    behaviors: "Sequence[Behavior | str] | None" = None,
    predictions: Predictions | None = None,
) -> TargetMasks:
    """Target keys of every query for each behavior (default: every registered one).

    Args:
        tokens: ``[batch, pos]`` ids with BOS at position 0.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        behaviors: names or :class:`interp.Behavior` values (default: the registry, less
            the behaviors that need predictions when none are given).
        predictions: the model's top next-token predictions, for behaviors whose targets
            depend on them (:func:`interp.engine.census.predicted_tokens`).

    Returns:
        The masks; the inputs are not modified.
    """
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be [batch, pos]; got shape {tuple(tokens.shape)}")
    if valid is None:
        valid = torch.ones_like(tokens, dtype=torch.bool)
    n_pos = tokens.shape[1]
    targets: dict[str, Tensor] = {}
    eligibles: dict[str, Tensor] = {}
    cache: dict[str, Tensor] = {}
    chosen = resolve_behaviors(behaviors)
    if behaviors is None and predictions is None:  # pure maths on tokens alone
        chosen = tuple(b for b in chosen if not b.needs_predictions)
    for b in chosen:
        if b.eligible not in cache:
            cache[b.eligible] = eligible_keys(b.eligible, n_pos, valid)
        eligible = cache[b.eligible]
        targets[b.name] = b.target_mask(tokens, valid, predictions).to(tokens.device) & eligible
        eligibles[b.name] = eligible
    return TargetMasks(targets=targets, eligible=eligibles)


def positional_masks(
    tokens: Int[Tensor, "batch pos"],
    repeat_len: int,
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    behaviors: "Sequence[Behavior | str] | None" = None,
    predictions: Predictions | None = None,
) -> TargetMasks:
    """Targets placed by position alone, as they would sit in ``[BOS] r r`` with
    ``len(r) = repeat_len``, for every behavior that declares a positional control (e.g.
    duplicate-token ``q - L`` and induction ``q - L + 1`` for second-half queries); the
    other behaviors keep their rules, as in :func:`target_masks`.

    Scored on sequences *without* repeats (:func:`interp.unrepeated_tokens`), a
    content-based head finds nothing there and a positional shortcut scores as before.
    """
    chosen = resolve_behaviors(behaviors)
    if behaviors is None and predictions is None:  # as in target_masks
        chosen = tuple(b for b in chosen if not b.needs_predictions)
    masks = target_masks(tokens, valid, behaviors=chosen, predictions=predictions)
    targets = dict(masks.targets)
    for b in chosen:
        if b.positional is not None:
            where = b.positional(tokens.shape[1], repeat_len).to(tokens.device)  # (Q, K)
            targets[b.name] = where[None] & masks.eligible[b.name]
    return TargetMasks(targets=targets, eligible=dict(masks.eligible))


def distance_profile(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"],
    max_distance: int,
) -> Float[Tensor, "batch head distance"]:
    """Mean attention on the key ``d`` back, ``d = 0..max_distance`` (BOS key excluded).

    Returns:
        ``[batch, head, max_distance + 1]``; NaN where no query has such a key.
    """
    batch, n_heads, n_pos, _ = pattern.shape
    p = pattern.float()
    q_idx = torch.arange(n_pos, device=p.device)[:, None]  # (Q, 1)
    d_idx = torch.arange(max_distance + 1, device=p.device)[None, :]  # (1, D)
    key = q_idx - d_idx  # (Q, D): the key d back from query q
    index = key.clamp(min=0)  # (Q, D)
    on_key = p.gather(-1, index.expand(batch, n_heads, -1, -1))  # (B, H, Q, D)
    valid = valid.to(p.device)
    key_valid = valid[:, index.flatten()].view(batch, n_pos, -1)  # (B, Q, D)
    keep = (key >= 1)[None] & valid[:, :, None] & key_valid  # (B, Q, D): BOS key excluded
    w = keep.to(p.dtype)  # (B, Q, D)
    count = w.sum(1)  # (B, D)
    mean = torch.einsum("bhqd,bqd->bhd", on_key, w) / count.clamp(min=1)[:, None, :]  # (B, H, D)
    return torch.where(count[:, None, :] > 0, mean, torch.nan).cpu()


def mask_weights(masks: TargetMasks) -> Float[Tensor, "batch query key weight"]:
    """Every behavior's target keys, then every behavior's other eligible keys, as 0/1
    weights stacked on the last axis (``2 x n_behaviors``), the order of
    ``masks.targets``. Compute once per batch and pass to :func:`score_layer_all`."""
    names = list(masks.targets)
    targets = [masks.targets[b] for b in names]
    others = [masks.eligible[b] & ~masks.targets[b] for b in names]
    return torch.stack(targets + others, dim=-1).float()  # (B, Q, K, 2N)


def score_layer_all(
    pattern: Float[Tensor, "batch head query key"],
    masks: TargetMasks,
    weights: Float[Tensor, "batch query key weight"] | None = None,
) -> dict[str, LayerScores]:
    """:func:`score_layer` for every behavior of ``masks`` at once.

    Equal to calling :func:`score_layer` once per behavior (up to float rounding), but the
    pattern is read once: one batched matrix product over all targets and null keys
    instead of two reductions per behavior.

    Args:
        pattern: ``[batch, head, query, key]`` post-softmax attention.
        masks: from :func:`target_masks`.
        weights: ``mask_weights(masks)``, if already computed (the census reuses it for
            every layer).

    Returns:
        behavior -> per-sequence score and null, each ``[batch, head]``.
    """
    names = list(masks.targets)
    n = len(names)
    first = masks.targets[names[0]]
    if pattern.ndim != 4 or pattern.shape[-1] != pattern.shape[-2]:
        raise ValueError(
            f"pattern must be [batch, head, query, key] with query == key; "
            f"got {tuple(pattern.shape)}"
        )
    if first.shape != (pattern.shape[0], *pattern.shape[2:]):
        raise ValueError(
            f"targets {tuple(first.shape)} do not match pattern {tuple(pattern.shape)}"
        )
    p = pattern.float()
    w = (mask_weights(masks) if weights is None else weights).to(p.device, p.dtype)
    mass = torch.matmul(p.transpose(1, 2), w)  # (B, Q, H, K) @ (B, Q, K, 2N) -> (B, Q, H, 2N)
    mass = mass.permute(0, 2, 1, 3)  # (B, H, Q, 2N)
    on_target, on_others = mass[..., :n], mass[..., n:]  # (B, H, Q, N) each
    counts = w.sum(2)  # (B, Q, 2N)
    n_targets, n_others = counts[..., :n], counts[..., n:]  # (B, Q, N)
    counted = (n_targets > 0) & (n_others > 0)  # (B, Q, N)
    null_q = on_others * (n_targets / n_others.clamp(min=1))[:, None]  # (B, H, Q, N)
    weight = counted.to(p.dtype)[:, None]  # (B, 1, Q, N)
    n_counted = counted.sum(1)  # (B, N)
    denom = n_counted.to(p.dtype)[:, None]  # (B, 1, N)
    nan = torch.tensor(float("nan"), dtype=p.dtype, device=p.device)
    score = torch.where(denom > 0, (on_target * weight).sum(2) / denom.clamp(min=1), nan)
    null = torch.where(denom > 0, (null_q * weight).sum(2) / denom.clamp(min=1), nan)
    return {  # score, null: (B, H, N)
        b: LayerScores(score=score[..., i], null=null[..., i], n_queries=n_counted[:, i])
        for i, b in enumerate(names)
    }


def score_layer(
    pattern: Float[Tensor, "batch head query key"],
    targets: Bool[Tensor, "batch query key"],
    eligible: Bool[Tensor, "batch query key"],
) -> LayerScores:
    """Score one layer's attention pattern against one behavior's targets.

    Args:
        pattern: ``[batch, head, query, key]`` post-softmax attention.
        targets: ``[batch, query, key]`` target keys of each query.
        eligible: ``[batch, query, key]`` keys that count for the null.

    Returns:
        Per-sequence score and null, each ``[batch, head]``.
    """
    masks = TargetMasks(targets={"behavior": targets}, eligible={"behavior": eligible})
    return score_layer_all(pattern, masks)["behavior"]


