"""Per-head measures: statistics of a head that are not attention mass on target keys.

A :class:`Behavior` says *which keys* a query should attend to and is scored against a
null, classed and ablation-tested. Some head types are not like that: an attention sink
is a key that collects attention from every later query, a head's window width is a shape
of its distance profile, a successor head is a property of its OV weights. A
:class:`Measure` declares such a statistic once; :func:`interp.classify_heads` computes
every registered measure for every head and records it in the result
(:attr:`interp.HeadClass.measures`, ``report.json``, the report's measure table, heatmaps
and profile figure, and its guide, generated from the descriptions).

Two kinds:

- ``"pattern"``: ``fn(pattern, tokens, valid)`` with ``pattern`` one layer's post-softmax
  attention ``[batch, head, query, key]`` returns ``[batch, head]`` (a value per sequence)
  or, with ``bins``, ``[batch, head, len(bins)]`` (a profile). It is computed inside the
  pattern hooks of one forward pass over the measure's ``stimuli``: ``"census"`` (the
  ``[BOS] r r`` sequences of the census) or ``"long"`` (:func:`long_stimuli`: the model's
  whole context, BOS and random tokens with a short and a long copied span). The value of
  a head is the mean over sequences (NaN ignored).
- ``"weights"``: ``fn(model)`` returns ``[layer, head]`` (or ``[layer, head, bins]``)
  from the weights alone; raising ``ValueError`` means "not available for this model" and
  the reason is recorded instead of values.

A measure with a ``threshold`` (and ``label``) marks the heads whose value exceeds it; with
``above_uniform`` the value must also exceed what a head attending uniformly to every
visible key would get on the same sequences (computed by the same ``fn``). Marked heads are
listed under ``label`` in the summary and the report: *evidence from a measure*, not a
class confirmed by an ablation.

This module declares what a measure is and holds the registry; :mod:`interp.engine.measures`
computes them and :mod:`interp.catalog` registers the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import Tensor

from .registry import Registry

if TYPE_CHECKING:
    from ..results.evidence import Evidence

MEASURE_KINDS = ("pattern", "weights")


MEASURE_STIMULI = ("census", "long")


@dataclass(frozen=True)
class MeasureCheck:
    """A test that can refute what a measure's mark claims about a head.

    Attributes:
        claim: what the test confirms, in a few words (``"no-op sink"``); the report says
            "<claim> confirmed / refuted / undecided".
        description: one line: how it is tested and what refutes it (shown in the guide).
        fn: ``fn(model, stimuli, heads, *, min_effect, z, method, seed)`` -> the
            :class:`interp.Evidence` for ``heads`` tested together (one head, or a group),
            on the measure's stimuli (the census's for a weights measure), with its verdict
            from :func:`interp.results.evidence.decide` (``Evidence.measured``). A
            function that also takes ``clean=`` gets one clean run of those stimuli
            (:class:`interp.engine.ablation.CleanRun`), shared by every call.
        groups: also test the marked heads together, like the heads that share a class
            (:func:`interp.pipeline.confirm.judge_group`): redundant heads, each unconfirmed alone,
            are "confirmed together". Only for tests where heads act jointly (ablations).
        each: optional ``each(model, stimuli, heads, **same keywords)`` -> one
            :class:`interp.Evidence` per head, each head tested *alone*, all in one call
            (e.g. one forward pass for every marked head, where ``fn`` would run one per
            head); must agree with ``fn`` on a single head. Takes ``clean=`` like ``fn``
            if it accepts it.
    """

    claim: str
    description: str
    fn: Callable[..., Evidence]
    groups: bool = False
    each: Callable[..., Sequence[Evidence]] | None = None

    def __post_init__(self) -> None:
        for name in ("claim", "description"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"a measure check needs a {name} (non-empty text)")
        if not callable(self.fn):
            raise ValueError(f"measure check {self.claim!r}: fn must be callable")
        if self.each is not None and not callable(self.each):
            raise ValueError(f"measure check {self.claim!r}: each must be callable or None")


@dataclass(frozen=True)
class Measure:
    """One per-head statistic (module docstring).

    Attributes:
        name: one spelling everywhere (a Python identifier).
        description: one line: what the value means, its range, and its citation (shown in
            the report's guide).
        fn: ``fn(pattern, tokens, valid)`` (``pattern``) or ``fn(model)`` (``weights``).
        kind: ``"pattern"`` or ``"weights"``.
        stimuli: pattern measures: ``"census"`` or ``"long"``.
        threshold: heads whose value exceeds this are marked (None: no marking).
        above_uniform: a marked head must also beat a uniform head's value.
        label: how marked heads are listed (default ``"<name> (measure)"``).
        bins: names of a profile's entries; None for a single value per head.
        check: a :class:`MeasureCheck` run on every marked head (needs ``threshold``).
    """

    name: str
    description: str
    fn: Callable[..., Tensor]
    kind: str = "pattern"
    stimuli: str = "long"
    threshold: float | None = None
    above_uniform: bool = False
    label: str | None = None
    bins: tuple[str, ...] | None = None
    check: MeasureCheck | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"measure name {self.name!r} must be a Python identifier")
        if not isinstance(self.description, str) or not self.description.strip():
            raise ValueError(f"measure {self.name!r} needs a one-line description")
        if not callable(self.fn):
            raise ValueError(f"measure {self.name!r}: fn must be callable")
        if self.kind not in MEASURE_KINDS:
            raise ValueError(f"measure {self.name!r}: kind {self.kind!r} is not one of "
                             f"{MEASURE_KINDS}")
        if self.stimuli not in MEASURE_STIMULI:
            raise ValueError(f"measure {self.name!r}: stimuli {self.stimuli!r} is not one of "
                             f"{MEASURE_STIMULI}")
        if self.bins is not None:
            object.__setattr__(self, "bins", tuple(str(b) for b in self.bins))
            if not self.bins:
                raise ValueError(f"measure {self.name!r}: bins must not be empty")
            if self.threshold is not None:
                raise ValueError(f"measure {self.name!r}: a profile (bins) has no threshold")
        if self.above_uniform and self.kind != "pattern":
            raise ValueError(f"measure {self.name!r}: above_uniform needs a pattern measure")
        if self.threshold is not None and self.label is None:
            object.__setattr__(self, "label", f"{self.name} (measure)")
        if self.check is not None:
            if not isinstance(self.check, MeasureCheck):
                raise ValueError(f"measure {self.name!r}: check must be an "
                                 f"interp.MeasureCheck, got {type(self.check).__name__}")
            if self.threshold is None:
                raise ValueError(f"measure {self.name!r}: a check tests marked heads, so "
                                 "it needs a threshold")



_REGISTRY: Registry[Measure] = Registry("measure", Measure)


def register_measure(measure: Measure, *, replace: bool = False) -> Measure:
    """Add ``measure`` to the registry :func:`interp.classify_heads` reads.

    Raises:
        TypeError: not an :class:`interp.Measure`.
        ValueError: a measure of that name is registered and ``replace`` is False.
    """
    return _REGISTRY.add(measure, replace=replace)


def unregister_measure(name: str) -> Measure:
    """Remove a measure from the registry; returns it."""
    return _REGISTRY.remove(name)


def get_measure(name: str) -> Measure:
    """The registered measure called ``name`` (KeyError lists the known ones)."""
    return _REGISTRY.get(name)


def registered_measures() -> tuple[Measure, ...]:
    """Every registered measure, in registration order."""
    return _REGISTRY.values()


def resolve_measures(spec: Iterable[Measure | str] | None = None) -> tuple[Measure, ...]:
    """Measures from names or values (None: every registered one; empty: none).

    Raises:
        KeyError: an unknown name.
        ValueError: two different measures share a name.
    """
    return _REGISTRY.resolve(spec)
