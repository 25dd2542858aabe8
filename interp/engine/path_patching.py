"""Exact path patching of single edges (sender -> receiver input), with a verdict.

Path patching replaces a sender's output by its ablation (``corrupt``, see
:mod:`interp.engine.edges`) *only along one path*: the residual that one receiver input
reads becomes ``clean residual + (corrupt - clean)`` of that sender, while every other
input and every other component (the heads in between included) keeps the clean value.

- into a head's ``q`` or ``k``: the head's attention is recomputed by hand with that input
  patched and the other clean, and its behavior score is read (0..1 per sequence);
  ``v``: attention does not read it, so the score is unchanged (effect exactly 0);
- into the ``logits`` (``out``): the residual leaving the last block gets the sender's
  change, and the second-copy loss is read (nats per sequence); for a confirmed head whose
  behavior's test reads the logits (``Confirmation.direct``: copy suppression's predicted
  logit), that test is read instead (:func:`patch_logit_direct`).

The effect per sequence is oriented so that positive means the sender helped along that
path (the receiver's score fell, the loss rose); its mean and standard error over the
sequences go to the one verdict rule, :func:`interp.results.evidence.decide`, applied to
the effect's size (an edge that clearly opposes the metric is confirmed too:
:func:`verdict`), with the receiver's clean score (or the first-to-second-copy loss drop,
for the logits) as the scale: ``confirmed`` / ``refuted`` / ``undecidable``.

A *set* of senders is path-patched the same way with the sum of their changes
(:func:`patch_head_sets`, :func:`patch_logit_sets`): redundant senders (two previous-token
heads feeding one induction head's key) each look refuted alone, since the other still
carries the signal, and only a group test shows them (:mod:`interp.pipeline.circuit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from ..model.heads import HeadId
from ..results.evidence import AblationEffect, Evidence, decide
from ..spec.behaviors import Behavior
from .ablation import copy_nll, copy_slices, summarise_effect
from .edges import (
    CHUNK,
    CircuitRun,
    Senders,
    behavior_masks,
    head_pattern,
    logit_losses,
    receiver_score,
)

#: The metric name of an edge into a head whose behavior is ``b``: ``downstream_<b>``
#: (the receiver's score for its behavior, as the ``downstream`` confirmation reads it).
DOWNSTREAM = "downstream_"
LOGIT_METRIC = "second_copy_loss"
#: The metric name of a confirmed ``b`` head's edge to the logits judged by its own
#: behavior's test (``Confirmation.direct``): ``direct_<b>``.
DIRECT = "direct_"


def patch_head_edges(
    model: Any, run: CircuitRun, senders: Senders, head: HeadId, behavior: Behavior,
    edges: Sequence[tuple[str, str]], *, method: str, seed: int,
) -> dict[tuple[str, str], AblationEffect]:
    """Path-patch each ``(sender, input)`` edge into ``head`` alone; its effect on the
    head's ``behavior`` score (per-sequence mean and standard error; module docstring)."""
    out: dict[tuple[str, str], AblationEffect] = {}
    for name in ("q", "k", "v"):
        chosen = [s for s, inp in edges if inp == name]
        found = patch_head_sets(model, run, senders, head, behavior, name,
                                [[s] for s in chosen], method=method, seed=seed)
        out.update({(s, name): effect for s, effect in zip(chosen, found)})
    return out


def patch_head_sets(
    model: Any, run: CircuitRun, senders: Senders, head: HeadId, behavior: Behavior,
    input: str, sets: Sequence[Sequence[str]], *, method: str, seed: int,
) -> list[AblationEffect]:
    """Path-patch each set of senders together into ``head``'s ``input`` (``q``, ``k`` or
    ``v``): the residual that input reads gets the sum of their changes; the effect on the
    head's ``behavior`` score, one per set, in order."""
    masks = behavior_masks(run, behavior)
    resid = run.resid_pre[head.layer]
    out: list[AblationEffect] = []
    with torch.no_grad():
        clean = receiver_score(head_pattern(model, head, resid, resid)[None], masks)[0]
        counted = ~torch.isnan(clean)  # (B,) sequences where the head has targets
        scale = float(clean[counted].mean()) if bool(counted.any()) else float("nan")
        for start in range(0, len(sets), CHUNK):
            part = sets[start : start + CHUNK]
            if input == "v":  # attention does not read the value input
                patched = clean[None].expand(len(part), -1)
            else:
                moved = resid[None] + torch.stack(
                    [_summed(senders, chosen) for chosen in part])  # (n, B, S, d_model)
                x_q, x_k = (moved, resid[None]) if input == "q" else (resid[None], moved)
                patched = receiver_score(head_pattern(model, head, x_q, x_k), masks)
            for chosen, row in zip(part, patched):  # row: (B,)
                out.append(summarise_effect(
                    list(chosen), method, DOWNSTREAM + behavior.name, clean[counted].cpu(),
                    row[counted].cpu(), (clean - row)[counted].double().cpu(), scale, seed))
    return out


