"""Head ablation: replace chosen heads' outputs and measure what the model loses.

A head's output is its ``hook_z`` slice (``[batch, pos, d_head]``, before ``W_O``), replaced
by an ablation method of the registry (:mod:`interp.spec.ablation_methods`: ``mean``, the
default, ``zero``, ``resample``).

Metrics (each per sequence, then averaged; the effect is oriented so that a positive value
means the head helped):

- ``second_copy_loss``: mean next-token loss on the second copy of ``[BOS] r r``, the tokens
  an induction mechanism can predict (positions ``L + 2 .. 2L``);
- ``downstream_<behavior>``: mean score of chosen heads in later layers (the *receivers*,
  e.g. the induction heads a previous-token head feeds) for that behavior; what they lose
  when the head is removed;
- ``loss``: mean next-token loss over every real position of the stimuli; its scale is
  what ablating *every* head costs, so the relative effect is the share of all the
  attention heads' contribution that these heads carry.

The relative effect is ``effect / scale``: 1 means the heads' behavior is fully removed.
When ``scale`` is below :data:`MIN_SCALE` the stimuli give the ablation nothing to measure
and ``relative`` is NaN (see :func:`interp.results.evidence.decide`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..model.heads import HeadId, all_heads, check_heads
from ..model.hooks import (
    attached_hooks,
    capture,
    pattern_hook,
    resid_post_hook,
    resid_pre_hook,
    z_hook,
)
from ..model.loading import model_device, uses_rotary
from ..results.evidence import MIN_SCALE, AblationEffect
from ..spec.ablation_methods import AblationMethod, ablation_method
from ..spec.behaviors import resolve_behaviors
from ..stimuli.tokens import Stimuli, check_stimuli
from .scoring import score_layer_all, target_masks

#: Prefix of the metric that reads later heads' scores: ``downstream_<behavior>``.
DOWNSTREAM = "downstream_"


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


@dataclass
class CleanRun:
    """One clean forward pass over ``stimuli``, kept so that many ablations of the same
    stimuli rerun only what an ablation changes (:func:`clean_run` makes one).

    An ablation of heads whose first layer is ``L`` leaves everything before block ``L``
    as it was, so the ablated pass starts from the cached residual entering block ``L``
    (:func:`ablated_resid`: the blocks called directly, with the rotary position
    embeddings where the model has them, or later, from an ablated pass already run), and
    its metric reads only the positions it needs (the final norm and unembedding of the
    copy positions, not every logit). The clean metrics are measured once and reused.

    Attributes:
        stimuli: the stimuli of the pass (unpadded).
        resid_pre: layer -> the residual stream entering block ``layer``, ``[batch, pos,
            d_model]``.
        z: layer -> the heads' outputs ``hook_z`` of that layer, ``[batch, pos, head,
            d_head]`` (what ablation methods build replacements from).
        final: the residual stream leaving the last block.
        metrics: clean metrics measured so far, by name (filled as they are asked for).
        direct: the blocks can be called on their own (:func:`blocks_run_alone`, checked
            on the first block), so a rerun skips the bridge's ``forward``.
        reruns: residuals of ablated passes, kept so that a later ablation starts where it
            first differs from one already run (:func:`ablated_resid`): ``(method, seed,
            ablated heads)`` -> layer -> the residual entering that block (``n_layers``:
            leaving the last one), most recently used last, at most
            :data:`RERUN_CACHE_BYTES` in all.
    """

    stimuli: Stimuli
    resid_pre: dict[int, Tensor]
    z: dict[int, Tensor]
    final: Tensor
    metrics: dict[Any, Any] = field(default_factory=dict)
    direct: bool = False
    reruns: dict[tuple, dict[int, Tensor]] = field(default_factory=dict)

    def z_of(self, layers: Any) -> dict[int, Tensor]:
        """The clean head outputs of ``layers``."""
        return {layer: self.z[layer] for layer in sorted(layers)}

    def keep_rerun(self, key: tuple, residuals: dict[int, Tensor]) -> None:
        """Remember ``residuals`` (layer -> residual entering it) of the ablated pass
        ``key``; the least recently used passes go first once over the budget."""
        entry = self.reruns.pop(key, {})
        entry.update(residuals)
        self.reruns[key] = entry
        total = sum(t.numel() * t.element_size() for e in self.reruns.values()
                    for t in e.values())
        while total > RERUN_CACHE_BYTES and len(self.reruns) > 1:
            oldest = next(iter(self.reruns))
            total -= sum(t.numel() * t.element_size() for t in self.reruns.pop(oldest).values())


#: Most memory the residuals of ablated passes kept on one :class:`CleanRun` may take.
RERUN_CACHE_BYTES = 256 * 2**20


def rerun_key(method: str, seed: int, heads: Sequence[HeadId]) -> tuple:
    """How :attr:`CleanRun.reruns` names the pass with ``heads`` ablated."""
    return (ablation_method(method).name, int(seed),
            frozenset((int(h.layer), int(h.head)) for h in heads))


def _latest_start(
    clean: CleanRun, key: tuple, limit: int,
) -> tuple[int, Tensor, tuple | None]:
    """The latest layer ``l <= limit`` at which a pass already run (or the clean pass) is
    in the state the ablation ``key`` reaches there, its residual entering ``l``, and the
    key of that pass (None: the clean pass). The residual entering block ``l`` depends
    only on the heads ablated before ``l``."""
    method, seed, heads = key
    start = min(min(layer for layer, _ in heads), limit)
    best, source = clean.resid_pre[start], None
    for other_key, residuals in clean.reruns.items():
        m, s, other = other_key
        if (m, s) != (method, seed):
            continue
        for layer, resid in residuals.items():
            if start < layer <= limit and (
                {h for h in other if h[0] < layer} == {h for h in heads if h[0] < layer}
            ):
                start, best, source = layer, resid, other_key
    return start, best, source


def ablated_resid(
    model: Any, clean: CleanRun, heads: Sequence[HeadId | str], *, method: str = "mean",
    seed: int = 0, hooks: Sequence[tuple[str, Any]] = (), hooks_from: int | None = None,
    stop: int | None = None,
) -> Float[Tensor, "batch pos d_model"]:
    """The residual entering block ``stop`` (default: leaving the last block) with
    ``heads`` ablated on ``clean``'s stimuli, computed from the latest layer where an
    ablation already run (or the clean pass) is in the same state, and kept for the next.

    Exact: the residual entering a block depends only on the heads ablated before it, so
    the ablation of a group without one member restarts at that member's layer from the
    whole group's pass, and one already measured is not run again.

    Args:
        model, clean: the model and a :func:`clean_run` of the stimuli.
        heads: the heads ablated (method and seed as :func:`ablation_hooks`).
        hooks: read-only hooks to run as well (they never change an activation), on
            layers ``hooks_from`` and later: those blocks are always rerun.
        stop: the block to stop before.
    """
    n_layers = int(model.cfg.n_layers)
    parsed = check_heads(list(heads), n_layers, int(model.cfg.n_heads))
    stop = n_layers if stop is None else stop
    if not parsed:
        return clean.final if stop == n_layers else clean.resid_pre[stop]
    key = rerun_key(method, seed, parsed)
    limit = stop if hooks_from is None else min(stop, hooks_from)
    start, resid, source = _latest_start(clean, key, limit)
    if source is not None:
        clean.keep_rerun(source, {})  # recently used: the last to go
    if start == stop:
        return resid
    ablate = ablation_hooks(model, clean.stimuli, [h for h in parsed if h.layer >= start],
                            method=method, seed=seed, clean=clean)
    kept: dict[int, Tensor] = {}
    with torch.inference_mode(), attached_hooks(model, ablate + list(hooks)):
        out = run_blocks(model, resid, start, clean.direct, stop, keep=kept)
    kept[stop] = out
    clean.keep_rerun(key, kept)
    return out


def clean_run(model: Any, stimuli: Stimuli, hooks: Sequence[tuple[str, Any]] = ()) -> CleanRun:
    """One clean pass over ``stimuli`` with every layer's block input and head outputs kept
    (see :class:`CleanRun`). The stimuli must be unpadded (every position real). ``hooks``:
    read-only hooks to run in the same pass (they must not change an activation), e.g. a
    measure's pattern reducers, so that one pass serves both."""
    if not bool(stimuli.valid.all()):
        raise ValueError("a clean run needs unpadded stimuli")
    n_layers = int(model.cfg.n_layers)
    resid: dict[int, Tensor] = {}
    z: dict[int, Tensor] = {}

    def keep(store: dict[int, Tensor], layer: int) -> Any:
        def fn(activation: Tensor, hook: Any) -> None:
            store[layer] = activation.detach().clone()

        return fn

    kept = [(resid_pre_hook(layer), keep(resid, layer)) for layer in range(n_layers)]
    kept += [(z_hook(layer), keep(z, layer)) for layer in range(n_layers)]
    kept += list(hooks)
    kept.append((resid_post_hook(n_layers - 1), stop_forward))
    tokens = stimuli.tokens.to(model_device(model))
    with torch.inference_mode(), attached_hooks(model, kept):
        final = model(tokens)  # stops after the last block
    with torch.inference_mode():
        direct = blocks_run_alone(model, 0, resid[0], resid[1] if n_layers > 1 else final)
    return CleanRun(stimuli=stimuli, resid_pre=resid, z=z, final=final.detach(), direct=direct)


