"""Previous-token heads: attention on the key just before the query (``q - 1``).

A previous-token head writes the identity of the previous token into the residual stream,
which an induction head's key reads. Registered here: the ``previous_token`` behavior,
confirmed when ablating the head cuts the induction score of later induction heads (the
``downstream`` ablation), with the ``previous_token_identity`` probe task as supplementary
evidence.
"""

from __future__ import annotations

from probes import previous_token_labels

from ..spec.behaviors import Behavior, Confirmation, offset_targets, register_behavior
from ..spec.probe_tasks import ProbeTask, register_probe_task

register_probe_task(ProbeTask("previous_token_identity", previous_token_labels,
                              stimuli="census", max_classes=1024))


register_behavior(Behavior(
    name="previous_token",
    description="attends to the token just before the query (key q - 1); queries whose "
    "previous token is BOS are not counted.",
    targets=lambda tokens, valid: offset_targets(tokens, 1),
    confirmation=Confirmation("downstream", receivers="induction",
                              evidence_probe="previous_token_identity"),
))
