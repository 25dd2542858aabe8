"""The result types of a head census: what :func:`interp.classify_heads` returns.

:class:`Classification` holds one :class:`HeadClass` per head (scores, candidate classes,
typed ablation :class:`~interp.results.evidence.Evidence`, weight evidence), the group ablations,
the layer probes and a record of the behaviors that were scored. ``to_dict()`` is the
``report.json`` document (with a ``schema_version``); ``from_dict()`` reads it back. Nothing
here runs a model, so reports and notebooks can read results without one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from probes import ProbeResult

from ..model.heads import HeadId
from ..spec.behaviors import Behavior, Confirmation, registered_behaviors
from .evidence import Evidence, GroupEvidence, WeightEvidence, standing

#: Version of the ``report.json`` layout. 2: typed evidence (``status``/``reason``),
#: ``behaviors``, group redundancy (``alone``/``adds``/``gain``), ``schema_version``.
#: 3: per-head ``measures`` and the top-level ``measures`` record (:class:`MeasureInfo`).
#: 4: per-head ``checks`` (a measure's check on the heads it marks) and the measures'
#: ``check_claim``/``check``.
SCHEMA_VERSION = 4


#: The longest list of heads a summary line prints in full; longer ones are a count and the
#: :data:`SUMMARY_STRONGEST` strongest (the report and ``report.json`` list every head).
SUMMARY_HEADS = 8
SUMMARY_STRONGEST = 5


#: How a measure check's verdict reads in a sentence.
_CHECK_WORDS = {"undecidable": "undecided"}


#: How a head's class stands after the ablations (see :meth:`HeadClass.status`).
CLASS_STATUSES = ("confirmed", "confirmed together", "refuted", "undecidable", "not tested")


@dataclass(frozen=True)
class BehaviorInfo:
    """What a scored behavior was, recorded with the result (the report reads this, not the
    registry, so a result stays readable where the behavior is not registered)."""

    name: str
    description: str
    kind: str = "behavior"
    confirmation: str = ""
    positional_control: bool = False

    @classmethod
    def of(cls, behavior: Behavior) -> "BehaviorInfo":
        conf = behavior.confirmation
        assert isinstance(conf, Confirmation)
        return cls(name=behavior.name, description=behavior.description, kind=behavior.kind,
                   confirmation=conf.describe() if behavior.is_class else "",
                   positional_control=behavior.positional is not None)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BehaviorInfo":
        return cls(**{k: data[k] for k in ("name", "description", "kind", "confirmation",
                                           "positional_control") if k in data})


@dataclass(frozen=True)
class MeasureInfo:
    """What a per-head measure was (:class:`interp.Measure`), recorded with the result.

    Attributes:
        name, description, kind, stimuli, threshold, above_uniform, label, bins: as the
            measure declared them (``stimuli`` empty for weights measures).
        baseline: the value of a head attending uniformly on the same stimuli (measures
            with ``above_uniform``), else None.
        note: why there are no values (e.g. a weights measure the model cannot have).
        check_claim, check: the claim the measure's :class:`interp.MeasureCheck` puts to
            the test on marked heads, and how (empty without a check).
    """

    name: str
    description: str
    kind: str = "pattern"
    stimuli: str = ""
    threshold: float | None = None
    above_uniform: bool = False
    label: str | None = None
    bins: tuple[str, ...] | None = None
    baseline: float | None = None
    note: str = ""
    check_claim: str = ""
    check: str = ""

    @property
    def is_profile(self) -> bool:
        return self.bins is not None

    def passes(self, value: Any) -> bool:
        """Whether a head's value marks it: above ``threshold`` and, with
        ``above_uniform``, above the uniform baseline (False for missing values)."""
        if self.threshold is None or self.is_profile or value is None or value != value:
            return False
        if value <= self.threshold:
            return False
        return not self.above_uniform or (self.baseline is not None and value > self.baseline)

    def rule(self) -> str:
        """The marking rule in words (empty without a threshold)."""
        if self.threshold is None:
            return ""
        text = f"{self.name} > {self.threshold:g}"
        if self.above_uniform:
            text += f" and above a uniform head's {_num(self.baseline)}"
        return text

    def to_dict(self) -> dict:
        data = asdict(self)
        data["bins"] = None if self.bins is None else list(self.bins)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "MeasureInfo":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if known.get("bins") is not None:
            known["bins"] = tuple(known["bins"])
        return cls(**known)


@dataclass(frozen=True)
class LayerProbes:
    """One probe task's held-out accuracy at the embedding and after every layer.

    Attributes:
        task: a probe task's name (:func:`interp.spec.probe_tasks.registered_probe_tasks`).
        results: one :class:`probes.ProbeResult` per site: ``blocks.0.hook_resid_pre``
            (the embedding), then ``blocks.L.hook_resid_post`` for each layer.
        ablated: heads ablated while capturing (empty for a clean run).
        method: the ablation method (when ``ablated`` is not empty).
    """

    task: str
    results: tuple[ProbeResult, ...]
    ablated: tuple[str, ...] = ()
    method: str = "mean"

    @property
    def accuracy(self) -> list[float]:
        return [r.accuracy for r in self.results]

    def to_dict(self) -> dict:
        return {"task": self.task, "results": [r.to_dict() for r in self.results],
                "ablated": list(self.ablated), "method": self.method}

    @classmethod
    def from_dict(cls, data: dict) -> "LayerProbes":
        return cls(task=data["task"],
                   results=tuple(ProbeResult.from_dict(r) for r in data["results"]),
                   ablated=tuple(data.get("ablated", ())), method=data.get("method", "mean"))

    def to_table(self) -> list[dict]:
        """Long rows: task, site, depth (0 = embedding), accuracy, chance."""
        return [{"task": self.task, "site": r.site, "depth": i, "accuracy": r.accuracy,
                 "chance": r.chance, "ablated": "+".join(self.ablated)}
                for i, r in enumerate(self.results)]


@dataclass(frozen=True)
class HeadClass:
    """One head's scores, classes and the ablation evidence for each class.

    Attributes:
        label: ``"L.H"`` (``"head"`` in ``report.json``).
        layer, index: the head's layer and index within the layer.
        scores, nulls, lifts, stderr: behavior -> value (see :mod:`interp.engine.scoring`).
        classes: behaviors the head is a candidate for (confirmed or not), registry order.
        ablation: behavior -> :class:`~interp.results.evidence.Evidence`, for each class.
        loss_effect: second-copy loss change when this head alone is ablated (None if
            not measured).
        weights: :class:`~interp.results.evidence.WeightEvidence` (OV copying, composition feeders).
        distance: mean attention on the key ``d`` positions back, ``d = 0, 1, ...`` (BOS
            excluded; None where no query has such a key): local vs long-range heads.
        no_repeat: behavior -> the head's attention on the same *positions* in ``[BOS] r s``
            sequences without repeats (0..1), for behaviors with a positional control.
        measures: measure -> the head's value (a float, a list for profiles, None where
            not available); see :mod:`interp.spec.measures`.
        checks: measure -> :class:`~interp.results.evidence.Evidence` of the measure's check, for
            the measures that mark this head and carry one (the sink's no-op check).
    """

    label: str
    layer: int
    index: int
    scores: dict[str, float]
    nulls: dict[str, float]
    lifts: dict[str, float]
    stderr: dict[str, float]
    classes: tuple[str, ...]
    ablation: dict[str, Evidence]
    loss_effect: float | None = None
    weights: WeightEvidence = field(default_factory=WeightEvidence)
    distance: list = field(default_factory=list)
    no_repeat: dict = field(default_factory=dict)
    measures: dict = field(default_factory=dict)
    checks: dict[str, Evidence] = field(default_factory=dict)

    @property
    def head_id(self) -> HeadId:
        return HeadId(self.layer, self.index)

    def status(self, behavior: str) -> str:
        """How class ``behavior`` stands: ``confirmed`` (alone), ``confirmed together``
        (unconfirmed alone, but it adds to a group whose redundancy is confirmed),
        ``refuted``, ``undecidable`` (the stimuli gave the ablation nothing to measure)
        or ``not tested``."""
        return standing(self.ablation.get(behavior))

    @property
    def confirmed_classes(self) -> tuple[str, ...]:
        """Classes confirmed alone or together with the other heads of a group."""
        return tuple(c for c in self.classes
                     if self.status(c) in ("confirmed", "confirmed together"))

    def to_dict(self) -> dict:
        return {
            "head": self.label, "layer": self.layer, "index": self.index,
            "scores": dict(self.scores), "nulls": dict(self.nulls), "lifts": dict(self.lifts),
            "stderr": dict(self.stderr), "classes": list(self.classes),
            "ablation": {b: e.to_dict() for b, e in self.ablation.items()},
            "loss_effect": self.loss_effect, "weights": self.weights.to_dict(),
            "distance": list(self.distance), "no_repeat": dict(self.no_repeat),
            "measures": dict(self.measures),
            "checks": {m: e.to_dict() for m, e in self.checks.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "HeadClass":
        return cls(
            label=str(data["head"]), layer=int(data["layer"]), index=int(data["index"]),
            scores=dict(data["scores"]), nulls=dict(data["nulls"]), lifts=dict(data["lifts"]),
            stderr=dict(data["stderr"]), classes=tuple(data["classes"]),
            ablation={b: Evidence.from_dict(e) for b, e in data.get("ablation", {}).items()},
            loss_effect=data.get("loss_effect"),
            weights=WeightEvidence.from_dict(data.get("weights") or {}),
            distance=list(data.get("distance", [])), no_repeat=dict(data.get("no_repeat", {})),
            measures=dict(data.get("measures", {})),
            checks={m: Evidence.from_dict(e) for m, e in data.get("checks", {}).items()},
        )


@dataclass(frozen=True)
class Classification:
    """The census of a whole model: one :class:`HeadClass` per head, plus group ablations.

    ``to_dict()`` is the ``report.json`` document. ``example`` holds one stimulus sequence
    (``tokens``) and the attention pattern of each head on it (``patterns``: label ->
    ``[query][key]``, rounded to 3 decimals; only classified heads on large models).
    ``probes`` holds :class:`LayerProbes`: probe accuracy at the embedding and after each
    layer for each probe task the behaviors use. ``text_scores`` (when texts were given)
    holds the same scores on natural text: ``{"stimuli": {...}, "heads": {label:
    {behavior: {"score", "null", "lift"}}}}``; classes always come from the ``[BOS] r r``
    stimuli named in ``settings["stimuli"]``. ``behaviors`` records what each scored
    behavior was (:class:`BehaviorInfo`), in report order.
    """

    model: dict
    settings: dict
    heads: tuple[HeadClass, ...]
    groups: tuple[GroupEvidence, ...] = field(default_factory=tuple)
    baseline: dict = field(default_factory=dict)
    example: dict = field(default_factory=dict)
    probes: tuple[LayerProbes, ...] = field(default_factory=tuple)
    text_scores: dict = field(default_factory=dict)
    behaviors: tuple[BehaviorInfo, ...] = field(default_factory=tuple)
    measures: tuple[MeasureInfo, ...] = field(default_factory=tuple)

    def measure(self, name: str) -> MeasureInfo:
        """The recorded :class:`MeasureInfo` of a measure."""
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(f"measure {name!r} was not computed; computed: "
                       f"{[m.name for m in self.measures]}")

    def marked_by(self, name: str) -> list[str]:
        """Labels of the heads a measure marks (:meth:`MeasureInfo.passes`), strongest
        first."""
        info = self.measure(name)
        heads = [h for h in self.heads if info.passes(h.measures.get(name))]
        return [h.label for h in sorted(heads, key=lambda h: -h.measures[name])]

    def marks(self) -> dict:
        """Per marking measure, the heads it marks (strongest first) with their value and,
        where the measure has a check, its verdict: ``{"sink": {"0.2": {"value": 0.54,
        "no-op sink": "confirmed"}}}``."""
        out: dict = {}
        for info in self.measures:
            if info.threshold is None or info.note:
                continue
            out[info.name] = {}
            for label in self.marked_by(info.name):
                head = self.head(label)
                entry: dict = {"value": round(float(head.measures[info.name]), 4)}
                if info.check_claim:
                    entry[info.check_claim] = standing(head.checks.get(info.name))
                out[info.name][label] = entry
        return out

    def _check_words(self, label: str, info: MeasureInfo) -> str:
        """``", no-op sink confirmed"`` (empty for a measure without a check)."""
        if not info.check_claim:
            return ""
        status = standing(self.head(label).checks.get(info.name))
        return f", {info.check_claim} {_CHECK_WORDS.get(status, status)}"

    @property
    def behavior_names(self) -> tuple[str, ...]:
        """Every scored behavior, in report order."""
        if self.behaviors:
            return tuple(b.name for b in self.behaviors)
        seen: list[str] = []
        for h in self.heads:
            seen += [b for b in h.scores if b not in seen]
        return tuple(seen)

    def behavior(self, name: str) -> BehaviorInfo:
        """The recorded :class:`BehaviorInfo` of a scored behavior."""
        for b in self.behaviors:
            if b.name == name:
                return b
        if name in self.behavior_names:  # a result recorded without behaviors (schema 1)
            registered = registered_behaviors()
            for b in registered:
                if b.name == name:
                    return BehaviorInfo.of(b)
            return BehaviorInfo(name=name, description="")
        raise KeyError(f"behavior {name!r} was not scored; scored: {list(self.behavior_names)}")

    def is_control(self, name: str) -> bool:
        return self.behavior(name).kind == "control"

    def head(self, label: str | HeadId) -> HeadClass:
        key = str(HeadId.parse(label))
        for h in self.heads:
            if h.label == key:
                return h
        raise KeyError(f"no head {key} in this classification")

    def heads_with(self, behavior: str, *, status: str | tuple[str, ...] | None = None,
                   confirmed: bool | None = None) -> list[str]:
        """Labels of heads classed as ``behavior``: all, those whose
        :meth:`HeadClass.status` is ``status``, or (``confirmed``) those confirmed alone or
        together (True) / not (False)."""
        wanted = (status,) if isinstance(status, str) else status
        out = []
        for h in self.heads:
            if behavior not in h.classes:
                continue
            state = h.status(behavior)
            if wanted is not None and state not in wanted:
                continue
            if confirmed is not None and (behavior in h.confirmed_classes) != confirmed:
                continue
            out.append(h.label)
        return out

    @property
    def stimuli(self) -> dict:
        """The ``[BOS] r r`` stimuli the classes come from (as used, not as configured)."""
        stimuli = self.settings.get("stimuli")
        return stimuli if isinstance(stimuli, dict) else {}

    def stimuli_text(self) -> str:
        """``"32 sequences of [BOS] r r (L=30)"`` for the stimuli that were used."""
        s = self.stimuli
        n = s.get("n_seqs", self.settings.get("n_seqs", "?"))
        length = s.get("repeat_len", self.settings.get("seq_len", "?"))
        if s.get("kind") == "repeated_text":
            return f"{n} sequences of [BOS] s s, s held-out text (L={length})"
        return f"{n} sequences of [BOS] r r (L={length})"

    def summary(self) -> str:
        """A few lines for a terminal: what holds first, lists capped.

        The header and baseline, then one line per behavior with a confirmed head (its
        unconfirmed and undecided candidates in parentheses), then one per behavior whose
        candidates all failed; a behavior with no candidate gets no line. Then one line per
        marking measure that marks a head, and one per group ablation that shows something
        (redundancy confirmed, or a member confirmed); a measure that marks no head, or
        could not be measured (the report says why), gets no line. A list longer than
        :data:`SUMMARY_HEADS` heads is said as a count and its strongest heads ("17 heads:
        18.6, 17.3, 18.7, 21.4, 17.0 and 12 more"); the report and ``report.json`` list all.
        """
        model, settings = self.model, self.settings
        lines = [
            f"{model.get('name', 'model')}: {model.get('n_layers', '?')} layers x "
            f"{model.get('n_heads', '?')} heads, {self.stimuli_text()}, "
            f"{settings.get('method', '?')} ablation, seed {settings.get('seed', '?')}"
        ]
        if self.baseline:
            lines.append(
                f"loss: first copy {self.baseline['first_copy_loss']:.3f}, "
                f"second copy {self.baseline['second_copy_loss']:.3f}"
            )
        held, failed = [], []
        for name in self.behavior_names:
            if self.is_control(name) or not self.heads_with(name):
                continue

            def heads(labels: list[str], name: str = name) -> str:
                return self.heads_text(labels, lambda h: self.head(h).lifts.get(name))

            alone = self.heads_with(name, status="confirmed")
            together = self.heads_with(name, status="confirmed together")
            refuted = self.heads_with(name, status=("refuted", "not tested"))
            open_ = self.heads_with(name, status="undecidable")
            text = heads(alone) if alone else ("none" if not together else "")
            if together:
                text += ("; " if alone else "") + f"confirmed together: {heads(together)}"
            if refuted:
                text += f" (unconfirmed: {heads(refuted)})"
            if open_:
                reason = self.head(open_[0]).ablation[name].reason
                text += f" (undecided: {heads(open_)}: {reason})"
            (held if alone or together else failed).append(f"{name}: {text}")
        lines += held + failed
        for info in self.measures:
            if info.threshold is None:
                continue
            marked = self.marked_by(info.name)
            if info.note or not marked:  # not measured (the report says why), or no head
                continue
            if len(marked) > SUMMARY_HEADS:
                text = f"{len(marked)} of {len(self.heads)} heads"
                if info.check_claim:
                    counts: dict[str, int] = {}
                    for h in marked:
                        status = standing(self.head(h).checks.get(info.name))
                        word = _CHECK_WORDS.get(status, status)
                        counts[word] = counts.get(word, 0) + 1
                    text += f", {info.check_claim}: " + ", ".join(
                        f"{n} {word}" for word, n in counts.items())
                text += "; strongest " + ", ".join(
                    f"{h} ({self.head(h).measures[info.name]:.2f})"
                    for h in marked[:SUMMARY_STRONGEST])
                text += f" [{info.rule()}; a measure, not an ablation-confirmed class]"
            else:
                text = ", ".join(f"{h} ({self.head(h).measures[info.name]:.2f}"
                                 f"{self._check_words(h, info)})" for h in marked)
                text += f" [{info.rule()}; a measure, not an ablation-confirmed class]"
            lines.append(f"{info.label}: {text}")
        for g in self.groups:
            if not self.group_shows(g):
                continue
            alone = g.alone.get(g.strongest)
            verdict = ("redundancy confirmed" if g.confirmed
                       else "no redundancy shown")
            members = ("+".join(g.heads) if len(g.heads) <= SUMMARY_HEADS
                       else f"of {len(g.heads)} heads")
            line = (f"group {members} ({g.behavior}): ablated together, relative "
                    f"effect {_num(g.relative)} vs {_num(alone)} for {g.strongest} alone: "
                    f"{verdict}")
            idle = [h for h in g.heads if g.adds.get(h) is False]
            if idle:
                line += f"; adds nothing: {self.heads_text(idle, g.alone.get)}"
            lines.append(line)
        return "\n".join(lines)

    @staticmethod
    def heads_text(labels: list[str], strength: Any = None) -> str:
        """``labels`` joined by commas, or, past :data:`SUMMARY_HEADS` of them, their count
        and the :data:`SUMMARY_STRONGEST` strongest by ``strength(label)`` (a number or
        None; head order when not given): ``"17 heads: 18.6, 17.3, ... and 12 more"``."""
        if len(labels) <= SUMMARY_HEADS:
            return ", ".join(labels)
        ranked = list(labels)
        if strength is not None:
            def key(label: str) -> float:
                value = strength(label)
                return -value if isinstance(value, (int, float)) and value == value else 1e9

            ranked.sort(key=key)
        shown = ranked[:SUMMARY_STRONGEST]
        return (f"{len(labels)} heads: {', '.join(shown)} and {len(labels) - len(shown)} "
                "more")

    def group_shows(self, group: GroupEvidence) -> bool:
        """Whether a group ablation says something about the model: its redundancy was
        confirmed, or one of its members holds the claim alone (a behavior's class, or a
        measure's check for groups named ``"<measure>: <claim>"``). A group of candidates
        that all failed, whose redundancy was not shown either, says nothing more."""
        if group.confirmed:
            return True
        measure = group.behavior.split(": ", 1)[0]
        for label in group.heads:
            try:
                head = self.head(label)
            except KeyError:
                continue
            if group.behavior in head.classes:
                if head.status(group.behavior) == "confirmed":
                    return True
            elif standing(head.checks.get(measure)) == "confirmed":
                return True
        return False

    def roles(self) -> dict:
        """The ``heads.json`` a model directory carries: per behavior (classes only) the heads
        confirmed alone or together (``confirmed``), the other candidates (``unconfirmed``),
        every head's lift, and the stimuli and settings that decided them."""
        names = [b for b in self.behavior_names if not self.is_control(b)]
        return {
            **{b: self.heads_with(b, confirmed=True) for b in names},
            "unconfirmed": {b: self.heads_with(b, confirmed=False) for b in names},
            "lifts": {b: {h.label: round(h.lifts[b], 4) for h in self.heads if b in h.lifts}
                      for b in names},
            "marked": self.marks(),
            "notes": (
                f"Written from interp.classify_heads on {self.stimuli_text()}, "
                f"{self.settings.get('method', '?')} ablation, seed "
                f"{self.settings.get('seed', '?')}: a head is listed under a behavior when "
                "its class beat the null and was confirmed by ablation (alone or together "
                "with its group); see report.json for the evidence."
            ),
        }

    def to_table(self) -> list[dict]:
        """Long format: one row per head and behavior with score, null, class, evidence."""
        rows = []
        for h in self.heads:
            for behavior in h.scores:
                evidence = h.ablation.get(behavior)
                rows.append({
                    "layer": h.layer, "head": h.index, "label": h.label, "behavior": behavior,
                    "value": h.scores[behavior], "null": h.nulls[behavior],
                    "lift": h.lifts[behavior], "classified": behavior in h.classes,
                    "confirmed": behavior in h.confirmed_classes,
                    "status": h.status(behavior) if behavior in h.classes else None,
                    "effect": None if evidence is None else evidence.relative,
                })
        return rows

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "model": dict(self.model),
            "settings": dict(self.settings),
            "baseline": dict(self.baseline),
            "behaviors": [b.to_dict() for b in self.behaviors],
            "heads": [h.to_dict() for h in self.heads],
            "groups": [g.to_dict() for g in self.groups],
            "example": dict(self.example),
            "probes": [p.to_dict() for p in self.probes],
            "text_scores": dict(self.text_scores),
            "measures": [m.to_dict() for m in self.measures],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Classification":
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(
                f"report.json schema_version {version!r} is newer than this interp reads "
                f"({SCHEMA_VERSION}); upgrade interp"
            )
        return cls(
            model=dict(data["model"]),
            settings=dict(data["settings"]),
            heads=tuple(HeadClass.from_dict(h) for h in data["heads"]),
            groups=tuple(GroupEvidence.from_dict(g) for g in data.get("groups", [])),
            baseline=dict(data.get("baseline", {})),
            example=dict(data.get("example", {})),
            probes=tuple(LayerProbes.from_dict(p) for p in data.get("probes", [])),
            text_scores=dict(data.get("text_scores", {})),
            behaviors=tuple(BehaviorInfo.from_dict(b) for b in data.get("behaviors", [])),
            measures=tuple(MeasureInfo.from_dict(m) for m in data.get("measures", [])),
        )


def _num(value: Any) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f}"