def stop_forward(resid: Tensor, hook: Any) -> None:
    """A hook that ends the forward pass: the model returns ``resid`` (the caller unembeds
    only what it needs)."""
    from transformer_lens.model_bridge.exceptions import StopAtLayerException

    raise StopAtLayerException(resid)


def _block_kwargs(model: Any, resid: Tensor) -> dict[str, Any] | None:
    """What a block called on its own needs besides the residual: on a rotary model the
    position embeddings (cos, sin) the model hands every block (None when the model has no
    rotary module to make them); nothing otherwise."""
    if not uses_rotary(model):
        return {}
    rotary = getattr(model, "rotary_emb", None)
    if rotary is None:
        return None
    positions = torch.arange(resid.shape[1], device=resid.device)[None]  # (1, S)
    return {"position_embeddings": rotary(resid, positions.expand(resid.shape[0], -1))}


def run_blocks(
    model: Any, resid: Tensor, start: int, direct: bool, stop: int | None = None,
    keep: dict[int, Tensor] | None = None,
) -> Tensor:
    """Blocks ``start..stop-1`` (default: to the last) on ``resid``; the residual leaving
    the last one. ``direct``: call the blocks themselves (with the rotary position
    embeddings where the model has them; check first with :func:`blocks_run_alone`);
    otherwise through the model's ``forward(start_at_layer=...)``, which on a bridge over
    a Hugging Face model still costs about a full pass. ``keep``: filled with the residual
    entering each block after ``start`` that was run (direct calls only)."""
    n_layers = int(model.cfg.n_layers)
    last = n_layers if stop is None else stop
    if direct:
        kwargs = _block_kwargs(model, resid) or {}
        x = resid
        for layer in range(start, last):
            if keep is not None and layer > start:
                keep[layer] = x
            out = model.blocks[layer](x, **kwargs)
            x = out[0] if isinstance(out, tuple) else out
        return x
    with attached_hooks(model, [(resid_post_hook(last - 1), stop_forward)]):
        return model(resid, start_at_layer=start)


