"""Inputs for the scorers: seeded repeated random tokens, and tokenized text.

``repeated_tokens`` builds the classic ``[BOS] r r`` batch: a random sequence ``r`` of
``seq_len`` tokens, repeated once. In the second copy every token has an earlier duplicate
(at distance ``seq_len``) and an induction target (the token after that duplicate, at
distance ``seq_len - 1``), so previous-token, duplicate-token and induction heads all have
something to do in one forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from jaxtyping import Bool, Int
from torch import Tensor

from .seeds import derive_seed


@dataclass(frozen=True)
class Stimuli:
    """A batch of token sequences and what produced it.

    Attributes:
        tokens: ``[batch, pos]`` token ids, BOS first.
        valid: ``[batch, pos]`` True where a real token stands (False on right padding).
        bos_token_id: the id at position 0.
        repeat_len: ``L`` for ``[BOS] r r`` batches (the second copy starts at ``L + 1``);
            None for text.
        description: JSON-safe record of the recipe (kind, sizes, seed, ...).
    """

    tokens: Int[Tensor, "batch pos"]
    valid: Bool[Tensor, "batch pos"]
    bos_token_id: int
    repeat_len: int | None = None
    description: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tokens.ndim != 2 or self.tokens.shape[1] < 2:
            raise ValueError(
                f"stimuli tokens must be [batch, pos] with pos >= 2; got {tuple(self.tokens.shape)}"
            )
        if self.valid.shape != self.tokens.shape:
            raise ValueError("stimuli valid mask must have the shape of the tokens")

    @property
    def n_seqs(self) -> int:
        return int(self.tokens.shape[0])

    @property
    def n_pos(self) -> int:
        return int(self.tokens.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (not the tokens themselves)."""
        return {
            **self.description,
            "n_seqs": self.n_seqs,
            "n_pos": self.n_pos,
            "repeat_len": self.repeat_len,
            "bos_token_id": self.bos_token_id,
        }

    def subset(self, index: Int[Tensor, " n"]) -> "Stimuli":
        """The sequences at ``index`` (a new object; this one is untouched)."""
        return Stimuli(
            tokens=self.tokens[index],
            valid=self.valid[index],
            bos_token_id=self.bos_token_id,
            repeat_len=self.repeat_len,
            description=dict(self.description),
        )


def check_stimuli(model: Any, stimuli: "Stimuli", *, repeated: bool = False) -> None:
    """Check that ``stimuli`` fit ``model`` before any forward pass.

    Args:
        model: a ``TransformerBridge`` (only its config is read).
        stimuli: the inputs.
        repeated: also require ``[BOS] r r`` stimuli (a ``repeat_len``).

    Raises:
        TypeError: not an :class:`interp.Stimuli`.
        ValueError: longer than the model's context, token ids outside its vocabulary, or
            not ``[BOS] r r`` when ``repeated``.
    """
    if not isinstance(stimuli, Stimuli):
        raise TypeError(f"stimuli must be interp.Stimuli, got {type(stimuli).__name__}")
    n_ctx = int(model.cfg.n_ctx)
    if stimuli.n_pos > n_ctx:
        raise ValueError(
            f"stimuli have {stimuli.n_pos} positions but the model's context is {n_ctx}; "
            "use shorter sequences"
        )
    vocab = int(model.cfg.d_vocab)
    if int(stimuli.tokens.max()) >= vocab or int(stimuli.tokens.min()) < 0:
        raise ValueError(f"stimuli hold token ids outside the model's vocabulary 0..{vocab - 1}")
    if repeated and stimuli.repeat_len is None:
        raise ValueError(
            "these stimuli are not repeated: this needs repeated-token stimuli ([BOS] r r) "
            "(see interp.repeated_tokens)"
        )


def _drawable_ids(
    vocab_size: int, bos_token_id: int, exclude_ids: Sequence[int], *, minimum: int = 0
) -> list[int]:
    """The ids random stimuli may draw: every id but BOS and ``exclude_ids``.

    Raises:
        ValueError: fewer than ``minimum`` remain.
    """
    excluded = {int(bos_token_id), *(int(t) for t in exclude_ids)}
    allowed = [t for t in range(vocab_size) if t not in excluded]
    if len(allowed) < minimum:
        raise ValueError(f"vocab_size {vocab_size} leaves fewer than {minimum} drawable tokens")
    return allowed