def patch_logit_edges(
    model: Any, run: CircuitRun, senders: Senders, sources: Sequence[str], *, method: str,
    seed: int,
) -> dict[str, AblationEffect]:
    """Path-patch each sender's direct path to the logits alone; its effect on the
    second-copy loss (nats; scale: the first-to-second-copy loss drop)."""
    found = patch_logit_sets(model, run, senders, [[s] for s in sources], method=method,
                             seed=seed)
    return dict(zip(sources, found))


def patch_logit_direct(
    model: Any, run: CircuitRun, senders: Senders, source: str, behavior: Behavior, *,
    method: str, seed: int,
) -> AblationEffect:
    """Path-patch one sender's direct path to the logits and read its own behavior's test
    there (``behavior.confirmation.direct``, metric ``direct_<behavior>``): effect =
    patched minus clean value (positive: the sender did its job along that path), scale =
    the larger magnitude of the two means (``relative``: the share of the value the path
    moves)."""
    direct = behavior.confirmation.direct
    if direct is None:
        raise ValueError(f"behavior {behavior.name!r} has no direct test of the logits")
    with torch.no_grad():
        clean = direct(model, run.stimuli, run.final, run.final).float()  # (B,)
        final = run.final + _summed(senders, [source])
        patched = direct(model, run.stimuli, run.final, final).float()  # (B,)
    scale = max(abs(float(clean.mean())), abs(float(patched.mean())))
    return summarise_effect([source], method, DIRECT + behavior.name, clean.cpu(),
                            patched.cpu(), (patched - clean).double().cpu(), scale, seed)


def patch_logit_sets(
    model: Any, run: CircuitRun, senders: Senders, sets: Sequence[Sequence[str]], *,
    method: str, seed: int,
) -> list[AblationEffect]:
    """Path-patch each set of senders' direct paths to the logits together (the sum of
    their changes); the effect on the second-copy loss, one per set, in order."""
    tokens = run.stimuli.tokens
    first_copy = copy_slices(int(run.stimuli.repeat_len))[0]
    out: list[AblationEffect] = []
    with torch.no_grad():
        clean = logit_losses(model, run, run.final)  # (B,)
        first = copy_nll(model, run.final, tokens, first_copy)
        scale = float((first - clean).mean())
        for chosen in sets:
            patched = logit_losses(model, run, run.final + _summed(senders, chosen))
            out.append(summarise_effect(list(chosen), method, LOGIT_METRIC, clean.cpu(),
                                        patched.cpu(), (patched - clean).double().cpu(),
                                        scale, seed))
    return out


def _summed(senders: Senders, chosen: Sequence[str]) -> Tensor:
    """The summed change of the ``chosen`` senders, ``[batch, pos, d_model]``."""
    return senders.deltas[[senders.index(s) for s in chosen]].sum(0)


def verdict(effect: AblationEffect, min_effect: float, z: float) -> Evidence:
    """The registry's verdict rule on one path-patching effect, on its size in either
    direction: an edge is in the circuit when the receiver reads what the sender sends,
    whether it helps the receiver's metric (positive ``effect``) or opposes it (negative: a
    copy suppressor's edge to the logits raises the loss it is measured by, as IOI's
    negative name movers do). ``relative`` keeps the sign; the reason says "opposes"."""
    evidence = Evidence.from_effect(effect, min_effect, z)
    if effect.effect >= 0 or evidence.status == "undecidable":
        return evidence
    opposed = decide(-effect.effect, effect.stderr, effect.scale, min_effect, z, effect.metric)
    if opposed.status != "confirmed":
        return evidence
    return replace(evidence, status="confirmed",
                   reason=f"opposes the receiver's metric: {opposed.reason}")
