"""Computing the registered measures (:mod:`interp.spec.measures`) for every head.

Pattern measures are reduced inside the pattern hooks of one forward pass over their
stimuli; weights measures read the weights. A uniform head's value on the same stimuli is
the baseline a marking measure with ``above_uniform`` must beat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from ..model.hooks import attached_hooks, pattern_hook
from ..model.loading import model_device
from ..results.classification import MeasureInfo
from ..spec.measures import MEASURE_STIMULI, Measure
from ..stimuli.tokens import Stimuli
from .ablation import CleanRun, clean_run


def uniform_pattern(valid: Bool[Tensor, "batch pos"]) -> Float[Tensor, "batch 1 query key"]:
    """A head without preference: each query spreads its attention evenly over the real
    keys ``0..q`` (BOS included)."""
    n_pos = valid.shape[1]
    causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=valid.device).tril()  # (Q, K)
    seen = causal[None] & valid[:, None, :] & valid[:, :, None]  # (B, Q, K)
    w = seen.float()
    return (w / w.sum(-1, keepdim=True).clamp(min=1))[:, None]  # (B, 1, Q, K)


def measure_info(m: Measure, baseline: float | None = None, note: str = "") -> MeasureInfo:
    """What the result records about measure ``m``: its definition, the uniform head's
    ``baseline`` and any ``note`` (why it was not measured)."""
    return MeasureInfo(name=m.name, description=m.description, kind=m.kind,
                       stimuli=m.stimuli if m.kind == "pattern" else "",
                       threshold=m.threshold, above_uniform=m.above_uniform,
                       label=m.label, bins=m.bins, baseline=baseline, note=note,
                       check_claim=m.check.claim if m.check else "",
                       check=m.check.description if m.check else "")


def compute_measures(
    model: Any, measures: Sequence[Measure], stimuli: dict[str, Stimuli],
    clean_runs: dict[str, CleanRun] | None = None,
) -> tuple[dict[str, Tensor | None], tuple[MeasureInfo, ...]]:
    """Every head's value of each measure.

    Args:
        model: a ``TransformerBridge`` (not modified; no hook stays on it).
        measures: the measures.
        stimuli: ``"census"`` / ``"long"`` -> the stimuli of the pattern measures that ask
            for them.
        clean_runs: when given, each pattern pass over unpadded stimuli that has no clean
            run here yet is made as a :func:`interp.engine.ablation.clean_run` of them (the
            same single pass), left here under the stimuli's name for the measures'
            checks to start from.

    Returns:
        ``(values, infos)``: name -> ``[layer, head]`` (or ``[layer, head, bins]``) mean
        over sequences, None where a weights measure is unavailable; and what each
        measure was (:class:`interp.results.MeasureInfo`, with the uniform baseline and
        any note).
    """
    values: dict[str, Tensor | None] = {}
    baselines: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for where in MEASURE_STIMULI:
        chosen = [m for m in measures if m.kind == "pattern" and m.stimuli == where]
        if chosen and where not in stimuli:
            for m in chosen:
                values[m.name], baselines[m.name] = None, None
                notes[m.name] = f"not measured: no {where} stimuli for this model"
        elif chosen:
            if (clean_runs is not None and where not in clean_runs
                    and bool(stimuli[where].valid.all())):
                hooks, collect = _pattern_reducers(model, chosen, stimuli[where])
                clean_runs[where] = clean_run(model, stimuli[where], hooks)
                values.update(collect())
            else:
                values.update(_pattern_pass(model, chosen, stimuli[where]))
            for m in chosen:
                baselines[m.name] = (_uniform_value(m, stimuli[where]) if m.above_uniform
                                     else None)
    for m in measures:
        if m.kind != "weights":
            continue
        try:
            out = m.fn(model)
        except ValueError as err:
            values[m.name], notes[m.name] = None, f"not available: {err}"
            continue
        values[m.name] = _check_shape(m, torch.as_tensor(out).detach().float().cpu(),
                                      (int(model.cfg.n_layers), int(model.cfg.n_heads)))
    infos = tuple(measure_info(m, baselines.get(m.name), notes.get(m.name, "")) for m in measures)
    return {m.name: values[m.name] for m in measures}, infos


def _check_shape(m: Measure, value: Tensor, lead: tuple[int, int]) -> Tensor:
    expected = lead if m.bins is None else (*lead, len(m.bins))
    if tuple(value.shape) != expected:
        raise ValueError(f"measure {m.name!r} returned shape {tuple(value.shape)}; expected "
                         f"{expected}")
    return value


def _pattern_reducers(
    model: Any, measures: list[Measure], stimuli: Stimuli,
) -> tuple[list[tuple[str, Any]], Callable[[], dict[str, Tensor]]]:
    """Pattern hooks that reduce each layer's pattern by every measure (read-only), and
    the function that stacks what they found, ``name -> [layer, head(, bins)]``."""
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    device = model_device(model)
    tokens, valid = stimuli.tokens.to(device), stimuli.valid.to(device)
    per_layer: dict[str, list[Tensor | None]] = {m.name: [None] * n_layers for m in measures}

    def make_hook(layer: int):
        def reduce_pattern(pattern: Tensor, hook: Any) -> None:
            p = pattern.detach()
            on = (tokens.to(p.device), valid.to(p.device))
            for m in measures:
                value = m.fn(p, *on).detach().float().cpu().nanmean(0)  # (H,) or (H, N)
                per_layer[m.name][layer] = _check_shape(m, value[None], (1, n_heads))[0]

        return reduce_pattern

    def collect() -> dict[str, Tensor]:
        return {name: torch.stack(layers) for name, layers in per_layer.items()}

    return [(pattern_hook(layer), make_hook(layer)) for layer in range(n_layers)], collect


def _pattern_pass(model: Any, measures: list[Measure], stimuli: Stimuli) -> dict[str, Tensor]:
    """One forward pass; each layer's pattern is reduced by every measure in its hook."""
    from transformer_lens.model_bridge.exceptions import StopAtLayerException

    hooks, collect = _pattern_reducers(model, measures, stimuli)
    last_name, last_reduce = hooks[-1]

    def reduce_and_stop(pattern: Tensor, hook: Any) -> None:
        last_reduce(pattern, hook)
        raise StopAtLayerException(pattern)  # nothing after the last pattern

    hooks[-1] = (last_name, reduce_and_stop)
    valid = stimuli.valid.to(model_device(model))
    with torch.inference_mode(), attached_hooks(model, hooks):
        model(stimuli.tokens.to(valid.device), attention_mask=valid.long())
    return collect()  # (L, H[, N])


def _uniform_value(m: Measure, stimuli: Stimuli) -> float:
    """The measure's value for a head that attends uniformly (module docstring)."""
    value = m.fn(uniform_pattern(stimuli.valid), stimuli.tokens, stimuli.valid)  # (B, 1)
    return float(value.float().nanmean())