def repeated_tokens(
    n_seqs: int,
    seq_len: int,
    *,
    vocab_size: int,
    bos_token_id: int = 0,
    seed: int = 0,
    exclude_ids: Sequence[int] = (),
) -> Stimuli:
    """``n_seqs`` sequences ``[BOS] r r`` with ``r`` of ``seq_len`` uniform random tokens.

    Tokens are drawn from ``0..vocab_size-1`` minus BOS and ``exclude_ids``; the same seed
    gives the same batch. Chance repeats inside ``r`` are allowed (the scorers count them).

    Args:
        n_seqs: number of sequences (>= 2: spreads and resampling need two).
        seq_len: length ``L`` of the random sequence; each row has ``2 * L + 1`` tokens.
        vocab_size: the model's vocabulary size.
        bos_token_id: id placed at position 0.
        seed: seed of the torch generator that draws ``r``.
        exclude_ids: further ids never drawn (special tokens).

    Raises:
        ValueError: sizes that cannot make such a batch.

    Example:
        >>> s = repeated_tokens(4, 10, vocab_size=64, seed=0)
        >>> s.tokens.shape
        torch.Size([4, 21])
    """
    if n_seqs < 2:
        raise ValueError(f"n_seqs must be at least 2, got {n_seqs}")
    if seq_len < 2:
        raise ValueError(f"seq_len must be at least 2, got {seq_len}")
    allowed = torch.tensor(_drawable_ids(vocab_size, bos_token_id, exclude_ids, minimum=2),
                           dtype=torch.long)
    generator = torch.Generator().manual_seed(int(seed))
    draws = torch.randint(0, allowed.numel(), (n_seqs, seq_len), generator=generator)
    r = allowed[draws]  # (B, L)
    bos = torch.full((n_seqs, 1), bos_token_id, dtype=torch.long)
    tokens = torch.cat([bos, r, r], dim=1)  # (B, 2L + 1)
    return Stimuli(
        tokens=tokens,
        valid=torch.ones_like(tokens, dtype=torch.bool),
        bos_token_id=int(bos_token_id),
        repeat_len=int(seq_len),
        description={"kind": "repeated_random_tokens", "seed": int(seed), "seq_len": seq_len},
    )


def unrepeated_tokens(
    n_seqs: int,
    seq_len: int,
    *,
    vocab_size: int,
    bos_token_id: int = 0,
    seed: int = 0,
    exclude_ids: Sequence[int] = (),
) -> Stimuli:
    """``[BOS] r s``: the layout of :func:`repeated_tokens` with the second half drawn
    afresh instead of repeated, the control for positional shortcuts.

    A head that still attends ``L`` or ``L - 1`` back here is keyed on position, not on
    content. ``repeat_len`` is ``L`` (where the copy would start).
    """
    first = repeated_tokens(n_seqs, seq_len, vocab_size=vocab_size, bos_token_id=bos_token_id,
                            seed=seed, exclude_ids=exclude_ids)
    second = repeated_tokens(n_seqs, seq_len, vocab_size=vocab_size,
                             bos_token_id=bos_token_id,
                             seed=derive_seed(seed, "unrepeated_second_half"),
                             exclude_ids=exclude_ids)
    tokens = torch.cat([first.tokens[:, : seq_len + 1], second.tokens[:, 1 : seq_len + 1]], 1)
    return Stimuli(
        tokens=tokens,
        valid=torch.ones_like(tokens, dtype=torch.bool),
        bos_token_id=int(bos_token_id),
        repeat_len=int(seq_len),
        description={"kind": "unrepeated_random_tokens", "seed": int(seed), "seq_len": seq_len},
    )


def occurrence_tokens(
    n_seqs: int,
    n_pos: int,
    *,
    vocab_size: int,
    bos_token_id: int = 0,
    seed: int = 0,
    repeat_prob: float = 0.5,
    exclude_ids: Sequence[int] = (),
) -> Stimuli:
    """Sequences where, at every position, the token is a repeat with probability
    ``repeat_prob`` (a copy of a random earlier token) and otherwise new to the sequence.

    Whether the current token occurred before is then independent of the position, so a
    probe for it cannot succeed by reading the position: this is the probe task that
    confirms duplicate-token heads.

    Raises:
        ValueError: sizes that cannot make such a batch.
    """
    if n_seqs < 2 or n_pos < 3:
        raise ValueError(f"need n_seqs >= 2 and n_pos >= 3; got {n_seqs}, {n_pos}")
    if not 0.0 < repeat_prob < 1.0:
        raise ValueError(f"repeat_prob must lie strictly between 0 and 1, got {repeat_prob}")
    allowed = _drawable_ids(vocab_size, bos_token_id, exclude_ids)
    if len(allowed) < n_pos:
        raise ValueError(
            f"vocab_size {vocab_size} is too small for {n_pos} positions of mostly new tokens"
        )
    generator = torch.Generator().manual_seed(int(seed))
    tokens = torch.full((n_seqs, n_pos), bos_token_id, dtype=torch.long)
    for row in range(n_seqs):
        order = torch.randperm(len(allowed), generator=generator).tolist()
        fresh = iter(order)
        seen: list[int] = []
        for pos in range(1, n_pos):
            repeat = pos >= 2 and float(torch.rand((), generator=generator)) < repeat_prob
            if repeat:
                token = seen[int(torch.randint(0, len(seen), (), generator=generator))]
            else:
                token = allowed[next(fresh)]
            tokens[row, pos] = token
            seen.append(token)
    return Stimuli(
        tokens=tokens,
        valid=torch.ones_like(tokens, dtype=torch.bool),
        bos_token_id=int(bos_token_id),
        repeat_len=None,
        description={"kind": "occurrence_tokens", "seed": int(seed), "repeat_prob": repeat_prob},
    )


