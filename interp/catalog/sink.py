"""**Attention sinks** (Xiao et al. 2023, "Efficient streaming language models with attention
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

Registered here: the ``sink`` measure (marks heads above :data:`SINK_THRESHOLD` and a
uniform head; its check, the no-op test, can refute the mark) and ``sink_key``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..engine.ablation import CleanRun, attention_alone
from ..engine.masks import check_pattern, valid_or_all
from ..model.heads import HeadId, check_heads
from ..model.hooks import attached_hooks, pattern_hook, v_hook
from ..model.loading import model_device
from ..results.evidence import Evidence
from ..spec.measures import Measure, MeasureCheck, register_measure
from ..stimuli.tokens import Stimuli

#: Gu et al. 2025: a head sinks on key ``k`` when ``alpha_k`` exceeds this.
SINK_THRESHOLD = 0.3


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
    check_pattern(pattern)
    valid = valid_or_all(pattern, valid)
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
    valid = valid_or_all(pattern, valid)
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
    clean: CleanRun | None = None,
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
        clean: a :func:`interp.engine.ablation.clean_run` of ``stimuli``: each layer's
            attention is then run alone on the residual entering it (no MLP, no pass).

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

    by_layer = {layer: [(v_hook(layer), on_values(layer)), (pattern_hook(layer), on_pattern(layer))]
                for layer in layers}
    hooks = [hook for layer in layers for hook in by_layer[layer]]
    if clean is not None and clean.stimuli is stimuli and clean.direct:
        for layer in layers:
            attention_alone(model, clean, layer, by_layer[layer])
    else:
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


def _sink(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    return sink_scores(pattern, valid)[0]  # (B, H)


def _sink_key(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    key = sink_scores(pattern, valid)[1]  # (H,)
    return key.float()[None].expand(pattern.shape[0], -1)  # (B, H)


def _no_op_sink(
    model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
    **_: Any,
) -> Evidence:
    """The no-op check of one head: its sink key must write less than the content keys'
    5% quantile (:func:`sink_values`), and clearly so over sequences."""
    (v,) = sink_values(model, stimuli, heads)  # one head: sinks are a head's own
    return _no_op_evidence(v, min_effect, z)


def _no_op_sinks(
    model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
    clean: CleanRun | None = None, **_: Any,
) -> list[Evidence]:
    """:func:`_no_op_sink` of every head, from one forward pass (or, with ``clean``, each
    layer's attention alone on the clean residual)."""
    return [_no_op_evidence(v, min_effect, z)
            for v in sink_values(model, stimuli, heads, clean=clean)]


def _no_op_evidence(v: SinkValues, min_effect: float, z: float) -> Evidence:
    content, sink = float(v.content.mean()), float(v.sink.mean())
    gap = v.content - v.sink  # (B,): positive when the sink writes less
    stderr = float(gap.std()) / math.sqrt(len(gap)) if len(gap) > 1 else math.inf
    # below the null's quantile <=> relative effect >= 1 - quantile / mean
    floor = 1.0 - v.content_quantile / content if content > 0 else 0.0
    evidence = Evidence.measured(
        method="value norm", metric="sink_value_norm", clean=content, ablated=sink,
        effect=float(gap.mean()), stderr=stderr, scale=content,
        min_effect=max(min_effect, floor), z=z)
    where = "BOS" if v.key == 0 else f"key {v.key}"
    ratio = f"{sink / content:.3g}x" if content > 0 else "n/a"
    said = (f"{where} writes {sink:.3g} per unit of attention, {ratio} a content key's "
            f"{content:.3g} (their {v.quantile:.0%} quantile: {v.content_quantile:.3g}); ")
    return replace(evidence, reason=said + evidence.reason)


register_measure(Measure(
    name="sink",
    description="attention-sink score (0..1; Gu et al. 2025): the largest, over keys seen "
    "by at least 16 queries, of the mean attention a key gets from the queries at or after "
    "it (alpha_k). A head sinks when it exceeds 0.3 (their threshold) and what a uniform "
    "head gets on the same sequences. BOS is a key like any other, and a head that rests on "
    "BOS whenever it has nothing to do (an induction head on a first copy) sinks too.",
    fn=_sink, threshold=0.3, above_uniform=True, label="sink (measure)",
    check=MeasureCheck(
        claim="no-op sink",
        description="attending the sink must move (almost) nothing: per unit of attention "
        "the sink key writes || v W_O || (Kobayashi et al. 2020) below the 5% quantile of "
        "what the head's content keys write, over the long stimuli (Gu et al. 2025 found "
        "sink values small). Refuted for a head that reads its sink key (a positional "
        "reader) or writes a large constant from it (a bias); undecided where the head "
        "writes nothing from any key.",
        fn=_no_op_sink,
        each=_no_op_sinks,
    ),
))


register_measure(Measure(
    name="sink_key",
    description="the key position of the head's sink score (0 = BOS).",
    fn=_sink_key,
))
