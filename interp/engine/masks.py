"""Shape checks and key masks shared by the pure pattern and token maths of the head types.

Each check returns the (validated) mask to use, or raises ``ValueError`` naming the shape.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_pattern(pattern: Tensor) -> None:
    if pattern.ndim != 4 or pattern.shape[-1] != pattern.shape[-2]:
        raise ValueError(
            f"pattern must be [batch, head, query, key] with query == key; "
            f"got {tuple(pattern.shape)}"
        )


def valid_or_all(pattern: Tensor, valid: Tensor | None) -> Tensor:
    batch, n_pos = pattern.shape[0], pattern.shape[-1]
    if valid is None:
        return torch.ones(batch, n_pos, dtype=torch.bool, device=pattern.device)
    if tuple(valid.shape) != (batch, n_pos):
        raise ValueError(
            f"valid must be [batch, pos] = {(batch, n_pos)}; got {tuple(valid.shape)}"
        )
    return valid.to(pattern.device, torch.bool)


def check_tokens(tokens: Tensor, valid: Tensor | None) -> Tensor:
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be [batch, pos]; got shape {tuple(tokens.shape)}")
    if valid is None:
        return torch.ones_like(tokens, dtype=torch.bool)
    if valid.shape != tokens.shape:
        raise ValueError(
            f"valid {tuple(valid.shape)} must have the shape of tokens {tuple(tokens.shape)}"
        )
    return valid.to(tokens.device, torch.bool)


def earlier_keys(valid: Tensor) -> Tensor:
    """Keys ``1..q-1`` on real tokens, ``[batch, query, key]`` (the usual null keys)."""
    n_pos = valid.shape[1]
    q_idx = torch.arange(n_pos, device=valid.device)[:, None]
    k_idx = torch.arange(n_pos, device=valid.device)[None, :]
    return ((k_idx < q_idx) & (k_idx >= 1))[None] & valid[:, :, None] & valid[:, None, :]
