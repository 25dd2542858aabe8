"""Stimuli from natural text: tokenized texts, held-out windows, repeated and spaced text.

**Repeated held-out text.** A text model finds ``[BOS] r r`` with uniform random ``r`` far
out of distribution (its first-copy loss can exceed ln(vocabulary)). :func:`repeated_text_tokens`
builds ``[BOS] s s`` where ``s`` is a span of held-out text, so the scorers and ablations that
take ``[BOS] r r`` stimuli run on in-distribution tokens.

A text model ships its held-out text as documents separated by :data:`HELDOUT_MARKER`
(:func:`read_heldout_documents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Int
from torch import Tensor

from ..model.loading import bos_token_id, special_token_ids
from .tokens import Stimuli, place_spaced_copies

#: Each text is cut to ``MAX_CHARS_PER_TOKEN`` characters per context position *before*
#: it is tokenized, so a huge line costs no more than a short one. Tokens longer than this
#: on average (rare) would leave a row shorter than the context.
MAX_CHARS_PER_TOKEN = 32


def text_stimuli(model: Any, texts: Sequence[str], *, max_tokens: int | None = None) -> Stimuli:
    """Tokenize ``texts`` with the model's tokenizer, BOS first, right-padded, each cut to
    the context (``max_tokens``, default ``n_ctx``; the text is first cut to
    ``MAX_CHARS_PER_TOKEN`` characters per position, so huge lines stay cheap).

    Raises:
        ValueError: the model has no tokenizer, or no text is given.
    """
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError("text stimuli need a model with a tokenizer; this model has none")
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of strings")
    bos = tokenizer.bos_token_id
    if bos is None:
        raise ValueError("the model's tokenizer defines no BOS token")
    limit = max_tokens or int(model.cfg.n_ctx)
    max_chars = limit * MAX_CHARS_PER_TOKEN
    rows = [
        [bos, *tokenizer.encode(t[:max_chars], add_special_tokens=False)][:limit] for t in texts
    ]
    width = max(len(r) for r in rows)
    if width < 2:
        raise ValueError("every text tokenized to nothing")
    tokens = torch.full((len(rows), width), int(bos), dtype=torch.long)
    valid = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        tokens[i, : len(row)] = torch.tensor(row)
        valid[i, : len(row)] = True
    return Stimuli(
        tokens=tokens,
        valid=valid,
        bos_token_id=int(bos),
        repeat_len=None,
        description={"kind": "text", "n_texts": len(rows)},
    )


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


#: Line that starts each document in a held-out text file (``heldout.txt``).
HELDOUT_MARKER = "# interp-heldout-file: "


def read_heldout_documents(path: str | Path) -> list[str]:
    """The documents of a held-out text file written by :func:`write_heldout_text` (each
    ends with a newline, as written)."""
    text = Path(path).read_text()
    if not text.startswith(HELDOUT_MARKER):
        raise ValueError(f"{path} does not start with a {HELDOUT_MARKER.strip()!r} line")
    docs = []
    chunks = text.split("\n" + HELDOUT_MARKER)
    for i, chunk in enumerate(chunks):
        body = chunk.split("\n", 1)[1] if "\n" in chunk else ""
        if i < len(chunks) - 1:
            body += "\n"  # the newline the split took
        if body.strip():
            docs.append(body)
    return docs
