"""Duplicate-token heads: attention on earlier copies of the query's own token.

Such a head writes "this token occurred before" into the residual stream. Registered here:
the ``duplicate_token`` behavior (with the no-repeat positional control) and the
``occurred_before`` probe task that confirms it (read on sequences where occurrence is
independent of position).
"""

from __future__ import annotations

from torch import Tensor

from probes import occurred_before_labels

from ..spec.behaviors import (
    Behavior,
    Confirmation,
    register_behavior,
    second_copy_offset,
)
from ..spec.probe_tasks import ProbeTask, register_probe_task


def _same_token(tokens: Tensor, valid: Tensor) -> Tensor:
    return tokens[:, :, None] == tokens[:, None, :]  # (B, Q, K)


register_probe_task(ProbeTask("occurred_before", occurred_before_labels, stimuli="occurrence"))


register_behavior(Behavior(
    name="duplicate_token",
    description="attends to earlier copies of the query's own token.",
    targets=_same_token,
    positional=second_copy_offset(0),
    confirmation=Confirmation("probe", probe_task="occurred_before"),
))
