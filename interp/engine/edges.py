"""Edges between components, and their attribution scores (edge attribution patching).

The residual stream entering block ``L`` is the sum of what every earlier *sender* wrote:
the embeddings (``embed``: token plus position), each head ``l.h`` of a layer ``l < L``
(its ``hook_z`` output times its ``W_O`` slice; the layer's ``b_O`` is no node) and each
MLP ``mlp.l`` with ``l < L``. A *receiver* head ``L.H`` reads that stream through three
inputs: the LayerNorm'd residual that its ``W_Q``, ``W_K`` and ``W_V`` multiply (``q``,
``k``, ``v``). The ``logits`` node reads the residual leaving the last block (``out``).
An edge is (sender, receiver, input).

Each sender's *corrupt* output is its ablation (:mod:`interp.spec.ablation_methods`:
``mean`` by default); ``delta = corrupt - clean``, ``[batch, pos, d_model]``.

**Receiver metrics.** A receiver head's metric is its own behavior's score from the
registry (:mod:`interp.engine.scoring`: the attention mass on the behavior's targets,
0..1, averaged over the queries that have a target), per sequence; a user-registered
behavior gets its metric the same way. Attention depends on ``q`` and ``k`` only, so a
``v`` edge into a head never changes this metric (its score and effect are exactly 0).
The ``logits`` metric is the second-copy loss of ``[BOS] r r``
(:func:`interp.engine.ablation.copy_nll`, nats).

**Attribution score** (edge attribution patching, Syed et al. 2023): the first-order
change of the receiver's metric when the sender's output is replaced along that edge only,
``delta . d metric / d input``, summed over positions, averaged over sequences, and
oriented so that a positive score means the sender *helped* (the receiver's score would
fall, the loss would rise). Units: score points (0..1 scale) for heads, nats for the
logits; unbounded in sign. With ``steps > 0`` the gradient is averaged over ``steps``
points on the straight path from the clean input to the input with *every* sender it
reads corrupted (EAP-IG, Hanna et al. 2024): at the clean point a saturated softmax or
loss has almost no gradient (a planted induction head's true key edge scores 0 there, and
its logit edge gets the wrong sign), along the path it does. A few backward passes per
receiver head (through that head's attention alone, computed by hand from the residual)
and through the unembedding score every edge at once: the cost does not grow with the
number of edges.

The receiver's attention is recomputed here from the cached residual (its ``ln1``, ``W_Q``,
``W_K``, biases (zero where the model has none), the rotary position embedding on a rotary
model (the model's own ``rotary_emb`` cos/sin, applied as Hugging Face's
``apply_rotary_pos_emb`` does: ``q cos + rotate_half(q) sin``, on the first
``cos.shape[-1]`` dimensions of the head), scale and causal mask; grouped-query heads read
their shared key); :func:`check_by_hand` compares it with the model's own pattern first.
A rotary model without a ``rotary_emb`` module to call is refused with a message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor

from ..model.heads import HeadId
from ..model.hooks import (
    attached_hooks,
    mlp_out_hook,
    pattern_hook,
    resid_post_hook,
    resid_pre_hook,
    z_hook,
)
from ..model.loading import model_device, uses_rotary
from ..spec.ablation_methods import ablation_method
from ..spec.behaviors import Behavior, Predictions
from ..stimuli.tokens import Stimuli
from .ablation import copy_nll, copy_slices, stop_forward
from .census import predictions_from_final
from .scoring import TargetMasks, score_layer_all, target_masks

#: The node every embedding writes as (token plus position), and the output node.
EMBED = "embed"
LOGITS = "logits"
#: The inputs an edge can enter: a head's query, key or value input, or the logits.
HEAD_INPUTS = ("q", "k", "v")
OUT = "out"
#: Senders patched together in one batched recomputation of a receiver's attention.
CHUNK = 16


def mlp_label(layer: int) -> str:
    """The node label of layer ``layer``'s MLP (``mlp.0``)."""
    return f"mlp.{layer}"


