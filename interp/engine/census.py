"""The head census: every head's behavior scores from one hooked forward pass.

Each layer's attention pattern is reduced to per-sequence scores inside its hook (see
:mod:`interp.engine.scoring` for what the scores mean), so the patterns of all layers are never
held at once, and the pass ends as soon as the last layer's pattern is scored (no last
MLP, no unembedding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..model.hooks import attached_hooks, pattern_hook
from ..model.loading import model_device, model_name
from ..results.scores import HeadScores
from ..spec.behaviors import Behavior, Predictions, resolve_behaviors
from ..stimuli.tokens import Stimuli, check_stimuli
from .ablation import position_logits
from .scoring import (
    TargetMasks,
    distance_profile,
    mask_weights,
    positional_masks,
    score_layer_all,
    target_masks,
)


def score_heads(
    model: Any,
    stimuli: Stimuli,
    *,
    batch_size: int | None = None,
    progress: bool = False,
    distance: bool = True,
    positional: bool = False,
    behaviors: Sequence[Behavior | str] | None = None,
    predictions: Predictions | None = None,
) -> HeadScores:
    """Score every head of ``model`` for every behavior on ``stimuli``.

    Args:
        model: a ``TransformerBridge``; it is not modified and no hook stays on it.
        stimuli: the inputs (e.g. :func:`interp.repeated_tokens`).
        batch_size: sequences per forward pass (default: all at once); memory stays flat
            as the number of sequences grows.
        progress: show a progress bar over batches.
        distance: also record each head's attention-distance profile.
        positional: place the duplicate and induction targets by position
            (:func:`interp.engine.scoring.positional_masks`) instead of by token identity; for
            :func:`interp.unrepeated_tokens`, the positional-shortcut control.
        behaviors: names or :class:`interp.Behavior` values to score (default: every
            registered behavior, :func:`interp.registered_behaviors`).
        predictions: the model's predictions on ``stimuli`` when already known
            (:func:`predictions_from_final` of a clean pass); default: a forward pass
            makes them, if a behavior needs them.

    Returns:
        :class:`interp.HeadScores` with per-sequence scores and nulls.

    Example:
        >>> scores = score_heads(model, repeated_tokens(8, 20, vocab_size=64))  # doctest: +SKIP
        >>> scores.score("induction").shape  # (layer, head)
    """
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    check_stimuli(model, stimuli)
    chosen = resolve_behaviors(behaviors)
    size = batch_size or stimuli.n_seqs
    if size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    chunks = list(range(0, stimuli.n_seqs, size))
    per_score: dict[str, list[torch.Tensor]] = {}
    per_null: dict[str, list[torch.Tensor]] = {}
    n_queries: dict[str, int] = {}
    profiles: list[torch.Tensor] = []
    iterator = chunks
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(chunks, desc="census", unit="batch")
    for start in iterator:
        index = torch.arange(start, min(start + size, stimuli.n_seqs))
        chunk = stimuli.subset(index)
        known = (None if predictions is None
                 else Predictions(predictions.tokens[index], predictions.probs[index]))
        scores, nulls, counts, profile = _score_chunk(
            model, chunk, n_layers, n_heads, distance, positional, chosen, known
        )
        if profile is not None:
            profiles.append(profile)
        for behavior in scores:
            per_score.setdefault(behavior, []).append(scores[behavior])
            per_null.setdefault(behavior, []).append(nulls[behavior])
            n_queries[behavior] = n_queries.get(behavior, 0) + counts[behavior]
    return HeadScores(
        model_name=model_name(model),
        n_layers=n_layers,
        n_heads=n_heads,
        per_seq_score={b: torch.cat(v) for b, v in per_score.items()},
        per_seq_null={b: torch.cat(v) for b, v in per_null.items()},
        n_queries=n_queries,
        stimuli=stimuli.to_dict(),
        distance=torch.cat(profiles).nanmean(0) if profiles else None,
    )


def _score_chunk(
    model: Any, stimuli: Stimuli, n_layers: int, n_heads: int, distance: bool,
    positional: bool, behaviors: tuple[Behavior, ...], predictions: Predictions | None,
) -> tuple[dict, dict, dict, torch.Tensor | None]:
    from transformer_lens.model_bridge.exceptions import StopAtLayerException

    device = model_device(model)
    tokens = stimuli.tokens.to(device)
    valid = stimuli.valid.to(device)
    if predictions is None and any(b.needs_predictions for b in behaviors):
        predictions = predicted_tokens(model, stimuli)
    elif predictions is not None:
        predictions = Predictions(predictions.tokens.to(device), predictions.probs.to(device))
    if positional:
        if stimuli.repeat_len is None:
            raise ValueError("positional targets need stimuli with a repeat_len ([BOS] r s)")
        masks = positional_masks(tokens, stimuli.repeat_len, valid, behaviors=behaviors,
                                 predictions=predictions)
    else:
        masks = target_masks(tokens, valid, behaviors=behaviors, predictions=predictions)
    weights = mask_weights(masks)  # (B, Q, K, 2 x behaviors), shared by every layer
    batch = stimuli.n_seqs
    scores = {b: torch.full((batch, n_layers, n_heads), float("nan")) for b in masks.targets}
    nulls = {b: torch.full((batch, n_layers, n_heads), float("nan")) for b in masks.targets}
    counts = {b: 0 for b in masks.targets}
    max_distance = stimuli.n_pos - 2
    profile = (
        torch.full((batch, n_layers, n_heads, max_distance + 1), float("nan"))
        if distance
        else None
    )
    # A model spread over devices (load_model(..., device_map=...)) has each layer's pattern
    # on that layer's device: move the masks there once per device, never the patterns.
    on_device = {device: (masks, weights, valid)}

    def inputs_on(where: torch.device) -> tuple[Any, torch.Tensor, torch.Tensor]:
        if where not in on_device:
            on_device[where] = (
                TargetMasks({b: t.to(where) for b, t in masks.targets.items()},
                            {b: t.to(where) for b, t in masks.eligible.items()}),
                weights.to(where), valid.to(where))
        return on_device[where]

    def make_hook(layer: int):
        def reduce_pattern(pattern: torch.Tensor, hook: Any) -> None:
            masks, weights, valid = inputs_on(pattern.device)
            for behavior, result in score_layer_all(pattern.detach(), masks, weights).items():
                scores[behavior][:, layer] = result.score.cpu()
                nulls[behavior][:, layer] = result.null.cpu()
                if layer == 0:
                    counts[behavior] += int(result.n_queries.sum())
            if profile is not None:
                profile[:, layer] = distance_profile(pattern.detach(), valid, max_distance)
            if layer == n_layers - 1:
                # Nothing after the last pattern is needed: end the pass here (the bridge
                # catches this exception and returns). ``stop_at_layer=n_layers`` would not
                # do it: no block has that index, so the bridge ran the last block's MLP and
                # the unembedding, a third of a GPT-2-small forward pass.
                raise StopAtLayerException(pattern)
            return None

        return reduce_pattern

    hooks = [(pattern_hook(layer), make_hook(layer)) for layer in range(n_layers)]
    with torch.inference_mode(), attached_hooks(model, hooks):
        model(tokens, attention_mask=valid.long())
    return scores, nulls, counts, profile


def predicted_tokens(model: Any, stimuli: Stimuli) -> Predictions:
    """The model's top next-token prediction at every position and its probability, both
    ``[batch, pos]`` (one forward pass), for behaviors whose targets depend on what the
    model predicts."""
    tokens = stimuli.tokens.to(model_device(model))
    with torch.inference_mode():
        logits = model(tokens, attention_mask=stimuli.valid.to(tokens.device).long())
    return _top(logits)


def predictions_from_final(model: Any, final_resid: Tensor) -> Predictions:
    """:func:`predicted_tokens` from the residual leaving the last block of a clean pass
    (e.g. :attr:`interp.engine.ablation.CleanRun.final`): no second forward pass."""
    with torch.inference_mode():
        return _top(position_logits(model, final_resid, slice(None)))


def _top(logits: Tensor) -> Predictions:
    probs, ids = torch.softmax(logits.float(), dim=-1).max(-1)  # (B, S) each
    return Predictions(tokens=ids, probs=probs)
