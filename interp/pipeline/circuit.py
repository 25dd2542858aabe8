"""Find the circuit of a model's confirmed heads: classify, score every edge, check the top.

1. **Receivers**: the heads :func:`interp.classify_heads` confirms (alone or together
   with their group), each with its first confirmed behavior (registry order); with
   ``behaviors``, only those behaviors are classified and read.
2. **Scores** (:mod:`interp.engine.edges`): every edge into each receiver's ``q``, ``k``
   and ``v`` input from the embeddings, every head of an earlier layer and every earlier
   MLP, and every head's (and MLP's) edge into the ``logits``, scored by edge attribution
   patching (with integrated gradients, ``ig_steps``), at a cost that does not grow with
   the number of edges. The ranking is complete: every pair is scored, none is pruned.
   The logits' metric is the second-copy loss, except for a receiver whose behavior's
   test reads the logits itself (``Confirmation.direct``, metric ``direct_<behavior>``):
   a copy suppressor's direct edge lowers the predicted token's logit, its job, which
   shows in the loss only as harm.
3. **Checks** (:mod:`interp.engine.path_patching`): the ``max_checked`` edges of largest
   ``|score|`` (default: all) are path-patched exactly, and the registry's rule gives each
   a verdict on the size of its effect in either direction (a sender that clearly opposes
   its receiver's metric is in the circuit too; :func:`interp.engine.path_patching.verdict`):
   confirmed, refuted or undecidable, effect +- stderr over sequences; the rest stay
   ``unchecked``.
4. **Groups**: redundant senders each look refuted alone (a twin still carries the
   signal), so the checked edges into one receiver input that path patching did not
   confirm and that scored positive are also patched together: those whose senders share
   a confirmed class, and the ``group_size`` best scored. The project's group rule
   (:func:`interp.pipeline.confirm.judge_group`: together clearly more than the strongest
   alone; a member counts when the group without it does clearly less) confirms each
   member that adds to a confirmed group, with the group recorded on the edge
   (``group``) and in ``Circuit.groups``.

The stimuli are the census's ``[BOS] r r`` (same seed), and the ablation method is the
census's (``mean`` by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ..engine.edges import (
    LOGITS,
    OUT,
    check_by_hand,
    check_supported,
    circuit_run,
    head_edge_scores,
    logit_edge_scores,
    sender_deltas,
)
from ..engine.path_patching import (
    DIRECT,
    DOWNSTREAM,
    LOGIT_METRIC,
    patch_head_edges,
    patch_head_sets,
    patch_logit_direct,
    patch_logit_edges,
    patch_logit_sets,
    verdict,
)
from ..model.heads import HeadId
from ..model.loading import bos_token_id, model_name
from ..results.circuit import Circuit, CircuitEdge, CircuitGroup
from ..results.classification import Classification
from ..results.evidence import Evidence
from ..spec.behaviors import Behavior, get_behavior, resolve_behaviors
from ..stimuli.preflight import check_token_ids
from ..stimuli.tokens import Stimuli, check_stimuli, repeated_tokens
from .classify import ClassifySettings, classify_heads
from .confirm import judge_group

#: The name of a group of the best scored senders into a receiver input (not a class).
TOP_SCORED = "top_scored"


@dataclass(frozen=True)
class CircuitSettings:
    """Every knob of :func:`find_circuit`, recorded in ``circuit.json``.

    Attributes:
        seed: seed of the stimuli and of the ablations (resampling).
        n_seqs, seq_len: ``[BOS] r r`` sequences and the length of ``r``.
        method: ablation method that makes a sender's corrupt output (``mean``).
        min_effect, z_effect: the verdict rule's thresholds
            (:func:`interp.results.evidence.decide`).
        behaviors: behavior names whose confirmed heads are the receivers (None: every
            registered behavior).
        ig_steps: gradient points on the path to the corrupt input (0: plain edge
            attribution patching at the clean point).
        max_checked: path-patch only this many edges of largest ``|score|`` (None: all).
        group_size: the most senders of the best scored group into one receiver input
            (module docstring; 0 or 1: no such group, class groups only).
        exclude_tokens: token ids never drawn into the stimuli (besides BOS).
    """

    seed: int = 0
    n_seqs: int = 32
    seq_len: int = 30
    method: str = "mean"
    min_effect: float = 0.1
    z_effect: float = 2.0
    behaviors: tuple[str, ...] | None = None
    ig_steps: int = 5
    max_checked: int | None = None
    group_size: int = 4
    exclude_tokens: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.behaviors is not None:
            names = (self.behaviors,) if isinstance(self.behaviors, str) else self.behaviors
            object.__setattr__(self, "behaviors", tuple(names))
            try:
                resolve_behaviors(self.behaviors)
            except KeyError as err:
                raise ValueError(f"unknown behavior: {err.args[0]}") from None
        object.__setattr__(self, "exclude_tokens", check_token_ids(
            self.exclude_tokens, vocab_size=2**63, name="exclude_tokens"))
        self.census()  # the census's own checks: seed, method, n_seqs, seq_len, min_effect
        if self.ig_steps < 0:
            raise ValueError(f"ig_steps must be 0 or more, got {self.ig_steps}")
        if self.group_size < 0:
            raise ValueError(f"group_size must be 0 or more, got {self.group_size}")
        if self.max_checked is not None and self.max_checked < 0:
            raise ValueError(f"max_checked must be 0 or more, got {self.max_checked}")

    def census(self) -> ClassifySettings:
        """The classification settings that pick the receivers (no sweep, probes or
        measures: only the classes and their ablation tests)."""
        return ClassifySettings(
            seed=self.seed, n_seqs=self.n_seqs, seq_len=self.seq_len, method=self.method,
            min_effect=self.min_effect, z_effect=self.z_effect, sweep=False, probes=False,
            behaviors=self.behaviors, measures=(), exclude_tokens=self.exclude_tokens)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["behaviors"] = None if self.behaviors is None else list(self.behaviors)
        data["exclude_tokens"] = list(self.exclude_tokens)
        return data


def receivers_of(classification: Classification, behaviors: tuple[str, ...] | None = None,
                 ) -> dict[HeadId, str]:
    """Each confirmed head and its first confirmed behavior (of ``behaviors`` if given).

    Raises:
        ValueError: no head is confirmed for any of them, or a behavior is not registered.
    """
    out: dict[HeadId, str] = {}
    for head in classification.heads:
        classes = [c for c in head.confirmed_classes if behaviors is None or c in behaviors]
        if classes:
            out[head.head_id] = classes[0]
    if not out:
        which = "any behavior" if behaviors is None else "behaviors " + ", ".join(behaviors)
        raise ValueError(f"no head of {classification.model.get('name')} is confirmed for "
                         f"{which}: there is no circuit to find")
    for name in set(out.values()):
        try:
            get_behavior(name)
        except KeyError:
            raise ValueError(f"behavior {name!r} of the classification is not registered"
                             ) from None
    return dict(sorted(out.items()))


def find_circuit(
    model: Any, settings: CircuitSettings | None = None, *,
    classification: Classification | None = None, stimuli: Stimuli | None = None,
) -> Circuit:
    """Score every edge into the confirmed heads and the logits, and path-patch the top.

    Args:
        model: a ``TransformerBridge`` (rotary models too: :mod:`interp.engine.edges`);
            never modified, no hook stays on it.
        settings: :class:`CircuitSettings` (default settings when None).
        classification: a census of ``model`` to take the receivers from (default: run
            one with ``settings.census()``).
        stimuli: ``[BOS] r r`` stimuli to use instead of drawing them from the settings.

    Returns:
        A :class:`interp.results.circuit.Circuit`; the same model and settings give the
        same result.

    Raises:
        ValueError: a rotary model without ``rotary_emb``, unknown behaviors, stimuli that
            do not fit, no confirmed head, or an attention this module cannot recompute.

    Example:
        >>> circuit = find_circuit(load_model("default"))  # doctest: +SKIP
        >>> circuit.edge("0.0", "1.2", "k").status
        'confirmed'
    """
    settings = settings or CircuitSettings()
    check_supported(model)
    if stimuli is None:
        if 2 * settings.seq_len + 1 > int(model.cfg.n_ctx):
            raise ValueError(f"seq_len {settings.seq_len} needs {2 * settings.seq_len + 1} "
                             f"positions; the model's context is {model.cfg.n_ctx}")
        stimuli = repeated_tokens(settings.n_seqs, settings.seq_len,
                                  vocab_size=int(model.cfg.d_vocab),
                                  bos_token_id=bos_token_id(model), seed=settings.seed,
                                  exclude_ids=settings.exclude_tokens)
    check_stimuli(model, stimuli, repeated=True)
    if classification is None:
        classification = classify_heads(model, settings.census(), stimuli=stimuli)
    receivers = receivers_of(classification, settings.behaviors)

    run = circuit_run(model, stimuli)
    check_by_hand(model, run, list(receivers))
    senders = sender_deltas(model, run, method=settings.method, seed=settings.seed)
    scores: dict[tuple[str, str, str], float] = {}
    metrics: dict[tuple[str, str, str], str] = {}
    for head, name in receivers.items():
        found = head_edge_scores(model, run, senders, head, get_behavior(name),
                                 steps=settings.ig_steps)
        scores.update({(source, str(head), inp): v for (source, inp), v in found.items()})
        metrics.update({(source, str(head), inp): DOWNSTREAM + name for source, inp in found})
    logits = logit_edge_scores(model, run, senders, steps=settings.ig_steps)
    scores.update({(source, LOGITS, OUT): v for source, v in logits.items()})
    metrics.update({(source, LOGITS, OUT): LOGIT_METRIC for source in logits})
    direct = direct_tests(receivers)
    for source, behavior in direct.items():
        found = logit_edge_scores(model, run, senders, steps=settings.ig_steps,
                                  value=_direct_value(model, run, behavior))
        scores[source, LOGITS, OUT] = found[source]
        metrics[source, LOGITS, OUT] = DIRECT + behavior.name

    ranked = sorted(scores, key=lambda k: (-abs(scores[k]), k))
    chosen = ranked if settings.max_checked is None else ranked[: settings.max_checked]
    common = {"method": settings.method, "seed": settings.seed}
    effects: dict[tuple[str, str, str], Any] = {}
    for head, name in receivers.items():
        wanted = [(s, inp) for s, t, inp in chosen if t == str(head)]
        if wanted:
            found = patch_head_edges(model, run, senders, head, get_behavior(name), wanted,
                                     **common)
            effects.update({(s, str(head), inp): e for (s, inp), e in found.items()})
    wanted_logits = [s for s, t, _ in chosen if t == LOGITS and s not in direct]
    if wanted_logits:
        found_logits = patch_logit_edges(model, run, senders, wanted_logits, **common)
        effects.update({(s, LOGITS, OUT): e for s, e in found_logits.items()})
    for source in [s for s, t, _ in chosen if t == LOGITS and s in direct]:
        effects[source, LOGITS, OUT] = patch_logit_direct(model, run, senders, source,
                                                          direct[source], **common)

    verdicts = {key: verdict(e, settings.min_effect, settings.z_effect)
                for key, e in effects.items()}
    groups = redundant_groups(model, run, senders, receivers, classification, scores,
                              {k: v for k, v in verdicts.items() if k[0] not in direct
                               or k[1] != LOGITS}, settings)
    together = {}
    for group in groups:
        for source in group.confirmed:
            together.setdefault((source, group.target, group.input), group)

    edges = []
    for key in sorted(scores, key=lambda k: (-scores[k], k)):
        source, target, inp = key
        edge = CircuitEdge(source=source, target=target, input=inp, score=scores[key],
                           metric=metrics[key])
        if key in verdicts:
            evidence = verdicts[key]
            status, reason, members = evidence.status, evidence.reason, ()
            if key in together:
                group = together[key].evidence
                status, members = "confirmed", group.heads
                reason = (f"confirmed together with {', '.join(m for m in members if m != source)}"
                          f" ({group.reason}); alone: {evidence.reason}")
            edge = CircuitEdge(source=source, target=target, input=inp, score=scores[key],
                               metric=metrics[key], effect=evidence.effect,
                               stderr=evidence.stderr, relative=evidence.relative,
                               status=status, reason=reason, group=members)
        edges.append(edge)
    return Circuit(
        model={"name": model_name(model), "n_layers": int(model.cfg.n_layers),
               "n_heads": int(model.cfg.n_heads), "d_model": int(model.cfg.d_model)},
        settings=settings.to_dict(),
        receivers={str(h): b for h, b in receivers.items()},
        edges=tuple(edges), stimuli=stimuli.to_dict(), groups=tuple(groups),
    )


def direct_tests(receivers: dict[HeadId, str]) -> dict[str, Behavior]:
    """The receivers whose behavior's test reads the logits (``Confirmation.direct``):
    head label -> behavior; their edges to the logits are scored and checked by it."""
    return {str(h): get_behavior(b) for h, b in receivers.items()
            if get_behavior(b).confirmation.direct is not None}


def _direct_value(model: Any, run: Any, behavior: Behavior) -> Callable[[Any], Any]:
    """``behavior``'s direct test as a function of the residual leaving the last block."""
    def value(final: Any) -> Any:
        return behavior.confirmation.direct(model, run.stimuli, run.final, final)

    return value


