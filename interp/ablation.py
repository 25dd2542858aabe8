"""Head ablation: replace chosen heads' outputs and measure what the model loses.

A head's output is its ``hook_z`` slice (``[batch, pos, d_head]``, before ``W_O``). Methods:

- ``mean`` (default): the head's mean output over the batch and all real positions of the
  same stimuli, a constant that keeps the average contribution but carries no information
  about the current sequence;
- ``zero``: zeros (also removes the average contribution, so it often overstates effects);
- ``resample``: the head's output on another sequence of the batch (a seeded
  derangement), at the same position.

Metrics (each per sequence, then averaged; the effect is oriented so that a positive value
means the head helped):

- ``second_copy_loss``: mean next-token loss on the second copy of ``[BOS] r r``, the tokens
  an induction mechanism can predict (positions ``L + 2 .. 2L``);
- ``downstream_induction``: mean induction score of chosen heads in later layers (the
  receivers of a previous-token head); what they lose when the head is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from .heads import HeadId, check_heads
from .hooks import attached_hooks, capture, pattern_hook, resid_post_hook, z_hook
from .scoring import score_layer, target_masks
from .stimuli import Stimuli

__all__ = [
    "ABLATION_METHODS",
    "AblationEffect",
    "ablation_hooks",
    "copy_losses",
    "downstream_induction",
    "measure_ablation",
    "residual_after_layer",
]

ABLATION_METHODS = ("mean", "zero", "resample")
#: Below this (nats of copy benefit, or induction score) a behavior is absent from the
#: model and there is nothing for an ablation to lose: relative effects are reported as 0.
MIN_SCALE = 1e-2


@dataclass(frozen=True)
class AblationEffect:
    """What ablating a set of heads did to one metric.

    Attributes:
        heads: the ablated heads, ``"L.H"``.
        method: ``mean``, ``zero`` or ``resample``.
        metric: the metric's name (see the module docstring).
        clean, ablated: the metric's mean over sequences, without and with the ablation.
        effect: mean per-sequence change, oriented so positive means the heads helped.
        stderr: standard error of ``effect`` over sequences.
        relative: ``effect / scale``, the share of what the behavior achieves at all that
            was lost; 1 means everything (0 when ``scale`` is below ``MIN_SCALE``).
        scale: what the behavior achieves at all (the first-to-second-copy loss drop, or
            the receivers' clean induction score).
        seed: the resampling seed.
    """

    heads: tuple[str, ...]
    method: str
    metric: str
    clean: float
    ablated: float
    effect: float
    stderr: float
    relative: float
    scale: float
    seed: int

    def supports(self, min_relative: float, z: float = 2.0) -> bool:
        """True when the effect is both meaningful (``relative >= min_relative``) and
        clearly above the spread over sequences (``effect > z * stderr``)."""
        return self.relative >= min_relative and self.effect > z * self.stderr

    def to_dict(self) -> dict:
        data = asdict(self)
        data["heads"] = list(self.heads)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "AblationEffect":
        return cls(**{**data, "heads": tuple(data["heads"])})


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _group_by_layer(heads: Sequence[HeadId]) -> dict[int, list[int]]:
    by_layer: dict[int, list[int]] = {}
    for h in heads:
        by_layer.setdefault(h.layer, []).append(h.head)
    return by_layer


def _capture_z(model: Any, stimuli: Stimuli, layers: Sequence[int]) -> dict[int, Tensor]:
    names = {layer: z_hook(layer) for layer in layers}
    captured = capture(model, stimuli.tokens, list(names.values()),
                       stop_at_layer=max(layers) + 1)
    return {layer: captured[name] for layer, name in names.items()}


def _derangement(n: int, seed: int) -> Tensor:
    """A seeded permutation with no fixed point: a random cycle through all ``n`` indices."""
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    perm = torch.empty(n, dtype=torch.long)
    perm[order] = torch.roll(order, -1)  # order[i] takes the sequence order[i + 1]
    return perm


def replacement_values(
    z: Float[Tensor, "batch pos head d_head"], valid: Tensor, method: str, seed: int
) -> Tensor | None:
    """What an ablated head's output is replaced by (None for ``zero``: zeros).

    ``mean``: ``[head, d_head]``, the mean over the batch and the real positions;
    ``resample``: ``[batch, pos, head, d_head]``, another sequence's output (a seeded
    derangement of the batch) at the same position.
    """
    if method == "zero":
        return None
    if method == "mean":
        w = valid.to(z.dtype)[:, :, None, None]  # (B, S, 1, 1)
        return (z * w).sum((0, 1)) / w.sum((0, 1)).clamp(min=1)  # (H, d_head)
    return z[_derangement(z.shape[0], seed)]  # (B, S, H, d_head)


def ablation_hooks(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[HeadId | str],
    *,
    method: str = "mean",
    seed: int = 0,
) -> list[tuple[str, Any]]:
    """Forward hooks that ablate ``heads`` on ``stimuli`` (use with ``attached_hooks``).

    The replacement values are computed here from a clean pass over the same stimuli; the
    returned hooks write into a copy of the activation, never into a tensor they were given.

    Raises:
        ValueError: unknown method, unknown head, or fewer than 2 sequences to resample.
    """
    if method not in ABLATION_METHODS:
        raise ValueError(f"unknown ablation method {method!r}; choose from {ABLATION_METHODS}")
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    by_layer = _group_by_layer(parsed)
    if not by_layer:
        return []
    if method == "resample" and stimuli.n_seqs < 2:
        raise ValueError("resample ablation needs at least 2 sequences")
    replacement: dict[int, Tensor] = {}
    if method in ("mean", "resample"):
        clean = _capture_z(model, stimuli, sorted(by_layer))
        valid = stimuli.valid.to(_device(model))
        for layer, z in clean.items():  # z: (B, S, H, d_head)
            values = replacement_values(z, valid, method, seed)
            replacement[layer] = values.expand_as(z) if method == "mean" else values

    def make(layer: int, head_idx: list[int]):
        def ablate(z: Tensor, hook: Any) -> Tensor:
            out = z.clone()
            if method == "zero":
                out[:, :, head_idx] = 0.0
            else:
                out[:, :, head_idx] = replacement[layer][: z.shape[0], : z.shape[1], head_idx].to(
                    z.dtype
                )
            return out

        return ablate

    return [(z_hook(layer), make(layer, idx)) for layer, idx in by_layer.items()]


def copy_losses(
    model: Any, stimuli: Stimuli, hooks: Sequence[tuple[str, Any]] = ()
) -> tuple[Float[Tensor, " seq"], Float[Tensor, " seq"]]:
    """Per-sequence mean next-token loss on the first and on the second copy of ``r``.

    First copy: predictions of positions ``2..L`` (unpredictable for random tokens);
    second copy: positions ``L + 2 .. 2L`` (predictable by induction).

    Raises:
        ValueError: the stimuli are not ``[BOS] r r`` batches.
    """
    if stimuli.repeat_len is None:
        raise ValueError("copy losses need repeated-token stimuli ([BOS] r r)")
    length = stimuli.repeat_len
    tokens = stimuli.tokens.to(_device(model))
    with torch.inference_mode(), attached_hooks(model, list(hooks)):
        logits = model(tokens)
    logprobs = F.log_softmax(logits.float(), dim=-1)  # (B, S, V)
    nll = -logprobs[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]  # (B, S-1): predicts p+1
    first = nll[:, 1:length].mean(-1)  # predicts positions 2..L
    second = nll[:, length + 1 : 2 * length].mean(-1)  # predicts positions L+2..2L
    return first.cpu(), second.cpu()


def downstream_induction(
    model: Any,
    stimuli: Stimuli,
    receivers: Sequence[HeadId | str],
    hooks: Sequence[tuple[str, Any]] = (),
) -> Float[Tensor, " seq"]:
    """Per-sequence mean induction score of the ``receivers`` heads (range 0..1)."""
    parsed = check_heads(list(receivers), int(model.cfg.n_layers), int(model.cfg.n_heads))
    if not parsed:
        raise ValueError("downstream_induction needs at least one receiver head")
    by_layer = _group_by_layer(parsed)
    tokens = stimuli.tokens.to(_device(model))
    masks = target_masks(tokens, stimuli.valid.to(tokens.device))
    collected: list[Tensor] = []

    def make(layer: int, head_idx: list[int]):
        def read(pattern: Tensor, hook: Any) -> None:
            result = score_layer(
                pattern[:, head_idx].detach(),
                masks.targets["induction"],
                masks.eligible["induction"],
            )
            collected.append(result.score.cpu())  # (B, n receivers in layer)

        return read

    read_hooks = [(pattern_hook(layer), make(layer, idx)) for layer, idx in by_layer.items()]
    with torch.inference_mode(), attached_hooks(model, list(hooks) + read_hooks):
        model(tokens, stop_at_layer=max(by_layer) + 1)
    return torch.cat(collected, dim=1).nanmean(1)


def _summarise(
    heads: Sequence[HeadId],
    method: str,
    metric: str,
    clean: Tensor,
    ablated: Tensor,
    effect: Tensor,
    scale: float,
    seed: int,
) -> AblationEffect:
    n = effect.numel()
    stderr = float(effect.std(unbiased=True) / n**0.5) if n > 1 else float("inf")
    mean_effect = float(effect.mean())
    return AblationEffect(
        heads=tuple(str(h) for h in heads),
        method=method,
        metric=metric,
        clean=float(clean.mean()),
        ablated=float(ablated.mean()),
        effect=mean_effect,
        stderr=stderr,
        relative=mean_effect / scale if scale > MIN_SCALE else 0.0,
        scale=float(scale),
        seed=int(seed),
    )


def measure_ablation(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[HeadId | str],
    *,
    metric: str = "second_copy_loss",
    method: str = "mean",
    receivers: Sequence[HeadId | str] = (),
    seed: int = 0,
) -> AblationEffect:
    """Ablate ``heads`` together and measure ``metric`` with and without the ablation.

    Args:
        model: a ``TransformerBridge`` (never modified; hooks always removed).
        stimuli: ``[BOS] r r`` stimuli.
        heads: heads to ablate together, ``"L.H"`` or :class:`HeadId`.
        metric: ``second_copy_loss`` (relative effect: share of the first-to-second-copy
            loss drop that is lost) or ``downstream_induction`` (relative: share of the
            receivers' induction score that is lost).
        method: ``mean``, ``zero`` or ``resample``.
        receivers: heads whose induction score ``downstream_induction`` reads.
        seed: seed of the resampling permutation.

    Example:
        >>> effect = measure_ablation(model, stimuli, ["1.0"])  # doctest: +SKIP
        >>> effect.relative  # share of the copying benefit lost
    """
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    if not parsed:
        raise ValueError("measure_ablation needs at least one head to ablate; got none")
    if metric not in ("second_copy_loss", "downstream_induction"):
        raise ValueError(
            f"unknown ablation metric {metric!r}; choose 'second_copy_loss' or "
            "'downstream_induction'"
        )
    if metric == "downstream_induction":
        readers = check_heads(list(receivers), int(model.cfg.n_layers), int(model.cfg.n_heads))
        if not readers:
            raise ValueError("metric 'downstream_induction' needs at least one receiver head")
        first = min(h.layer for h in parsed)
        early = [str(r) for r in readers if r.layer <= first]
        if early:
            raise ValueError(
                f"receivers {', '.join(early)} are not in a layer after the ablated heads "
                f"(earliest ablated layer {first}): ablating a head cannot change a head in "
                "its own or an earlier layer"
            )
    hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
    if metric == "second_copy_loss":
        first, clean = copy_losses(model, stimuli)
        _, ablated = copy_losses(model, stimuli, hooks)
        scale = float((first - clean).mean())
        return _summarise(parsed, method, metric, clean, ablated, ablated - clean, scale, seed)
    if metric == "downstream_induction":
        clean = downstream_induction(model, stimuli, receivers)
        ablated = downstream_induction(model, stimuli, receivers, hooks)
        scale = float(clean.mean())
        return _summarise(parsed, method, metric, clean, ablated, clean - ablated, scale, seed)
    raise ValueError(
        f"unknown ablation metric {metric!r}; choose 'second_copy_loss' or "
        "'downstream_induction'"
    )


def residual_after_layer(
    model: Any, stimuli: Stimuli, layer: int, hooks: Sequence[tuple[str, Any]] = ()
) -> Float[Tensor, "batch pos d_model"]:
    """The residual stream leaving block ``layer`` (optionally under ablation hooks)."""
    if not 0 <= layer < int(model.cfg.n_layers):
        raise ValueError(f"layer {layer} does not exist in a {model.cfg.n_layers}-layer model")
    site = resid_post_hook(layer)
    return capture(model, stimuli.tokens, [site], hooks=hooks, stop_at_layer=layer + 1)[
        site
    ].cpu()
