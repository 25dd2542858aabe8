"""Model-level measures of the induction phase change (Olsson et al. 2022).

**In-context-learning score.** On held-out text windows (``[BOS]`` + ``n_ctx - 1`` tokens),
the mean next-token loss at a late token minus the mean loss at an early one. Negative when
the model uses its context (later tokens are cheaper to predict); Olsson et al. use token 500
vs token 50 and report about -0.15 nats before and about -0.4 nats after the phase change.
With a context of 256 this module uses token 200 vs token 20 (the same 10:1 ratio). "Loss at
token ``t``" is ``-log p(x_t | x_<t)`` with BOS at position 0; each is averaged over the
``2 * half_width + 1`` tokens centred on ``t`` (default 5: tokens 195-205 and 15-25) as
well as over sequences, which divides the noise of a few hundred held-out windows by ~3.

**Prefix-matching score.** Olsson's stimuli: BOS then ``L`` = 25 distinct random tokens
repeated 4 times. For a query token in repeats 2-4, the head's attention summed over the
tokens that came *right after* the earlier occurrences of the query token (offset +1: the
key holding the successor of an earlier copy, which is what an induction head attends to;
the paper's prose says "preceded by", implementations use this offset), averaged over such
queries and sequences. Range 0..1: a perfect induction head scores 1, a previous-token or
BOS-sink head 0, uniform attention about ``k / q`` for ``k`` earlier copies at query ``q``.
Olsson drop the most and least common tokens; pass ``allowed_ids`` to do that
(:func:`mid_frequency_ids` picks them from a token stream).

The stimuli they run on are built in :mod:`interp.stimuli.tokens` (:func:`~interp.stimuli.tokens.prefix_matching_tokens`,
:mod:`interp.stimuli.text`).
"""

from __future__ import annotations

from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from ..model.hooks import capture, pattern_hook
from ..stimuli.tokens import Stimuli

#: Token pair of the in-context score for a 256-token context (Olsson: 500 vs 50).
ICL_LATE = 200


ICL_EARLY = 20


def icl_positions(n_ctx: int) -> tuple[int, int]:
    """``(late, early)`` token positions for a context of ``n_ctx``: 200 and 20 when it
    allows (``n_ctx >= 211``), otherwise the same 10:1 pair scaled to the context."""
    if n_ctx < 32:
        raise ValueError(f"an in-context score needs a context of at least 32, got {n_ctx}")
    if n_ctx >= ICL_LATE + 11:
        return ICL_LATE, ICL_EARLY
    late = n_ctx - 7
    return late, max(6, late // 10)


def in_context_score(
    loss: Float[Tensor, "batch pos_1"], *, late: int = ICL_LATE, early: int = ICL_EARLY,
    half_width: int = 5,
) -> float:
    """Mean loss at token ``late`` minus mean loss at token ``early`` (nats; negative when
    context helps). ``loss[:, t - 1]`` is the loss of predicting token ``t``
    (:func:`per_position_loss`); each token's loss is averaged over ``t +- half_width``.

    Raises:
        ValueError: positions outside the loss tensor, ``early >= late``, NaN losses.
    """
    if loss.ndim != 2 or loss.shape[0] < 1:
        raise ValueError(f"loss must be [batch, pos - 1] with batch >= 1, got {tuple(loss.shape)}")
    if half_width < 0:
        raise ValueError(f"half_width must be >= 0, got {half_width}")
    if not 1 <= early - half_width or not early < late:
        raise ValueError(f"need 1 <= early - half_width and early < late; got early {early}, "
                         f"late {late}, half_width {half_width}")
    if late + half_width > loss.shape[1]:
        raise ValueError(f"token {late} + {half_width} lies beyond the {loss.shape[1] + 1} "
                         "positions of the loss")
    if not torch.isfinite(loss).all():
        raise ValueError("loss holds NaN or inf")

    def band(t: int) -> float:
        return float(loss[:, t - 1 - half_width : t + half_width].double().mean())

    return band(late) - band(early)


def per_position_loss(
    model: Any, tokens: Int[Tensor, "batch pos"], *, batch_size: int = 32
) -> Float[Tensor, "batch pos_1"]:
    """``-log p(tokens[:, t])`` for ``t = 1 .. pos - 1`` (column ``t - 1``), no grad, in
    chunks of ``batch_size`` sequences (the logits of a 2048-token vocabulary are large)."""
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for chunk in tokens.split(batch_size):
            chunk = chunk.to(device)
            logits = model(chunk)  # (batch, pos, vocab)
            logp = logits[:, :-1].float().log_softmax(-1)  # (batch, pos - 1, vocab)
            out.append(-logp.gather(-1, chunk[:, 1:, None])[..., 0].cpu())  # (batch, pos - 1)
    return torch.cat(out)


def prefix_matching_from_patterns(
    pattern: Float[Tensor, "batch head query key"], seq_len: int, n_repeats: int
) -> Float[Tensor, " head"]:
    """Prefix-matching score per head from attention patterns on ``[BOS] r^n_repeats``
    (``r`` of ``seq_len`` distinct tokens); see the module docstring. Pure.

    Raises:
        ValueError: the pattern's shape does not match ``1 + seq_len * n_repeats``.
    """
    n_pos = 1 + seq_len * n_repeats
    if pattern.ndim != 4 or pattern.shape[-1] != n_pos or pattern.shape[-2] != n_pos:
        raise ValueError(f"pattern must be [batch, head, {n_pos}, {n_pos}] for seq_len "
                         f"{seq_len} x {n_repeats}; got {tuple(pattern.shape)}")
    pos = torch.arange(1, n_pos)  # body positions
    rep, offset = (pos - 1) // seq_len, (pos - 1) % seq_len
    # key k (body) is a target of query q when k holds the successor of an earlier copy of
    # q's token: k - 1 has the same offset as q, lies in an earlier repeat, and k is a body
    # position
    same = offset[:, None] == ((pos - 2) % seq_len)[None, :]  # (query, key): offset(k-1)==offset(q)
    earlier = ((pos - 2) // seq_len)[None, :] < rep[:, None]  # (query, key)
    after_bos = (pos >= 2)[None, :]
    mask = torch.zeros(n_pos, n_pos, dtype=torch.bool)
    mask[1:, 1:] = same & earlier & after_bos  # (query, key)
    queries = (torch.arange(n_pos) >= 1 + seq_len)  # repeats 2..n
    target = (pattern.float() * mask.to(pattern.device)).sum(-1)  # (batch, head, query)
    return target[:, :, queries.to(pattern.device)].mean(dim=(0, 2)).cpu()  # (head,)


def prefix_matching_scores(model: Any, stimuli: Stimuli) -> Float[Tensor, "layer head"]:
    """Every head's prefix-matching score (0..1) on :func:`prefix_matching_tokens` stimuli."""
    n_repeats = stimuli.description.get("n_repeats")
    if stimuli.description.get("kind") != "prefix_matching" or not n_repeats:
        raise ValueError("prefix-matching scores need interp.prefix_matching_tokens stimuli")
    n_layers = int(model.cfg.n_layers)
    names = [pattern_hook(layer) for layer in range(n_layers)]
    acts = capture(model, stimuli.tokens, names)
    assert stimuli.repeat_len is not None
    return torch.stack([
        prefix_matching_from_patterns(acts[name], stimuli.repeat_len, int(n_repeats))
        for name in names
    ])  # (layer, head)
