"""Model-level measures of the induction phase change (Olsson et al. 2022), and text stimuli.

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

**Repeated held-out text.** A text model finds ``[BOS] r r`` with uniform random ``r`` far
out of distribution (its first-copy loss can exceed ln(vocabulary)). :func:`repeated_text_tokens`
builds ``[BOS] s s`` where ``s`` is a span of held-out text, so the scorers and ablations that
take ``[BOS] r r`` stimuli run on in-distribution tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from .hooks import capture, pattern_hook
from .models import bos_token_id, special_token_ids
from .stimuli import Stimuli, place_spaced_copies

__all__ = [
    "ICL_LATE",
    "ICL_EARLY",
    "PREFIX_LEN",
    "PREFIX_REPEATS",
    "icl_positions",
    "in_context_score",
    "per_position_loss",
    "prefix_matching_tokens",
    "prefix_matching_from_patterns",
    "prefix_matching_scores",
    "mid_frequency_ids",
    "text_token_stream",
    "text_windows",
    "repeated_text_tokens",
    "spaced_copy_text_tokens",
]

#: Token pair of the in-context score for a 256-token context (Olsson: 500 vs 50).
ICL_LATE = 200
ICL_EARLY = 20
#: Olsson's prefix-matching stimuli: 25 random tokens repeated 4 times.
PREFIX_LEN = 25
PREFIX_REPEATS = 4


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


def prefix_matching_tokens(
    n_seqs: int,
    *,
    vocab_size: int,
    bos_token_id: int = 0,
    seq_len: int = PREFIX_LEN,
    n_repeats: int = PREFIX_REPEATS,
    seed: int = 0,
    exclude_ids: Sequence[int] = (),
    allowed_ids: Sequence[int] | None = None,
) -> Stimuli:
    """``[BOS] r r r r``: ``seq_len`` *distinct* random tokens repeated ``n_repeats`` times.

    Args:
        allowed_ids: draw ``r`` only from these ids (e.g. :func:`mid_frequency_ids`);
            default every id but BOS and ``exclude_ids``.

    Raises:
        ValueError: fewer than ``seq_len`` drawable ids, ``n_repeats < 2``, ``n_seqs < 1``.
    """
    if n_seqs < 1 or seq_len < 2 or n_repeats < 2:
        raise ValueError(f"need n_seqs >= 1, seq_len >= 2, n_repeats >= 2; got {n_seqs}, "
                         f"{seq_len}, {n_repeats}")
    banned = {int(bos_token_id), *(int(i) for i in exclude_ids)}
    pool = range(vocab_size) if allowed_ids is None else sorted(set(int(i) for i in allowed_ids))
    ids = torch.tensor([i for i in pool if i not in banned and 0 <= i < vocab_size],
                       dtype=torch.long)
    if ids.numel() < seq_len:
        raise ValueError(f"only {ids.numel()} drawable token ids for {seq_len} distinct tokens")
    g = torch.Generator().manual_seed(seed)
    rows = torch.stack([ids[torch.randperm(ids.numel(), generator=g)[:seq_len]]
                        for _ in range(n_seqs)])  # (batch, seq_len)
    bos = torch.full((n_seqs, 1), int(bos_token_id), dtype=torch.long)
    tokens = torch.cat([bos, rows.repeat(1, n_repeats)], dim=1)  # (batch, 1 + n * L)
    return Stimuli(
        tokens=tokens,
        valid=torch.ones_like(tokens, dtype=torch.bool),
        bos_token_id=int(bos_token_id),
        repeat_len=seq_len,
        description={"kind": "prefix_matching", "seq_len": seq_len, "n_repeats": n_repeats,
                     "seed": seed, "restricted_ids": allowed_ids is not None},
    )


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


def text_token_stream(model_or_tokenizer: Any, documents: Sequence[str]) -> list[list[int]]:
    """Each document's token ids (no BOS), with the model's (or the given) tokenizer."""
    tokenizer = getattr(model_or_tokenizer, "tokenizer", model_or_tokenizer)
    if tokenizer is None or not hasattr(tokenizer, "encode"):
        raise ValueError("text stimuli need a model with a tokenizer; this model has none")
    if isinstance(documents, str) or not documents:
        raise ValueError("documents must be a non-empty list of strings")
    return [list(tokenizer.encode(d, add_special_tokens=False)) for d in documents]


def mid_frequency_ids(
    docs_tokens: Sequence[Sequence[int]], *, drop_top: int = 100, min_count: int = 2
) -> list[int]:
    """Token ids seen at least ``min_count`` times, without the ``drop_top`` most common
    (Olsson's exclusion of the most and least common tokens), ascending."""
    counts: dict[int, int] = {}
    for doc in docs_tokens:
        for t in doc:
            counts[t] = counts.get(t, 0) + 1
    ranked = sorted(counts, key=lambda t: (-counts[t], t))
    return sorted(t for t in ranked[drop_top:] if counts[t] >= min_count)


def text_windows(
    docs_tokens: Sequence[Sequence[int]], n_ctx: int, *, bos_token_id: int = 0,
    max_windows: int = 256,
) -> Int[Tensor, "batch n_ctx"]:
    """Non-overlapping ``[BOS]`` + ``n_ctx - 1`` token windows of the documents, in order
    (documents shorter than a window are joined with the next, separated by BOS).

    Raises:
        ValueError: the documents hold fewer than ``n_ctx - 1`` tokens.
    """
    stream: list[int] = []
    for doc in docs_tokens:
        if stream:
            stream.append(int(bos_token_id))
        stream.extend(int(t) for t in doc)
    body = n_ctx - 1
    n = min(max_windows, len(stream) // body)
    if n < 1:
        raise ValueError(f"the text holds {len(stream)} tokens, fewer than one window of {body}")
    windows = torch.tensor(stream[: n * body], dtype=torch.long).view(n, body)  # (batch, body)
    bos = torch.full((n, 1), int(bos_token_id), dtype=torch.long)
    return torch.cat([bos, windows], dim=1)  # (batch, n_ctx)


def _text_spans(
    model: Any, documents: Sequence[str], n_seqs: int, length: int, *, seed: int,
    stride: int = 1,
) -> tuple[int, list[list[int]], torch.Generator]:
    """``n_seqs`` spans of ``length`` tokens of the documents at seeded random offsets
    (multiples of ``stride``; distinct while there are enough), with the BOS id and the
    generator, which the caller may go on drawing from.

    Raises:
        ValueError: no document holds ``length`` tokens, or a span holds a special token.
    """
    docs = [d for d in text_token_stream(model, documents) if len(d) >= length]
    if not docs:
        raise ValueError(f"no document holds {length} tokens")
    bos = bos_token_id(model)
    special = set(special_token_ids(model)) | {bos}
    starts = [(i, s) for i, d in enumerate(docs) for s in range(0, len(d) - length + 1, stride)]
    g = torch.Generator().manual_seed(seed)
    picks = torch.randperm(len(starts), generator=g)[:n_seqs].tolist()
    if len(picks) < n_seqs:
        picks = torch.randint(len(starts), (n_seqs,), generator=g).tolist()
    spans = []
    for p in picks:
        i, s = starts[p]
        span = docs[i][s : s + length]
        if special & set(span):
            raise ValueError("held-out text tokenized to a special token")
        spans.append(span)
    return bos, spans, g


def spaced_copy_text_tokens(
    model: Any, documents: Sequence[str], n_seqs: int, n_pos: int, *,
    distances: Sequence[int], span: int, seed: int = 0,
) -> Stimuli:
    """The ``"long"`` measure stimuli of a text model: ``[BOS]`` and ``n_pos - 1`` tokens
    of one document at a seeded random offset, with a span of ``span`` tokens copied at
    each distance (:func:`interp.stimuli.place_spaced_copies`), so that long-range
    measures read the model on text it knows (random tokens are far out of its
    distribution).

    Raises:
        ValueError: no tokenizer, no document of ``n_pos - 1`` tokens, or ``n_pos`` beyond
            the context or too short for the copies.
    """
    if n_seqs < 1 or n_pos > int(model.cfg.n_ctx):
        raise ValueError(f"need n_seqs >= 1 and n_pos <= the context {model.cfg.n_ctx}; got "
                         f"{n_seqs}, {n_pos}")
    bos, windows, g = _text_spans(model, documents, n_seqs, n_pos - 1, seed=seed, stride=span)
    rows = [[bos, *window] for window in windows]
    tokens = place_spaced_copies(torch.tensor(rows, dtype=torch.long), distances, span, g)
    return Stimuli(
        tokens=tokens, valid=torch.ones_like(tokens, dtype=torch.bool), bos_token_id=bos,
        description={"kind": "spaced_copies_text", "n_documents": len(documents),
                     "seed": seed, "distances": [int(d) for d in distances],
                     "span": int(span)},
    )


def repeated_text_tokens(
    model: Any, documents: Sequence[str], n_seqs: int, seq_len: int, *, seed: int = 0
) -> Stimuli:
    """``[BOS] s s`` where ``s`` is a span of ``seq_len`` tokens of one of the documents, at
    a seeded random offset: repeated *text* for the ``[BOS] r r`` scorers and ablations.

    Raises:
        ValueError: no tokenizer, no document of ``seq_len`` tokens, or ``2 * seq_len + 1``
            beyond the model's context.
    """
    if n_seqs < 1 or seq_len < 2:
        raise ValueError(f"need n_seqs >= 1 and seq_len >= 2, got {n_seqs}, {seq_len}")
    if 2 * seq_len + 1 > int(model.cfg.n_ctx):
        raise ValueError(f"seq_len {seq_len} needs {2 * seq_len + 1} positions; the model's "
                         f"context is {model.cfg.n_ctx}")
    bos, spans, _ = _text_spans(model, documents, n_seqs, seq_len, seed=seed)
    tokens = torch.tensor([[bos, *span, *span] for span in spans],
                          dtype=torch.long)  # (batch, 2L + 1)
    return Stimuli(
        tokens=tokens,
        valid=torch.ones_like(tokens, dtype=torch.bool),
        bos_token_id=bos,
        repeat_len=seq_len,
        description={"kind": "repeated_text", "n_documents": len(documents), "seed": seed,
                     "seq_len": seq_len},
    )
