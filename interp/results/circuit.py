"""A circuit: scored and checked edges between a model's components (pure data).

Nodes are labelled ``embed`` (token plus position embeddings), ``L.H`` (a head),
``mlp.L`` and ``logits``. An edge ``source -> target`` enters the target's ``q``, ``k``
or ``v`` input (a head) or ``out`` (the logits). See :mod:`interp.engine.edges` for what
``score`` means (edge attribution, positive: the source helps the target's metric) and
:mod:`interp.engine.path_patching` for ``effect`` (exact path patching, same orientation,
with its standard error over sequences and the verdict of
:func:`interp.results.evidence.decide`). Edges that were not path-patched have
``status == "unchecked"`` and no effect.

Redundant senders each look refuted alone (a twin carries the same signal); edges into the
same target input are then also path-patched together as a :class:`CircuitGroup`, judged
by the project's group rule (:class:`interp.results.evidence.GroupEvidence`: together
clearly more than the strongest alone, and each member adds clearly to the rest). An
edge that adds to a confirmed group is ``confirmed`` with ``group`` naming the group's
sources; its ``effect`` stays its own single-edge effect.

This module holds results only; it runs no model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..io.jsonsafe import finite_or_none
from .evidence import GroupEvidence

#: An edge's verdict: the three of :func:`interp.results.evidence.decide`, or not checked.
EDGE_STATUSES = ("confirmed", "refuted", "undecidable", "unchecked")
#: The inputs an edge can enter.
EDGE_INPUTS = ("q", "k", "v", "out")


def _float(value: Any) -> float | None:
    return None if value is None else finite_or_none(float(value))


@dataclass(frozen=True)
class CircuitEdge:
    """One edge, its attribution score and (when checked) its path-patching evidence.

    Attributes:
        source: ``embed``, ``L.H`` or ``mlp.L``.
        target: ``L.H`` or ``logits``.
        input: ``q``, ``k``, ``v`` (into a head) or ``out`` (into the logits).
        score: the attribution score (units of the edge's metric; positive: helps).
        metric: the metric both score and effect read: the target's
            (``downstream_<behavior>`` into a head, ``second_copy_loss`` into the logits),
            or ``direct_<behavior>`` for a head's edge to the logits judged by its own
            behavior's test (copy suppression: the predicted token's logit).
        effect, stderr: path-patching effect and its standard error (None: unchecked).
        relative: ``effect / scale`` (None: unchecked or undecidable).
        status: one of :data:`EDGE_STATUSES`; ``reason`` says why.
        group: the sources of the redundant group that confirmed this edge together
            (empty: confirmed alone, or not confirmed).
    """

    source: str
    target: str
    input: str
    score: float
    metric: str
    effect: float | None = None
    stderr: float | None = None
    relative: float | None = None
    status: str = "unchecked"
    reason: str = ""
    group: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.input not in EDGE_INPUTS:
            raise ValueError(f"edge input {self.input!r} is not one of {EDGE_INPUTS}")
        if self.status not in EDGE_STATUSES:
            raise ValueError(f"edge status {self.status!r} is not one of {EDGE_STATUSES}")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.target, self.input)

    def to_dict(self) -> dict:
        return {"source": self.source, "target": self.target, "input": self.input,
                "score": _float(self.score), "effect": _float(self.effect),
                "stderr": _float(self.stderr), "relative": _float(self.relative),
                "status": self.status, "metric": self.metric, "reason": self.reason,
                "group": list(self.group)}

    @classmethod
    def from_dict(cls, data: dict) -> "CircuitEdge":
        score = data.get("score")
        return cls(source=str(data["source"]), target=str(data["target"]),
                   input=str(data["input"]), score=float("nan") if score is None else score,
                   metric=str(data.get("metric", "")), effect=_float(data.get("effect")),
                   stderr=_float(data.get("stderr")), relative=_float(data.get("relative")),
                   status=str(data.get("status", "unchecked")),
                   reason=str(data.get("reason", "")),
                   group=tuple(str(g) for g in data.get("group", ())))


@dataclass(frozen=True)
class CircuitGroup:
    """Edges from several sources into one target input, path-patched together.

    Attributes:
        target, input: the target (``L.H`` or ``logits``) and the input they enter.
        evidence: the group judgement (``behavior``: the class the sources share, or
            ``top_scored``; ``heads``: the sources; each source alone and the group
            without each; ``confirmed``: together clearly more than the strongest alone).
    """

    target: str
    input: str
    evidence: GroupEvidence

    @property
    def sources(self) -> tuple[str, ...]:
        return self.evidence.heads

    @property
    def confirmed(self) -> tuple[str, ...]:
        """The sources confirmed together: the group is confirmed and each adds clearly."""
        if not self.evidence.confirmed:
            return ()
        return tuple(s for s in self.sources if self.evidence.adds.get(s))

    def to_dict(self) -> dict:
        return {"target": self.target, "input": self.input, **self.evidence.to_dict(),
                "group_reason": self.evidence.together.reason}

    @classmethod
    def from_dict(cls, data: dict) -> "CircuitGroup":
        evidence = GroupEvidence.from_dict(data)
        together = replace(evidence.together, reason=str(data.get("group_reason", "")))
        return cls(target=str(data["target"]), input=str(data["input"]),
                   evidence=replace(evidence, together=together))


@dataclass(frozen=True)
class Circuit:
    """Every scored edge into the receivers and the logits of one model.

    Attributes:
        model: name and sizes of the model.
        settings: the settings of the run (:class:`interp.CircuitSettings`).
        receivers: head label -> the behavior whose score is its metric.
        edges: every edge, best score first.
        stimuli: description of the ``[BOS] r r`` stimuli.
        groups: the groups of sources path-patched together (:class:`CircuitGroup`).
    """

    model: dict
    settings: dict
    receivers: dict[str, str]
    edges: tuple[CircuitEdge, ...]
    stimuli: dict
    groups: tuple[CircuitGroup, ...] = ()

    def edge(self, source: str, target: str, input: str) -> CircuitEdge:
        """The edge ``source -> target`` into ``input``."""
        for e in self.edges:
            if e.key == (source, target, input):
                return e
        raise KeyError(f"no edge {source} -> {target} ({input}) in this circuit")

    def with_status(self, status: str) -> list[CircuitEdge]:
        return [e for e in self.edges if e.status == status]

    @property
    def confirmed(self) -> list[CircuitEdge]:
        """The edges path patching confirmed, best score first."""
        return self.with_status("confirmed")

    def confirmed_into(self, target: str) -> list[CircuitEdge]:
        """The confirmed edges into ``target`` (``L.H`` or ``logits``), best score first."""
        return [e for e in self.confirmed if e.target == target]

    def summary(self) -> str:
        """A few lines: receivers, edge counts by status, the confirmed edges."""
        counts = {s: len(self.with_status(s)) for s in EDGE_STATUSES}
        lines = [f"circuit of {self.model.get('name')}: {len(self.edges)} edges scored into "
                 f"{len(self.receivers)} heads and the logits; "
                 + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
        lines += ["  receivers: " + ", ".join(f"{h} ({b})" for h, b in self.receivers.items())]
        for e in self.confirmed:
            together = f"  (confirmed as group {'+'.join(e.group)})" if e.group else ""
            lines.append(f"  {e.source} -> {e.target} [{e.input}]  score {e.score:.3g}, "
                         f"effect {e.effect:.3g} +- {e.stderr:.2g}{together}")
        return "\n".join(lines)

    def to_table(self) -> list[dict]:
        """Long format: one row per edge (the :meth:`CircuitEdge.to_dict` fields)."""
        return [e.to_dict() for e in self.edges]

    def to_dict(self) -> dict:
        """JSON-safe form (``circuit.json``); :meth:`from_dict` restores an equal object."""
        return {"model": dict(self.model), "settings": dict(self.settings),
                "receivers": dict(self.receivers), "stimuli": dict(self.stimuli),
                "edges": [e.to_dict() for e in self.edges],
                "groups": [g.to_dict() for g in self.groups]}

    @classmethod
    def from_dict(cls, data: dict) -> "Circuit":
        return cls(model=dict(data["model"]), settings=dict(data.get("settings", {})),
                   receivers=dict(data["receivers"]),
                   edges=tuple(CircuitEdge.from_dict(e) for e in data["edges"]),
                   stimuli=dict(data.get("stimuli", {})),
                   groups=tuple(CircuitGroup.from_dict(g) for g in data.get("groups", ())))