@dataclass
class CircuitRun:
    """One clean pass over ``[BOS] r r`` stimuli with what edge scoring reads.

    Attributes:
        stimuli: the stimuli (unpadded).
        resid_pre: layer -> residual entering the block, ``[batch, pos, d_model]``.
        z: layer -> head outputs before ``W_O``, ``[batch, pos, head, d_head]``.
        mlp_out: layer -> MLP output (empty for attention-only models).
        patterns: layer -> attention pattern, ``[batch, head, query, key]``.
        final: residual leaving the last block.
        predictions: the model's top next-token prediction and its probability at every
            position (for behaviors whose targets need them).
    """

    stimuli: Stimuli
    resid_pre: dict[int, Tensor]
    z: dict[int, Tensor]
    mlp_out: dict[int, Tensor]
    patterns: dict[int, Tensor]
    final: Tensor
    predictions: Predictions


def check_supported(model: Any) -> None:
    """Refuse models whose attention this module cannot recompute by hand.

    Raises:
        ValueError: a rotary model without a ``rotary_emb`` module that makes the
            (cos, sin) its blocks receive (RoPE could not be reproduced here).
    """
    if uses_rotary(model) and getattr(model, "rotary_emb", None) is None:
        raise ValueError(
            "circuit edges are not supported on this rotary model: it has no rotary_emb "
            "module to make the position embeddings the receiver's attention is "
            "recomputed with"
        )


def circuit_run(model: Any, stimuli: Stimuli) -> CircuitRun:
    """The clean pass of :class:`CircuitRun` (no hooks stay on the model).

    Raises:
        ValueError: padded stimuli, or a model :func:`check_supported` refuses.
    """
    check_supported(model)
    if not bool(stimuli.valid.all()):
        raise ValueError("circuit edges need unpadded stimuli")
    n_layers = int(model.cfg.n_layers)
    has_mlp = not bool(getattr(model.cfg, "attn_only", False))
    store: dict[str, dict[int, Tensor]] = {"resid": {}, "z": {}, "mlp": {}, "pattern": {}}

    def keep(kind: str, layer: int) -> Any:
        def fn(activation: Tensor, hook: Any) -> None:
            store[kind][layer] = activation.detach().clone()

        return fn

    hooks = []
    for layer in range(n_layers):
        hooks += [(resid_pre_hook(layer), keep("resid", layer)),
                  (z_hook(layer), keep("z", layer)),
                  (pattern_hook(layer), keep("pattern", layer))]
        if has_mlp:
            hooks.append((mlp_out_hook(layer), keep("mlp", layer)))
    hooks.append((resid_post_hook(n_layers - 1), stop_forward))
    tokens = stimuli.tokens.to(model_device(model))
    with torch.no_grad(), attached_hooks(model, hooks):
        final = model(tokens).detach().clone()
    return CircuitRun(stimuli=stimuli, resid_pre=store["resid"], z=store["z"],
                      mlp_out=store["mlp"], patterns=store["pattern"], final=final,
                      predictions=predictions_from_final(model, final))


@dataclass(frozen=True)
class Senders:
    """Every sender's ``delta = corrupt - clean`` output in the residual stream.

    Attributes:
        labels: node labels (``embed``, ``L.H``, ``mlp.L``), in residual order.
        layers: the layer each sender writes at (``embed``: -1; a head or MLP: its layer);
            a receiver head in layer ``L`` reads the senders with ``layer < L``.
        deltas: ``[sender, batch, pos, d_model]``.
    """

    labels: tuple[str, ...]
    layers: tuple[int, ...]
    deltas: Float[Tensor, "sender batch pos d_model"]

    def before(self, layer: int) -> list[int]:
        """Indices of the senders a receiver in ``layer`` reads (``layer`` > every layer
        in the model for the logits)."""
        return [i for i, lay in enumerate(self.layers) if lay < layer]

    def index(self, label: str) -> int:
        return self.labels.index(label)


