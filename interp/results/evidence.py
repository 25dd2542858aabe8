"""Typed evidence for a class, and the one rule that decides "confirmed".

An ablation test gives an *effect* (oriented so positive means the heads helped), its
standard error over sequences, and a *scale*: what the behavior achieves at all on these
stimuli (the first-to-second-copy loss drop, the receivers' clean score, the probe's
accuracy above chance, or what ablating every head costs). The *relative effect*
``effect / scale`` means the same everywhere: 0 = nothing lost, 1 = the behavior fully
removed. It can leave ``0..1``: above 1 the ablation did more than remove the behavior
(the heads also did other work the metric sees, or the replacement itself hurts); below 0
the model did better without the heads.

:func:`decide` is the only place a verdict is made:

- ``undecidable`` when ``scale`` is below :data:`interp.results.evidence.MIN_SCALE`: the stimuli
  give the ablation nothing to measure, so the class can be neither confirmed nor refuted
  (the report says so, with the absolute effect and its error);
- ``confirmed`` when ``relative >= min_effect`` and ``effect > z * stderr``;
- ``refuted`` otherwise.

Groups of heads that share a class are ablated together. A group confirms *redundancy*
only when together the heads do clearly more than the strongest member alone (the same
rule applied to the gain), and never when together they are refuted; a member *adds* to a
confirmed whole group when the group without it does clearly less. A member unconfirmed
alone that adds to a redundant group is "confirmed together"; one that adds nothing stays
unconfirmed. Whether a member adds is measured only where it can confirm one: in a group
whose redundancy is confirmed, for members unconfirmed alone (otherwise ``None``).

This module holds results only; it runs no model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..io.jsonsafe import finite_or_none

#: Below this scale (nats of copy benefit, a score, probe accuracy above chance) there is
#: nothing for an ablation to lose.
MIN_SCALE = 1e-2


#: The one NaN of the typed results (missing or undefined values), so that results read
#: back from JSON (where it is null) compare equal to the originals.
NAN = float("nan")


#: The verdicts :func:`decide` gives.
STATUSES = ("confirmed", "refuted", "undecidable")


_NOTHING_TO_MEASURE = {
    "second_copy_loss": "the second copy is not easier than the first",
    "loss": "ablating every head does not raise the loss",
    "probe": "the probe is at chance before the ablation",
    "downstream": "the receivers do not show the behavior",
    "sink_value_norm": "the head writes nothing from its content keys",
    "successor_logit": "the model does not raise successors on these stimuli",
    "copy_loss": "the copies at this distance are not easier than their sources",
}


@dataclass(frozen=True)
class Verdict:
    """What :func:`decide` concluded: ``status`` (one of :data:`STATUSES`), the relative
    effect (NaN when undecidable) and the reason in words."""

    status: str
    relative: float
    reason: str

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"


def _metric_family(metric: str) -> str:
    if metric.startswith("downstream_"):
        return "downstream"
    if metric.startswith("probe"):
        return "probe"
    if metric.startswith("copy_loss"):
        return "copy_loss"
    return metric


def decide(
    effect: float, stderr: float, scale: float, min_effect: float, z: float,
    metric: str = "",
) -> Verdict:
    """The rule of the module docstring: confirmed, refuted or undecidable.

    Args:
        effect: mean change, positive when the heads helped.
        stderr: its standard error over sequences (or rows, for probes).
        scale: what the behavior achieves at all on these stimuli.
        min_effect: smallest relative effect that confirms (0..1).
        z: standard errors by which the effect must exceed zero.
        metric: the metric's name, for the reason's wording.
    """
    scale_ = finite_or_none(scale)
    if scale_ is None or scale_ <= MIN_SCALE:
        why = _NOTHING_TO_MEASURE.get(_metric_family(metric), "the behavior is absent")
        shown = "n/a" if scale_ is None else f"{scale_:.3g}"
        return Verdict("undecidable", NAN,
                       f"cannot confirm on these stimuli: {why} (scale {shown})")
    relative = effect / scale_
    if relative >= min_effect and effect > z * stderr:
        return Verdict("confirmed", relative,
                       f"relative effect {relative:.3f} >= {min_effect:.3g} and effect "
                       f"{effect:.3g} > {z:g} x stderr {stderr:.2g}")
    if relative < min_effect:
        why = f"relative effect {relative:.3f} < {min_effect:.3g}"
    else:
        why = f"effect {effect:.3g} is within {z:g} standard errors ({stderr:.2g}) of zero"
    return Verdict("refuted", relative, why)


def standing(evidence: "Evidence | None") -> str:
    """How a claim stands on its evidence: ``confirmed`` (alone), ``confirmed together``
    (unconfirmed alone, but it adds to a group whose redundancy is confirmed),
    ``refuted``, ``undecidable`` or ``not tested`` (no evidence)."""
    if evidence is None:
        return "not tested"
    if evidence.status == "confirmed":
        return "confirmed"
    group = evidence.group
    if group is not None and group.confirmed and group.adds:
        return "confirmed together"
    return evidence.status


def relative_note(relative: float | None, metric: str = "") -> str | None:
    """Words for a relative effect outside ``0..1`` (None inside it, or when missing)."""
    value = finite_or_none(relative)
    if value is None or 0.0 <= value <= 1.0 + 1e-9:
        return None
    if value > 1.0:
        if _metric_family(metric) == "second_copy_loss":
            return ("above 1: with the heads ablated the second copy became harder than the "
                    "first, so the ablation removed more than the copying (the heads, or "
                    "the replacement, also affect the first copy's level)")
        return ("above 1: the ablation removed more than the behavior achieves on these "
                "stimuli (the heads also do other work this metric sees)")
    if _metric_family(metric) == "sink_value_norm":
        return ("below 0: the sink key writes more than a content key (attending it is not a "
                "no-op: the head reads it, or adds a constant from it)")
    return "below 0: the model did better on this metric without the heads"


def _adds(value: Any) -> bool | None:
    """A stored ``adds``: True, False or None (not measured)."""
    return None if value is None else bool(value)


@dataclass(frozen=True)
class GroupLink:
    """A member's pointer to the group ablation of its class."""

    heads: tuple[str, ...]
    relative: float
    confirmed: bool
    adds: bool | None  # None: not measured (the member is confirmed alone)

    def to_dict(self) -> dict:
        return {"heads": list(self.heads), "relative": self.relative,
                "confirmed": self.confirmed, "adds": self.adds}

    @classmethod
    def from_dict(cls, data: dict) -> "GroupLink":
        return cls(heads=tuple(data["heads"]), relative=_float(data.get("relative")),
                   confirmed=bool(data.get("confirmed")), adds=_adds(data.get("adds", False)))