class _AttentionDone(Exception):
    """Ends a block after its attention (raised by :func:`attention_alone`'s hook)."""


def attention_alone(
    model: Any, clean: CleanRun, layer: int, hooks: Sequence[tuple[str, Any]],
) -> None:
    """Block ``layer``'s attention on the clean residual entering it, with read-only
    ``hooks`` on that layer (its pattern, values ...); the block stops after the heads'
    outputs, so its MLP never runs. Needs ``clean.direct``."""

    def done(z: Tensor, hook: Any) -> None:
        raise _AttentionDone

    try:
        with torch.inference_mode(), attached_hooks(model, [*hooks, (z_hook(layer), done)]):
            run_blocks(model, clean.resid_pre[layer], layer, True, layer + 1)
    except _AttentionDone:
        pass


def blocks_run_alone(model: Any, layer: int, before: Tensor, after: Tensor) -> bool:
    """True when block ``layer`` called on its own (with the rotary position embeddings a
    rotary model hands it) maps ``before`` to ``after`` as it did inside the clean
    forward pass; False on a rotary model without a rotary module to call."""
    kwargs = _block_kwargs(model, before)
    if kwargs is None:
        return False
    out = model.blocks[layer](before, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    tight = before.dtype in (torch.float32, torch.float64)
    return bool(
        torch.allclose(out, after, rtol=1e-4 if tight else 1e-2, atol=1e-5 if tight else 1e-2)
    )


def position_logits(
    model: Any, final_resid: Float[Tensor, "batch pos d_model"], positions: slice,
) -> Float[Tensor, "batch n vocab"]:
    """Logits at ``positions`` only, from the residual leaving the last block (the final
    norm and the unembedding of those positions; the rest of the vocabulary-sized logits
    are never computed)."""
    return model.unembed(model.ln_final(final_resid[:, positions]))  # (B, P, V)


def copy_nll(
    model: Any, final_resid: Float[Tensor, "batch pos d_model"], tokens: Int[Tensor, "batch pos"],
    positions: slice,
) -> Float[Tensor, " batch"]:
    """Mean next-token loss of the predictions made at ``positions`` (see
    :func:`copy_slices`), from the residual leaving the last block: only those positions go
    through the final norm and the unembedding."""
    start, stop = positions.start, positions.stop
    tokens = tokens.to(final_resid.device)
    logits = position_logits(model, final_resid, positions)  # (B, P, V)
    return token_nll(logits, tokens[:, start + 1 : stop + 1]).mean(-1)  # (B,)


def final_nll(
    model: Any, final_resid: Float[Tensor, "batch pos d_model"], tokens: Int[Tensor, "batch pos"],
    where: Bool[Tensor, "batch pos_minus_1"] | None = None,
) -> Float[Tensor, "batch pos_minus_1"]:
    """Next-token loss (column ``p`` predicts token ``p + 1``) from the residual leaving the
    last block; with ``where``, only at those predictions (0 elsewhere): only they go
    through the final norm and the vocabulary-sized unembedding."""
    targets = tokens[:, 1:].to(final_resid.device)  # (B, S-1)
    if where is None:
        logits = position_logits(model, final_resid, slice(0, -1))  # (B, S-1, V)
        return token_nll(logits, targets)  # (B, S-1)
    where = where.to(final_resid.device)
    rows = final_resid[:, :-1][where]  # (N, d_model)
    logits = model.unembed(model.ln_final(rows[None]))  # (1, N, V)
    out = torch.zeros(targets.shape, dtype=torch.float32, device=final_resid.device)
    out[where] = token_nll(logits, targets[where][None])[0]
    return out  # (B, S-1)


def ablated_final(
    model: Any, clean: CleanRun, heads: Sequence[HeadId | str], *, method: str = "mean",
    seed: int = 0,
) -> Float[Tensor, "batch pos d_model"]:
    """The residual leaving the last block with ``heads`` ablated, rerun from the first
    ablated layer of ``clean``."""
    return ablated_resid(model, clean, heads, method=method, seed=seed)


def _clean_copy_losses(model: Any, clean: CleanRun) -> tuple[Tensor, Tensor]:
    if "copy_losses" not in clean.metrics:
        first, second = copy_slices(int(clean.stimuli.repeat_len))
        tokens = clean.stimuli.tokens
        with torch.inference_mode():
            clean.metrics["copy_losses"] = (copy_nll(model, clean.final, tokens, first).cpu(),
                                            copy_nll(model, clean.final, tokens, second).cpu())
    return clean.metrics["copy_losses"]


def replacement_values(
    z: Float[Tensor, "batch pos head d_head"], valid: Tensor, method: AblationMethod | str,
    seed: int,
) -> Tensor | None:
    """What an ablated head's output is replaced by, from a clean pass's outputs (None for
    a method that needs none); :meth:`interp.spec.ablation_methods.AblationMethod.values`."""
    return ablation_method(method).values(z, valid, seed)


def head_replacement(
    replacement: Tensor | None, method: AblationMethod | str, head: int,
    like: Float[Tensor, "batch pos d_head"],
) -> Tensor:
    """One head's ablated output, broadcastable to ``like`` (``[batch, pos, d_head]``), from
    :func:`replacement_values`. The one place a head's output is replaced."""
    return ablation_method(method).replace(replacement, head, like)


def ablation_hooks(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[HeadId | str],
    *,
    method: str = "mean",
    seed: int = 0,
    clean: CleanRun | None = None,
) -> list[tuple[str, Any]]:
    """Forward hooks that ablate ``heads`` on ``stimuli`` (use with ``attached_hooks``).

    The replacement values are computed here from a clean pass over the same stimuli (or
    read from ``clean``, a :class:`CleanRun` of them); the returned hooks write into a copy
    of the activation, never into a tensor they were given.

    Raises:
        ValueError: unknown method, unknown head, or fewer than 2 sequences to resample.
    """
    chosen = ablation_method(method)
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    by_layer = _group_by_layer(parsed)
    if not by_layer:
        return []
    chosen.check(stimuli.n_seqs)
    replacement: dict[int, Tensor] = {}
    if chosen.needs_clean_pass:
        outputs = (clean.z_of(by_layer) if clean is not None
                   else _capture_z(model, stimuli, sorted(by_layer)))
        valid = stimuli.valid.to(model_device(model))
        for layer, z in outputs.items():  # z: (B, S, H, d_head)
            replacement[layer] = chosen.values(z, valid, seed)

    def make(layer: int, head_idx: list[int]):
        def ablate(z: Tensor, hook: Any) -> Tensor:
            out = z.clone()  # (B, S, H, d_head)
            for head in head_idx:
                out[:, :, head] = chosen.replace(replacement.get(layer), head, out[:, :, head])
            return out

        return ablate

    return [(z_hook(layer), make(layer, idx)) for layer, idx in by_layer.items()]


def copy_losses(
    model: Any, stimuli: Stimuli, hooks: Sequence[tuple[str, Any]] = (),
    clean: CleanRun | None = None,
) -> tuple[Float[Tensor, " seq"], Float[Tensor, " seq"]]:
    """Per-sequence mean next-token loss on the first and on the second copy of ``r``.

    First copy: predictions of positions ``2..L`` (unpredictable for random tokens);
    second copy: positions ``L + 2 .. 2L`` (predictable by induction). With ``clean`` (a
    :func:`clean_run` of ``stimuli``, no ``hooks``) they are read from its final residual,
    with no forward pass.

    Raises:
        ValueError: the stimuli are not ``[BOS] r r`` batches, or ``clean`` is of others.
    """
    if stimuli.repeat_len is None:
        raise ValueError("copy losses need repeated-token stimuli ([BOS] r r)")
    if clean is not None:
        if clean.stimuli is not stimuli or hooks:
            raise ValueError("copy_losses takes a clean run of the same stimuli, no hooks")
        return _clean_copy_losses(model, clean)
    first, second = copy_slices(stimuli.repeat_len)
    nll = position_nll(model, stimuli, hooks)  # (B, S-1): position p predicts p + 1
    return nll[:, first].mean(-1).cpu(), nll[:, second].mean(-1).cpu()


def copy_slices(repeat_len: int) -> tuple[slice, slice]:
    """Prediction positions of the first copy (predicting ``2..L``) and of the second copy
    (predicting ``L + 2 .. 2L``) in ``[BOS] r r``, as slices of a ``[batch, pos - 1]``
    next-token loss."""
    return slice(1, repeat_len), slice(repeat_len + 1, 2 * repeat_len)


def token_nll(
    logits: Float[Tensor, "batch pos vocab"], targets: Int[Tensor, "batch pos"]
) -> Float[Tensor, "batch pos"]:
    """Next-token loss (nats) of each position's logits against its target token; the one
    implementation every loss in the package uses (float32 softmax)."""
    logprobs = F.log_softmax(logits.float(), dim=-1)  # (B, P, V)
    return -logprobs.gather(-1, targets[..., None].to(logprobs.device))[..., 0]  # (B, P)


def stimuli_logits(
    model: Any, stimuli: Stimuli, hooks: Sequence[tuple[str, Any]] = ()
) -> Float[Tensor, "batch pos vocab"]:
    """Logits of one forward pass (no grad) over ``stimuli`` with ``hooks`` attached (e.g.
    :func:`ablation_hooks`); padding is masked. On the model's device."""
    tokens = stimuli.tokens.to(model_device(model))
    padded = not bool(stimuli.valid.all())
    kwargs = {"attention_mask": stimuli.valid.to(tokens.device).long()} if padded else {}
    with torch.inference_mode(), attached_hooks(model, list(hooks)):
        return model(tokens, **kwargs)


def position_nll(
    model: Any, stimuli: Stimuli, hooks: Sequence[tuple[str, Any]] = ()
) -> Float[Tensor, "batch pos_minus_1"]:
    """Next-token loss at every position (column ``p`` predicts token ``p + 1``), with
    ``hooks`` attached; on the model's device."""
    logits = stimuli_logits(model, stimuli, hooks)
    return token_nll(logits[:, :-1], stimuli.tokens[:, 1:])  # (B, S-1)


def sequence_losses(
    model: Any, stimuli: Stimuli, hooks: Sequence[tuple[str, Any]] = ()
) -> Float[Tensor, " seq"]:
    """Per-sequence mean next-token loss over every real predicted position."""
    nll = position_nll(model, stimuli, hooks)  # (B, S-1)
    valid = stimuli.valid.to(nll.device)
    keep = (valid[:, 1:] & valid[:, :-1]).to(nll.dtype)  # (B, S-1)
    return ((nll * keep).sum(-1) / keep.sum(-1).clamp(min=1)).cpu()


def downstream_score(
    model: Any,
    stimuli: Stimuli,
    receivers: Sequence[HeadId | str],
    behavior: str,
    hooks: Sequence[tuple[str, Any]] = (),
) -> Float[Tensor, " seq"]:
    """Per-sequence mean ``behavior`` score of the ``receivers`` heads (range 0..1)."""
    read_hooks, collected, last = _downstream_readers(model, stimuli, receivers, behavior)
    tokens = stimuli.tokens.to(model_device(model))
    with torch.inference_mode(), attached_hooks(model, list(hooks) + read_hooks):
        model(tokens, stop_at_layer=last + 1)
    return torch.cat(collected, dim=1).nanmean(1)


def _downstream_readers(
    model: Any, stimuli: Stimuli, receivers: Sequence[HeadId | str], behavior: str,
) -> tuple[list[tuple[str, Any]], list[Tensor], int]:
    """Pattern hooks that score the receivers for ``behavior`` (appending ``[batch,
    receivers in layer]`` to the returned list), and the last layer they read."""
    parsed = check_heads(list(receivers), int(model.cfg.n_layers), int(model.cfg.n_heads))
    if not parsed:
        raise ValueError(f"a downstream {behavior} score needs at least one receiver head")
    (chosen,) = resolve_behaviors([behavior])
    by_layer = _group_by_layer(parsed)
    tokens = stimuli.tokens.to(model_device(model))
    masks = target_masks(tokens, stimuli.valid.to(tokens.device), behaviors=[chosen])
    collected: list[Tensor] = []

    def make(layer: int, head_idx: list[int]):
        def read(pattern: Tensor, hook: Any) -> None:
            result = score_layer_all(pattern[:, head_idx].detach(), masks)[chosen.name]
            collected.append(result.score.cpu())  # (B, n receivers in layer)

        return read

    read_hooks = [(pattern_hook(layer), make(layer, idx)) for layer, idx in by_layer.items()]
    return read_hooks, collected, max(by_layer)


def summarise_effect(
    heads: Sequence[HeadId],
    method: str,
    metric: str,
    clean: Tensor,
    ablated: Tensor,
    effect: Tensor,
    scale: float,
    seed: int,
) -> AblationEffect:
    """An :class:`AblationEffect` from per-sequence ``clean``, ``ablated`` and ``effect``
    (oriented so positive means the heads helped): mean, standard error over sequences,
    and ``relative = effect / scale`` (NaN when ``scale`` is below :data:`MIN_SCALE`)."""
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
        relative=mean_effect / scale if scale > MIN_SCALE else float("nan"),
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
    clean: CleanRun | None = None,
) -> AblationEffect:
    """Ablate ``heads`` together and measure ``metric`` with and without the ablation.

    Args:
        model: a ``TransformerBridge`` (never modified; hooks always removed).
        stimuli: the inputs (``[BOS] r r`` for ``second_copy_loss``).
        heads: heads to ablate together, ``"L.H"`` or :class:`HeadId` (at least one).
        metric: ``second_copy_loss`` (relative effect: share of the first-to-second-copy
            loss drop that is lost), ``downstream_<behavior>`` (share of the receivers'
            score for that behavior that is lost; receivers must sit in later layers than
            every ablated head) or ``loss`` (share of what ablating every head costs).
        method: ``mean``, ``zero`` or ``resample``.
        receivers: heads whose score a ``downstream_<behavior>`` metric reads.
        seed: seed of the resampling permutation.
        clean: a :func:`clean_run` of ``stimuli``: the ablated pass then starts at the
            first ablated layer and the clean metric is measured once (same results, a
            fraction of the work when many ablations share the stimuli).

    Raises:
        ValueError: no heads, an unknown metric, method or head, or receivers missing or
            not in a later layer than the ablated heads.

    Example:
        >>> effect = measure_ablation(model, stimuli, ["1.0"])  # doctest: +SKIP
        >>> effect.relative  # share of the copying benefit lost
    """
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    if not parsed:
        raise ValueError("measure_ablation needs at least one head to ablate; got none")
    check_stimuli(model, stimuli, repeated=metric == "second_copy_loss")
    readers: list[HeadId] = []
    if metric.startswith(DOWNSTREAM):
        readers = check_heads(list(receivers), int(model.cfg.n_layers), int(model.cfg.n_heads))
        if not readers:
            raise ValueError(f"metric {metric!r} needs at least one receiver head")
        first = min(h.layer for h in parsed)
        early = [str(r) for r in readers if r.layer <= first]
        if early:
            raise ValueError(
                f"receivers {', '.join(early)} are not in a layer after the ablated heads "
                f"(earliest ablated layer {first}): ablating a head cannot change a head in "
                "its own or an earlier layer"
            )
        resolve_behaviors([metric[len(DOWNSTREAM):]])  # the behavior must be known
    elif metric not in ("second_copy_loss", "loss"):
        raise ValueError(
            f"unknown ablation metric {metric!r}; choose 'second_copy_loss', 'loss' or "
            "'downstream_<behavior>'"
        )
    if clean is not None and clean.stimuli is not stimuli:
        raise ValueError("the clean run was made on other stimuli")
    def hooks() -> list[tuple[str, Any]]:  # the whole passes' hooks (a rerun makes its own)
        return ablation_hooks(model, stimuli, parsed, method=method, seed=seed, clean=clean)

    if metric == "second_copy_loss":
        if clean is None:
            first, before = copy_losses(model, stimuli)
            _, ablated = copy_losses(model, stimuli, hooks())
        else:
            first, before = _clean_copy_losses(model, clean)
            second = copy_slices(int(stimuli.repeat_len))[1]
            final = ablated_resid(model, clean, parsed, method=method, seed=seed)
            with torch.inference_mode():
                ablated = copy_nll(model, final, stimuli.tokens, second).cpu()
        scale = float((first - before).mean())
        return summarise_effect(parsed, method, metric, before, ablated, ablated - before,
                                scale, seed)
    if metric == "loss":
        before = sequence_losses(model, stimuli)
        ablated = sequence_losses(model, stimuli, hooks())
        everything = ablation_hooks(
            model, stimuli, all_heads(int(model.cfg.n_layers), int(model.cfg.n_heads)),
            method=method, seed=seed, clean=clean,
        )
        scale = float((sequence_losses(model, stimuli, everything) - before).mean())
        return summarise_effect(parsed, method, metric, before, ablated, ablated - before,
                                scale, seed)
    behavior = metric[len(DOWNSTREAM):]
    if clean is None:
        before = downstream_score(model, stimuli, readers, behavior)
        ablated = downstream_score(model, stimuli, readers, behavior, hooks())
    else:
        key = (metric, tuple(str(r) for r in readers))
        if key not in clean.metrics:
            clean.metrics[key] = downstream_score(model, stimuli, readers, behavior)
        before = clean.metrics[key]
        read_hooks, collected, last = _downstream_readers(model, stimuli, readers, behavior)
        ablated_resid(model, clean, parsed, method=method, seed=seed, hooks=read_hooks,
                      hooks_from=min(r.layer for r in readers), stop=last + 1)
        ablated = torch.cat(collected, dim=1).nanmean(1)
    scale = float(before.mean())
    return summarise_effect(parsed, method, metric, before, ablated, before - ablated, scale,
                            seed)


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
