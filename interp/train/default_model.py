"""Training tiny attention-only models on synthetic data, deterministically from a seed.

The data teaches in-context copying. Each sequence is ``BOS`` (token 0) followed by
uniform random tokens, with one or two spans (4-32 tokens) copied to a later *random*
offset. A random offset matters: copies at a fixed offset (exact half-and-half repeats)
teach a positional shortcut, where layer-0 heads attend a fixed distance back and fake
high induction scores. Predicting the rest of a copied span rewards a previous-token head
in layer 0 feeding an induction head in layer 1.

With ``mark_prob > 0`` token 1 is reserved as a ``MARK`` token (ordinary tokens are then
``2 .. d_vocab - 1``): after a token that already occurred earlier in the sequence, the next
free position holds ``MARK`` with probability ``mark_prob``, so ``MARK`` only ever follows a
repeated token. Predicting ``MARK`` rewards knowing "the current token occurred before", the
job of a duplicate-token head. Positions inside a copy destination always hold the copied
token (a copy stays exact); a copy's source may contain ``MARK`` tokens, copied like any
other, but never starts with one.

``TrainConfig``'s defaults are the recipe of the bundled default model
(``scripts/train_default_model.py``); the optimiser loop is :mod:`interp.train.core`.
Everything is deterministic on CPU: the model's initialisation comes from ``cfg.seed``
(``boot_native`` forks the RNG around it) and the data from a ``torch.Generator`` seeded
with ``cfg.seed``; nothing reads the global RNG.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from ..model.loading import set_special_token_ids
from .core import train_loop

BOS_TOKEN_ID = 0


MARK_TOKEN_ID = 1


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model: architecture, optimiser, data, seed.

    Attributes:
        seed: seeds both the model's initialisation and the data generator (the bundled
            model uses 1: with seed 0 no layer-0 head passed 0.4 duplicate-token attention).
        n_layers, n_heads, d_model: the attention-only transformer's shape (``d_head`` is
            ``d_model // n_heads``); LayerNorm, learned absolute positions.
        d_vocab: vocabulary size, BOS (0) and, with ``mark_prob > 0``, MARK (1) included.
        n_ctx: sequence length including BOS.
        steps, batch_size: optimiser steps and sequences per step.
        lr, weight_decay, betas: AdamW; weight decay applies to matrices only.
        warmup_steps: linear warm-up from ``lr / warmup_steps``; then ``lr`` stays constant
            (a cosine decay over 2000 steps left no induction head at the end).
        grad_clip: global gradient-norm clip.
        min_span, max_span: length range of each copied span (inclusive).
        max_spans: at most this many copied spans per sequence (at least one).
        mark_prob: probability that MARK follows a token seen earlier in the sequence
            (0 disables MARK and frees token 1 for ordinary use).
        log_every: steps per history entry (losses are averaged over those steps).
        model_name: written into the model's config.
    """

    seed: int = 1
    n_layers: int = 2
    n_heads: int = 4
    d_model: int = 64
    d_vocab: int = 64
    n_ctx: int = 65
    steps: int = 4000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = 100
    grad_clip: float = 1.0
    min_span: int = 4
    max_span: int = 32
    max_spans: int = 2
    mark_prob: float = 1.0
    log_every: int = 50
    model_name: str = "interp-default"

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if not 1 <= self.min_span <= self.max_span:
            raise ValueError(
                f"need 1 <= min_span <= max_span, got {self.min_span}, {self.max_span}"
            )
        if 2 * self.min_span > self.n_ctx - 1:
            raise ValueError(f"a copied span of {self.min_span} and its source do not fit n_ctx")
        if not 0.0 <= self.mark_prob <= 1.0:
            raise ValueError(f"mark_prob must lie in [0, 1], got {self.mark_prob}")
        if self.d_vocab < 4:
            raise ValueError("d_vocab must be at least 4")

    @property
    def first_token(self) -> int:
        """The smallest ordinary token id (after BOS, and MARK if it is in use)."""
        return MARK_TOKEN_ID + 1 if self.mark_prob > 0 else MARK_TOKEN_ID

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON values (``betas`` as a list)."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)


