"""**Local window** (from the distance profile): ``local_profile`` is a head's mean attention
on the key ``d`` back, ``d = 0..window``, over the same queries for every ``d`` (those whose
window does not reach BOS, so the sink is excluded without renormalising). Its sum, the
*window mass* (0..1), is high for every head that looks near the query; its *width*
``exp(entropy)`` of the normalised profile (1..window + 1) says over how many distances the
mass spreads: 1 for a previous-token or current-token head, about ``W`` for a head that
spreads over the last ``W`` tokens.

Registered here: the ``local_window`` behavior (targets the keys 2..:data:`WINDOW` back,
confirmed by a probe for the token two back) and the ``window_mass`` / ``window_width``
measures over the distances 0..:data:`WINDOW`.
"""

from __future__ import annotations

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from ..engine.masks import check_pattern, valid_or_all
from ..spec.behaviors import (
    Behavior,
    Confirmation,
    position_grid,
    register_behavior,
    token_back_labels,
)
from ..spec.measures import Measure, register_measure
from ..spec.probe_tasks import ProbeTask

#: The local window's reach: the behavior's targets are the keys 2..WINDOW back, the
#: window measures read the distances 0..WINDOW.
WINDOW = 4


def local_profile(
    pattern: Float[Tensor, "batch head query key"],
    valid: Bool[Tensor, "batch pos"] | None = None,
    *,
    window: int = 3,
) -> Float[Tensor, "batch head distance"]:
    """Mean attention on the key ``d`` back, ``d = 0..window``, over the queries
    ``q > window`` (their window never reaches BOS) whose window keys are all real.

    Unlike :func:`interp.engine.scoring.distance_profile`, every distance is averaged over the
    same queries, so the profile sums to at most 1.

    Args:
        pattern: ``[batch, head, query, key]``.
        valid: ``[batch, pos]`` True on real tokens (default: all).
        window: the largest distance (>= 1).

    Returns:
        ``[batch, head, window + 1]``, each value 0..1; NaN where a sequence has no such
        query.

    Raises:
        ValueError: ``window < 1``, or the context is too short for it.
    """
    check_pattern(pattern)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    n_pos = pattern.shape[-1]
    if n_pos <= window + 1:
        raise ValueError(f"a window of {window} needs more than {window + 1} positions, "
                         f"got {n_pos}")
    valid = valid_or_all(pattern, valid)
    batch, n_heads = pattern.shape[:2]
    queries = torch.arange(window + 1, n_pos, device=pattern.device)  # (Q',)
    d_idx = torch.arange(window + 1, device=pattern.device)  # (D,)
    keys = queries[:, None] - d_idx[None]  # (Q', D)
    p = pattern.float()[:, :, queries]  # (B, H, Q', K)
    on_key = p.gather(-1, keys.expand(batch, n_heads, -1, -1))  # (B, H, Q', D)
    keep = valid[:, queries] & valid[:, keys].all(-1)  # (B, Q')
    w = keep.float()
    count = w.sum(1)  # (B,)
    mean = torch.einsum("bhqd,bq->bhd", on_key, w) / count.clamp(min=1)[:, None, None]
    return torch.where(count[:, None, None] > 0, mean, torch.nan)


def window_mass(profile: Float[Tensor, "... distance"]) -> Float[Tensor, "..."]:
    """Attention within the window: the profile summed over distances (0..1 for
    :func:`local_profile`; a slice ``[..., :w + 1]`` of a distance profile also works)."""
    return profile.sum(-1)


def window_width(profile: Float[Tensor, "... distance"]) -> Float[Tensor, "..."]:
    """Over how many distances the window's mass spreads: ``exp(entropy)`` of the profile
    normalised to sum 1, range 1..``n_distances`` (1: one offset, as a previous-token head;
    ``W``: even over ``W`` offsets). NaN where the window holds no attention."""
    p = profile.clamp(min=0)
    total = p.sum(-1, keepdim=True)
    q = p / total.clamp(min=1e-12)
    entropy = -(q * q.clamp(min=1e-12).log()).sum(-1)
    return torch.where(total[..., 0] > 1e-12, entropy.exp(), torch.nan)


def _window_targets(tokens: Tensor, valid: Tensor) -> Tensor:
    """Keys ``q - 2 .. q - WINDOW`` (the previous token is left out)."""
    q_idx, k_idx = position_grid(tokens.shape[1], tokens.device)
    back = q_idx - k_idx  # (Q, K)
    mask = (back >= 2) & (back <= WINDOW)
    return mask[None].expand(tokens.shape[0], -1, -1)  # (B, Q, K)


def _window(pattern: Tensor, valid: Tensor) -> Tensor:
    return local_profile(pattern, valid, window=WINDOW)  # (B, H, WINDOW + 1)


def _window_mass(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    return window_mass(_window(pattern, valid))  # (B, H)


def _window_width(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    return window_width(_window(pattern, valid))  # (B, H)


register_measure(Measure(
    name="window_mass",
    description=f"attention on the query and the {WINDOW} keys before it (0..1), over "
    "queries whose window does not reach BOS.",
    fn=_window_mass,
))


register_measure(Measure(
    name="window_width",
    description=f"over how many of the distances 0..{WINDOW} the window's attention spreads: "
    f"exp(entropy) of the normalised distance profile (1..{WINDOW + 1}); 1 for a previous- "
    "or current-token head, about 3 for a head spread over three tokens. Only meaningful "
    "where window_mass is not small.",
    fn=_window_width,
))


register_behavior(Behavior(
    name="local_window",
    description=f"attends within a short window behind the query but not only to the "
    f"previous token: targets are the keys 2..{WINDOW} back (a previous-token head "
    "does not qualify; a head spread over the last few tokens, or fixed at 2..4 back, "
    "does). Local / positional heads (Zheng et al. 2024). Confirmed when a probe for "
    "the token two back, read after the head's layer, loses accuracy.",
    targets=_window_targets,
    confirmation=Confirmation("probe", probe_task=ProbeTask(
        "token_two_back", token_back_labels(2), stimuli="census", max_classes=1024)),
))
