"""Head labels, spelled one way everywhere.

A head is labelled ``"L.H"`` (layer, head index), the form used by the IOI paper and ARENA.
Behaviors live in :mod:`interp.spec.behaviors`.
"""

from __future__ import annotations

from typing import NamedTuple


class HeadId(NamedTuple):
    """One attention head: ``HeadId(5, 5)`` prints as ``"5.5"``."""

    layer: int
    head: int

    def __str__(self) -> str:
        return f"{self.layer}.{self.head}"

    @classmethod
    def parse(cls, label: "str | HeadId | tuple[int, int]") -> "HeadId":
        """Read ``"L.H"`` (or a ``(layer, head)`` pair) into a ``HeadId``.

        Raises:
            ValueError: the label is not two non-negative integers joined by a dot.
        """
        if isinstance(label, tuple) and len(label) == 2:
            layer, head = label
        else:
            parts = str(label).strip().split(".")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ValueError(f"head label {label!r} is not of the form 'L.H' (e.g. '1.3')")
            layer, head = int(parts[0]), int(parts[1])
        if int(layer) < 0 or int(head) < 0:
            raise ValueError(f"head label {label!r} has a negative index")
        return cls(int(layer), int(head))


def all_heads(n_layers: int, n_heads: int) -> list[HeadId]:
    """Every head of a model, layer by layer."""
    return [HeadId(layer, head) for layer in range(n_layers) for head in range(n_heads)]


def check_heads(heads: "list[HeadId | str]", n_layers: int, n_heads: int) -> list[HeadId]:
    """Parse head labels and check they exist in a model of the given size.

    Raises:
        ValueError: a label is malformed or names a head the model does not have.
    """
    parsed = [HeadId.parse(h) for h in heads]
    for head in parsed:
        if head.layer >= n_layers or head.head >= n_heads:
            raise ValueError(
                f"head {head} does not exist: the model has {n_layers} layers "
                f"of {n_heads} heads"
            )
    return parsed
