"""Evidence for head types beyond previous-token, duplicate-token and induction.

Everything here is pure tensor maths (patterns, tokens, predictions or weights in; tensors
out) except the functions that run the model (:func:`sink_values`, and under an ablation
:func:`predicted_logit_effect`, :func:`copy_loss_effect`, :func:`successor_logit_effect`)
and :func:`successor_scores` / :func:`ov_circuit_among`, which read the weights. Each score is a
piece of evidence; which heads get a class is decided elsewhere.

**Attention sinks** (Xiao et al. 2023, "Efficient streaming language models with attention
sinks"; per-head metric from Gu et al. 2025, "When attention sink emerges in language
models"): for key ``k``, ``alpha_k = mean over queries i >= k of A[i, k]`` (range 0..1),
per sequence. A head *sinks* on ``k`` when ``alpha_k > 0.3`` (:data:`SINK_THRESHOLD`). A key
near the end of the context is seen by few queries, so one sharp query makes its ``alpha``
large (a previous-token head gives the second-to-last key ``alpha = 1/2``); only keys with at
least ``min_queries`` queries at or after them are considered. A head that rests on BOS
whenever it has nothing to do (an induction head on a first copy) is a sink by this
metric too: the sink score is evidence beside a head's class, not a rival class. Whether
attending the sink is a *no-op* is tested by :func:`sink_values`: per unit of attention, what
the head writes from its sink key (``|| v W_O ||``, Kobayashi et al. 2020) against what it
writes from content keys.

**Local window** (from the distance profile): ``local_profile`` is a head's mean attention
on the key ``d`` back, ``d = 0..window``, over the same queries for every ``d`` (those whose
window does not reach BOS, so the sink is excluded without renormalising). Its sum, the
*window mass* (0..1), is high for every head that looks near the query; its *width*
``exp(entropy)`` of the normalised profile (1..window + 1) says over how many distances the
mass spreads: 1 for a previous-token or current-token head, about ``W`` for a head that
spreads over the last ``W`` tokens.

**Induction by distance** (in the spirit of retrieval heads, Wu et al. 2024): the induction
targets of query ``q`` (keys ``2 <= k < q`` whose previous token equals the token at ``q``)
split by the *copy distance* ``q - (k - 1)``, the distance back to the earlier occurrence of
the current token (``L`` in ``[BOS] r r`` with ``len(r) = L``); each band is scored like any
behavior (:func:`interp.scoring.score_layer`: score, null, counted queries). A head that
attends long copies *retrieves* when ablating it raises the loss on them
(:func:`copy_loss_effect`, on the positions :func:`copy_band_positions` finds).

**Attention by key position** ("lost in the middle", Liu et al. 2023): for each query ``q``
in the second half of the context the visible keys ``0..q`` are cut into ``n_bins`` bins by
their relative position ``k / (q + 1)``; the profile is the mean attention mass per bin
(each row sums to 1). A uniform head is flat at ``1 / n_bins``; a sink puts its mass in the
first bin, a local head in the last; a head that fails to read the middle of long contexts
dips in the middle bins.

**Copy suppression** (McDougall et al. 2023, "Copy suppression: comprehensively
understanding an attention head"; GPT-2 small L10H7): the head attends to earlier tokens
the model already predicts at the query (:func:`copy_suppression_targets`) and writes their
*negative* unembedding, so its OV copying score (:func:`interp.weights.ov_copying_scores`)
is negative where an induction head's is positive. On ``[BOS] r r`` it attends exactly where
an induction head does; the OV sign and :func:`predicted_logit_effect` (ablating it *raises*
the predicted token's logit) tell them apart. Its ablation may even lower the loss, so the
loss is the wrong test for it.

**Successor heads** (Gould et al. 2023, "Successor heads: recurring, interpretable
attention heads in the wild"): weights only. Through a head's OV circuit ``W_E W_V W_O W_U``
restricted to an ordinal set of tokens (digits, letters, weekdays, months), the successor
of each member (``1 -> 2``, ``a -> b``) should get the top logit among the set; the score
(0..1) is the fraction of consecutive pairs where it does, strictly (a tie is a miss). A
copying head maps each token to itself and scores 0; random weights score about
``1 / len(set)``. Gould et al. read the embeddings after MLP0; pass such effective
embeddings as ``embeddings`` (attention-only models have none to apply). In context
(:func:`successor_logit_effect` on :func:`ordinal_stimuli`), ablating a successor head must
lower each ordinal token's successor's logit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float, Int
from torch import Tensor

from .ablation import (
    MIN_SCALE,
    AblationEffect,
    ablation_hooks,
    copy_slices,
    position_nll,
    stimuli_logits,
    summarise_effect,
)
from .heads import check_heads
from .hooks import attached_hooks, pattern_hook, v_hook
from .models import model_device
from .scoring import LayerScores, score_layer
from .stimuli import Stimuli, check_stimuli
from .weights import _params

__all__ = [
    "ORDINAL_SEQUENCES",
    "SINK_THRESHOLD",
    "SinkValues",
    "copy_band_positions",
    "copy_loss_effect",
    "copy_suppression_targets",
    "copy_suppression_effect",
    "induction_band_targets",
    "induction_by_distance",
    "key_position_profile",
    "mlp0_embeddings",
    "local_profile",
    "ordinal_stimuli",
    "ordinal_token_sets",
    "ov_circuit_among",
    "predicted_logit_effect",
    "predicted_tokens",
    "sink_profile",
    "sink_scores",
    "sink_values",
    "successor_fraction",
    "successor_logit_effect",
    "successor_scores",
    "window_mass",
    "window_width",
]

#: Gu et al. 2025: a head sinks on key ``k`` when ``alpha_k`` exceeds this.
SINK_THRESHOLD = 0.3

#: Ordinal sequences whose members a tokenizer may hold as single tokens (Gould et al.).
ORDINAL_SEQUENCES: dict[str, tuple[str, ...]] = {
    "digits": tuple("0123456789"),
    "letters": tuple("abcdefghijklmnopqrstuvwxyz"),
    "capitals": tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                 "Sunday"),
    "months": ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"),
}


def _check_pattern(pattern: Tensor) -> None:
    if pattern.ndim != 4 or pattern.shape[-1] != pattern.shape[-2]:
        raise ValueError(
            f"pattern must be [batch, head, query, key] with query == key; "
            f"got {tuple(pattern.shape)}"
        )


def _valid_or_all(pattern: Tensor, valid: Tensor | None) -> Tensor:
    batch, n_pos = pattern.shape[0], pattern.shape[-1]
    if valid is None:
        return torch.ones(batch, n_pos, dtype=torch.bool, device=pattern.device)
    if tuple(valid.shape) != (batch, n_pos):
        raise ValueError(
            f"valid must be [batch, pos] = {(batch, n_pos)}; got {tuple(valid.shape)}"
        )
    return valid.to(pattern.device, torch.bool)


def _check_tokens(tokens: Tensor, valid: Tensor | None) -> Tensor:
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be [batch, pos]; got shape {tuple(tokens.shape)}")
    if valid is None:
        return torch.ones_like(tokens, dtype=torch.bool)
    if valid.shape != tokens.shape:
        raise ValueError(
            f"valid {tuple(valid.shape)} must have the shape of tokens {tuple(tokens.shape)}"
        )
    return valid.to(tokens.device, torch.bool)


# ---------------------------------------------------------------------------------------
# Attention sinks


def sink_profile(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"] | None = None,
) -> Float[Tensor, "batch head key"]:
    """Gu et al.'s ``alpha_k``: mean attention on key ``k`` from the queries ``i >= k``.

    Args:
        pattern: ``[batch, head, query, key]`` post-softmax attention.
        valid: ``[batch, pos]`` True on real tokens (default: all); padding is never a
            query or a key.

    Returns:
        ``[batch, head, key]``, each value 0..1; NaN where no real query sees the key.

    Example:
        >>> pattern = torch.zeros(1, 1, 4, 4); pattern[..., 0] = 1.0  # all on BOS
        >>> sink_profile(pattern)[0, 0].tolist()
        [1.0, 0.0, 0.0, 0.0]
    """
    _check_pattern(pattern)
    valid = _valid_or_all(pattern, valid)
    n_pos = pattern.shape[-1]
    q_idx = torch.arange(n_pos, device=pattern.device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=pattern.device)[None, :]  # (1, K)
    seen = (q_idx >= k_idx)[None] & valid[:, :, None] & valid[:, None, :]  # (B, Q, K)
    w = seen.to(torch.float32)
    mass = torch.einsum("bhqk,bqk->bhk", pattern.float(), w)  # (B, H, K)
    count = w.sum(1)[:, None, :]  # (B, 1, K)
    return torch.where(count > 0, mass / count.clamp(min=1), torch.nan)


def sink_scores(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    min_queries: int = 16,
) -> tuple[Float[Tensor, "batch head"], Int[Tensor, " head"]]:
    """Each head's strongest sink: the key with the largest ``alpha_k`` (mean over the
    batch), among keys that at least ``min_queries`` real queries see in every sequence.

    A head sinks when the mean of the returned per-sequence score exceeds
    :data:`SINK_THRESHOLD` (0.3). ``min_queries`` keeps late keys out: a key seen by ``m``
    queries can reach ``alpha = 1/m`` from one sharp query (16 keeps a previous-token or
    current-token head below 0.07).

    Args:
        pattern: ``[batch, head, query, key]``.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        min_queries: fewest queries at or after a key for it to count (>= 1).

    Returns:
        ``(score, key)``: ``[batch, head]`` per-sequence ``alpha`` at each head's key
        (0..1), and ``[head]`` that key's position.

    Raises:
        ValueError: ``min_queries < 1``, or no key has ``min_queries`` queries (the
            sequences are too short).
    """
    if isinstance(min_queries, bool) or not isinstance(min_queries, int) or min_queries < 1:
        raise ValueError(f"min_queries must be a positive integer, got {min_queries!r}")
    alpha = sink_profile(pattern, valid)  # (B, H, K)
    valid = _valid_or_all(pattern, valid)
    n_pos = pattern.shape[-1]
    q_idx = torch.arange(n_pos, device=pattern.device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=pattern.device)[None, :]  # (1, K)
    seen = (q_idx >= k_idx)[None] & valid[:, :, None] & valid[:, None, :]  # (B, Q, K)
    n_later = seen.sum(1)  # (B, K): real queries at or after each real key
    eligible = (n_later >= min_queries).all(0)  # (K,)
    if not bool(eligible.any()):
        raise ValueError(
            f"no key is seen by {min_queries} queries in every sequence (longest real "
            f"sequence: {int(valid.sum(1).min())} tokens); use longer stimuli or a smaller "
            "min_queries"
        )
    mean = alpha.nanmean(0)  # (H, K)
    mean = torch.where(eligible[None], mean, -torch.inf)
    key = mean.argmax(-1)  # (H,)
    score = alpha.gather(-1, key[None, :, None].expand(alpha.shape[0], -1, 1))[..., 0]
    return score, key


@dataclass(frozen=True)
class SinkValues:
    """What a head writes from its sink key against what it writes from content keys.

    A key's *write norm* for head ``h`` is ``|| v_k W_O^h ||``, the size of what the head
    adds to the residual stream per unit of attention on key ``k`` (Kobayashi et al. 2020,
    "Attention is not only a weight": attention on a key whose value is small moves
    nothing). Gu et al. 2025 found the values of sink keys small: attending the sink is a
    no-op, a place to park attention.

    Attributes:
        head: ``"L.H"``.
        key: the sink key (the key of :func:`sink_scores`; 0 = BOS).
        sink: ``[batch]`` the sink key's write norm in each sequence.
        content: ``[batch]`` the mean write norm of the content keys (real keys other than
            BOS and the sink key) in each sequence.
        content_quantile: the ``quantile`` of every content key's write norm, pooled over
            sequences: the null a no-op sink must fall below.
        quantile: which quantile (e.g. 0.05).
    """

    head: str
    key: int
    sink: Float[Tensor, " batch"]
    content: Float[Tensor, " batch"]
    content_quantile: float
    quantile: float


def sink_values(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    *,
    quantile: float = 0.05,
    min_queries: int = 16,
) -> list[SinkValues]:
    """Each head's write norm on its sink key and on its content keys (one forward pass up
    to the last head's layer; the model is not modified and no hook stays on it).

    Args:
        model: a ``TransformerBridge``.
        stimuli: sequences with BOS first (padding allowed); long enough for
            :func:`sink_scores` (``min_queries``).
        heads: the heads to measure (labels or :class:`interp.HeadId`).
        quantile: the content keys' quantile recorded as the null (0 < quantile < 1).
        min_queries: passed to :func:`sink_scores`.

    Raises:
        ValueError: a head does not exist, ``quantile`` outside (0, 1), or sequences with
            fewer than three real tokens (no content key beside BOS and the sink).
    """
    if not 0.0 < float(quantile) < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile!r}")
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    parsed = check_heads(list(heads), n_layers, n_heads)
    if not parsed:
        return []
    valid = stimuli.valid
    if int(valid.sum(1).min()) < 3:
        raise ValueError("every sequence needs at least three real tokens (BOS, a sink "
                         "key and a content key)")
    layers = sorted({h.layer for h in parsed})
    keys: dict[int, Tensor] = {}
    norms: dict[Any, Tensor] = {}
    w_o = model.W_O.detach()  # (L, H, d_head, d_model)

    def on_pattern(layer: int):
        def hook(pattern: Tensor, hook: Any) -> None:
            keys[layer] = sink_scores(pattern.detach(), valid.to(pattern.device),
                                      min_queries=min_queries)[1].cpu()

        return hook

    def on_values(layer: int):
        def hook(v: Tensor, hook: Any) -> None:
            group = n_heads // v.shape[2]  # grouped-query attention: kv head h // group
            for h in (h for h in parsed if h.layer == layer):
                wrote = v[:, :, h.head // group].detach().float() @ w_o[layer][h.head].float()
                norms[h] = wrote.norm(dim=-1).cpu()  # (B, P)

        return hook

    hooks = [(name(layer), make(layer)) for layer in layers
             for name, make in ((v_hook, on_values), (pattern_hook, on_pattern))]
    tokens = stimuli.tokens.to(model_device(model))
    with torch.inference_mode(), attached_hooks(model, hooks):
        model(tokens, attention_mask=valid.long().to(tokens.device),
              stop_at_layer=max(layers) + 1)
    out = []
    valid = valid.cpu()
    for h in parsed:
        key = int(keys[h.layer][h.head])
        content_mask = valid.clone()
        content_mask[:, 0] = False
        content_mask[:, key] = False
        norm = norms[h]
        per_seq = (norm * content_mask).sum(1) / content_mask.sum(1).clamp(min=1)
        out.append(SinkValues(
            head=str(h), key=key, sink=norm[:, key], content=per_seq,
            content_quantile=float(torch.quantile(norm[content_mask], float(quantile))),
            quantile=float(quantile),
        ))
    return out


# ---------------------------------------------------------------------------------------
# Local window


def local_profile(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    window: int = 3,
) -> Float[Tensor, "batch head distance"]:
    """Mean attention on the key ``d`` back, ``d = 0..window``, over the queries
    ``q > window`` (their window never reaches BOS) whose window keys are all real.

    Unlike :func:`interp.scoring.distance_profile`, every distance is averaged over the
    same queries, so the profile sums to at most 1.

    Args:
        pattern: ``[batch, head, query, key]``.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        window: the largest distance (>= 1).

    Returns:
        ``[batch, head, window + 1]``, each value 0..1; NaN where a sequence has no such
        query.

    Raises:
        ValueError: ``window < 1``, or the context is too short for it.
    """
    _check_pattern(pattern)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    n_pos = pattern.shape[-1]
    if n_pos <= window + 1:
        raise ValueError(f"a window of {window} needs more than {window + 1} positions, "
                         f"got {n_pos}")
    valid = _valid_or_all(pattern, valid)
    batch, n_heads = pattern.shape[:2]
    queries = torch.arange(window + 1, n_pos, device=pattern.device)  # (Q',)
    d_idx = torch.arange(window + 1, device=pattern.device)  # (D,)
    keys = queries[:, None] - d_idx[None]  # (Q', D)
    p = pattern.float()[:, :, queries]  # (B, H, Q', K)
    on_key = p.gather(-1, keys.expand(batch, n_heads, -1, -1))  # (B, H, Q', D)
    keep = valid[:, queries] & valid[:, keys].all(-1)  # (B, Q')
    w = keep.float()
    count = w.sum(1)  # (B,)
    mean = torch.einsum("bhqd,bq->bhd", on_key, w) / count.clamp(min=1)[:, None, None]
    return torch.where(count[:, None, None] > 0, mean, torch.nan)


def window_mass(profile: Float[Tensor, "... distance"]) -> Float[Tensor, "..."]:
    """Attention within the window: the profile summed over distances (0..1 for
    :func:`local_profile`; a slice ``[..., :w + 1]`` of a distance profile also works)."""
    return profile.sum(-1)


def window_width(profile: Float[Tensor, "... distance"]) -> Float[Tensor, "..."]:
    """Over how many distances the window's mass spreads: ``exp(entropy)`` of the profile
    normalised to sum 1, range 1..``n_distances`` (1: one offset, as a previous-token head;
    ``W``: even over ``W`` offsets). NaN where the window holds no attention."""
    p = profile.clamp(min=0)
    total = p.sum(-1, keepdim=True)
    q = p / total.clamp(min=1e-12)
    entropy = -(q * q.clamp(min=1e-12).log()).sum(-1)
    return torch.where(total[..., 0] > 1e-12, entropy.exp(), torch.nan)


# ---------------------------------------------------------------------------------------
# Induction by distance


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
    valid = _check_tokens(tokens, valid)
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


def _earlier_keys(valid: Tensor) -> Tensor:
    """Keys ``1..q-1`` on real tokens, ``[batch, query, key]`` (the usual null keys)."""
    n_pos = valid.shape[1]
    q_idx = torch.arange(n_pos, device=valid.device)[:, None]
    k_idx = torch.arange(n_pos, device=valid.device)[None, :]
    return ((k_idx < q_idx) & (k_idx >= 1))[None] & valid[:, :, None] & valid[:, None, :]


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
        band name -> :class:`interp.scoring.LayerScores` (per-sequence score, null and
        counted queries; NaN where a sequence has no query with a target in the band).

    Raises:
        ValueError: edges not increasing integers >= 2, or mismatched shapes.
    """
    _check_pattern(pattern)
    valid = _check_tokens(tokens, valid)
    edges = [int(e) for e in edges]
    if any(e < 2 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be increasing integers >= 2, got {edges}")
    eligible = _earlier_keys(valid)
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
) -> AblationEffect:
    """How much ablating ``heads`` raises the loss on copies whose distance lies in the
    band (the long-range induction check: a retrieval head must retrieve).

    Returns:
        An :class:`interp.AblationEffect` with metric ``copy_loss:<band>``: ``clean`` and
        ``ablated`` the mean loss on the copy positions (:func:`copy_band_positions`);
        ``effect`` = ablated - clean (positive: the heads helped copy); ``scale`` the copy
        benefit, the loss on the source positions minus the loss on the copies, clean
        (NaN ``relative`` when it is below :data:`interp.ablation.MIN_SCALE`: the model
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
    hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
    clean_nll = position_nll(model, stimuli).cpu()
    ablated_nll = position_nll(model, stimuli, hooks).cpu()

    def mean_on(nll: Tensor, where: Tensor) -> Tensor:  # (B,)
        return (nll * where).sum(1) / where.sum(1).clamp(min=1)

    clean, ablated = mean_on(clean_nll, copies)[keep], mean_on(ablated_nll, copies)[keep]
    benefit = mean_on(clean_nll, sources)[keep] - clean
    return summarise_effect(parsed, method, f"copy_loss:{band}", clean, ablated,
                            ablated - clean, float(benefit.mean()), seed)


# ---------------------------------------------------------------------------------------
# Attention by key position


def key_position_profile(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    n_bins: int = 8,
    min_query: int | None = None,
) -> Float[Tensor, "batch head bin"]:
    """Mean attention mass per relative key-position bin (see the module docstring).

    Args:
        pattern: ``[batch, head, query, key]``.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        n_bins: number of bins over the visible context (>= 2).
        min_query: the first query counted (default: half of each sequence's real
            length); at least ``n_bins - 1`` so that every bin holds a key.

    Returns:
        ``[batch, head, n_bins]``; each row sums to 1 (BOS is in the first bin); NaN
        where a sequence has no counted query. ``.nanmean(0)`` gives the ``[head, bin]``
        profile.

    Raises:
        ValueError: ``n_bins < 2`` or ``min_query < n_bins - 1``.
    """
    _check_pattern(pattern)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    valid = _valid_or_all(pattern, valid)
    n_pos = pattern.shape[-1]
    device = pattern.device
    q_idx = torch.arange(n_pos, device=device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=device)[None, :]  # (1, K)
    if min_query is None:
        start = torch.maximum(valid.sum(1) // 2, torch.tensor(n_bins - 1, device=device))
    else:
        if min_query < n_bins - 1:
            raise ValueError(
                f"min_query {min_query} leaves some of the {n_bins} bins without keys; "
                f"use at least {n_bins - 1}"
            )
        start = torch.full((pattern.shape[0],), int(min_query), device=device)
    counted = valid & (q_idx[:, 0][None] >= start[:, None])  # (B, Q)
    bins = torch.div(k_idx * n_bins, q_idx + 1, rounding_mode="floor")  # (Q, K)
    one_hot = F.one_hot(bins.clamp(max=n_bins - 1), n_bins).float()  # (Q, K, N)
    one_hot = one_hot * (k_idx <= q_idx)[..., None]  # (Q, K, N): visible keys only
    mass = torch.einsum("bhqk,qkn->bhqn", pattern.float(), one_hot)  # (B, H, Q, N)
    w = counted.float()  # (B, Q)
    count = w.sum(1)  # (B,)
    mean = torch.einsum("bhqn,bq->bhn", mass, w) / count.clamp(min=1)[:, None, None]
    return torch.where(count[:, None, None] > 0, mean, torch.nan)


# ---------------------------------------------------------------------------------------
# Copy suppression


def predicted_tokens(
    logits: Float[Tensor, "batch pos vocab"], *, min_prob: float = 0.0
) -> Int[Tensor, "batch pos"]:
    """The model's top next-token prediction at each position, ``-1`` where the top
    probability is below ``min_prob`` (no confident prediction, so nothing to suppress).

    Where a model is indifferent (a first copy of random tokens) the argmax is noise and
    may name a token that occurred earlier by chance; ``min_prob`` (e.g. 0.3) keeps such
    positions out of :func:`copy_suppression_targets`.

    Raises:
        ValueError: ``min_prob`` outside 0..1, or logits not ``[batch, pos, vocab]``.
    """
    if logits.ndim != 3:
        raise ValueError(f"logits must be [batch, pos, vocab]; got {tuple(logits.shape)}")
    if not 0.0 <= float(min_prob) <= 1.0:
        raise ValueError(f"min_prob must lie in 0..1, got {min_prob!r}")
    probs = torch.softmax(logits.detach().float(), dim=-1)
    top, ids = probs.max(-1)  # (B, S) each
    return torch.where(top >= min_prob, ids, torch.full_like(ids, -1))


def copy_suppression_targets(
    tokens: Int[Tensor, "batch pos"],
    valid: Bool[Tensor, "batch pos"] | None,
    predicted: Int[Tensor, "batch pos"],
) -> Bool[Tensor, "batch query key"]:
    """Earlier keys ``1 <= k < q`` holding the token the model predicts at query ``q``
    (McDougall et al. 2023: a copy-suppression head attends there and pushes that token's
    logit down).

    Args:
        tokens: ``[batch, pos]``, BOS first.
        valid: ``[batch, pos]`` True on real tokens (None: all).
        predicted: ``[batch, pos]`` the model's top next-token prediction at each position
            (:func:`predicted_tokens`); a negative id means no prediction (no targets).

    Returns:
        ``[batch, query, key]`` bool. On ``[BOS] r r`` with a model that copies, the
        second-copy targets are the induction targets.

    Raises:
        ValueError: ``predicted`` does not have the shape of ``tokens``.
    """
    valid = _check_tokens(tokens, valid)
    if predicted.shape != tokens.shape:
        raise ValueError(
            f"predicted {tuple(predicted.shape)} must have the shape of tokens "
            f"{tuple(tokens.shape)}"
        )
    holds = predicted.to(tokens.device)[:, :, None] == tokens[:, None, :]  # (B, Q, K)
    return holds & _earlier_keys(valid)


def predicted_logit_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    *,
    method: str = "mean",
    seed: int = 0,
) -> AblationEffect:
    """How much ablating ``heads`` raises the logit of the token the model predicts on the
    second copy of ``[BOS] r r`` (the copy-suppression confirmation).

    At each second-copy query (positions ``L + 1 .. 2L - 1``, the ones
    :func:`interp.ablation.copy_losses` scores) the predicted token is the clean run's
    argmax. Logits are centred (minus their mean over the vocabulary), so a shift shared by
    every token counts for nothing.

    Returns:
        An :class:`interp.AblationEffect` with metric ``predicted_logit``: ``clean`` and
        ``ablated`` are the mean centred logit of the predicted token; ``effect`` is
        ``ablated - clean`` (positive: the heads were holding the prediction down);
        ``scale`` the clean value (how strongly the token is predicted at all) and
        ``relative = effect / scale`` (NaN when ``scale`` is below
        :data:`interp.ablation.MIN_SCALE`: nothing is predicted to suppress).

    Raises:
        ValueError: the stimuli are not ``[BOS] r r``, or a head does not exist.
    """
    check_stimuli(model, stimuli, repeated=True)
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
    second = copy_slices(stimuli.repeat_len)[1]  # the second-copy prediction positions
    clean_logits = stimuli_logits(model, stimuli)[:, second].float()  # (B, L-1, V)
    ablated_logits = stimuli_logits(model, stimuli, hooks)[:, second].float()
    predicted = clean_logits.argmax(-1, keepdim=True)  # (B, L-1, 1)

    def centred(logits: Tensor) -> Tensor:
        return (logits - logits.mean(-1, keepdim=True)).gather(-1, predicted)[..., 0]

    clean = centred(clean_logits).mean(-1).cpu()  # (B,)
    ablated = centred(ablated_logits).mean(-1).cpu()  # (B,)
    return summarise_effect(parsed, method, "predicted_logit", clean, ablated,
                            ablated - clean, float(clean.mean()), seed)


def copy_suppression_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    *,
    method: str = "mean",
    seed: int = 0,
) -> AblationEffect:
    """The copy-suppression confirmation: :func:`predicted_logit_effect` on the scale of
    the prediction the heads act on.

    ``effect`` (ablated minus clean centred logit of the predicted token) is positive when
    the heads were holding the prediction down. ``scale`` is the larger of the clean and
    the ablated logit: for a suppressor that is the ablated one (the prediction without
    it), so ``relative = effect / scale`` is the *share of the predicted token's logit the
    heads take away* (0.5 for a planted head of strength 0.5; 1 would remove the whole
    prediction). For a head that *writes* the prediction (an induction head, whose pattern
    is the same) the clean logit is the larger, the effect negative and ``relative``
    below 0: refuted. Where neither run predicts anything (both logits at or below
    :data:`interp.ablation.MIN_SCALE`) the test cannot decide.
    """
    from dataclasses import replace

    base = predicted_logit_effect(model, stimuli, heads, method=method, seed=seed)
    scale = max(base.clean, base.ablated)
    return replace(base, scale=scale,
                   relative=base.effect / scale if scale > MIN_SCALE else float("nan"))


# ---------------------------------------------------------------------------------------
# Successor heads


def ordinal_token_sets(tokenizer: Any) -> dict[str, tuple[int, ...]]:
    """The ordinal sequences of :data:`ORDINAL_SEQUENCES` that ``tokenizer`` holds as
    single, distinct tokens, as token ids in order.

    Each sequence is tried as written (``"digits"``) and with a leading space, as GPT-2
    style tokenizers spell words inside text (``"space_digits"``); every variant whose
    members are all single tokens is kept.

    Args:
        tokenizer: anything with ``encode(text, add_special_tokens=False) -> list[int]``.

    Returns:
        name -> ids; empty when the tokenizer has none (or there is no tokenizer: pass
        explicit id sets to :func:`successor_scores` instead).

    Raises:
        ValueError: ``tokenizer`` is None.
    """
    if tokenizer is None:
        raise ValueError("ordinal_token_sets needs a tokenizer; this model has none "
                         "(pass explicit id sets to successor_scores)")
    found: dict[str, tuple[int, ...]] = {}
    for name, words in ORDINAL_SEQUENCES.items():
        for prefix, label in (("", name), (" ", f"space_{name}")):
            ids = []
            for word in words:
                encoded = tokenizer.encode(prefix + word, add_special_tokens=False)
                if len(encoded) != 1:
                    break
                ids.append(int(encoded[0]))
            if len(ids) == len(words) and len(set(ids)) == len(ids):
                found[label] = tuple(ids)
    return found


def _id_sets(
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]], d_vocab: int
) -> list[list[int]]:
    sets = list(ordinal_sets.values()) if isinstance(ordinal_sets, Mapping) else list(
        ordinal_sets
    )
    if not sets:
        raise ValueError("no ordinal sets given (a tokenizer without digits or letters?)")
    out = []
    for ids in sets:
        ids = [int(i) for i in ids]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ValueError(f"an ordinal set needs at least two distinct ids, got {ids}")
        bad = [i for i in ids if not 0 <= i < d_vocab]
        if bad:
            raise ValueError(f"ordinal ids {bad} are outside the vocabulary 0..{d_vocab - 1}")
        out.append(ids)
    return out


def ov_circuit_among(
    model: Any,
    ids: Sequence[int],
    *,
    embeddings: Float[Tensor, "n d_model"] | None = None,
) -> Float[Tensor, "layer head n n"]:
    """Every head's OV circuit restricted to ``ids``: entry ``[l, h, i, j]`` is the logit
    of ``ids[j]`` that head ``l.h`` writes when it attends to ``ids[i]``
    (``W_E[ids] W_V W_O W_U[:, ids]``; LayerNorm and biases ignored, as in
    :func:`interp.weights.ov_copying_scores`).

    Args:
        model: a ``TransformerBridge`` (weights read only).
        ids: token ids.
        embeddings: ``[len(ids), d_model]`` effective embeddings to use instead of
            ``W_E[ids]`` (e.g. after MLP0, as Gould et al.).
    """
    p = _params(model)
    index = torch.tensor([int(i) for i in ids], dtype=torch.long)
    rows = p["W_E"][index] if embeddings is None else embeddings.detach().float().cpu()
    if rows.shape != (len(index), p["W_E"].shape[1]):
        raise ValueError(f"embeddings must be [{len(index)}, {p['W_E'].shape[1]}], "
                         f"got {tuple(rows.shape)}")
    cols = p["W_U"][:, index]  # (d, n)
    # (n, d) @ (L, H, d, dh) @ (L, H, dh, d) @ (d, n) -> (L, H, n, n)
    return rows @ p["W_V"] @ p["W_O"] @ cols


def mlp0_embeddings(model: Any, ids: Sequence[int]) -> Float[Tensor, "n d_model"]:
    """Effective token embeddings after the first MLP (Gould et al.): ``W_E[ids] +
    MLP0(LN2(W_E[ids]))``, the residual a token would carry past block 0 if layer-0
    attention added nothing.

    Raises:
        ValueError: the model has no MLPs (``attn_only``).
    """
    if bool(getattr(model.cfg, "attn_only", False)):
        raise ValueError("the model is attention-only: there is no MLP0 to apply "
                         "(use the raw embeddings)")
    block = model.blocks[0]
    index = torch.tensor([int(i) for i in ids], dtype=torch.long)
    with torch.no_grad():
        embed = model.W_E[index.to(model.W_E.device)]  # (n, d)
        out = embed + block.mlp(block.ln2(embed[None]))[0]  # (n, d)
    return out.detach().float().cpu()


def successor_fraction(circuit: Float[Tensor, "... n n"]) -> Float[Tensor, "..."]:
    """Fraction of the pairs ``i -> i + 1`` where column ``i + 1`` holds the strictly
    largest value of row ``i`` (range 0..1; a tie is a miss)."""
    n = circuit.shape[-1]
    if circuit.shape[-2] != n or n < 2:
        raise ValueError(f"circuit must be [..., n, n] with n >= 2, got {tuple(circuit.shape)}")
    rows = circuit[..., :-1, :]  # (..., n-1, n): sources 0..n-2
    succ = torch.arange(1, n)
    target = rows[..., torch.arange(n - 1), succ]  # (..., n-1)
    others = rows.clone()
    others[..., torch.arange(n - 1), succ] = -torch.inf
    hit = target > others.max(-1).values  # (..., n-1)
    return hit.float().mean(-1)


def ordinal_stimuli(
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]],
    n_seqs: int,
    seq_len: int,
    *,
    vocab_size: int,
    bos_token_id: int,
    seed: int,
) -> Stimuli:
    """``[BOS]`` then ``seq_len`` members of the ordinal sets drawn uniformly at random
    (``torch.Generator`` seeded with ``seed``): contexts where a successor head has
    something to do at every position.

    Raises:
        ValueError: bad sets (as :func:`successor_scores`), or ``n_seqs``/``seq_len`` < 1.
    """
    if n_seqs < 1 or seq_len < 1:
        raise ValueError(f"need n_seqs >= 1 and seq_len >= 1, got {n_seqs} and {seq_len}")
    members = torch.tensor(sorted({i for ids in _id_sets(ordinal_sets, vocab_size)
                                   for i in ids}))
    generator = torch.Generator().manual_seed(int(seed))
    drawn = members[torch.randint(len(members), (n_seqs, seq_len), generator=generator)]
    tokens = torch.cat([torch.full((n_seqs, 1), int(bos_token_id)), drawn], dim=1)
    return Stimuli(tokens=tokens, valid=torch.ones_like(tokens, dtype=torch.bool),
                   bos_token_id=int(bos_token_id),
                   description={"kind": "ordinal", "n_seqs": n_seqs, "seq_len": seq_len,
                                "seed": int(seed)})


def successor_logit_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]],
    *,
    method: str = "mean",
    seed: int = 0,
) -> AblationEffect:
    """How much ``heads`` raise the successor of the current token in context (the
    successor measure's check): at every position holding a member of an ordinal set that
    has a successor (``1 -> 2``), the centred logit (minus the mean over the vocabulary)
    of that successor, clean vs with ``heads`` ablated.

    Returns:
        An :class:`interp.AblationEffect` with metric ``successor_logit``: ``effect`` =
        clean - ablated (positive: the heads raised the successor), ``scale`` the clean
        value (how strongly the model raises successors at all), ``relative`` the heads'
        share of it (NaN where ``scale`` is below :data:`interp.ablation.MIN_SCALE`).

    Raises:
        ValueError: bad sets or heads, or no position of the stimuli holds a member with a
            successor.
    """
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    successor = torch.full((int(model.cfg.d_vocab),), -1, dtype=torch.long)
    for ids in _id_sets(ordinal_sets, int(model.cfg.d_vocab)):
        successor[torch.tensor(ids[:-1])] = torch.tensor(ids[1:])
    target = successor[stimuli.tokens.cpu()]  # (B, S): -1 where no successor
    scored = (target >= 0) & stimuli.valid.cpu()
    if not bool(scored.any()):
        raise ValueError("no position of the stimuli holds an ordinal token with a successor")
    hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
    clean_logits = stimuli_logits(model, stimuli).float().cpu()
    ablated_logits = stimuli_logits(model, stimuli, hooks).float().cpu()

    def successor_logit(logits: Tensor) -> Tensor:  # (B,) mean over scored positions
        centred = logits - logits.mean(-1, keepdim=True)
        picked = centred.gather(-1, target.clamp(min=0)[..., None])[..., 0]  # (B, S)
        return (picked * scored).sum(1) / scored.sum(1).clamp(min=1)

    keep = scored.any(1)
    clean = successor_logit(clean_logits)[keep]
    ablated = successor_logit(ablated_logits)[keep]
    return summarise_effect(parsed, method, "successor_logit", clean, ablated,
                            clean - ablated, float(clean.mean()), seed)


def successor_scores(
    model: Any,
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]],
    *,
    embeddings: Mapping[str, Tensor] | Sequence[Tensor] | None = None,
    through_mlp0: bool = False,
) -> Float[Tensor, "layer head"]:
    """Gould et al.'s successor score of every head, pooled over the ordinal sets.

    Args:
        model: a ``TransformerBridge`` (weights read only).
        ordinal_sets: ordered token-id lists (from :func:`ordinal_token_sets`, or explicit
            ids for a model without a tokenizer).
        embeddings: per set, ``[len(set), d_model]`` effective embeddings; default the raw
            ``W_E`` rows.
        through_mlp0: use :func:`mlp0_embeddings` (models with MLPs only).

    Returns:
        ``[layer, head]``: successful pairs / all pairs, 0..1.

    Raises:
        ValueError: no sets, a set with fewer than two distinct ids, ids outside the
            vocabulary, both ``embeddings`` and ``through_mlp0``, or ``through_mlp0`` on an
            attention-only model.
    """
    sets = _id_sets(ordinal_sets, int(model.cfg.d_vocab))
    if through_mlp0:
        if embeddings is not None:
            raise ValueError("pass either embeddings or through_mlp0, not both")
        embeddings = [mlp0_embeddings(model, ids) for ids in sets]
    if embeddings is not None:
        embeddings = (list(embeddings.values()) if isinstance(embeddings, Mapping)
                      else list(embeddings))
        if len(embeddings) != len(sets):
            raise ValueError(f"{len(embeddings)} embedding tables for {len(sets)} sets")
    hits = None
    pairs = 0
    for i, ids in enumerate(sets):
        rows = None if embeddings is None else embeddings[i]
        circuit = ov_circuit_among(model, ids, embeddings=rows)  # (L, H, n, n)
        part = successor_fraction(circuit) * (len(ids) - 1)
        hits = part if hits is None else hits + part
        pairs += len(ids) - 1
    return hits / pairs
