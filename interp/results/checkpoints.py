"""The result of a checkpoint sweep: every head's scores at every checkpoint of a run.

Pure data (no model is loaded here): :class:`CheckpointSweep` with its JSON round trip and
long-format table, and :func:`parse_step`, the step a checkpoint's label names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from jaxtyping import Float
from torch import Tensor

from ..io.jsonsafe import tensor_from_list, tensor_to_list
from .scores import lift

_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class CheckpointSweep:
    """Every head's scores, and the copy losses, at every checkpoint of a run.

    Attributes:
        labels: one per checkpoint (directory name, given label or model name).
        steps: training step of each checkpoint (see the module docstring), ascending
            when parsed from the labels.
        sources: what each checkpoint was loaded from (a path, or a model's name).
        n_layers, n_heads: the model's shape (the same for every checkpoint).
        scores: behavior -> ``[checkpoint, layer, head]`` mean score over sequences (0..1).
        nulls: behavior -> ``[checkpoint, layer, head]`` mean null over sequences (0..1).
        stderrs: behavior -> ``[checkpoint, layer, head]`` standard error of score - null.
        first_copy_loss: ``[checkpoint]`` mean next-token loss on the first copy of ``r``.
        second_copy_loss: ``[checkpoint]`` mean next-token loss on the second copy.
        stimuli: description of the inputs shared by every checkpoint (kind, sizes, seed).
        failed: checkpoints that could not be scored (a corrupt file, no network for a hub
            name), each ``{"checkpoint": label, "source": ..., "error": message}``; they
            are not in ``labels``. Empty unless the sweep was asked to go on past failures
            (:func:`interp.distributed.run_sweep`).
        prefix_matching: ``[checkpoint, layer, head]`` prefix-matching score (0..1), or None.
        icl_score: ``[checkpoint]`` in-context-learning score (nats, negative when context
            helps) on held-out text, or None without held-out text.
        heldout_loss: ``[checkpoint]`` mean next-token loss on held-out text, or None.
        text_scores, text_nulls: behavior -> ``[checkpoint, layer, head]`` score and null on
            repeated held-out text (empty without held-out text).
        text_first_copy_loss, text_second_copy_loss: ``[checkpoint]`` copy losses on
            repeated held-out text, or None.
        curves: what the model-level curves were measured on (JSON-safe).
        measures: measure -> ``[checkpoint, layer, head]`` value of each per-head measure
            with one value per head (:mod:`interp.spec.measures`: sinks, window width, induction
            by copy distance, successor ...); NaN where unavailable.
    """

    labels: tuple[str, ...]
    steps: tuple[int, ...]
    sources: tuple[str, ...]
    n_layers: int
    n_heads: int
    scores: dict[str, Float[Tensor, "checkpoint layer head"]]
    nulls: dict[str, Float[Tensor, "checkpoint layer head"]]
    stderrs: dict[str, Float[Tensor, "checkpoint layer head"]]
    first_copy_loss: Float[Tensor, " checkpoint"]
    second_copy_loss: Float[Tensor, " checkpoint"]
    stimuli: dict
    failed: tuple[dict, ...] = ()
    prefix_matching: Float[Tensor, "checkpoint layer head"] | None = None
    icl_score: Float[Tensor, " checkpoint"] | None = None
    heldout_loss: Float[Tensor, " checkpoint"] | None = None
    text_scores: dict[str, Tensor] = field(default_factory=dict)
    text_nulls: dict[str, Tensor] = field(default_factory=dict)
    text_first_copy_loss: Float[Tensor, " checkpoint"] | None = None
    text_second_copy_loss: Float[Tensor, " checkpoint"] | None = None
    curves: dict = field(default_factory=dict)
    measures: dict[str, Float[Tensor, "checkpoint layer head"]] = field(default_factory=dict)

    @property
    def behaviors(self) -> tuple[str, ...]:
        return tuple(self.scores)

    @property
    def n_checkpoints(self) -> int:
        return len(self.labels)

    def lift(self, behavior: str) -> Float[Tensor, "checkpoint layer head"]:
        """``(score - null) / (1 - null)`` per checkpoint and head, range -1..1."""
        self._check(behavior)
        return lift(self.scores[behavior], self.nulls[behavior])

    def largest_rise(self, behavior: str) -> tuple[int, str, float]:
        """Where some head's lift rises most from one checkpoint to the next.

        Returns:
            ``(step, head, rise)``: the step of the later checkpoint, the head ``"L.H"``
            and its rise in lift. With a single checkpoint: its step, the head with the
            highest lift, and 0.0.
        """
        values = torch.nan_to_num(self.lift(behavior), nan=0.0)  # (C, L, H)
        if self.n_checkpoints < 2:
            index = int(values[0].flatten().argmax())
            layer, head = divmod(index, self.n_heads)
            return self.steps[0], f"{layer}.{head}", 0.0
        rise = values[1:] - values[:-1]  # (C - 1, L, H)
        index = int(rise.flatten().argmax())
        checkpoint, rest = divmod(index, self.n_layers * self.n_heads)
        layer, head = divmod(rest, self.n_heads)
        return self.steps[checkpoint + 1], f"{layer}.{head}", float(rise.flatten()[index])

    def _check(self, behavior: str) -> str:
        if behavior not in self.scores:
            raise KeyError(f"unknown behavior {behavior!r}; scored: {list(self.scores)}")
        return behavior

    def to_table(self) -> list[dict]:
        """Long format: one row per checkpoint, head and behavior (step, checkpoint, layer,
        head, label, behavior, value, null, lift, stderr), for ``pandas`` or plotly."""
        rows = []
        for behavior in self.behaviors:
            stats = {
                "value": self.scores[behavior],
                "null": self.nulls[behavior],
                "lift": self.lift(behavior),
                "stderr": self.stderrs[behavior],
            }
            for c, (step, checkpoint) in enumerate(zip(self.steps, self.labels)):
                for layer in range(self.n_layers):
                    for head in range(self.n_heads):
                        row = {"step": step, "checkpoint": checkpoint, "layer": layer,
                               "head": head, "label": f"{layer}.{head}", "behavior": behavior}
                        row.update({k: float(v[c, layer, head]) for k, v in stats.items()})
                        rows.append(row)
        return rows

    def loss_table(self) -> list[dict]:
        """One row per checkpoint: step, checkpoint, first_copy_loss, second_copy_loss."""
        return [
            {"step": step, "checkpoint": label, "first_copy_loss": float(first),
             "second_copy_loss": float(second)}
            for step, label, first, second in zip(
                self.steps, self.labels, self.first_copy_loss, self.second_copy_loss
            )
        ]

    def to_dict(self) -> dict:
        """JSON-safe form (NaN as None); :meth:`from_dict` restores an equal object."""
        return {
            "labels": list(self.labels),
            "steps": list(self.steps),
            "sources": list(self.sources),
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "scores": {b: tensor_to_list(t) for b, t in self.scores.items()},
            "nulls": {b: tensor_to_list(t) for b, t in self.nulls.items()},
            "stderrs": {b: tensor_to_list(t) for b, t in self.stderrs.items()},
            "first_copy_loss": tensor_to_list(self.first_copy_loss),
            "second_copy_loss": tensor_to_list(self.second_copy_loss),
            "stimuli": dict(self.stimuli),
            "failed": [dict(f) for f in self.failed],
            **_curves_to_dict(self),
            **({"measures": {m: tensor_to_list(t) for m, t in self.measures.items()}}
               if self.measures else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> CheckpointSweep:
        n = len(data["labels"])
        n_layers, n_heads = int(data["n_layers"]), int(data["n_heads"])

        def grid(values: list) -> Tensor:
            return tensor_from_list(values).reshape(n, n_layers, n_heads)  # (C, L, H)

        return cls(
            labels=tuple(str(v) for v in data["labels"]),
            steps=tuple(int(v) for v in data["steps"]),
            sources=tuple(str(v) for v in data["sources"]),
            n_layers=n_layers,
            n_heads=n_heads,
            scores={b: grid(v) for b, v in data["scores"].items()},
            nulls={b: grid(v) for b, v in data["nulls"].items()},
            stderrs={b: grid(v) for b, v in data["stderrs"].items()},
            first_copy_loss=tensor_from_list(data["first_copy_loss"]).reshape(n),
            second_copy_loss=tensor_from_list(data["second_copy_loss"]).reshape(n),
            stimuli=dict(data["stimuli"]),
            failed=tuple(dict(f) for f in data.get("failed", ())),
            **_curves_from_dict(data, n, n_layers, n_heads),
            measures={m: grid(v) for m, v in (data.get("measures") or {}).items()},
        )

    def model_curve_table(self) -> list[dict]:
        """One row per checkpoint: step, checkpoint, and the model-level curves that were
        measured (max prefix-matching score over heads and its head, in-context score,
        held-out loss, copy losses and best score per behavior on repeated held-out
        text)."""
        rows = []
        for c, (step, label) in enumerate(zip(self.steps, self.labels)):
            row: dict = {"step": step, "checkpoint": label}
            if self.prefix_matching is not None:
                row["prefix_matching_head"], row["prefix_matching_max"] = _argmax_head(
                    self.prefix_matching[c], self.n_heads)
            for name in ("icl_score", "heldout_loss", "text_first_copy_loss",
                         "text_second_copy_loss"):
                value = getattr(self, name)
                if value is not None:
                    row[name] = float(value[c])
            for behavior, values in self.text_scores.items():
                row[f"text_{behavior}_head"], row[f"text_{behavior}_max"] = _argmax_head(
                    values[c], self.n_heads)
            rows.append(row)
        return rows


def parse_step(label: str | int) -> int | None:
    """The last number in ``label`` (``"step_00100"`` -> 100), or None if it has none."""
    if isinstance(label, int):
        return label
    match = _LAST_NUMBER.search(str(label))
    return int(match.group(1)) if match else None


CURVE_TENSORS = ("prefix_matching", "icl_score", "heldout_loss", "text_first_copy_loss",
                  "text_second_copy_loss")


def _argmax_head(values: Tensor, n_heads: int) -> tuple[str, float]:
    """The head ``"L.H"`` with the largest value in a ``[layer, head]`` grid, and the value."""
    grid = values.nan_to_num(nan=-1.0)  # (L, H)
    layer, head = divmod(int(grid.flatten().argmax()), n_heads)
    return f"{layer}.{head}", float(values[layer, head])


def _curves_to_dict(sweep: CheckpointSweep) -> dict:
    """The model-level curves that were measured, JSON-safe (absent ones left out)."""
    out: dict = {}
    for name in CURVE_TENSORS:
        value = getattr(sweep, name)
        if value is not None:
            out[name] = tensor_to_list(value)
    if sweep.text_scores:
        out["text_scores"] = {b: tensor_to_list(t) for b, t in sweep.text_scores.items()}
        out["text_nulls"] = {b: tensor_to_list(t) for b, t in sweep.text_nulls.items()}
    if sweep.curves:
        out["curves"] = dict(sweep.curves)
    return out


def _curves_from_dict(data: dict, n: int, n_layers: int, n_heads: int) -> dict:
    out: dict = {}
    for name in CURVE_TENSORS:
        if data.get(name) is not None:
            shape = (n, n_layers, n_heads) if name == "prefix_matching" else (n,)
            out[name] = tensor_from_list(data[name]).reshape(shape)
    for name in ("text_scores", "text_nulls"):
        if data.get(name):
            out[name] = {b: tensor_from_list(v).reshape(n, n_layers, n_heads)
                         for b, v in data[name].items()}
    if data.get("curves"):
        out["curves"] = dict(data["curves"])
    return out
