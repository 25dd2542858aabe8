"""Induction heads (Olsson et al. 2022): ``[A][B] ... [A] -> [B]``.

The targets of a query are the keys right after earlier copies of its token. Registered
here: the ``induction`` behavior (with the no-repeat positional control), confirmed when
ablating the head raises the loss on the second copy of ``[BOS] r r``; its weight evidence
is K-composition with the previous-token heads.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..spec.behaviors import (
    Behavior,
    position_grid,
    register_behavior,
    second_copy_offset,
)


def _follows_copy(tokens: Tensor, valid: Tensor) -> Tensor:
    previous = torch.roll(tokens, shifts=1, dims=1)  # (B, K): the token before key k
    _, k_idx = position_grid(tokens.shape[1], tokens.device)
    return (tokens[:, :, None] == previous[:, None, :]) & (k_idx >= 2)[None]  # (B, Q, K)


register_behavior(Behavior(
    name="induction",
    description="attends to the tokens that followed earlier copies of the query's token "
    "([A][B] ... [A] -> [B]; Olsson et al. 2022).",
    targets=_follows_copy,
    positional=second_copy_offset(1),
    confirmation="second_copy_loss",
    composition=("K", "previous_token"),
))
