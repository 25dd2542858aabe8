"""Run the ablation that could refute a class: a behavior's confirmation, on heads or groups.

Each behavior names its confirmation (:class:`interp.spec.behaviors.Confirmation`); this module
turns it into a measurement and :func:`interp.results.evidence.decide` turns the measurement into
a verdict:

- ``second_copy_loss`` / ``loss`` / ``downstream_<behavior>``: :func:`interp.measure_ablation`
  (a ``downstream`` test reads the heads classed as the receivers' behavior in layers after
  every ablated head; with none, it falls back to the second-copy loss);
- ``probe``: a linear probe for the task, read after the last ablated head's layer, is
  refitted on clean and on ablated activations (each gets its own, so a drop means the
  information is gone, not that the activations merely shifted); effect = accuracy lost,
  scale = clean accuracy above chance;
- ``custom``: the behavior's own function, returning an :class:`interp.AblationEffect`.

:func:`confirm_group` ablates heads that share a class together, and measures each member
alone and the group without each member on the same metric, so redundancy and each
member's share are judged like with like; :func:`judge_group` is that judgement for any
test of a set of heads (measure checks use it too).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from probes import ProbeResult, fit_linear_probe

from ..engine.ablation import (
    CleanRun,
    ablated_resid,
    ablation_hooks,
    clean_run,
    measure_ablation,
    residual_after_layer,
)
from ..io.jsonsafe import finite_or_none
from ..model.heads import HeadId
from ..model.hooks import resid_post_hook
from ..results.classification import MeasureInfo
from ..results.evidence import (
    AblationEffect,
    Evidence,
    GroupEvidence,
    GroupLink,
    decide,
)
from ..spec.behaviors import Behavior, Confirmation
from ..spec.measures import Measure, MeasureCheck
from ..spec.probe_tasks import probe_task
from ..stimuli.tokens import Stimuli


def check_marked(
    model: Any, measures: Sequence[Measure], values: dict[str, Tensor | None],
    infos: Sequence[MeasureInfo], stimuli: dict[str, Stimuli], *, min_effect: float, z: float,
    method: str = "mean", seed: int = 0, progress: bool = False,
    clean_runs: dict[str, CleanRun] | None = None,
) -> tuple[dict[HeadId, dict[str, Evidence]], list[GroupEvidence]]:
    """Each measure's :class:`MeasureCheck` on the heads it marks.

    Args:
        model: a ``TransformerBridge`` (not modified; no hook stays on it).
        measures, values, infos: as :func:`compute_measures` took and returned them.
        stimuli: the stimuli the measures were computed on (a check runs on its
            measure's).
        min_effect, z: the confirmation rule's settings (:func:`interp.results.evidence.decide`).
        method, seed: the ablation method and seed of checks that ablate.
        progress: a progress bar per check that tests heads one at a time.
        clean_runs: clean runs of the named stimuli already made (by
            :func:`compute_measures`), which the checks' ablations start from.

    Returns:
        ``(checks, groups)``: head -> measure name -> evidence, for marked heads only
        (with a pointer to the group where the check tests groups); and one
        :class:`interp.GroupEvidence` per grouped check with two or more marked heads
        (``behavior`` reads ``"<measure>: <claim>"``).

    Raises:
        TypeError: a check returned something other than an :class:`interp.Evidence`.
    """
    checks: dict[HeadId, dict[str, Evidence]] = {}
    groups: list[GroupEvidence] = []
    info_of = {i.name: i for i in infos}
    runs: dict[int, CleanRun] = {id(stimuli[name]): run
                                 for name, run in (clean_runs or {}).items()
                                 if name in stimuli and run.stimuli is stimuli[name]}

    def clean_for(where: Stimuli) -> dict[str, CleanRun]:
        """``clean=`` for a check that takes it: one clean run per stimuli, shared."""
        if not bool(where.valid.all()):
            return {}
        if id(where) not in runs:
            runs[id(where)] = clean_run(model, where)
        return {"clean": runs[id(where)]}

    for m in measures:
        value = values.get(m.name)
        if m.check is None or value is None:
            continue
        info = info_of[m.name]
        marked = [HeadId(layer, head) for layer in range(value.shape[0])
                  for head in range(value.shape[1]) if info.passes(float(value[layer, head]))]
        where = stimuli[m.stimuli] if m.kind == "pattern" else stimuli["census"]
        check = m.check

        def test(heads: list[HeadId], m: Measure = m, check: MeasureCheck = check,
                 where: Stimuli = where) -> Evidence:
            reuse = clean_for(where) if _takes_clean(check.fn) else {}
            found = check.fn(model, where, list(heads), min_effect=min_effect, z=z,
                             method=method, seed=seed, **reuse)
            return _checked(found, m, heads)

        if check.each is not None and marked:
            reuse = clean_for(where) if _takes_clean(check.each) else {}
            found = list(check.each(model, where, list(marked), min_effect=min_effect, z=z,
                                    method=method, seed=seed, **reuse))
            if len(found) != len(marked):
                raise TypeError(f"the check of measure {m.name!r} returned {len(found)} "
                                f"evidence for {len(marked)} heads")
            alone = {head: _checked(e, m, [head]) for head, e in zip(marked, found)}
        else:
            steps: Any = marked
            if progress and marked:
                from tqdm.auto import tqdm

                steps = tqdm(marked, desc=f"{m.name} check", unit="head")
            alone = {head: test([head]) for head in steps}
        if check.groups and len(marked) >= 2:
            group = judge_group(f"{m.name}: {check.claim}", marked, lambda heads: (
                alone[heads[0]] if len(heads) == 1 else test(heads)),
                min_effect=min_effect, z=z)
            groups.append(group)
            alone = {h: e.with_group(link(group, str(h))) for h, e in alone.items()}
        for head, evidence in alone.items():
            checks.setdefault(head, {})[m.name] = evidence
    return checks, groups


def _checked(found: Any, m: Measure, heads: list[HeadId]) -> Evidence:
    if not isinstance(found, Evidence):
        raise TypeError(f"the check of measure {m.name!r} must return an interp.Evidence for "
                        f"heads {[str(h) for h in heads]}; got {type(found).__name__}")
    return found


@dataclass
class ConfirmationContext:
    """What the confirmations of one census share.

    Attributes:
        model: the ``TransformerBridge``.
        stimuli: the ``[BOS] r r`` stimuli of the census.
        occurrence: stimuli for ``occurrence`` probe tasks.
        candidates: head -> candidate classes (receivers are read from here).
        method, seed: the ablation method and seed.
        min_effect, z_effect: the thresholds of :func:`interp.results.evidence.decide`.
        probes: fit supplementary probes.
        clean_probes: cache of clean probes per (task, layer), filled as they are fitted.
    """

    model: Any
    stimuli: Stimuli
    occurrence: Stimuli
    candidates: dict[HeadId, list[str]]
    method: str
    seed: int
    min_effect: float
    z_effect: float
    probes: bool = True
    clean_probes: dict[tuple[str, int], ProbeResult] = field(default_factory=dict)
    _clean_runs: dict[int, CleanRun] = field(default_factory=dict)

    @property
    def clean(self) -> CleanRun | None:
        """One clean pass over the census stimuli that every ablation of them reuses
        (:class:`interp.engine.ablation.CleanRun`); None for padded stimuli."""
        return self.clean_of(self.stimuli)

    def made_clean_run(self, stimuli: Stimuli) -> CleanRun | None:
        """The clean run of ``stimuli`` if one was made already (never makes one)."""
        return self._clean_runs.get(id(stimuli))

    def adopt(self, run: CleanRun) -> None:
        """Share a clean run made already (of the census stimuli, say) with every later
        ablation of its stimuli."""
        self._clean_runs[id(run.stimuli)] = run

    def clean_of(self, stimuli: Stimuli) -> CleanRun | None:
        """The clean run of ``stimuli`` (the census's or the occurrence probes'), made once;
        None for padded stimuli."""
        if not bool(stimuli.valid.all()):
            return None
        if id(stimuli) not in self._clean_runs:
            self._clean_runs[id(stimuli)] = clean_run(self.model, stimuli)
        return self._clean_runs[id(stimuli)]


def probe_available(task: Any, model: Any) -> bool:
    """Whether ``task`` can be probed on this model (multiclass tasks have a class limit)."""
    limit = probe_task(task).max_classes
    return limit is None or int(model.cfg.d_vocab) <= limit


def confirm_heads(ctx: ConfirmationContext, behavior: Behavior, heads: list[HeadId]) -> Evidence:
    """``behavior``'s confirmation on ``heads`` ablated together, with its verdict."""
    conf = behavior.confirmation
    assert isinstance(conf, Confirmation)
    if conf.kind == "probe":
        evidence = _probe_evidence(ctx, heads, conf.probe_task)
    else:
        effect, receivers = _measure(ctx, conf, heads)
        evidence = Evidence.from_effect(effect, ctx.min_effect, ctx.z_effect, receivers=receivers)
    if conf.evidence_probe and ctx.probes and probe_available(conf.evidence_probe, ctx.model):
        evidence = _with_probe(evidence, _probe_evidence(ctx, heads, conf.evidence_probe))
    return evidence


def confirm_group(
    ctx: ConfirmationContext, behavior: Behavior, members: list[HeadId],
    single: dict[HeadId, Evidence],
) -> GroupEvidence:
    """Ablate ``members`` together and judge redundancy (see :mod:`interp.results.evidence`).

    Args:
        ctx: the census context.
        behavior: the class the members share.
        members: at least two heads.
        single: each member's own evidence (reused when its metric is the group's).
    """
    together = confirm_heads(ctx, behavior, members)
    last = max(h.layer for h in members)

    def on_group_metric(heads: list[HeadId]) -> Evidence:
        """``heads`` measured exactly as the group was: the same metric, the same
        receivers, the probe read after the same layer."""
        if len(heads) == 1 and single.get(heads[0]) is not None:
            own = single[heads[0]]
            if own.metric == together.metric and own.receivers == together.receivers:
                return _bare(own)
        conf = behavior.confirmation
        assert isinstance(conf, Confirmation)
        if conf.kind == "probe":
            return _probe_evidence(ctx, heads, conf.probe_task, layer=last)
        if conf.kind == "custom":
            effect, receivers = _measure(ctx, conf, heads)
        else:
            effect = measure_ablation(ctx.model, ctx.stimuli, heads, metric=together.metric,
                                      receivers=list(together.receivers), method=ctx.method,
                                      seed=ctx.seed, clean=ctx.clean)
            receivers = together.receivers
        return Evidence.from_effect(effect, ctx.min_effect, ctx.z_effect, receivers=receivers)

    return judge_group(behavior.name, members, on_group_metric, together,
                       min_effect=ctx.min_effect, z=ctx.z_effect,
                       confirmed_alone=[h for h, e in single.items()
                                        if e is not None and e.status == "confirmed"])


def judge_group(
    name: str, members: list[HeadId], test: Callable[[list[HeadId]], Evidence],
    together: Evidence | None = None, *, min_effect: float, z: float,
    confirmed_alone: Collection[HeadId] | None = None,
) -> GroupEvidence:
    """Redundancy of ``members`` under any test of a set of heads (see
    :mod:`interp.results.evidence`): ``test(heads)`` gives the evidence for ``heads`` tested
    together (ablated together, for an ablation); the group is tested whole (``together``,
    unless given), each member alone and, when the whole group is confirmed and does
    clearly more than its strongest member (redundancy), the group without each member
    unconfirmed alone: only then can adding to the group confirm a member. A group that does
    not do the job together is no redundant group and no member adds to it (False); where
    the group shows no redundancy, or a member is confirmed alone (its class stands
    whatever the group shows), whether it adds is not measured (None).

    Args:
        name: what the members share (a class, or a measure's mark).
        members: at least two heads.
        test: the test of a set of heads.
        together: the whole group's evidence, when already measured.
        min_effect, z: the settings of :func:`interp.results.evidence.decide`.
        confirmed_alone: the members whose own evidence confirms them (their class
            stands without the group; default: those ``test`` confirms alone). A member's
            own test may read another metric than the group's (a probe after its own
            layer, not the group's last), so the census passes its verdicts.
    """
    if together is None:
        together = test(list(members))
    alone = {h: test([h]) for h in members}
    strongest = max(members, key=lambda h: _or(alone[h].effect, -math.inf))
    best = alone[strongest]
    gain = _gain(together, best, min_effect, z)
    if confirmed_alone is None:
        confirmed_alone = [h for h in members if alone[h].status == "confirmed"]
    adds: dict[HeadId, bool | None] = dict.fromkeys(members)
    if together.status == "confirmed" and gain.confirmed:
        for i, h in enumerate(members):
            if h in confirmed_alone:
                continue
            without = (alone[members[1 - i]] if len(members) == 2
                       else test([m for m in members if m != h]))
            adds[h] = _gain(together, without, min_effect, z).confirmed
    elif together.status != "confirmed":  # a group that does not do the job: none adds to it
        adds = dict.fromkeys(members, False)
    if together.status == "undecidable":
        confirmed, reason = False, together.reason
    elif together.status == "refuted":
        confirmed = False
        reason = f"together the heads do not do it either ({together.reason})"
    elif gain.confirmed:
        confirmed = True
        reason = (f"together the heads do clearly more than {strongest} alone "
                  f"({gain.reason})")
    else:
        confirmed = False
        reason = f"together the heads do not do clearly more than {strongest} alone ({gain.reason})"
    return GroupEvidence(
        behavior=name, heads=tuple(str(h) for h in members), together=together,
        alone={str(h): e.relative for h, e in alone.items()},
        adds={str(h): v for h, v in adds.items()}, strongest=str(strongest),
        gain=gain.relative, confirmed=confirmed, reason=reason,
    )


def link(group: GroupEvidence, member: str) -> GroupLink:
    """The pointer a member's evidence keeps to its group."""
    return GroupLink(heads=group.heads, relative=group.relative, confirmed=group.confirmed,
                     adds=group.adds.get(member, False))


def _measure(
    ctx: ConfirmationContext, conf: Confirmation, heads: list[HeadId]
) -> tuple[AblationEffect, tuple[str, ...]]:
    model, stimuli = ctx.model, ctx.stimuli
    common: dict[str, Any] = {"method": ctx.method, "seed": ctx.seed}
    if conf.kind == "custom":
        if ctx.clean is not None and _takes_clean(conf.fn):
            common["clean"] = ctx.clean
        effect = conf.fn(model, stimuli, list(heads), **common)
        if not isinstance(effect, AblationEffect):
            raise TypeError(
                f"custom confirmation {getattr(conf.fn, '__name__', conf.fn)!r} returned "
                f"{type(effect).__name__}, not interp.AblationEffect"
            )
        return effect, ()
    if conf.kind == "downstream":
        last = max(h.layer for h in heads)
        receivers = [r for r, classes in ctx.candidates.items()
                     if conf.receivers in classes and r.layer > last and r not in heads]
        if receivers:
            effect = measure_ablation(model, stimuli, heads, metric=f"downstream_{conf.receivers}",
                                      receivers=receivers, clean=ctx.clean, **common)
            return effect, tuple(str(r) for r in receivers)
        return measure_ablation(model, stimuli, heads, metric="second_copy_loss",
                                clean=ctx.clean, **common), ()
    return measure_ablation(model, stimuli, heads, metric=conf.kind, clean=ctx.clean,
                            **common), ()




def _takes_clean(fn: Callable[..., Any]) -> bool:
    """Whether a custom confirmation accepts ``clean=`` (a :class:`CleanRun` of the census
    stimuli, to reuse the clean pass); user functions need not."""
    try:
        return "clean" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _probe_evidence(
    ctx: ConfirmationContext, heads: list[HeadId], task: Any, layer: int | None = None
) -> Evidence:
    """Accuracy of ``task``'s probe after ``layer`` (default: the last head's layer), clean
    vs ablated."""
    spec = probe_task(task)
    task = spec.name
    stimuli = ctx.occurrence if spec.stimuli == "occurrence" else ctx.stimuli
    labels, keep = spec.labels(stimuli.tokens, stimuli.valid)
    y = labels[keep]
    layer = max(h.layer for h in heads) if layer is None else layer
    site = resid_post_hook(layer)
    clean = ctx.clean_of(stimuli)
    if (task, layer) not in ctx.clean_probes:
        if clean is None:
            activations = residual_after_layer(ctx.model, stimuli, layer)
        else:  # the residual leaving ``layer`` is the one entering the next block
            activations = ablated_resid(ctx.model, clean, [], stop=layer + 1).cpu()
        ctx.clean_probes[task, layer] = fit_linear_probe(activations[keep], y, task=task,
                                                         site=site, seed=ctx.seed)
    before = ctx.clean_probes[task, layer]
    if clean is None:
        hooks = ablation_hooks(ctx.model, stimuli, heads, method=ctx.method, seed=ctx.seed)
        ablated = residual_after_layer(ctx.model, stimuli, layer, hooks)[keep]
    else:  # rerun only the blocks from the first ablated head's to the probe's
        ablated = ablated_resid(ctx.model, clean, heads, method=ctx.method, seed=ctx.seed,
                                stop=layer + 1).cpu()[keep]
    after = fit_linear_probe(ablated, y, task=task, site=site, seed=ctx.seed)
    n = before.n_test
    variance = before.accuracy * (1 - before.accuracy) + after.accuracy * (1 - after.accuracy)
    return Evidence.measured(
        method=ctx.method, metric=f"probe_accuracy:{task}@{site}", clean=before.accuracy,
        ablated=after.accuracy, effect=before.accuracy - after.accuracy,
        stderr=(variance / n) ** 0.5, scale=before.accuracy - before.chance,
        min_effect=ctx.min_effect, z=ctx.z_effect, chance=before.chance,
    )


def _with_probe(evidence: Evidence, probe: Evidence) -> Evidence:
    from dataclasses import replace

    return replace(evidence, probe=probe)


def _bare(evidence: Evidence) -> Evidence:
    """Evidence without its supplementary probe (groups compare the deciding metric)."""
    return _with_probe(evidence, None) if evidence.probe is not None else evidence


def _gain(more: Evidence, less: Evidence, min_effect: float, z: float):
    """The verdict on ``more`` doing clearly more than ``less`` (same metric and scale)."""
    effect = _or(more.effect, 0.0) - _or(less.effect, 0.0)
    stderr = math.hypot(_or(more.stderr, math.inf), _or(less.stderr, math.inf))
    return decide(effect, stderr, more.scale, min_effect, z, more.metric)


def _or(value: float, default: float) -> float:
    number = finite_or_none(value)
    return default if number is None else number
