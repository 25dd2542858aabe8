"""Controls: attention on the query itself and on BOS (the attention sink).

Scored and shown beside the behaviors for every head, never classes.
"""

from __future__ import annotations

from torch import Tensor

from ..spec.behaviors import Behavior, offset_targets, position_grid, register_behavior


def _first_key(tokens: Tensor, valid: Tensor) -> Tensor:
    _, k_idx = position_grid(tokens.shape[1], tokens.device)
    return (k_idx == 0)[None].expand(tokens.shape[0], tokens.shape[1], -1)  # (B, Q, K)


register_behavior(Behavior(
    name="current_token",
    description="attends to the query's own position (control).",
    targets=lambda tokens, valid: offset_targets(tokens, 0),
    eligible="up_to_self",
    kind="control",
))


register_behavior(Behavior(
    name="first_token",
    description="attends to BOS, the attention sink (control).",
    targets=_first_key,
    eligible="with_bos",
    kind="control",
))
