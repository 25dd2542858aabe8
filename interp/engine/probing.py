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

from collections.abc import Sequence
from typing import Any

from probes import fit_linear_probe

from ..model.hooks import capture, resid_post_hook, resid_pre_hook
from ..results.classification import LayerProbes
from ..spec.probe_tasks import ProbeTask, probe_task
from ..stimuli.tokens import Stimuli


def probe_layers(
    model: Any,
    stimuli: Stimuli,
    task: ProbeTask | str,
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
        task: a :class:`ProbeTask` or a registered name (:mod:`interp.spec.probe_tasks`).
        hooks: extra forward hooks during capture, e.g. :func:`interp.ablation_hooks`.
        ablated, method: recorded in the result to say which ablation ``hooks`` perform.
        seed: seed of the probes' train/test split.

    Raises:
        ValueError: unknown task.

    Example:
        >>> probe_layers(model, occurrence_tokens(32, 40, vocab_size=64), "occurred_before")
        ... # doctest: +SKIP
    """
    spec = probe_task(task)
    n_layers = int(model.cfg.n_layers)
    sites = [resid_pre_hook(0)] + [resid_post_hook(layer) for layer in range(n_layers)]
    captured = {
        site: act.float().cpu()
        for site, act in capture(model, stimuli.tokens, sites, hooks=hooks,
                                 stop_at_layer=n_layers).items()
    }
    labels, keep = spec.labels(stimuli.tokens, stimuli.valid)
    results = tuple(
        fit_linear_probe(captured[site][keep], labels[keep], task=spec.name, site=site,
                         seed=seed)
        for site in sites
    )
    return LayerProbes(task=spec.name, results=results, ablated=tuple(str(h) for h in ablated),
                       method=method)
