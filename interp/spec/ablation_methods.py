"""Ablation methods: what an ablated head's output is replaced by.

A head's output is its ``hook_z`` slice (``[batch, pos, d_head]``, before ``W_O``). Each
method is a small object chosen by name (as pyvene's interventions are classes chosen by
config), with two steps every ablation path calls:

- :meth:`AblationMethod.values`: from a clean pass's outputs ``z`` (``[batch, pos, head,
  d_head]``), what replacements are made of (None when the method needs no clean pass);
- :meth:`AblationMethod.replace`: one head's ablated output, broadcastable to its output.

Built in:

- ``mean`` (default): the head's mean output over the batch and all real positions of the
  same stimuli, a constant that keeps the average contribution but carries no information
  about the current sequence;
- ``zero``: zeros (also removes the average contribution, so it often overstates effects);
- ``resample``: the head's output on another sequence of the batch (a seeded
  derangement), at the same position.

A new method is a subclass registered with :func:`register_ablation_method`; the command
line's ``--method`` choices, the checks and every replacement read this registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from .registry import Registry

__all__ = [
    "AblationMethod",
    "MeanAblation",
    "ResampleAblation",
    "ZeroAblation",
    "ablation_method",
    "ablation_method_names",
    "derangement",
    "register_ablation_method",
    "unregister_ablation_method",
]


@dataclass(frozen=True)
class AblationMethod:
    """One way of replacing a head's output.

    Attributes:
        name: how the method is chosen (``--method NAME``).
        description: one line: what the output is replaced by.
        min_seqs: the fewest sequences the method works on.
    """

    name: str
    description: str
    min_seqs: int = 1

    @property
    def needs_clean_pass(self) -> bool:
        """Whether :meth:`values` reads a clean pass's outputs."""
        return True

    def check(self, n_seqs: int) -> None:
        """Raise ``ValueError`` when ``n_seqs`` sequences are too few for this method."""
        if n_seqs < self.min_seqs:
            raise ValueError(f"{self.name} ablation needs at least {self.min_seqs} sequences")

    def values(
        self, z: Float[Tensor, "batch pos head d_head"], valid: Bool[Tensor, "batch pos"],
        seed: int,
    ) -> Tensor | None:
        """What the replacements are made of, from a clean pass's outputs ``z``."""
        raise NotImplementedError

    def replace(
        self, values: Tensor | None, head: int, like: Float[Tensor, "batch pos d_head"],
    ) -> Tensor:
        """Head ``head``'s ablated output, broadcastable to ``like``."""
        raise NotImplementedError

    def difference(
        self, values: Tensor | None, z: Float[Tensor, "batch pos head d_head"],
    ) -> Float[Tensor, "batch pos head d_head"]:
        """Every head's ablated output minus its clean output ``z`` (attribution patching
        multiplies this by the gradient)."""
        return self.replace_all(values, z) - z

    def replace_all(
        self, values: Tensor | None, z: Float[Tensor, "batch pos head d_head"],
    ) -> Tensor:
        """Every head's ablated output, broadcastable to ``z``."""
        raise NotImplementedError


@dataclass(frozen=True)
class ZeroAblation(AblationMethod):
    """The output becomes zeros."""

    name: str = "zero"
    description: str = "zeros (also removes the head's average contribution)"

    @property
    def needs_clean_pass(self) -> bool:
        return False

    def values(self, z: Tensor, valid: Tensor, seed: int) -> None:
        return None

    def replace(self, values: Tensor | None, head: int, like: Tensor) -> Tensor:
        return torch.zeros((), dtype=like.dtype, device=like.device)

    def replace_all(self, values: Tensor | None, z: Tensor) -> Tensor:
        return torch.zeros((), dtype=z.dtype, device=z.device)

    def difference(self, values: Tensor | None, z: Tensor) -> Tensor:
        return -z


@dataclass(frozen=True)
class MeanAblation(AblationMethod):
    """The output becomes its mean over the batch and the real positions."""

    name: str = "mean"
    description: str = "the head's mean output over the batch and every real position"

    def values(self, z: Tensor, valid: Tensor, seed: int) -> Float[Tensor, "head d_head"]:
        w = valid.to(z.dtype)[:, :, None, None]  # (B, S, 1, 1)
        return (z * w).sum((0, 1)) / w.sum((0, 1)).clamp(min=1)  # (H, d_head)

    def replace(self, values: Tensor | None, head: int, like: Tensor) -> Tensor:
        assert values is not None
        return values[head].to(like.dtype)  # (d_head,)

    def replace_all(self, values: Tensor | None, z: Tensor) -> Tensor:
        assert values is not None
        return values.to(z.dtype)  # (H, d_head), broadcast over (B, S)


def derangement(n: int, seed: int) -> Tensor:
    """A seeded permutation with no fixed point: a random cycle through all ``n`` indices."""
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    perm = torch.empty(n, dtype=torch.long)
    perm[order] = torch.roll(order, -1)  # order[i] takes the sequence order[i + 1]
    return perm


@dataclass(frozen=True)
class ResampleAblation(AblationMethod):
    """The output becomes another sequence's output at the same position."""

    name: str = "resample"
    description: str = ("the head's output on another sequence of the batch (a seeded "
                        "derangement), at the same position")
    min_seqs: int = 2

    def values(self, z: Tensor, valid: Tensor, seed: int) -> Float[Tensor, "batch pos head d_head"]:
        return z[derangement(z.shape[0], seed)]  # (B, S, H, d_head)

    def replace(self, values: Tensor | None, head: int, like: Tensor) -> Tensor:
        assert values is not None
        return values[: like.shape[0], : like.shape[1], head].to(like.dtype)  # (B, S, d_head)

    def replace_all(self, values: Tensor | None, z: Tensor) -> Tensor:
        assert values is not None
        return values.to(z.dtype)  # (B, S, H, d_head)


_REGISTRY: Registry[AblationMethod] = Registry("ablation method", AblationMethod)


def register_ablation_method(method: AblationMethod, *, replace: bool = False) -> AblationMethod:
    """Add an ablation method (after the ones already there).

    Raises:
        TypeError: not an :class:`AblationMethod`.
        ValueError: a method of that name is registered and ``replace`` is False.
    """
    return _REGISTRY.add(method, replace=replace)


def unregister_ablation_method(name: str) -> AblationMethod:
    """Remove an ablation method from the registry; returns it."""
    return _REGISTRY.remove(name)


def ablation_method_names() -> tuple[str, ...]:
    """The registered methods' names, in registration order (the CLI's choices)."""
    return tuple(m.name for m in _REGISTRY.values())


def ablation_method(method: AblationMethod | str) -> AblationMethod:
    """The method given itself or its registered name.

    Raises:
        ValueError: an unknown name (the message lists the registered ones).
    """
    if isinstance(method, AblationMethod):
        return method
    if method not in _REGISTRY:
        raise ValueError(f"unknown ablation method {method!r}; choose from "
                         f"{ablation_method_names()}")
    return _REGISTRY.get(method)


for _method in (MeanAblation(), ZeroAblation(), ResampleAblation()):
    register_ablation_method(_method)
del _method
