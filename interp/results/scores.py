"""The census result: every head's score, null and spread for each behavior.

Scores are those of :mod:`interp.engine.scoring` (attention on a behavior's targets, 0..1),
the null the same head's attention on chance keys, and the lift
``(score - null) / (1 - null)``: the share of the attention beyond chance that lands on the
targets. Pure data (no model is run here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from jaxtyping import Float
from torch import Tensor

from ..io.jsonsafe import tensor_from_list, tensor_to_list


def lift(
    score: Float[Tensor, "..."], null: Float[Tensor, "..."]
) -> Float[Tensor, "..."]:
    """``(score - null) / (1 - null)``: share of the attention beyond chance on targets."""
    return (score - null) / (1 - null).clamp(min=1e-6)


class ScoreSummary(NamedTuple):
    """One behavior's statistics for every head, each ``[layer, head]``: mean score and null
    (0..1), lift ``(score - null) / (1 - null)`` and the standard error of score - null
    over sequences."""

    score: Float[Tensor, "layer head"]
    null: Float[Tensor, "layer head"]
    lift: Float[Tensor, "layer head"]
    stderr: Float[Tensor, "layer head"]


@dataclass(frozen=True)
class HeadScores:
    """Every head's score, null and spread for each behavior, from one forward pass.

    Attributes:
        model_name: what was scored.
        n_layers, n_heads: the model's shape.
        per_seq_score: behavior -> ``[seq, layer, head]`` per-sequence score (NaN where a
            sequence had no counted query).
        per_seq_null: behavior -> ``[seq, layer, head]`` per-sequence null.
        n_queries: behavior -> total number of counted queries.
        stimuli: description of the inputs (kind, sizes, seed).
        distance: ``[layer, head, distance]`` mean attention on the key ``d`` back (see
            :func:`distance_profile`), or None when not measured.
    """

    model_name: str
    n_layers: int
    n_heads: int
    per_seq_score: dict[str, Float[Tensor, "seq layer head"]]
    per_seq_null: dict[str, Float[Tensor, "seq layer head"]]
    n_queries: dict[str, int]
    stimuli: dict
    distance: Float[Tensor, "layer head distance"] | None = None

    @property
    def behaviors(self) -> tuple[str, ...]:
        return tuple(self.per_seq_score)

    def score(self, behavior: str) -> Float[Tensor, "layer head"]:
        """Mean score over sequences, ``[layer, head]``, range 0..1."""
        return self.per_seq_score[self._check(behavior)].nanmean(0)

    def null(self, behavior: str) -> Float[Tensor, "layer head"]:
        """Mean null over sequences, ``[layer, head]``, range 0..1."""
        return self.per_seq_null[self._check(behavior)].nanmean(0)

    def lift(self, behavior: str) -> Float[Tensor, "layer head"]:
        """``(score - null) / (1 - null)``, ``[layer, head]``, range -1..1."""
        return lift(self.score(behavior), self.null(behavior))

    def stderr(self, behavior: str) -> Float[Tensor, "layer head"]:
        """Standard error over sequences of ``score - null`` (paired), ``[layer, head]``."""
        diff = self.per_seq_score[self._check(behavior)] - self.per_seq_null[behavior]
        present = ~torch.isnan(diff)
        n = present.sum(0).clamp(min=1)
        mean = diff.nanmean(0)
        var = torch.where(present, (diff - mean) ** 2, torch.zeros_like(diff)).sum(0)
        var = var / (n - 1).clamp(min=1)
        return (var / n).sqrt()

    def summary(self, behavior: str) -> ScoreSummary:
        """Score, null, lift and standard error of ``behavior``, each ``[layer, head]``,
        computed once (the classifier reads all four for every head)."""
        return ScoreSummary(self.score(behavior), self.null(behavior), self.lift(behavior),
                            self.stderr(behavior))

    def _check(self, behavior: str) -> str:
        if behavior not in self.per_seq_score:
            raise KeyError(f"unknown behavior {behavior!r}; scored: {list(self.per_seq_score)}")
        return behavior

    def to_table(self) -> list[dict]:
        """Long format: one row per head and behavior (layer, head, label, behavior, value,
        null, lift, stderr), ready for ``pandas.DataFrame`` or plotly."""
        rows = []
        for behavior in self.behaviors:
            stats = {
                "value": self.score(behavior),
                "null": self.null(behavior),
                "lift": self.lift(behavior),
                "stderr": self.stderr(behavior),
            }
            for layer in range(self.n_layers):
                for head in range(self.n_heads):
                    row = {"layer": layer, "head": head, "label": f"{layer}.{head}",
                           "behavior": behavior}
                    row.update({k: float(v[layer, head]) for k, v in stats.items()})
                    rows.append(row)
        return rows

    def to_dict(self) -> dict:
        """JSON-safe form; :meth:`from_dict` restores an equal object."""
        return {
            "model_name": self.model_name,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "per_seq_score": {b: tensor_to_list(t) for b, t in self.per_seq_score.items()},
            "per_seq_null": {b: tensor_to_list(t) for b, t in self.per_seq_null.items()},
            "n_queries": dict(self.n_queries),
            "stimuli": dict(self.stimuli),
            "distance": None if self.distance is None else tensor_to_list(self.distance),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "HeadScores":
        return cls(
            model_name=data["model_name"],
            n_layers=int(data["n_layers"]),
            n_heads=int(data["n_heads"]),
            per_seq_score={b: tensor_from_list(v) for b, v in data["per_seq_score"].items()},
            per_seq_null={b: tensor_from_list(v) for b, v in data["per_seq_null"].items()},
            n_queries={b: int(v) for b, v in data["n_queries"].items()},
            stimuli=dict(data["stimuli"]),
            distance=None if data.get("distance") is None else tensor_from_list(data["distance"]),
        )
