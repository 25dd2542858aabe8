"""Probe tasks: labels read from tokens, probed in the residual stream after each layer.

A :class:`ProbeTask` names a label rule and the stimuli it is read on; behaviors refer to
tasks by value or by registered name (a ``probe`` confirmation, or supplementary evidence).
The head types of :mod:`interp.catalog` register the built-in tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .registry import Registry


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


_REGISTRY: Registry[ProbeTask] = Registry("probe task", ProbeTask)


def register_probe_task(task: ProbeTask, *, replace: bool = False) -> ProbeTask:
    """Add a probe task that behaviors can name.

    Raises:
        TypeError: not a :class:`ProbeTask`.
        ValueError: a task of that name is registered and ``replace`` is False.
    """
    return _REGISTRY.add(task, replace=replace)


def unregister_probe_task(name: str) -> ProbeTask:
    """Remove a probe task from the registry; returns it."""
    return _REGISTRY.remove(name)


def registered_probe_tasks() -> tuple[ProbeTask, ...]:
    """Every registered probe task, in registration order."""
    return _REGISTRY.values()


def probe_task(task: ProbeTask | str) -> ProbeTask:
    """A :class:`ProbeTask` given itself or its registered name.

    Raises:
        KeyError: an unknown name (the message lists the registered ones).
    """
    if isinstance(task, ProbeTask):
        return task
    return _REGISTRY.get(task)