def sender_deltas(model: Any, run: CircuitRun, *, method: str = "mean", seed: int = 0,
                  ) -> Senders:
    """What each sender's ablation (``method``, seeded) changes in the residual stream."""
    chosen = ablation_method(method)
    chosen.check(run.stimuli.n_seqs)
    valid = run.stimuli.valid.to(run.final.device)
    labels, layers, deltas = [EMBED], [-1], [_delta(chosen, run.resid_pre[0], valid, seed)]
    w_o = model.W_O.detach()  # (L, H, d_head, d_model)
    for layer in range(int(model.cfg.n_layers)):
        z = run.z[layer]  # (B, S, H, d_head)
        diff = chosen.difference(chosen.values(z, valid, seed), z).expand_as(z)
        per_head = torch.einsum("bshd,hdm->hbsm", diff, w_o[layer].to(z.dtype))
        for head in range(per_head.shape[0]):
            labels.append(str(HeadId(layer, head)))
            layers.append(layer)
            deltas.append(per_head[head])
        if layer in run.mlp_out:
            labels.append(mlp_label(layer))
            layers.append(layer)
            deltas.append(_delta(chosen, run.mlp_out[layer], valid, seed))
    return Senders(labels=tuple(labels), layers=tuple(layers), deltas=torch.stack(deltas))


def _delta(chosen: Any, out: Tensor, valid: Tensor, seed: int) -> Tensor:
    """``corrupt - clean`` of a ``[batch, pos, d_model]`` output (ablated as one head)."""
    as_head = out[:, :, None, :]  # (B, S, 1, d_model)
    diff = chosen.difference(chosen.values(as_head, valid, seed), as_head)
    return diff.expand_as(as_head)[:, :, 0]