def spaced_copy_tokens(
    n_seqs: int,
    n_pos: int,
    *,
    vocab_size: int,
    distances: Sequence[int] = (4, 32),
    span: int = 4,
    bos_token_id: int = 0,
    seed: int = 0,
    exclude_ids: Sequence[int] = (),
) -> Stimuli:
    """BOS and uniform random tokens in which, for each distance ``d``, a span of ``span``
    tokens is copied ``d`` positions later, at a seeded random place (no two copies or
    sources overlap): the stimuli for induction split by copy distance
    (:func:`interp.head_types.induction_by_distance`).

    ``[BOS] r r`` puts every copy at one distance ``L``; here a short and a long copy share
    a sequence. Chance repeats of the random tokens are allowed (the scorers count them).

    Args:
        n_seqs: number of sequences (>= 2).
        n_pos: tokens per sequence, BOS included.
        vocab_size: the model's vocabulary size.
        distances: copy distances, each at least ``span`` (a copy never overlaps its source).
        span: length of each copied span (>= 2, so that a copy has an induction target).
        bos_token_id, seed, exclude_ids: as in :func:`repeated_tokens`.

    Raises:
        ValueError: sizes that cannot hold the copies.

    Example:
        >>> s = spaced_copy_tokens(4, 64, vocab_size=64, distances=(4, 40), span=4)
        >>> s.tokens.shape
        torch.Size([4, 64])
    """
    distances = [int(d) for d in distances]
    if n_seqs < 2:
        raise ValueError(f"n_seqs must be at least 2, got {n_seqs}")
    if span < 2:
        raise ValueError(f"span must be at least 2, got {span}")
    if not distances or any(d < span for d in distances):
        raise ValueError(f"distances must be non-empty and each >= span ({span}); "
                         f"got {distances}")
    allowed = torch.tensor(_drawable_ids(vocab_size, bos_token_id, exclude_ids, minimum=2),
                           dtype=torch.long)
    generator = torch.Generator().manual_seed(int(seed))
    draws = torch.randint(0, allowed.numel(), (n_seqs, n_pos - 1), generator=generator)
    body = allowed[draws]  # (B, n_pos - 1)
    tokens = torch.cat([torch.full((n_seqs, 1), bos_token_id, dtype=torch.long), body], 1)
    return Stimuli(
        tokens=place_spaced_copies(tokens, distances, span, generator),
        valid=torch.ones_like(tokens, dtype=torch.bool),
        bos_token_id=int(bos_token_id),
        repeat_len=None,
        description={"kind": "spaced_copies", "seed": int(seed), "distances": distances,
                     "span": int(span)},
    )


def place_spaced_copies(
    tokens: Int[Tensor, "batch pos"], distances: Sequence[int], span: int,
    generator: torch.Generator,
) -> Int[Tensor, "batch pos"]:
    """A copy of ``tokens`` (BOS first) in which, for each distance ``d``, a span of
    ``span`` tokens is copied ``d`` positions later at a random place drawn from
    ``generator`` (no two copies or sources overlap, BOS never copied); the body may be
    random tokens or text (:func:`spaced_copy_tokens`).

    Raises:
        ValueError: the positions cannot hold the copies.
    """
    tokens = tokens.clone()
    n_seqs, n_pos = tokens.shape
    distances = [int(d) for d in distances]
    if 2 * span * len(distances) > n_pos - 1 or max(distances) + span > n_pos - 1:
        raise ValueError(
            f"{n_pos} positions cannot hold {len(distances)} copies of {span} tokens at "
            f"distances {distances}"
        )
    for row in range(n_seqs):
        used = torch.zeros(n_pos, dtype=torch.bool)
        used[0] = True
        for d in sorted(distances, reverse=True):  # the long copies are the hardest to fit
            starts = torch.arange(1, n_pos - span - d + 1)  # source start s
            src = starts[:, None] + torch.arange(span)[None]  # (S, span)
            free = ~used[src].any(1) & ~used[src + d].any(1)  # (S,)
            choices = starts[free]
            if choices.numel() == 0:
                raise ValueError(
                    f"could not place a copy at distance {d} in sequence {row}: {n_pos} "
                    "positions are too few for these copies; use more positions"
                )
            s = int(choices[torch.randint(0, choices.numel(), (), generator=generator)])
            tokens[row, s + d : s + d + span] = tokens[row, s : s + span]
            used[s : s + span] = True
            used[s + d : s + d + span] = True
    return tokens


#: Olsson's prefix-matching stimuli: 25 random tokens repeated 4 times.
PREFIX_LEN = 25


PREFIX_REPEATS = 4


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
