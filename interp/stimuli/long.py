"""The ``long`` measure stimuli: the model's whole context with short and long copies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .text import spaced_copy_text_tokens
from .tokens import Stimuli, spaced_copy_tokens


def long_stimuli(
    model: Any, n_seqs: int, *, seed: int, bos_token_id: int, exclude_ids: Sequence[int] = (),
    max_pos: int = 256, documents: Sequence[str] = (),
) -> Stimuli:
    """The ``"long"`` stimuli: the model's whole context (at most ``max_pos`` tokens) of
    BOS and random tokens, with a span copied a short distance (4 or 8) and one copied half
    the context later (:func:`interp.spaced_copy_tokens`), so that induction can be split
    by copy distance and attention read over the whole context. With ``documents`` (a text
    model's held-out text) the body is a window of that text instead
    (:func:`interp.stimuli.text.spaced_copy_text_tokens`)."""
    n_pos = min(int(model.cfg.n_ctx), max_pos)
    span = 8 if n_pos >= 49 else 4
    distances = (span, (n_pos - 1) // 2)
    if documents:
        return spaced_copy_text_tokens(model, documents, n_seqs, n_pos, distances=distances,
                                       span=span, seed=seed)
    return spaced_copy_tokens(n_seqs, n_pos, vocab_size=int(model.cfg.d_vocab),
                              distances=distances, span=span,
                              bos_token_id=bos_token_id, seed=seed, exclude_ids=exclude_ids)
