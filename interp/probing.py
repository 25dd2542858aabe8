"""Probe tasks read from the residual stream after every layer.

A :class:`ProbeTask` names a label rule and the stimuli it is read on; behaviors refer to
tasks by name (a ``probe`` confirmation, or supplementary evidence). Built in:

- ``previous_token_identity``: the identity of the previous token (what a previous-token
  head writes), multiclass; chance is the most common previous token. Read on the census'
  ``[BOS] r r`` stimuli; skipped for vocabularies above ``max_classes``.
- ``occurred_before``: whether the current token occurred earlier in the sequence (what a
  duplicate-token head writes). It is probed on :func:`interp.occurrence_tokens`
  sequences, where the answer is independent of the position, so the probe cannot cheat by
  reading the position.

The activations are captured here (one hooked pass, optionally under ablation hooks); the
probes themselves (:mod:`probes`) see activations and labels only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from probes import ProbeResult, fit_linear_probe, occurred_before_labels, previous_token_labels

from .hooks import capture, resid_post_hook, resid_pre_hook
from .results import LayerProbes
from .stimuli import Stimuli

__all__ = ["PROBE_TASKS", "LayerProbes", "ProbeTask", "probe_layers", "register_probe_task"]


@dataclass(frozen=True)
class ProbeTask:
    """A probe: labels from tokens, and which stimuli to read them on.

    Attributes:
        name: the task's name.
        labels: ``labels(tokens, valid) -> (labels [batch, pos], keep [batch, pos])``.
        stimuli: ``"census"`` (the ``[BOS] r r`` stimuli) or ``"occurrence"``
            (:func:`interp.occurrence_tokens`, where occurrence is independent of position).
        max_classes: skip the task for vocabularies larger than this (multiclass labels).
    """

    name: str
    labels: Callable[..., Any]
    stimuli: str = "census"
    max_classes: int | None = None


#: Probe tasks by name (add with :func:`register_probe_task`).
PROBE_TASKS: dict[str, ProbeTask] = {}


def register_probe_task(task: ProbeTask) -> ProbeTask:
    """Add a probe task that behaviors can name."""
    if task.stimuli not in ("census", "occurrence"):
        raise ValueError(f"probe task {task.name!r}: stimuli must be 'census' or 'occurrence'")
    PROBE_TASKS[task.name] = task
    return task


register_probe_task(ProbeTask("previous_token_identity", previous_token_labels,
                              stimuli="census", max_classes=1024))
register_probe_task(ProbeTask("occurred_before", occurred_before_labels, stimuli="occurrence"))


def probe_layers(
    model: Any,
    stimuli: Stimuli,
    task: str,
    *,
    hooks: Sequence[tuple[str, Any]] = (),
    ablated: Sequence[str] = (),
    method: str = "mean",
    seed: int = 0,
) -> LayerProbes:
    """Fit ``task``'s probe on the residual stream at the embedding and after each layer.

    Args:
        model: a ``TransformerBridge`` (not modified; hooks always removed).
        stimuli: the sequences (for ``occurred_before`` use :func:`interp.occurrence_tokens`).
        task: one of :data:`PROBE_TASKS`.
        hooks: extra forward hooks during capture, e.g. :func:`interp.ablation_hooks`.
        ablated, method: recorded in the result to say which ablation ``hooks`` perform.
        seed: seed of the probes' train/test split.

    Raises:
        ValueError: unknown task.

    Example:
        >>> probe_layers(model, occurrence_tokens(32, 40, vocab_size=64), "occurred_before")
        ... # doctest: +SKIP
    """
    if task not in PROBE_TASKS:
        raise ValueError(f"unknown probe task {task!r}; choose from {list(PROBE_TASKS)}")
    n_layers = int(model.cfg.n_layers)
    sites = [resid_pre_hook(0)] + [resid_post_hook(layer) for layer in range(n_layers)]
    captured = {
        site: act.float().cpu()
        for site, act in capture(model, stimuli.tokens, sites, hooks=hooks,
                                 stop_at_layer=n_layers).items()
    }
    labels, keep = PROBE_TASKS[task].labels(stimuli.tokens, stimuli.valid)
    results = tuple(
        fit_linear_probe(captured[site][keep], labels[keep], task=task, site=site, seed=seed)
        for site in sites
    )
    return LayerProbes(task=task, results=results, ablated=tuple(str(h) for h in ablated),
                       method=method)
