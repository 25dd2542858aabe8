"""Probe tasks: labels read from tokens, probed in the residual stream after each layer.

A :class:`ProbeTask` names a label rule and the stimuli it is read on; behaviors refer to
tasks by value or by registered name (a ``probe`` confirmation, or supplementary evidence).
The head types of :mod:`interp.catalog` register the built-in tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProbeTask:
    """A linear-probe task: labels from tokens, and which stimuli to read them on.

    Attributes:
        name: the task's name (shown in the report).
        labels: ``labels(tokens, valid) -> (labels [batch, pos], keep [batch, pos])``.
        stimuli: ``"census"`` (the ``[BOS] r r`` stimuli) or ``"occurrence"``
            (:func:`interp.occurrence_tokens`, where occurrence is independent of position).
        max_classes: skip the task for vocabularies larger than this (multiclass labels).
    """

    name: str
    labels: Callable[..., Any]
    stimuli: str = "census"
    max_classes: int | None = None

    def __post_init__(self) -> None:
        if self.stimuli not in ("census", "occurrence"):
            raise ValueError(f"probe task {self.name!r}: stimuli must be 'census' or "
                             "'occurrence'")
        if not callable(self.labels):
            raise ValueError(f"probe task {self.name!r}: labels must be callable")


#: Probe tasks by name (add with :func:`register_probe_task`).
PROBE_TASKS: dict[str, ProbeTask] = {}


def register_probe_task(task: ProbeTask) -> ProbeTask:
    """Add a probe task that behaviors can name."""
    if not isinstance(task, ProbeTask):
        raise TypeError(f"expected an interp.behaviors.ProbeTask, got {type(task).__name__}")
    PROBE_TASKS[task.name] = task
    return task


def probe_task(task: ProbeTask | str) -> ProbeTask:
    """A :class:`ProbeTask` given itself or its registered name.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(task, ProbeTask):
        return task
    if task not in PROBE_TASKS:
        raise ValueError(f"unknown probe task {task!r}; choose from {list(PROBE_TASKS)}")
    return PROBE_TASKS[task]