def candidate_groups(
    candidates: list[str], classes: dict[str, tuple[str, ...]], group_size: int,
) -> list[tuple[str, list[str]]]:
    """The groups to patch among the ``candidates`` (best score first) into one receiver
    input: ``(name, senders)`` for each class that two or more of them share (``classes``:
    sender -> its confirmed classes), then the ``group_size`` best scored
    (:data:`TOP_SCORED`) unless a class group already holds exactly those."""
    out: list[tuple[str, list[str]]] = []
    names = sorted({c for s in candidates for c in classes.get(s, ())})
    for name in names:
        members = [s for s in candidates if name in classes.get(s, ())]
        if len(members) >= 2:
            out.append((name, members))
    top = candidates[:group_size]
    if len(top) >= 2 and all(set(top) != set(m) for _, m in out):
        out.append((TOP_SCORED, top))
    return out


def redundant_groups(
    model: Any, run: Any, senders: Any, receivers: dict[HeadId, str],
    classification: Classification, scores: dict[tuple[str, str, str], float],
    verdicts: dict[tuple[str, str, str], Evidence], settings: CircuitSettings,
) -> list[CircuitGroup]:
    """Step 4 of the module docstring: the checked edges into each receiver input that
    path patching did not confirm and that scored positive, patched in groups and judged
    by the group rule."""
    classes = {h.label: h.confirmed_classes for h in classification.heads}
    targets = [(str(h), inp) for h in receivers for inp in ("q", "k")] + [(LOGITS, OUT)]
    out: list[CircuitGroup] = []
    for target, inp in targets:
        candidates = sorted(
            (s for (s, t, i), e in verdicts.items()
             if (t, i) == (target, inp) and e.status != "confirmed" and scores[s, t, i] > 0),
            key=lambda s: (-scores[s, target, inp], s))
        behavior = None if target == LOGITS else get_behavior(receivers[HeadId.parse(target)])
        test = _set_test(model, run, senders, target, inp, behavior, settings)
        for name, members in candidate_groups(candidates, classes, settings.group_size):
            judged = judge_group(name, members, test, min_effect=settings.min_effect,
                                 z=settings.z_effect)
            out.append(CircuitGroup(target=target, input=inp, evidence=judged))
    return out


def _set_test(
    model: Any, run: Any, senders: Any, target: str, inp: str, behavior: Any,
    settings: CircuitSettings,
) -> Callable[[list[str]], Evidence]:
    """The group rule's test of a set of senders: path-patched together into ``target``'s
    ``inp``, with the verdict of the registry's rule."""
    common = {"method": settings.method, "seed": settings.seed}

    def test(members: list[str]) -> Evidence:
        if target == LOGITS:
            (effect,) = patch_logit_sets(model, run, senders, [members], **common)
        else:
            (effect,) = patch_head_sets(model, run, senders, HeadId.parse(target), behavior,
                                        inp, [members], **common)
        return Evidence.from_effect(effect, settings.min_effect, settings.z_effect)

    return test