@dataclass(frozen=True)
class Evidence:
    """One ablation test of one class (of one head, or of a group of heads).

    Attributes:
        method: ablation method (``mean``, ``zero``, ``resample``).
        metric: what was measured (``second_copy_loss``, ``downstream_<behavior>``,
            ``loss``, ``probe_accuracy:<task>@<site>``, or a custom name).
        clean, ablated: the metric without and with the ablation.
        effect, stderr: the change (positive: the heads helped) and its standard error.
        scale: what the behavior achieves at all (see the module docstring).
        relative: ``effect / scale`` (NaN when undecidable).
        status: ``confirmed``, ``refuted`` or ``undecidable``; ``reason`` says why.
        receivers: for ``downstream_*``, the heads whose score was read.
        chance: for probes, the majority-label accuracy.
        probe: supplementary probe evidence (never decides).
        group: pointer to the group ablation this head's class was also part of.
    """

    method: str
    metric: str
    clean: float
    ablated: float
    effect: float
    stderr: float
    scale: float
    relative: float
    status: str
    reason: str
    receivers: tuple[str, ...] = ()
    chance: float | None = None
    probe: "Evidence | None" = None
    group: GroupLink | None = None

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"

    @property
    def relative_stderr(self) -> float | None:
        """Standard error of the relative effect (``stderr / scale``)."""
        scale = finite_or_none(self.scale)
        stderr = finite_or_none(self.stderr)
        if scale is None or stderr is None or scale <= MIN_SCALE:
            return None
        return abs(stderr / scale)

    @property
    def note(self) -> str | None:
        """Words for a relative effect outside 0..1 (see :func:`relative_note`)."""
        return relative_note(self.relative, self.metric)

    @classmethod
    def measured(
        cls, *, method: str, metric: str, clean: float, ablated: float, effect: float,
        stderr: float, scale: float, min_effect: float, z: float, **extra: Any,
    ) -> "Evidence":
        """Evidence with its verdict from :func:`decide`."""
        verdict = decide(effect, stderr, scale, min_effect, z, metric)
        return cls(method=method, metric=metric, clean=float(clean), ablated=float(ablated),
                   effect=float(effect), stderr=float(stderr), scale=float(scale),
                   relative=verdict.relative, status=verdict.status, reason=verdict.reason,
                   **extra)

    @classmethod
    def from_effect(cls, effect: AblationEffect, min_effect: float, z: float,
                    **extra: Any) -> "Evidence":
        """An ablation's :class:`AblationEffect` as evidence, with its verdict from
        :func:`decide`."""
        return cls.measured(
            method=effect.method, metric=effect.metric, clean=effect.clean,
            ablated=effect.ablated, effect=effect.effect, stderr=effect.stderr,
            scale=effect.scale, min_effect=min_effect, z=z, **extra)

    def with_group(self, group: GroupLink) -> "Evidence":
        return replace(self, group=group)

    def to_dict(self) -> dict:
        data: dict[str, Any] = {
            "method": self.method, "metric": self.metric, "clean": self.clean,
            "ablated": self.ablated, "effect": self.effect, "relative": self.relative,
            "stderr": self.stderr, "scale": self.scale, "confirmed": self.confirmed,
            "status": self.status, "reason": self.reason,
        }
        if self.note:
            data["relative_note"] = self.note
        if self.receivers:
            data["receivers"] = list(self.receivers)
        if self.chance is not None:
            data["chance"] = self.chance
        if self.probe is not None:
            data["probe"] = self.probe.to_dict()
        if self.group is not None:
            data["group"] = self.group.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Evidence":
        """Read :meth:`to_dict` back; also schema-1 documents (no status: taken from
        ``confirmed``; no scale: recovered as ``effect / relative``)."""
        status = data.get("status") or ("confirmed" if data.get("confirmed") else "refuted")
        effect, relative = finite_or_none(data.get("effect")), finite_or_none(data.get("relative"))
        scale = data.get("scale")
        if scale is None and effect is not None and relative:
            scale = effect / relative
        return cls(
            method=str(data.get("method", "")), metric=str(data.get("metric", "")),
            clean=_float(data.get("clean")), ablated=_float(data.get("ablated")),
            effect=_float(effect), stderr=_float(data.get("stderr")),
            scale=_float(scale), relative=_float(relative),
            status=str(status), reason=str(data.get("reason", "")),
            receivers=tuple(str(r) for r in data.get("receivers", ())),
            chance=finite_or_none(data.get("chance")),
            probe=cls.from_dict(data["probe"]) if isinstance(data.get("probe"), dict) else None,
            group=GroupLink.from_dict(data["group"]) if isinstance(data.get("group"), dict)
            else None,
        )


