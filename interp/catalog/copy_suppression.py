"""**Copy suppression** (McDougall et al. 2023, "Copy suppression: comprehensively
understanding an attention head"; GPT-2 small L10H7): the head attends to earlier tokens
the model already predicts at the query (:func:`copy_suppression_targets`) and writes their
*negative* unembedding, so its OV copying score (:func:`interp.model.weights.ov_copying_scores`)
is negative where an induction head's is positive. On ``[BOS] r r`` it attends exactly where
an induction head does; the OV sign and :func:`predicted_logit_effect` (ablating it *raises*
the predicted token's logit) tell them apart. Its ablation may even lower the loss, so the
loss is the wrong test for it.

Registered here: the ``copy_suppression`` behavior (targets from the model's own
predictions; confirmed when ablating the head raises the predicted token's logit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..engine.ablation import (
    CleanRun,
    ablated_final,
    ablation_hooks,
    copy_slices,
    position_logits,
    stimuli_logits,
    summarise_effect,
)
from ..engine.masks import check_tokens, earlier_keys
from ..model.heads import check_heads
from ..results.evidence import MIN_SCALE, AblationEffect
from ..spec.behaviors import (
    Behavior,
    Confirmation,
    register_behavior,
    second_copy_offset,
)
from ..stimuli.tokens import Stimuli, check_stimuli


def predicted_tokens(
    logits: Float[Tensor, "batch pos vocab"], *, min_prob: float = 0.0
) -> Int[Tensor, "batch pos"]:
    """The model's top next-token prediction at each position, ``-1`` where the top
    probability is below ``min_prob`` (no confident prediction, so nothing to suppress).

    Where a model is indifferent (a first copy of random tokens) the argmax is noise and
    may name a token that occurred earlier by chance; ``min_prob`` (e.g. 0.3) keeps such
    positions out of :func:`copy_suppression_targets`.

    Raises:
        ValueError: ``min_prob`` outside 0..1, or logits not ``[batch, pos, vocab]``.
    """
    if logits.ndim != 3:
        raise ValueError(f"logits must be [batch, pos, vocab]; got {tuple(logits.shape)}")
    if not 0.0 <= float(min_prob) <= 1.0:
        raise ValueError(f"min_prob must lie in 0..1, got {min_prob!r}")
    probs = torch.softmax(logits.detach().float(), dim=-1)
    top, ids = probs.max(-1)  # (B, S) each
    return torch.where(top >= min_prob, ids, torch.full_like(ids, -1))


def copy_suppression_targets(
    tokens: Int[Tensor, "batch pos"],
    valid: Bool[Tensor, "batch pos"] | None,
    predicted: Int[Tensor, "batch pos"],
) -> Bool[Tensor, "batch query key"]:
    """Earlier keys ``1 <= k < q`` holding the token the model predicts at query ``q``
    (McDougall et al. 2023: a copy-suppression head attends there and pushes that token's
    logit down).

    Args:
        tokens: ``[batch, pos]``, BOS first.
        valid: ``[batch, pos]`` True on real tokens (None: all).
        predicted: ``[batch, pos]`` the model's top next-token prediction at each position
            (:func:`predicted_tokens`); a negative id means no prediction (no targets).

    Returns:
        ``[batch, query, key]`` bool. On ``[BOS] r r`` with a model that copies, the
        second-copy targets are the induction targets.

    Raises:
        ValueError: ``predicted`` does not have the shape of ``tokens``.
    """
    valid = check_tokens(tokens, valid)
    if predicted.shape != tokens.shape:
        raise ValueError(
            f"predicted {tuple(predicted.shape)} must have the shape of tokens "
            f"{tuple(tokens.shape)}"
        )
    holds = predicted.to(tokens.device)[:, :, None] == tokens[:, None, :]  # (B, Q, K)
    return holds & earlier_keys(valid)


def predicted_logit_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    *,
    method: str = "mean",
    seed: int = 0,
    clean: CleanRun | None = None,
) -> AblationEffect:
    """How much ablating ``heads`` raises the logit of the token the model predicts on the
    second copy of ``[BOS] r r`` (the copy-suppression confirmation). With ``clean`` (a
    :func:`interp.engine.ablation.clean_run` of ``stimuli``) the ablated pass restarts at
    the first ablated layer and only the second copy is unembedded.

    At each second-copy query (positions ``L + 1 .. 2L - 1``, the ones
    :func:`interp.engine.ablation.copy_losses` scores) the predicted token is the clean run's
    argmax. Logits are centred (minus their mean over the vocabulary), so a shift shared by
    every token counts for nothing.

    Returns:
        An :class:`interp.AblationEffect` with metric ``predicted_logit``: ``clean`` and
        ``ablated`` are the mean centred logit of the predicted token; ``effect`` is
        ``ablated - clean`` (positive: the heads were holding the prediction down);
        ``scale`` the clean value (how strongly the token is predicted at all) and
        ``relative = effect / scale`` (NaN when ``scale`` is below
        :data:`interp.results.evidence.MIN_SCALE`: nothing is predicted to suppress).

    Raises:
        ValueError: the stimuli are not ``[BOS] r r``, or a head does not exist.
    """
    check_stimuli(model, stimuli, repeated=True)
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    second = copy_slices(stimuli.repeat_len)[1]  # the second-copy prediction positions
    if clean is None:
        hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
        clean_logits = stimuli_logits(model, stimuli)[:, second].float()  # (B, L-1, V)
        ablated_logits = stimuli_logits(model, stimuli, hooks)[:, second].float()
    else:
        if clean.stimuli is not stimuli:
            raise ValueError("the clean run was made on other stimuli")
        final = ablated_final(model, clean, parsed, method=method, seed=seed)
        with torch.inference_mode():
            if "second_copy_logits" not in clean.metrics:
                clean.metrics["second_copy_logits"] = position_logits(
                    model, clean.final, second).float()
            clean_logits = clean.metrics["second_copy_logits"]  # (B, L-1, V)
            ablated_logits = position_logits(model, final, second).float()
    clean = _centred_predicted(clean_logits, clean_logits).cpu()  # (B,)
    ablated = _centred_predicted(clean_logits, ablated_logits).cpu()  # (B,)
    return summarise_effect(parsed, method, "predicted_logit", clean, ablated,
                            ablated - clean, float(clean.mean()), seed)


def _centred_predicted(clean_logits: Tensor, logits: Tensor) -> Tensor:
    """Per sequence, the mean over positions of ``logits``' centred logit (minus the mean
    over the vocabulary) of the token ``clean_logits`` predict: ``[batch]``."""
    predicted = clean_logits.argmax(-1, keepdim=True)  # (B, P, 1)
    return (logits - logits.mean(-1, keepdim=True)).gather(-1, predicted)[..., 0].mean(-1)


def predicted_logit_value(
    model: Any, stimuli: Stimuli, clean_final: Tensor, final: Tensor,
) -> Float[Tensor, " batch"]:
    """The copy-suppression test read from a residual leaving the last block (the
    behavior's ``direct`` value, :class:`interp.spec.behaviors.Confirmation`): per
    sequence, the mean centred logit, over the second copy of ``[BOS] r r``, of the token
    the clean residual ``clean_final`` predicts. It rises when a suppressor's output is
    taken out of ``final``; differentiable in ``final``."""
    second = copy_slices(stimuli.repeat_len)[1]
    with torch.no_grad():
        clean_logits = position_logits(model, clean_final, second).float()
    return _centred_predicted(clean_logits, position_logits(model, final, second).float())


def copy_suppression_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    *,
    method: str = "mean",
    seed: int = 0,
    clean: CleanRun | None = None,
) -> AblationEffect:
    """The copy-suppression confirmation: :func:`predicted_logit_effect` on the scale of
    the prediction the heads act on.

    ``effect`` (ablated minus clean centred logit of the predicted token) is positive when
    the heads were holding the prediction down. ``scale`` is the larger of the clean and
    the ablated logit: for a suppressor that is the ablated one (the prediction without
    it), so ``relative = effect / scale`` is the *share of the predicted token's logit the
    heads take away* (0.5 for a planted head of strength 0.5; 1 would remove the whole
    prediction). For a head that *writes* the prediction (an induction head, whose pattern
    is the same) the clean logit is the larger, the effect negative and ``relative``
    below 0: refuted. Where neither run predicts anything (both logits at or below
    :data:`interp.results.evidence.MIN_SCALE`) the test cannot decide.
    """
    base = predicted_logit_effect(model, stimuli, heads, method=method, seed=seed, clean=clean)
    scale = max(base.clean, base.ablated)
    return replace(base, scale=scale,
                   relative=base.effect / scale if scale > MIN_SCALE else float("nan"))


def _predicted_copies(tokens: Tensor, valid: Tensor, predicted: Tensor) -> Tensor:
    """Earlier keys holding the token the model predicts at the query."""
    return copy_suppression_targets(tokens, valid, predicted)  # (B, Q, K)


def _suppression_effect(model: Any, stimuli: Any, heads: list, *, method: str = "mean",
                        seed: int = 0, clean: CleanRun | None = None) -> Any:
    """Ablating the heads must *raise* the predicted token's logit on the second copy
    (:func:`interp.head_types.copy_suppression_effect`)."""
    return copy_suppression_effect(model, stimuli, heads, method=method, seed=seed, clean=clean)


register_behavior(Behavior(
    name="copy_suppression",
    description="attends to earlier copies of the token the model predicts next and "
    "pushes that token's logit down (negative OV copying; McDougall et al. 2023, GPT-2 "
    "small L10H7). On [BOS] r r it attends where an induction head does: the ablation "
    "tells them apart (it must raise the predicted token's logit; relative = share of "
    "that logit the head takes away).",
    targets=_predicted_copies,
    positional=second_copy_offset(1),
    confirmation=Confirmation("custom", fn=_suppression_effect, direct=predicted_logit_value),
    needs_predictions=True,
))
