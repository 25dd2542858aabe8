"""The head census on natural text, in batches: memory stays flat in the number of texts.

:func:`score_texts` tokenizes and scores ``batch_size`` texts at a time
(:func:`interp.text_stimuli`, which cuts each text to the context *before* tokenizing, then
:func:`interp.score_heads`) and joins the per-text scores. The scores are those of
:mod:`interp.engine.scoring` (0..1 per head and behavior, token-identity targets); they equal one
pass over all texts, since right padding never changes a causal model's earlier positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from ..results.scores import HeadScores
from ..stimuli.text import text_stimuli
from .census import score_heads

#: Texts per forward pass when no batch size is given.
TEXT_BATCH_SIZE = 64


def score_texts(
    model: Any, texts: Sequence[str], *, batch_size: int | None = None, **score_kwargs: Any
) -> HeadScores:
    """Every head's scores on ``texts``, ``batch_size`` texts per forward pass.

    Args:
        model: a ``TransformerBridge`` with a tokenizer (never modified).
        texts: the texts (one sequence each, BOS first, cut to the context).
        batch_size: texts per pass (default :data:`TEXT_BATCH_SIZE`).
        **score_kwargs: passed to :func:`interp.score_heads` (``distance`` defaults to
            False here).

    Returns:
        :class:`interp.HeadScores` over all texts; its ``stimuli`` describe them (kind
        ``text``, ``n_texts``, ``n_pos`` the longest row).

    Raises:
        ValueError: no texts, a model without a tokenizer, or a bad batch size.
    """
    if isinstance(texts, str) or not texts:
        raise ValueError("texts must be a non-empty list of strings")
    size = batch_size or TEXT_BATCH_SIZE
    if size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    score_kwargs.setdefault("distance", False)
    n = len(texts)
    first: HeadScores | None = None
    per_score: dict[str, torch.Tensor] = {}
    per_null: dict[str, torch.Tensor] = {}
    n_queries: dict[str, int] = {}
    n_pos = 0
    for start in range(0, n, size):
        chunk = text_stimuli(model, list(texts[start:start + size]))
        n_pos = max(n_pos, chunk.n_pos)
        part = score_heads(model, chunk, **score_kwargs)
        if first is None:
            first = part
            # Allocated once: each batch's results are copied in, so nothing small from a
            # batch stays alive to fragment the heap (that cost ~0.4 MB per batch).
            per_score = {b: torch.empty((n, *v.shape[1:]), dtype=v.dtype)
                         for b, v in part.per_seq_score.items()}
            per_null = {b: torch.empty((n, *v.shape[1:]), dtype=v.dtype)
                        for b, v in part.per_seq_null.items()}
        for b in per_score:
            per_score[b][start:start + chunk.n_seqs] = part.per_seq_score[b]
            per_null[b][start:start + chunk.n_seqs] = part.per_seq_null[b]
            n_queries[b] = n_queries.get(b, 0) + part.n_queries[b]
        del chunk, part
    assert first is not None
    return replace(
        first, per_seq_score=per_score, per_seq_null=per_null, n_queries=n_queries,
        stimuli={**first.stimuli, "n_texts": n, "n_seqs": n, "n_pos": n_pos}, distance=None,
    )
