"""**Induction by distance** (in the spirit of retrieval heads, Wu et al. 2024): the induction
targets of query ``q`` (keys ``2 <= k < q`` whose previous token equals the token at ``q``)
split by the *copy distance* ``q - (k - 1)``, the distance back to the earlier occurrence of
the current token (``L`` in ``[BOS] r r`` with ``len(r) = L``); each band is scored like any
behavior (:func:`interp.engine.scoring.score_layer`: score, null, counted queries). A head that
attends long copies *retrieves* when ablating it raises the loss on them
(:func:`copy_loss_effect`, on the positions :func:`copy_band_positions` finds).

Registered here: the ``induction_short`` and ``induction_long`` measures; a head above
:data:`LONG_INDUCTION_THRESHOLD` is marked long-range induction, and its check (retrieval)
ablates it on the long copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..engine.ablation import (
    CleanRun,
    ablated_final,
    ablation_hooks,
    final_nll,
    position_nll,
    summarise_effect,
)
from ..engine.masks import check_pattern, check_tokens, earlier_keys
from ..engine.scoring import LayerScores, score_layer
from ..model.heads import HeadId, check_heads
from ..results.evidence import AblationEffect, Evidence
from ..spec.measures import Measure, MeasureCheck, register_measure
from ..stimuli.tokens import Stimuli


def induction_band_targets(
    tokens: Int[Tensor, "batch pos"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    min_distance: int = 2,
    max_distance: int | None = None,
) -> Bool[Tensor, "batch query key"]:
    """Induction targets whose copy distance ``q - (k - 1)`` lies in
    ``min_distance..max_distance`` (inclusive; None: no upper bound).

    The induction targets of query ``q`` are the keys ``2 <= k < q`` whose previous token
    equals the token at ``q``; real tokens only. The smallest copy distance is 2.

    Raises:
        ValueError: bad shapes, or an empty band.
    """
    valid = check_tokens(tokens, valid)
    if max_distance is not None and max_distance < min_distance:
        raise ValueError(f"empty band: max_distance {max_distance} < min_distance "
                         f"{min_distance}")
    n_pos = tokens.shape[1]
    q_idx = torch.arange(n_pos, device=tokens.device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=tokens.device)[None, :]  # (1, K)
    previous = torch.roll(tokens, shifts=1, dims=1)  # (B, K): token before key k
    follows_copy = tokens[:, :, None] == previous[:, None, :]  # (B, Q, K)
    distance = q_idx - (k_idx - 1)  # (Q, K)
    band = (k_idx >= 2) & (k_idx < q_idx) & (distance >= min_distance)
    if max_distance is not None:
        band = band & (distance <= max_distance)
    pair_valid = valid[:, :, None] & valid[:, None, :]  # (B, Q, K)
    return follows_copy & band[None] & pair_valid


def induction_by_distance(
    pattern: Float[Tensor, "batch head query key"],
    tokens: Int[Tensor, "batch pos"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    edges: Sequence[int] = (8,),
) -> dict[str, LayerScores]:
    """The induction score split into copy-distance bands.

    Args:
        pattern: ``[batch, head, query, key]``.
        tokens: ``[batch, pos]``, BOS first.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        edges: increasing upper bounds of the bands: ``(8,)`` gives ``"2-8"`` (short range)
            and ``"9+"`` (long range).

    Returns:
        band name -> :class:`interp.engine.scoring.LayerScores` (per-sequence score, null and
        counted queries; NaN where a sequence has no query with a target in the band).

    Raises:
        ValueError: edges not increasing integers >= 2, or mismatched shapes.
    """
    check_pattern(pattern)
    valid = check_tokens(tokens, valid)
    edges = [int(e) for e in edges]
    if any(e < 2 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be increasing integers >= 2, got {edges}")
    eligible = earlier_keys(valid)
    bands: dict[str, LayerScores] = {}
    low = 2
    for high in [*edges, None]:
        name = f"{low}-{high}" if high is not None else f"{low}+"
        targets = induction_band_targets(tokens, valid, min_distance=low, max_distance=high)
        bands[name] = score_layer(pattern, targets.to(pattern.device),
                                  eligible.to(pattern.device))
        low = (high or 0) + 1
    return bands


def copy_band_positions(
    tokens: Int[Tensor, "batch pos"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    min_distance: int = 2,
    max_distance: int | None = None,
) -> tuple[Bool[Tensor, "batch pred"], Bool[Tensor, "batch pred"]]:
    """Prediction positions that an induction head can get right from a copy whose
    distance lies in the band, and the positions of the same predictions in the source.

    Position ``q`` (predicting token ``q + 1``) is a *copy* position when one of its
    induction targets ``k`` (:func:`induction_band_targets`) holds token ``q + 1``: the
    copied span continues. Position ``k - 1`` (predicting token ``k`` the first time) is
    then a *source* position. Chance repeats of one token do not count (their next tokens
    differ).

    Returns:
        ``(copies, sources)``, each ``[batch, pos - 1]`` bool, indexed like next-token
        losses (position ``q`` predicts token ``q + 1``).
    """
    targets = induction_band_targets(tokens, valid, min_distance=min_distance,
                                     max_distance=max_distance)  # (B, Q, K)
    following = tokens[:, 1:]  # (B, Q - 1): the token position q predicts
    continues = targets[:, :-1, :] & (tokens[:, None, :] == following[:, :, None])
    copies = continues.any(-1)  # (B, Q - 1)
    sources = continues.any(1)[:, 1:]  # key k used -> source position k - 1
    return copies, sources


def copy_loss_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    *,
    min_distance: int = 2,
    max_distance: int | None = None,
    method: str = "mean",
    seed: int = 0,
    clean: CleanRun | None = None,
) -> AblationEffect:
    """How much ablating ``heads`` raises the loss on copies whose distance lies in the
    band (the long-range induction check: a retrieval head must retrieve). With ``clean``
    (a :func:`interp.engine.ablation.clean_run` of ``stimuli``) the clean losses are read
    once and the ablated pass restarts at the first ablated layer.

    Returns:
        An :class:`interp.AblationEffect` with metric ``copy_loss:<band>``: ``clean`` and
        ``ablated`` the mean loss on the copy positions (:func:`copy_band_positions`);
        ``effect`` = ablated - clean (positive: the heads helped copy); ``scale`` the copy
        benefit, the loss on the source positions minus the loss on the copies, clean
        (NaN ``relative`` when it is below :data:`interp.results.evidence.MIN_SCALE`: the model
        does not use these copies). Sequences without such a copy are left out.

    Raises:
        ValueError: a head does not exist, or no sequence holds a copy in the band.
    """
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    copies, sources = copy_band_positions(stimuli.tokens, stimuli.valid,
                                          min_distance=min_distance,
                                          max_distance=max_distance)
    keep = copies.any(1) & sources.any(1)
    band = f"{min_distance}-{max_distance}" if max_distance is not None else f"{min_distance}+"
    if not bool(keep.any()):
        raise ValueError(f"no sequence holds a copy at distance {band}")
    if clean is None:
        hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
        clean_nll = position_nll(model, stimuli).cpu()
        ablated_nll = position_nll(model, stimuli, hooks).cpu()
    else:
        if clean.stimuli is not stimuli:
            raise ValueError("the clean run was made on other stimuli")
        final = ablated_final(model, clean, parsed, method=method, seed=seed)
        needed = copies | sources  # (B, S-1): the only predictions the effect reads
        with torch.inference_mode():
            key = ("copy_band_nll", band)
            if key not in clean.metrics:
                clean.metrics[key] = final_nll(model, clean.final, stimuli.tokens,
                                               needed).cpu()
            clean_nll = clean.metrics[key]
            ablated_nll = final_nll(model, final, stimuli.tokens, needed).cpu()

    def mean_on(nll: Tensor, where: Tensor) -> Tensor:  # (B,)
        return (nll * where).sum(1) / where.sum(1).clamp(min=1)

    clean, ablated = mean_on(clean_nll, copies)[keep], mean_on(ablated_nll, copies)[keep]
    benefit = mean_on(clean_nll, sources)[keep] - clean
    return summarise_effect(parsed, method, f"copy_loss:{band}", clean, ablated,
                            ablated - clean, float(benefit.mean()), seed)


#: Copies at most this far back count as short-range induction.
SHORT_COPY = 8


def _induction_band(band: str) -> Callable[..., Tensor]:
    def score(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
        return induction_by_distance(pattern, tokens, valid, edges=(SHORT_COPY,))[band].score

    return score


register_measure(Measure(
    name="induction_short",
    description=f"induction score (0..1) on copies at most {SHORT_COPY} tokens back (the "
    "distance from the current token to its earlier occurrence), on the long stimuli; "
    "with induction_long, short- vs long-range induction (in the spirit of retrieval heads, "
    "Wu et al. 2024). Chance repeats in the body (random tokens or text) count as copies.",
    fn=_induction_band(f"2-{SHORT_COPY}"),
))




def _retrieves(
    model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
    method: str = "mean", seed: int = 0, clean: CleanRun | None = None,
) -> Evidence:
    """Long-range induction's check: ablating the heads must raise the loss on the long
    copies (:func:`interp.head_types.copy_loss_effect`)."""
    effect = copy_loss_effect(model, stimuli, heads, min_distance=SHORT_COPY + 1,
                              method=method, seed=seed, clean=clean)
    evidence = Evidence.from_effect(effect, min_effect, z)
    said = (f"ablating takes the loss on copies more than {SHORT_COPY} back "
            f"from {effect.clean:.3g} to {effect.ablated:.3g} nats (copy benefit "
            f"{effect.scale:.3g}); ")
    return replace(evidence, reason=said + evidence.reason)


#: A head marks as long-range induction above this score (and above a uniform head).
LONG_INDUCTION_THRESHOLD = 0.3


register_measure(Measure(
    name="induction_long",
    description=f"induction score (0..1) on copies more than {SHORT_COPY} tokens back, on "
    "the long stimuli (which hold a copy half the context back). Heads above "
    f"{LONG_INDUCTION_THRESHOLD:g} (and a uniform head) are long-range induction heads, "
    "the retrieval heads of Wu et al. 2024 at this scale.",
    fn=_induction_band(f"{SHORT_COPY + 1}+"), threshold=LONG_INDUCTION_THRESHOLD,
    above_uniform=True, label="long-range induction (measure)",
    check=MeasureCheck(
        claim="retrieval",
        description=f"ablating the head alone must raise the loss on the long stimuli's "
        f"copies more than {SHORT_COPY} tokens back (where the copied span continues), "
        "by at least the ablations' minimum share of the copy benefit (the source's loss "
        "minus the copy's). Refuted for a head that attends there but moves nothing the "
        "prediction uses (a fixed-offset head, or one whose output is unused); undecided "
        "where the model does not use the long copies at all.",
        fn=_retrieves, groups=True,
    ),
))
