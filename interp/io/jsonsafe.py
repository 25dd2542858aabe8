"""JSON has no NaN or infinity: the one place numbers and tensors become JSON-safe and back.

- :func:`finite_or_none`: a finite float, else None (NaN, infinities, missing, non-numbers);
- :func:`strict_json`: a copy of nested dicts/lists with every non-finite float as None;
- :func:`tensor_to_list` / :func:`tensor_from_list`: nested lists of floats with NaN as None,
  and back (None as NaN, float32).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else None (NaN, inf, missing, text)."""
    if value is None or isinstance(value, bool):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy or torch scalar
        value = value.item()
    if not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def strict_json(value: Any) -> Any:
    """A copy of ``value`` that strict JSON accepts: NaN and infinities become None."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy or torch scalar
        return strict_json(value.item())
    return value


def tensor_to_list(t: Tensor) -> list:
    """Nested lists of floats in ``t``'s shape, NaN as None."""
    out: list = [None if v != v else float(v) for v in t.flatten().tolist()]
    for size in reversed(t.shape[1:]):
        out = [out[i : i + size] for i in range(0, len(out), size)]
    return out


def tensor_from_list(values: list) -> Tensor:
    """The float32 tensor of :func:`tensor_to_list`'s output (None as NaN)."""

    def fix(x: Any) -> Any:
        return [fix(v) for v in x] if isinstance(x, list) else (float("nan") if x is None else x)

    return torch.tensor(fix(values), dtype=torch.float32)