def head_pattern(
    model: Any, head: HeadId, x_q: Float[Tensor, "... pos d_model"],
    x_k: Float[Tensor, "... pos d_model"],
) -> Float[Tensor, "... query key"]:
    """Head ``head``'s attention pattern computed by hand from the residual its query
    reads (``x_q``) and the one its key reads (``x_k``): ``ln1``, ``W_Q``/``W_K`` and
    biases, the rotary embedding (rotary models), the model's score scale, the causal
    mask and a softmax. Leading dimensions broadcast; differentiable."""
    lead = torch.broadcast_shapes(x_q.shape[:-2], x_k.shape[:-2])
    x_q, x_k = x_q.expand(*lead, *x_q.shape[-2:]), x_k.expand(*lead, *x_k.shape[-2:])
    n_pos, d_model = x_q.shape[-2], x_q.shape[-1]
    ln = model.blocks[head.layer].ln1
    group = int(model.cfg.n_heads) // int(model.W_K.shape[1])
    w_q = model.W_Q[head.layer, head.head]  # (d_model, d_head)
    w_k = model.W_K[head.layer, head.head // group]  # (d_model, d_head)
    q = ln(x_q.reshape(-1, n_pos, d_model)) @ w_q  # (N, Q, d_head)
    k = ln(x_k.reshape(-1, n_pos, d_model)) @ w_k  # (N, K, d_head)
    b_q, b_k = _bias(model, "b_Q", head.layer, head.head), _bias(model, "b_K", head.layer,
                                                                  head.head // group)
    q, k = (q if b_q is None else q + b_q), (k if b_k is None else k + b_k)
    if uses_rotary(model):
        cos, sin = rotary_cos_sin(model, q, n_pos)  # (1, S, d_rot) each
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
    scores = q @ k.transpose(-1, -2) / _attention_scale(model)  # (N, Q, K)
    causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=scores.device).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    return torch.softmax(scores.float(), dim=-1).reshape(*lead, n_pos, n_pos)


def _bias(model: Any, name: str, layer: int, head: int) -> Tensor | None:
    """A head's query or key bias ``[d_head]``; None for a bias-free projection (the
    bridge raises AttributeError on the stacked bias of such a model, or gives None)."""
    try:
        stacked = getattr(model, name)
    except AttributeError:
        return None
    return None if stacked is None else stacked[layer, head]


def rotary_cos_sin(model: Any, like: Tensor, n_pos: int) -> tuple[Tensor, Tensor]:
    """The (cos, sin) the model's ``rotary_emb`` hands its blocks for positions
    ``0..n_pos-1``, ``[1, pos, d_rot]`` each, in ``like``'s dtype and device."""
    positions = torch.arange(n_pos, device=like.device)[None]  # (1, S)
    cos, sin = model.rotary_emb(like, positions)
    return cos.to(like.dtype), sin.to(like.dtype)


def apply_rotary(
    x: Float[Tensor, "... pos d_head"], cos: Float[Tensor, "... pos d_rot"],
    sin: Float[Tensor, "... pos d_rot"],
) -> Float[Tensor, "... pos d_head"]:
    """Rotate the first ``d_rot`` dimensions of ``x`` by position (Hugging Face's
    ``apply_rotary_pos_emb``: ``x cos + rotate_half(x) sin``, halves not interleaved); the
    rest pass through (partial rotary)."""
    d_rot = cos.shape[-1]
    rot, rest = x[..., :d_rot], x[..., d_rot:]
    first, second = rot[..., : d_rot // 2], rot[..., d_rot // 2 :]
    rotated = torch.cat([-second, first], dim=-1)  # rotate_half
    return torch.cat([rot * cos + rotated * sin, rest], dim=-1)


def _attention_scale(model: Any) -> float:
    if not bool(getattr(model.cfg, "use_attn_scale", True)):
        return 1.0
    scale = float(getattr(model.cfg, "attn_scale", -1.0))
    return scale if scale > 0 else math.sqrt(float(model.cfg.d_head))


def check_by_hand(model: Any, run: CircuitRun, heads: Sequence[HeadId]) -> None:
    """Check that :func:`head_pattern` reproduces the model's own pattern of ``heads``.

    Raises:
        ValueError: it does not (an attention this module does not know how to recompute).
    """
    with torch.no_grad():
        for head in heads:
            resid = run.resid_pre[head.layer]
            mine = head_pattern(model, head, resid, resid)  # (B, Q, K)
            theirs = run.patterns[head.layer][:, head.head].float()
            if not torch.allclose(mine, theirs, atol=1e-4, rtol=1e-3):
                worst = float((mine - theirs).abs().max())
                raise ValueError(
                    f"cannot recompute head {head}'s attention by hand (differs from the "
                    f"model's by up to {worst:.3g}): circuit edges are not supported on this "
                    "architecture"
                )


def behavior_masks(run: CircuitRun, behavior: Behavior) -> TargetMasks:
    """The targets of ``behavior`` on the run's stimuli (with the run's predictions)."""
    tokens = run.stimuli.tokens.to(run.final.device)
    return target_masks(tokens, run.stimuli.valid.to(tokens.device), behaviors=[behavior],
                        predictions=run.predictions)


def receiver_score(
    pattern: Float[Tensor, "sender batch query key"], masks: TargetMasks,
) -> Float[Tensor, "sender batch"]:
    """The behavior score (0..1) of a receiver's pattern per sequence, NaN where no query
    of the sequence has a target (one behavior in ``masks``)."""
    (name,) = list(masks.targets)
    return score_layer_all(pattern.transpose(0, 1), masks)[name].score.transpose(0, 1)


def ig_points(steps: int) -> list[float]:
    """Where along the path from clean (0) to every sender corrupted (1) the gradient is
    taken: the midpoints of ``steps`` equal intervals; ``steps = 0``: the clean point
    only (plain edge attribution patching)."""
    if steps < 0:
        raise ValueError(f"ig_steps must be 0 or more, got {steps}")
    return [0.0] if steps == 0 else [(k + 0.5) / steps for k in range(steps)]


def receiver_inputs(
    model: Any, run: CircuitRun, head: HeadId, masks: TargetMasks, direction: Tensor,
    steps: int,
) -> tuple[Tensor, dict[str, Tensor]]:
    """The receiver's clean score per sequence ``[batch]``, and the gradient of its mean
    (over the sequences that have one) with respect to each input's residual (``q``,
    ``k``, ``v``; ``[batch, pos, d_model]``), averaged over :func:`ig_points` on the path
    ``resid + alpha * direction`` (``v``'s is zero: attention does not read it)."""
    resid = run.resid_pre[head.layer]
    with torch.no_grad():
        clean = receiver_score(head_pattern(model, head, resid, resid)[None], masks)[0]  # (B,)
    counted = ~torch.isnan(clean)
    grad_q, grad_k = torch.zeros_like(resid), torch.zeros_like(resid)
    points = ig_points(steps)
    with torch.inference_mode(False), torch.enable_grad():
        for alpha in points:
            start = (resid + alpha * direction).detach()
            x_q = start.clone().requires_grad_(True)
            x_k = start.clone().requires_grad_(True)
            score = receiver_score(head_pattern(model, head, x_q, x_k)[None], masks)[0]
            total = torch.where(counted, score, torch.zeros_like(score)).sum()
            g_q, g_k = torch.autograd.grad(total / counted.sum().clamp(min=1), [x_q, x_k])
            grad_q += g_q / len(points)
            grad_k += g_k / len(points)
    return clean, {"q": grad_q, "k": grad_k, "v": torch.zeros_like(grad_q)}


def attribution(deltas: Tensor, grad: Tensor, n_seqs: int) -> Float[Tensor, "sender batch"]:
    """``delta . grad`` per sender and sequence (summed over positions and width), times
    the number of sequences (the gradient is of a mean over them): the first-order change
    of each sequence's metric."""
    return torch.einsum("nbsd,bsd->nb", deltas.double(), grad.double()) * n_seqs


def head_edge_scores(
    model: Any, run: CircuitRun, senders: Senders, head: HeadId, behavior: Behavior, *,
    steps: int = 0,
) -> dict[tuple[str, str], float]:
    """The attribution score of every edge into ``head``: ``(sender, input) -> score``
    (positive: the sender helps the head's ``behavior`` score; module docstring), with
    the gradient averaged over ``steps`` points of the path to every sender corrupted."""
    masks = behavior_masks(run, behavior)
    idx = senders.before(head.layer)
    clean, grads = receiver_inputs(model, run, head, masks, senders.deltas[idx].sum(0), steps)
    counted = ~torch.isnan(clean)
    out: dict[tuple[str, str], float] = {}
    for name in HEAD_INPUTS:
        change = attribution(senders.deltas[idx], grads[name], int(counted.sum()))  # (N, B)
        score = -change[:, counted].mean(1)  # the score falls when the sender helped
        for i, value in zip(idx, score.tolist()):
            out[senders.labels[i], name] = float(value)
    return out


def logit_losses(model: Any, run: CircuitRun, final: Tensor) -> Float[Tensor, " batch"]:
    """Second-copy loss per sequence (nats) from a residual leaving the last block."""
    second = copy_slices(int(run.stimuli.repeat_len))[1]
    return copy_nll(model, final, run.stimuli.tokens, second)


def logit_edge_scores(
    model: Any, run: CircuitRun, senders: Senders, *, steps: int = 0,
    value: Callable[[Tensor], Tensor] | None = None,
) -> dict[str, float]:
    """The attribution score of every sender (heads and MLPs) into the logits: the
    first-order rise of the second-copy loss (nats) when its output is replaced on the
    direct path to the unembedding only (positive: the sender helped), with the gradient
    averaged over ``steps`` points of the path to every such sender corrupted.

    ``value``: another ``[batch]`` function of the residual leaving the last block to
    score by instead of the loss (rising when a sender's help is taken out; a behavior's
    ``Confirmation.direct``)."""
    if value is None:
        def value(final: Tensor) -> Tensor:
            return logit_losses(model, run, final)
    idx = [i for i, label in enumerate(senders.labels) if label != EMBED]
    direction = senders.deltas[idx].sum(0)
    grad = torch.zeros_like(run.final)
    points = ig_points(steps)
    with torch.inference_mode(False), torch.enable_grad():
        for alpha in points:
            final = (run.final + alpha * direction).detach().requires_grad_(True)
            (g,) = torch.autograd.grad(value(final).mean(), [final])
            grad += g / len(points)
    change = attribution(senders.deltas[idx], grad, run.stimuli.n_seqs)  # (N, B)
    return {senders.labels[i]: float(v) for i, v in zip(idx, change.mean(1).tolist())}
