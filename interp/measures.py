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

A marking measure may also carry a :class:`MeasureCheck`: a test that can refute what the
mark claims, run on every marked head (:func:`check_marked`) and decided by the same rule
as the ablations (:func:`interp.evidence.decide`: confirmed, refuted or undecidable). The
sink measure's check asks whether attending the sink is a no-op (its key writes less than
almost any content key); long-range induction's whether ablating the head raises the loss
on long copies (retrieval); the successor score's whether ablating the head lowers the
successor's logit in context. Checks that ablate also test the marked heads together
(:func:`interp.confirm.judge_group`), so redundant heads are "confirmed together".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from .evidence import Evidence, GroupEvidence
from .heads import HeadId
from .hooks import attached_hooks, pattern_hook
from .models import model_device
from .registry import Registry
from .results import MeasureInfo
from .stimuli import Stimuli, spaced_copy_tokens

__all__ = [
    "MEASURE_KINDS",
    "Measure",
    "MeasureCheck",
    "check_marked",
    "compute_measures",
    "get_measure",
    "long_stimuli",
    "register_measure",
    "registered_measures",
    "resolve_measures",
    "successor_measure",
    "uniform_pattern",
    "unregister_measure",
]

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
            from :func:`interp.evidence.decide` (``Evidence.measured``).
        groups: also test the marked heads together, like the heads that share a class
            (:func:`interp.confirm.judge_group`): redundant heads, each unconfirmed alone,
            are "confirmed together". Only for tests where heads act jointly (ablations).
    """

    claim: str
    description: str
    fn: Callable[..., Evidence]
    groups: bool = False

    def __post_init__(self) -> None:
        for name in ("claim", "description"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"a measure check needs a {name} (non-empty text)")
        if not callable(self.fn):
            raise ValueError(f"measure check {self.claim!r}: fn must be callable")


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

    def info(self, baseline: float | None = None, note: str = "") -> MeasureInfo:
        """What the result records about this measure."""
        return MeasureInfo(name=self.name, description=self.description, kind=self.kind,
                           stimuli=self.stimuli if self.kind == "pattern" else "",
                           threshold=self.threshold, above_uniform=self.above_uniform,
                           label=self.label, bins=self.bins, baseline=baseline, note=note,
                           check_claim=self.check.claim if self.check else "",
                           check=self.check.description if self.check else "")


# ------------------------------------------------------------------- the registry

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


# ------------------------------------------------------------------- computing them


def uniform_pattern(valid: Bool[Tensor, "batch pos"]) -> Float[Tensor, "batch 1 query key"]:
    """A head without preference: each query spreads its attention evenly over the real
    keys ``0..q`` (BOS included)."""
    n_pos = valid.shape[1]
    causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=valid.device).tril()  # (Q, K)
    seen = causal[None] & valid[:, None, :] & valid[:, :, None]  # (B, Q, K)
    w = seen.float()
    return (w / w.sum(-1, keepdim=True).clamp(min=1))[:, None]  # (B, 1, Q, K)


def long_stimuli(
    model: Any, n_seqs: int, *, seed: int, bos_token_id: int, exclude_ids: Sequence[int] = (),
    max_pos: int = 256, documents: Sequence[str] = (),
) -> Stimuli:
    """The ``"long"`` stimuli: the model's whole context (at most ``max_pos`` tokens) of
    BOS and random tokens, with a span copied a short distance (4 or 8) and one copied half
    the context later (:func:`interp.spaced_copy_tokens`), so that induction can be split
    by copy distance and attention read over the whole context. With ``documents`` (a text
    model's held-out text) the body is a window of that text instead
    (:func:`interp.phase_change.spaced_copy_text_tokens`)."""
    n_pos = min(int(model.cfg.n_ctx), max_pos)
    span = 8 if n_pos >= 49 else 4
    distances = (span, (n_pos - 1) // 2)
    if documents:
        from .phase_change import spaced_copy_text_tokens

        return spaced_copy_text_tokens(model, documents, n_seqs, n_pos, distances=distances,
                                       span=span, seed=seed)
    return spaced_copy_tokens(n_seqs, n_pos, vocab_size=int(model.cfg.d_vocab),
                              distances=distances, span=span,
                              bos_token_id=bos_token_id, seed=seed, exclude_ids=exclude_ids)


def compute_measures(
    model: Any, measures: Sequence[Measure], stimuli: dict[str, Stimuli],
) -> tuple[dict[str, Tensor | None], tuple[MeasureInfo, ...]]:
    """Every head's value of each measure.

    Args:
        model: a ``TransformerBridge`` (not modified; no hook stays on it).
        measures: the measures.
        stimuli: ``"census"`` / ``"long"`` -> the stimuli of the pattern measures that ask
            for them.

    Returns:
        ``(values, infos)``: name -> ``[layer, head]`` (or ``[layer, head, bins]``) mean
        over sequences, None where a weights measure is unavailable; and what each
        measure was (:class:`interp.results.MeasureInfo`, with the uniform baseline and
        any note).
    """
    values: dict[str, Tensor | None] = {}
    baselines: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for where in MEASURE_STIMULI:
        chosen = [m for m in measures if m.kind == "pattern" and m.stimuli == where]
        if chosen and where not in stimuli:
            for m in chosen:
                values[m.name], baselines[m.name] = None, None
                notes[m.name] = f"not measured: no {where} stimuli for this model"
        elif chosen:
            values.update(_pattern_pass(model, chosen, stimuli[where]))
            for m in chosen:
                baselines[m.name] = (_uniform_value(m, stimuli[where]) if m.above_uniform
                                     else None)
    for m in measures:
        if m.kind != "weights":
            continue
        try:
            out = m.fn(model)
        except ValueError as err:
            values[m.name], notes[m.name] = None, f"not available: {err}"
            continue
        values[m.name] = _check_shape(m, torch.as_tensor(out).detach().float().cpu(),
                                      (int(model.cfg.n_layers), int(model.cfg.n_heads)))
    infos = tuple(m.info(baselines.get(m.name), notes.get(m.name, "")) for m in measures)
    return {m.name: values[m.name] for m in measures}, infos


def check_marked(
    model: Any, measures: Sequence[Measure], values: dict[str, Tensor | None],
    infos: Sequence[MeasureInfo], stimuli: dict[str, Stimuli], *, min_effect: float, z: float,
    method: str = "mean", seed: int = 0,
) -> tuple[dict[HeadId, dict[str, Evidence]], list[GroupEvidence]]:
    """Each measure's :class:`MeasureCheck` on the heads it marks.

    Args:
        model: a ``TransformerBridge`` (not modified; no hook stays on it).
        measures, values, infos: as :func:`compute_measures` took and returned them.
        stimuli: the stimuli the measures were computed on (a check runs on its
            measure's).
        min_effect, z: the confirmation rule's settings (:func:`interp.evidence.decide`).
        method, seed: the ablation method and seed of checks that ablate.

    Returns:
        ``(checks, groups)``: head -> measure name -> evidence, for marked heads only
        (with a pointer to the group where the check tests groups); and one
        :class:`interp.GroupEvidence` per grouped check with two or more marked heads
        (``behavior`` reads ``"<measure>: <claim>"``).

    Raises:
        TypeError: a check returned something other than an :class:`interp.Evidence`.
    """
    from .confirm import judge_group, link

    checks: dict[HeadId, dict[str, Evidence]] = {}
    groups: list[GroupEvidence] = []
    info_of = {i.name: i for i in infos}
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
            found = check.fn(model, where, list(heads), min_effect=min_effect, z=z,
                             method=method, seed=seed)
            if not isinstance(found, Evidence):
                raise TypeError(f"the check of measure {m.name!r} must return an "
                                f"interp.Evidence for heads {[str(h) for h in heads]}; got "
                                f"{type(found).__name__}")
            return found

        alone = {head: test([head]) for head in marked}
        if check.groups and len(marked) >= 2:
            group = judge_group(f"{m.name}: {check.claim}", marked, lambda heads: (
                alone[heads[0]] if len(heads) == 1 else test(heads)),
                min_effect=min_effect, z=z)
            groups.append(group)
            alone = {h: e.with_group(link(group, str(h))) for h, e in alone.items()}
        for head, evidence in alone.items():
            checks.setdefault(head, {})[m.name] = evidence
    return checks, groups


def _check_shape(m: Measure, value: Tensor, lead: tuple[int, int]) -> Tensor:
    expected = lead if m.bins is None else (*lead, len(m.bins))
    if tuple(value.shape) != expected:
        raise ValueError(f"measure {m.name!r} returned shape {tuple(value.shape)}; expected "
                         f"{expected}")
    return value


def _pattern_pass(model: Any, measures: list[Measure], stimuli: Stimuli) -> dict[str, Tensor]:
    """One forward pass; each layer's pattern is reduced by every measure in its hook."""
    from transformer_lens.model_bridge.exceptions import StopAtLayerException

    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    device = model_device(model)
    tokens, valid = stimuli.tokens.to(device), stimuli.valid.to(device)
    per_layer: dict[str, list[Tensor | None]] = {m.name: [None] * n_layers for m in measures}

    def make_hook(layer: int):
        def reduce_pattern(pattern: Tensor, hook: Any) -> None:
            p = pattern.detach()
            on = (tokens.to(p.device), valid.to(p.device))
            for m in measures:
                value = m.fn(p, *on).detach().float().cpu().nanmean(0)  # (H,) or (H, N)
                per_layer[m.name][layer] = _check_shape(m, value[None], (1, n_heads))[0]
            if layer == n_layers - 1:
                raise StopAtLayerException(pattern)  # nothing after the last pattern
            return None

        return reduce_pattern

    hooks = [(pattern_hook(layer), make_hook(layer)) for layer in range(n_layers)]
    with torch.inference_mode(), attached_hooks(model, hooks):
        model(tokens, attention_mask=valid.long())
    return {name: torch.stack(layers) for name, layers in per_layer.items()}  # (L, H[, N])


def _uniform_value(m: Measure, stimuli: Stimuli) -> float:
    """The measure's value for a head that attends uniformly (module docstring)."""
    value = m.fn(uniform_pattern(stimuli.valid), stimuli.tokens, stimuli.valid)  # (B, 1)
    return float(value.float().nanmean())


# ------------------------------------------------------------------- built-ins
# Each head type below is one block: its helpers and its registration.

# Attention sinks (Gu et al. 2025; interp.head_types.sink_scores).


def _sink(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    from .head_types import sink_scores

    return sink_scores(pattern, valid)[0]  # (B, H)


def _sink_key(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    from .head_types import sink_scores

    key = sink_scores(pattern, valid)[1]  # (H,)
    return key.float()[None].expand(pattern.shape[0], -1)  # (B, H)


def _no_op_sink(
    model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
    **_: Any,
) -> Evidence:
    """The no-op check of one head: its sink key must write less than the content keys'
    5% quantile (:func:`interp.head_types.sink_values`), and clearly so over sequences."""
    import math

    from .head_types import sink_values

    (v,) = sink_values(model, stimuli, heads)  # one head: sinks are a head's own
    content, sink = float(v.content.mean()), float(v.sink.mean())
    gap = v.content - v.sink  # (B,): positive when the sink writes less
    stderr = float(gap.std()) / math.sqrt(len(gap)) if len(gap) > 1 else math.inf
    # below the null's quantile <=> relative effect >= 1 - quantile / mean
    floor = 1.0 - v.content_quantile / content if content > 0 else 0.0
    evidence = Evidence.measured(
        method="value norm", metric="sink_value_norm", clean=content, ablated=sink,
        effect=float(gap.mean()), stderr=stderr, scale=content,
        min_effect=max(min_effect, floor), z=z)
    where = "BOS" if v.key == 0 else f"key {v.key}"
    ratio = f"{sink / content:.3g}x" if content > 0 else "n/a"
    said = (f"{where} writes {sink:.3g} per unit of attention, {ratio} a content key's "
            f"{content:.3g} (their {v.quantile:.0%} quantile: {v.content_quantile:.3g}); ")
    return replace(evidence, reason=said + evidence.reason)


register_measure(Measure(
    name="sink",
    description="attention-sink score (0..1; Gu et al. 2025): the largest, over keys seen "
    "by at least 16 queries, of the mean attention a key gets from the queries at or after "
    "it (alpha_k). A head sinks when it exceeds 0.3 (their threshold) and what a uniform "
    "head gets on the same sequences. BOS is a key like any other, and a head that rests on "
    "BOS whenever it has nothing to do (an induction head on a first copy) sinks too.",
    fn=_sink, threshold=0.3, above_uniform=True, label="sink (measure)",
    check=MeasureCheck(
        claim="no-op sink",
        description="attending the sink must move (almost) nothing: per unit of attention "
        "the sink key writes || v W_O || (Kobayashi et al. 2020) below the 5% quantile of "
        "what the head's content keys write, over the long stimuli (Gu et al. 2025 found "
        "sink values small). Refuted for a head that reads its sink key (a positional "
        "reader) or writes a large constant from it (a bias); undecided where the head "
        "writes nothing from any key.",
        fn=_no_op_sink,
    ),
))
register_measure(Measure(
    name="sink_key",
    description="the key position of the head's sink score (0 = BOS).",
    fn=_sink_key,
))

# Local window (interp.head_types.local_profile).

#: The window of the window measures (distances 0..WINDOW).
WINDOW = 4


def _window(pattern: Tensor, valid: Tensor) -> Tensor:
    from .head_types import local_profile

    return local_profile(pattern, valid, window=WINDOW)  # (B, H, WINDOW + 1)


def _window_mass(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    from .head_types import window_mass

    return window_mass(_window(pattern, valid))  # (B, H)


def _window_width(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    from .head_types import window_width

    return window_width(_window(pattern, valid))  # (B, H)


register_measure(Measure(
    name="window_mass",
    description=f"attention on the query and the {WINDOW} keys before it (0..1), over "
    "queries whose window does not reach BOS.",
    fn=_window_mass,
))
register_measure(Measure(
    name="window_width",
    description=f"over how many of the distances 0..{WINDOW} the window's attention spreads: "
    f"exp(entropy) of the normalised distance profile (1..{WINDOW + 1}); 1 for a previous- "
    "or current-token head, about 3 for a head spread over three tokens. Only meaningful "
    "where window_mass is not small.",
    fn=_window_width,
))

# Induction by copy distance (interp.head_types.induction_by_distance).

#: Copies at most this far back count as short-range induction.
SHORT_COPY = 8


def _induction_band(band: str) -> Callable[..., Tensor]:
    def score(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
        from .head_types import induction_by_distance

        return induction_by_distance(pattern, tokens, valid, edges=(SHORT_COPY,))[band].score

    return score


register_measure(Measure(
    name="induction_short",
    description=f"induction score (0..1) on copies at most {SHORT_COPY} tokens back (the "
    "distance from the current token to its earlier occurrence), on the long stimuli; "
    "with induction_long, short- vs long-range induction (in the spirit of retrieval heads, "
    "Wu et al. 2024). Chance repeats in the body (random tokens or text) count as copies.",
    fn=_induction_band(f"2-{SHORT_COPY}"),
))


def _from_effect(effect: Any, min_effect: float, z: float) -> Evidence:
    """An :class:`interp.AblationEffect` as evidence with its verdict."""
    return Evidence.measured(
        method=effect.method, metric=effect.metric, clean=effect.clean,
        ablated=effect.ablated, effect=effect.effect, stderr=effect.stderr,
        scale=effect.scale, min_effect=min_effect, z=z)


def _retrieves(
    model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
    method: str = "mean", seed: int = 0,
) -> Evidence:
    """Long-range induction's check: ablating the heads must raise the loss on the long
    copies (:func:`interp.head_types.copy_loss_effect`)."""
    from .head_types import copy_loss_effect

    effect = copy_loss_effect(model, stimuli, heads, min_distance=SHORT_COPY + 1,
                              method=method, seed=seed)
    evidence = _from_effect(effect, min_effect, z)
    said = (f"ablating takes the loss on copies more than {SHORT_COPY} back "
            f"from {effect.clean:.3g} to {effect.ablated:.3g} nats (copy benefit "
            f"{effect.scale:.3g}); ")
    return replace(evidence, reason=said + evidence.reason)


#: A head marks as long-range induction above this score (and above a uniform head).
LONG_INDUCTION_THRESHOLD = 0.3

register_measure(Measure(
    name="induction_long",
    description=f"induction score (0..1) on copies more than {SHORT_COPY} tokens back, on "
    "the long stimuli (which hold a copy half the context back). Heads above "
    f"{LONG_INDUCTION_THRESHOLD:g} (and a uniform head) are long-range induction heads, "
    "the retrieval heads of Wu et al. 2024 at this scale.",
    fn=_induction_band(f"{SHORT_COPY + 1}+"), threshold=LONG_INDUCTION_THRESHOLD,
    above_uniform=True, label="long-range induction (measure)",
    check=MeasureCheck(
        claim="retrieval",
        description=f"ablating the head alone must raise the loss on the long stimuli's "
        f"copies more than {SHORT_COPY} tokens back (where the copied span continues), "
        "by at least the ablations' minimum share of the copy benefit (the source's loss "
        "minus the copy's). Refuted for a head that attends there but moves nothing the "
        "prediction uses (a fixed-offset head, or one whose output is unused); undecided "
        "where the model does not use the long copies at all.",
        fn=_retrieves, groups=True,
    ),
))

# Attention by relative key position (interp.head_types.key_position_profile).

#: Bins of the key-position profile.
KEY_BINS = 8


def _key_position(pattern: Tensor, tokens: Tensor, valid: Tensor) -> Tensor:
    from .head_types import key_position_profile

    return key_position_profile(pattern, valid, n_bins=KEY_BINS)  # (B, H, KEY_BINS)


register_measure(Measure(
    name="key_position",
    description=f"attention mass by relative key position (\"lost in the middle\", Liu et "
    f"al. 2023): for queries in the second half of the long stimuli the visible keys are "
    f"cut into {KEY_BINS} bins by position / (query + 1); each bin's mean mass (a row sums "
    f"to 1; uniform = 1/{KEY_BINS}). A sink fills the first bin, a local head the last, a "
    "head that fails to read the middle dips there.",
    fn=_key_position,
    bins=tuple(f"{i}/{KEY_BINS}" for i in range(1, KEY_BINS + 1)),
))

# Successor heads (Gould et al. 2023; interp.head_types.successor_scores).


#: A head marks as a successor head when the successor wins most ordinal pairs.
SUCCESSOR_THRESHOLD = 0.5
#: Sequences of the in-context successor check.
SUCCESSOR_SEQS = 16


def successor_measure(
    ordinal_sets: Any = None, *, name: str = "successor",
) -> Measure:
    """Gould et al.'s successor score as a weights measure.

    Args:
        ordinal_sets: ordered token-id lists to score on; None: the ordinal sets the
            model's tokenizer holds (:func:`interp.head_types.ordinal_token_sets`: digits,
            letters, weekdays, months); a model without a tokenizer, or whose tokenizer
            holds none, gets no values and a note.
        name: the measure's name.
    """
    from .head_types import (
        ordinal_stimuli,
        ordinal_token_sets,
        successor_logit_effect,
        successor_scores,
    )

    def sets_of(model: Any) -> Any:
        if ordinal_sets is not None:
            return ordinal_sets
        sets = ordinal_token_sets(getattr(model, "tokenizer", None))
        if not sets:
            raise ValueError("the tokenizer holds no ordinal token set (digits, "
                             "letters, weekdays, months) as single tokens")
        return sets

    def successor(model: Any) -> Tensor:
        sets = sets_of(model)
        if bool(getattr(model.cfg, "attn_only", False)):
            return successor_scores(model, sets)
        try:
            return successor_scores(model, sets, through_mlp0=True)
        except (AttributeError, RuntimeError, TypeError) as err:
            raise ValueError(f"cannot apply MLP0 to the embeddings: {err}") from err

    def in_context(
        model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
        method: str = "mean", seed: int = 0,
    ) -> Evidence:
        sets = sets_of(model)
        context = ordinal_stimuli(sets, SUCCESSOR_SEQS, min(int(model.cfg.n_ctx) - 1, 32),
                                  vocab_size=int(model.cfg.d_vocab),
                                  bos_token_id=stimuli.bos_token_id, seed=seed + 3)
        effect = successor_logit_effect(model, context, heads, sets, method=method, seed=seed)
        return _from_effect(effect, min_effect, z)

    return Measure(
        name=name,
        description="successor score (0..1; Gould et al. 2023), from the weights: through "
        "the head's OV circuit (after MLP0 where the model has MLPs), the fraction of "
        "ordinal pairs (1 -> 2, a -> b, Monday -> Tuesday) where the successor gets the "
        "top logit among its set; a copying head scores 0, random weights about 1/set size. "
        f"A head marks above {SUCCESSOR_THRESHOLD:g}: the successor wins most pairs.",
        fn=successor, kind="weights", threshold=SUCCESSOR_THRESHOLD,
        label=f"{name} (measure)",
        check=MeasureCheck(
            claim="successor in context",
            description=f"on {SUCCESSOR_SEQS} sequences of random members of the ordinal "
            "sets, ablating the head alone must lower the centred logit of each token's "
            "successor (interp.head_types.successor_logit_effect), by at least the "
            "ablations' minimum share of what the model gives it. Refuted for a head whose "
            "weights map tokens to their successors but which does not do it in context "
            "(it attends elsewhere, or its output is cancelled); undecided where the model "
            "does not raise successors at all.",
            fn=in_context, groups=True,
        ),
    )


register_measure(successor_measure())
