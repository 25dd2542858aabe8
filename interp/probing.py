"""Built-in probe tasks read from the residual stream after every layer.

Two tasks tied to the behaviors:

- ``previous_token``: the identity of the previous token (what a previous-token head
  writes), multiclass; chance is the most common previous token.
- ``occurred_before``: whether the current token occurred earlier in the sequence (what a
  duplicate-token head writes). It is probed on :func:`interp.occurrence_tokens`
  sequences, where the answer is independent of the position, so the probe cannot cheat by
  reading the position.

The activations are captured here (one hooked pass, optionally under ablation hooks); the
probes themselves (:mod:`probes`) see activations and labels only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


from probes import ProbeResult, fit_linear_probe, occurred_before_labels, previous_token_labels

from .hooks import capture, resid_post_hook, resid_pre_hook
from .stimuli import Stimuli

__all__ = ["PROBE_TASKS", "LayerProbes", "probe_layers"]

PROBE_TASKS = ("previous_token", "occurred_before")


@dataclass(frozen=True)
class LayerProbes:
    """One probe task's held-out accuracy at the embedding and after every layer.

    Attributes:
        task: ``previous_token`` or ``occurred_before``.
        results: one :class:`probes.ProbeResult` per site: ``blocks.0.hook_resid_pre``
            (the embedding), then ``blocks.L.hook_resid_post`` for each layer.
        ablated: heads ablated while capturing (empty for a clean run).
        method: the ablation method (when ``ablated`` is not empty).
    """

    task: str
    results: tuple[ProbeResult, ...]
    ablated: tuple[str, ...] = ()
    method: str = "mean"

    @property
    def accuracy(self) -> list[float]:
        return [r.accuracy for r in self.results]

    def to_dict(self) -> dict:
        return {"task": self.task, "results": [r.to_dict() for r in self.results],
                "ablated": list(self.ablated), "method": self.method}

    @classmethod
    def from_dict(cls, data: dict) -> "LayerProbes":
        return cls(task=data["task"],
                   results=tuple(ProbeResult.from_dict(r) for r in data["results"]),
                   ablated=tuple(data.get("ablated", ())), method=data.get("method", "mean"))

    def to_table(self) -> list[dict]:
        """Long rows: task, site, depth (0 = embedding), accuracy, chance."""
        return [{"task": self.task, "site": r.site, "depth": i, "accuracy": r.accuracy,
                 "chance": r.chance, "ablated": "+".join(self.ablated)}
                for i, r in enumerate(self.results)]


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
        raise ValueError(f"unknown probe task {task!r}; choose from {PROBE_TASKS}")
    n_layers = int(model.cfg.n_layers)
    sites = [resid_pre_hook(0)] + [resid_post_hook(layer) for layer in range(n_layers)]
    captured = {
        site: act.float().cpu()
        for site, act in capture(model, stimuli.tokens, sites, hooks=hooks,
                                 stop_at_layer=n_layers).items()
    }
    if task == "occurred_before":
        labels, keep = occurred_before_labels(stimuli.tokens, stimuli.valid)
    else:
        labels, keep = previous_token_labels(stimuli.tokens, stimuli.valid)
    results = tuple(
        fit_linear_probe(captured[site][keep], labels[keep], task=task, site=site, seed=seed)
        for site in sites
    )
    return LayerProbes(task=task, results=results, ablated=tuple(str(h) for h in ablated),
                       method=method)
