"""**Attention by key position** ("lost in the middle", Liu et al. 2023): for each query ``q``
in the second half of the context the visible keys ``0..q`` are cut into ``n_bins`` bins by
their relative position ``k / (q + 1)``; the profile is the mean attention mass per bin
(each row sums to 1). A uniform head is flat at ``1 / n_bins``; a sink puts its mass in the
first bin, a local head in the last; a head that fails to read the middle of long contexts
dips in the middle bins.

Registered here: the ``key_position`` profile measure (:data:`KEY_BINS` bins).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

from ..engine.masks import check_pattern, valid_or_all
from ..spec.measures import Measure, register_measure


def key_position_profile(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    n_bins: int = 8,
    min_query: int | None = None,
) -> Float[Tensor, "batch head bin"]:
    """Mean attention mass per relative key-position bin (see the module docstring).

    Args:
        pattern: ``[batch, head, query, key]``.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        n_bins: number of bins over the visible context (>= 2).
        min_query: the first query counted (default: half of each sequence's real
            length); at least ``n_bins - 1`` so that every bin holds a key.

    Returns:
        ``[batch, head, n_bins]``; each row sums to 1 (BOS is in the first bin); NaN
        where a sequence has no counted query. ``.nanmean(0)`` gives the ``[head, bin]``
        profile.

    Raises:
        ValueError: ``n_bins < 2`` or ``min_query < n_bins - 1``.
    """
    check_pattern(pattern)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    valid = valid_or_all(pattern, valid)
    n_pos = pattern.shape[-1]
    device = pattern.device
    q_idx = torch.arange(n_pos, device=device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=device)[None, :]  # (1, K)
    if min_query is None:
        start = torch.maximum(valid.sum(1) // 2, torch.tensor(n_bins - 1, device=device))
    else:
        if min_query < n_bins - 1:
            raise ValueError(
                f"min_query {min_query} leaves some of the {n_bins} bins without keys; "
                f"use at least {n_bins - 1}"
            )
        start = torch.full((pattern.shape[0],), int(min_query), device=device)
    counted = valid & (q_idx[:, 0][None] >= start[:, None])  # (B, Q)
    bins = torch.div(k_idx * n_bins, q_idx + 1, rounding_mode="floor")  # (Q, K)
    one_hot = F.one_hot(bins.clamp(max=n_bins - 1), n_bins).float()  # (Q, K, N)
    one_hot = one_hot * (k_idx <= q_idx)[..., None]  # (Q, K, N): visible keys only
    mass = torch.einsum("bhqk,qkn->bhqn", pattern.float(), one_hot)  # (B, H, Q, N)
    w = counted.float()  # (B, Q)
    count = w.sum(1)  # (B,)
    mean = torch.einsum("bhqn,bq->bhn", mass, w) / count.clamp(min=1)[:, None, None]
    return torch.where(count[:, None, None] > 0, mean, torch.nan)


#: Bins of the key-position profile.
KEY_BINS = 8


def _key_position(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    return key_position_profile(pattern, valid, n_bins=KEY_BINS)  # (B, H, KEY_BINS)


register_measure(Measure(
    name="key_position",
    description=f"attention mass by relative key position (\"lost in the middle\", Liu et "
    f"al. 2023): for queries in the second half of the long stimuli the visible keys are "
    f"cut into {KEY_BINS} bins by position / (query + 1); each bin's mean mass (a row sums "
    f"to 1; uniform = 1/{KEY_BINS}). A sink fills the first bin, a local head the last, a "
    "head that fails to read the middle dips there.",
    fn=_key_position,
    bins=tuple(f"{i}/{KEY_BINS}" for i in range(1, KEY_BINS + 1)),
))