@dataclass(frozen=True)
class GroupEvidence:
    """Heads sharing a class, ablated together, against their strongest member alone.

    Attributes:
        behavior: the shared class.
        heads: the members.
        together: the group ablation (its own verdict: does the group matter at all).
        alone: member -> relative effect of that member ablated alone on the same metric.
        adds: member -> whether the group without it does clearly less (False for
            every member when the group together is not confirmed: no member adds to a
            group that does not do the job; None where not measured, as no class can hang
            on it: for every member when redundancy is not shown, and for a member
            confirmed alone).
        strongest: the member with the largest effect alone.
        gain: relative effect together minus the strongest member alone.
        confirmed: redundancy confirmed (the gain passes :func:`decide`).
        reason: the verdict in words.
    """

    behavior: str
    heads: tuple[str, ...]
    together: Evidence
    alone: dict[str, float]
    adds: dict[str, bool | None]
    strongest: str
    gain: float
    confirmed: bool
    reason: str

    @property
    def relative(self) -> float:
        return self.together.relative

    def to_dict(self) -> dict:
        return {
            "behavior": self.behavior, "heads": list(self.heads),
            **{k: v for k, v in self.together.to_dict().items()
               if k not in ("confirmed", "status", "reason")},
            "group_status": self.together.status,
            "confirmed": self.confirmed, "reason": self.reason,
            "alone": {k: finite_or_none(v) for k, v in self.alone.items()},
            "adds": dict(self.adds), "strongest": self.strongest,
            "gain": finite_or_none(self.gain),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "GroupEvidence":
        together = Evidence.from_dict({**data, "status": data.get("group_status", "refuted"),
                                       "reason": ""})
        heads = tuple(str(h) for h in data.get("heads", ()))
        return cls(
            behavior=str(data.get("behavior", "")), heads=heads, together=together,
            alone={str(k): _float(v) for k, v in data.get("alone", {}).items()},
            adds={str(k): _adds(v) for k, v in data.get("adds", {}).items()},
            strongest=str(data.get("strongest", heads[0] if heads else "")),
            gain=_float(data.get("gain")), confirmed=bool(data.get("confirmed")),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True)
class Feeder:
    """An earlier head whose output a head's Q, K or V input reads (composition score
    above its random baseline)."""

    head: str
    excess: float


@dataclass(frozen=True)
class WeightEvidence:
    """Evidence read from the weights alone (see :mod:`interp.model.weights`).

    Attributes:
        ov_copying: -1..1; near 1, attending to a token raises its logit.
        mode: ``Q``, ``K`` or ``V`` for ``feeders`` (None when not measured).
        feeders: earlier heads of class ``source`` this head composes with, strongest
            first.
        source: the behavior whose heads were candidates for ``feeders``.
        error: why the evidence is unavailable (exotic architectures).
    """

    ov_copying: float | None = None
    mode: str | None = None
    feeders: tuple[Feeder, ...] | None = None
    source: str | None = None
    error: str | None = None

    _NAMES = {"Q": "query", "K": "key", "V": "value"}

    def to_dict(self) -> dict:
        data: dict[str, Any] = {}
        if self.error is not None:
            data["error"] = self.error
        if self.ov_copying is not None:
            data["ov_copying"] = self.ov_copying
        if self.mode is not None and self.feeders is not None:
            data[f"{self._NAMES[self.mode]}_feeders"] = [
                {"head": f.head, f"{self.mode.lower()}_composition_excess": f.excess}
                for f in self.feeders
            ]
            if self.source is not None:
                data["feeder_source"] = self.source
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "WeightEvidence":
        mode, feeders = None, None
        for m, name in cls._NAMES.items():
            if f"{name}_feeders" in data:
                mode = m
                feeders = tuple(
                    Feeder(str(f["head"]), _float(f.get(f"{m.lower()}_composition_excess")))
                    for f in data[f"{name}_feeders"]
                )
        return cls(ov_copying=finite_or_none(data.get("ov_copying")), mode=mode,
                   feeders=feeders, source=data.get("feeder_source"), error=data.get("error"))


def _float(value: Any) -> float:
    number = finite_or_none(value)
    return NAN if number is None else number


@dataclass(frozen=True)
class AblationEffect:
    """What ablating a set of heads did to one metric.

    Attributes:
        heads: the ablated heads, ``"L.H"``.
        method: ``mean``, ``zero`` or ``resample``.
        metric: the metric's name (see the module docstring).
        clean, ablated: the metric's mean over sequences, without and with the ablation.
        effect: mean per-sequence change, oriented so positive means the heads helped.
        stderr: standard error of ``effect`` over sequences.
        relative: ``effect / scale``, the share of what the behavior achieves at all that
            was lost; 1 means everything (NaN when ``scale`` is below ``MIN_SCALE``: then
            nothing can be confirmed or refuted on these stimuli).
        scale: what the behavior achieves at all (the first-to-second-copy loss drop, or
            the receivers' clean induction score).
        seed: the resampling seed.
    """

    heads: tuple[str, ...]
    method: str
    metric: str
    clean: float
    ablated: float
    effect: float
    stderr: float
    relative: float
    scale: float
    seed: int

    def supports(self, min_relative: float, z: float = 2.0) -> bool:
        """True when the effect is both meaningful (``relative >= min_relative``) and
        clearly above the spread over sequences (``effect > z * stderr``); the rule of
        :func:`interp.results.evidence.decide`."""
        return decide(self.effect, self.stderr, self.scale, min_relative, z).confirmed

    def to_dict(self) -> dict:
        data = asdict(self)
        data["heads"] = list(self.heads)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "AblationEffect":
        return cls(**{**data, "heads": tuple(data["heads"])})
