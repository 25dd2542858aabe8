"""The training loop both bundled trainers share.

AdamW with weight decay on matrices only (and on none of the parameters named in
``no_decay``), a linear warm-up from ``lr / warmup_steps`` to ``lr`` that then stays
constant, a global gradient-norm clip, a history entry every ``log_every`` steps (and at
the end) and optional checkpoints. What differs between trainers is passed in: the batch
and its loss, the numbers a history entry reports, and a held-out evaluation.

Deterministic on CPU: the only randomness is a ``torch.Generator`` seeded with
``recipe.seed`` that the loop hands to ``step_loss``; nothing reads the global RNG. A
shorter run is a prefix of a longer one (the schedule does not depend on ``steps``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Protocol

import torch
from jaxtyping import Float
from torch import Tensor

from ..model.loading import save_model

#: ``step_loss(model, generator)``: draws a batch from ``generator`` and returns the loss to
#: minimise (a scalar with its graph) and the numbers to sum over a log window (a 1-d
#: float64 tensor, detached, the same length every step).
StepLoss = Callable[[Any, torch.Generator], tuple[Tensor, Float[Tensor, " n"]]]


class Recipe(Protocol):
    """The optimiser and loop settings the core reads from a trainer's config."""

    seed: int
    steps: int
    lr: float
    weight_decay: float
    betas: tuple[float, float]
    warmup_steps: int
    grad_clip: float
    log_every: int


def warmup_lr(recipe: Recipe, step: int) -> float:
    """The learning rate of ``step`` (from 0): linear warm-up, then constant."""
    return recipe.lr * min(1.0, (step + 1) / recipe.warmup_steps)


def adamw(model: Any, recipe: Recipe, no_decay: Collection[str] = ()) -> torch.optim.AdamW:
    """AdamW with ``recipe.weight_decay`` on the matrices not named in ``no_decay`` and no
    decay on the rest (biases, LayerNorm, the named parameters)."""
    decay: list[Tensor] = []
    other: list[Tensor] = []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and name not in no_decay else other).append(p)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": recipe.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=recipe.lr,
        betas=recipe.betas,
    )


def train_loop(
    model: Any,
    recipe: Recipe,
    *,
    step_loss: StepLoss,
    summarize: Callable[[Float[Tensor, " n"]], dict[str, float]],
    no_decay: Collection[str] = (),
    evaluate: Callable[[Any], dict[str, float]] | None = None,
    eval_every: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1,
    seconds_digits: int | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` in place for ``recipe.steps`` steps; it ends in eval mode.

    Args:
        model: a freshly built model (trained in place).
        recipe: seed, steps, optimiser, schedule and ``log_every``.
        step_loss: one step's batch and loss (see :data:`StepLoss`).
        summarize: a log window's summed numbers -> the entry's numbers (e.g. mean losses).
        no_decay: names of matrices that get no weight decay (e.g. embeddings).
        evaluate: extra numbers for an entry (e.g. held-out loss), added to the entries at
            multiples of ``eval_every`` (every entry when None) and to the last.
        progress: called with each history entry as it is made.
        checkpoint_dir: if given, the model (in eval mode) is saved to
            ``checkpoint_dir / f"step_{step:05d}"`` at step 0, every ``checkpoint_every``
            steps and at the end.
        checkpoint_every: steps between checkpoints (positive).
        seconds_digits: round the entries' ``seconds`` to this many digits (None: do not).

    Returns:
        One entry per log window: ``step`` (steps done), ``lr``, the ``summarize`` numbers,
        ``seconds`` since the start, then the ``evaluate`` numbers where evaluated.
    """
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    generator = torch.Generator().manual_seed(recipe.seed)
    optimizer = adamw(model, recipe, no_decay)
    if ckpt is not None:
        _save(model, ckpt, 0)
    model.train()

    history: list[dict[str, Any]] = []
    window: Tensor | None = None  # the numbers summed since the last entry
    start = time.perf_counter()
    for step in range(recipe.steps):
        lr = warmup_lr(recipe, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss, sums = step_loss(model, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()
        if window is None:
            window = torch.zeros_like(sums)
        window += sums

        done = step + 1
        last = done == recipe.steps
        if done % recipe.log_every == 0 or last:
            seconds = time.perf_counter() - start
            entry: dict[str, Any] = {
                "step": done,
                "lr": lr,
                **summarize(window),
                "seconds": seconds if seconds_digits is None else round(seconds, seconds_digits),
            }
            window = None
            if evaluate is not None and (eval_every is None or done % eval_every == 0 or last):
                entry.update(evaluate(model))
            history.append(entry)
            if progress is not None:
                progress(entry)
        if ckpt is not None and (done % checkpoint_every == 0 or last):
            _save(model, ckpt, done)
    model.eval()
    return history


def _save(model: Any, directory: Path, step: int) -> None:
    """Save ``model`` in eval mode as ``directory / step_{step:05d}``; it goes on training."""
    model.eval()
    save_model(model, directory / f"step_{step:05d}")
    model.train()