def _sample_spans(cfg: TrainConfig, n: int, g: torch.Generator) -> dict[int, int]:
    """Copy map ``{destination position: source position}`` for one sequence of ``n`` tokens.

    Positions count from 0 at the first token after BOS. Destinations never overlap, and
    every source position lies before its destination.
    """
    draws = torch.rand(cfg.max_spans, 4, generator=g).tolist()
    copy_from: dict[int, int] = {}
    n_spans = 1 + int(draws[0][3] * cfg.max_spans)  # uniform in 1..max_spans
    for u_len, u_src, u_dst, _ in draws[:n_spans]:
        top = min(cfg.max_span, n // 2)
        length = cfg.min_span + int(u_len * (top - cfg.min_span + 1))
        src = int(u_src * (n - 2 * length + 1))
        dst = src + length + int(u_dst * (n - src - 2 * length + 1))
        targets = range(dst, dst + length)
        if any(t in copy_from for t in targets):
            continue  # would overwrite an earlier copy: drop this span
        for k, t in enumerate(targets):
            copy_from[t] = src + k
    return copy_from


def _sample_sequence(cfg: TrainConfig, g: torch.Generator) -> tuple[list[int], list[bool]]:
    """One sequence (BOS first) and, per position, whether it holds a copied token."""
    n = cfg.n_ctx - 1
    copy_from = _sample_spans(cfg, n, g)
    # A copy starting with MARK would put MARK after whatever precedes the destination,
    # which may be a first occurrence; so no span's source starts with MARK.
    source_starts = {src for dst, src in copy_from.items() if dst - 1 not in copy_from}
    randoms = torch.randint(cfg.first_token, cfg.d_vocab, (n,), generator=g).tolist()
    coins = torch.rand(n, generator=g).tolist()
    out: list[int] = []
    copied: list[bool] = []
    seen: set[int] = set()
    last_repeated = False  # the previous token occurred earlier in the sequence
    for pos in range(n):
        if pos in copy_from:
            token = out[copy_from[pos]]
        elif last_repeated and pos not in source_starts and coins[pos] < cfg.mark_prob:
            token = MARK_TOKEN_ID
        else:
            token = randoms[pos]
        out.append(token)
        copied.append(pos in copy_from)
        last_repeated = cfg.mark_prob > 0 and token != MARK_TOKEN_ID and token in seen
        seen.add(token)
    return [BOS_TOKEN_ID, *out], [False, *copied]


def _make_batch(
    cfg: TrainConfig, g: torch.Generator
) -> tuple[Int[Tensor, "batch seq"], torch.BoolTensor]:
    rows = [_sample_sequence(cfg, g) for _ in range(cfg.batch_size)]
    tokens = torch.tensor([r[0] for r in rows], dtype=torch.long)  # (batch, n_ctx)
    copied = torch.tensor([r[1] for r in rows], dtype=torch.bool)  # (batch, n_ctx)
    return tokens, copied


def make_training_batch(cfg: TrainConfig, generator: torch.Generator) -> Int[Tensor, "batch seq"]:
    """A batch of training sequences: BOS, random tokens, 1-2 spans copied to random offsets.

    Args:
        cfg: the data parameters (``batch_size``, ``n_ctx``, ``d_vocab``, spans, ``mark_prob``).
        generator: the only source of randomness; the same generator state gives the same
            batch, and the generator advances.

    Returns:
        ``LongTensor[batch_size, n_ctx]``; column 0 is BOS (0).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> make_training_batch(TrainConfig(batch_size=2), g).shape
        torch.Size([2, 65])
    """
    return _make_batch(cfg, generator)[0]


def build_model(cfg: TrainConfig) -> Any:
    """A freshly initialised attention-only ``TransformerBridge`` (init seeded by ``cfg.seed``)."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    model_cfg = TransformerBridgeConfig(
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        d_model=cfg.d_model,
        d_head=cfg.d_model // cfg.n_heads,
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        attn_only=True,
        normalization_type="LN",
        positional_embedding_type="standard",
        seed=cfg.seed,
        model_name=cfg.model_name,
    )
    model = TransformerBridge.boot_native(model_cfg, model_name=cfg.model_name)
    if cfg.mark_prob > 0:  # MARK is no ordinary token: stimuli must not draw it
        set_special_token_ids(model, [MARK_TOKEN_ID])
    return model


def _per_token_loss(
    model: Any, tokens: Int[Tensor, "batch seq"]
) -> torch.Tensor:  # (batch, seq - 2)
    """Next-token loss at positions 1..seq-2 (predicting BOS's successor is skipped)."""
    logits = model(tokens)  # (batch, seq, vocab)
    pred = logits[:, 1:-1]  # (batch, seq - 2, vocab)
    target = tokens[:, 2:]  # (batch, seq - 2)
    loss = torch.nn.functional.cross_entropy(
        pred.reshape(-1, pred.shape[-1]), target.reshape(-1), reduction="none"
    )
    return loss.view(target.shape)


def train_model(
    cfg: TrainConfig,
    *,
    progress: Callable[[dict[str, Any]], None] | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train an attention-only model on the copying data; deterministic from ``cfg.seed``.

    Args:
        cfg: the full recipe.
        progress: called with each history entry as it is made.
        checkpoint_dir: if given, the model is saved (:func:`interp.save_model`) to
            ``checkpoint_dir / f"step_{step:05d}"`` at step 0 and every
            ``checkpoint_every`` steps (default ``cfg.log_every * 10``), and at the end.
        checkpoint_every: steps between checkpoints.

    Returns:
        ``(model, history)``: the trained bridge in eval mode, and one dict per
        ``cfg.log_every`` steps with ``step`` (steps done), ``lr``, ``loss`` (mean next-token
        loss), ``copy_loss`` (on tokens inside copy destinations, the span's first token
        excluded), ``other_loss`` (the rest) and ``seconds`` since the start.

    Example:
        >>> model, history = train_model(TrainConfig(steps=2, batch_size=2, log_every=1))
        >>> [h["step"] for h in history]
        [1, 2]
    """
    model = build_model(cfg)
    history = train_loop(
        model, cfg, step_loss=partial(_step_loss, cfg), summarize=_summarize, progress=progress,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=cfg.log_every * 10 if checkpoint_every is None else checkpoint_every,
    )
    return model, history


def _step_loss(
    cfg: TrainConfig, model: Any, generator: torch.Generator
) -> tuple[Tensor, Float[Tensor, " 6"]]:
    """A fresh batch's mean next-token loss, and the summed total, copy and other losses
    followed by their token counts (``float64``)."""
    tokens, copied = _make_batch(cfg, generator)
    loss_tok = _per_token_loss(model, tokens)  # (batch, seq - 2)
    with torch.no_grad():
        # A copied token is predictable when the position before it is copied too.
        predictable = copied[:, 2:] & copied[:, 1:-1]  # (batch, seq - 2)
        lt = loss_tok.detach().double()
        sums = torch.stack([lt.sum(), lt[predictable].sum(), lt[~predictable].sum()])
        counts = torch.tensor(
            [lt.numel(), predictable.sum().item(), (~predictable).sum().item()],
            dtype=torch.float64,
        )
    return loss_tok.mean(), torch.cat([sums, counts])  # (6,)


def _summarize(window: Float[Tensor, " 6"]) -> dict[str, float]:
    """A log window's mean loss over all, predictable copied, and other tokens."""
    sums, counts = window[:3], window[3:]
    means = (sums / counts.clamp(min=1)).tolist()
    return {"loss": means[0], "copy_loss": means[1], "other_loss": means[2]}
