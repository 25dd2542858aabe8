"""Classify every head from its scores, then test each class with an ablation.

**Candidate class.** A head is a candidate for a behavior when, on the same pass, its score
beats its own null (see :mod:`interp.scoring`) both in size and beyond noise:

- lift ``(score - null) / (1 - null) >= min_lift`` (default 0.3: at least 30% of the
  attention that could move onto the targets beyond chance does), and
- ``score - null > z * stderr`` over sequences (default z = 3).

- for ``duplicate_token`` and ``induction`` (content-based behaviors): on ``[BOS] r s``
  sequences without repeats (same run, same seed) the head's attention on the same
  *positions* must lose at least half of its gap over the null; a head that keeps
  attending ``L`` or ``L - 1`` back without repeats is a positional shortcut, not a
  duplicate-token or induction head.

These criteria are relative to nulls measured in the same run, not to a fixed score, so
they carry across models and stimulus lengths.

**Confirmation.** Every candidate class is then put to an ablation that could refute it:

- ``induction``: ablating the head must raise the second-copy loss by at least
  ``min_effect`` (default 10%) of the first-to-second-copy loss drop;
- ``previous_token``: ablating the head must cut the induction score of the induction
  heads in later layers (its receivers) by at least ``min_effect`` of their score; with no
  later induction head, the second-copy loss is used as for induction;
- ``duplicate_token``: ablating the head must remove the information it writes: a linear
  probe for "the current token occurred before", fitted after the head's layer on
  sequences where that is independent of position, must lose at least ``min_effect`` of
  its accuracy above chance. This confirms a duplicate-token head whose output no later
  head reads.

Each effect must also exceed ``z_effect`` (default 2) standard errors. A class the ablation
does not support stays in the result with ``confirmed: false``; it is never dropped.
Heads that share a class are also ablated together, which exposes redundant heads (each
alone small, together large).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from probes import (
    ProbeResult,
    fit_linear_probe,
    occurred_before_labels,
    previous_token_labels,
)

from .ablation import (
    AblationEffect,
    ablation_hooks,
    copy_losses,
    measure_ablation,
    residual_after_layer,
)
from .ablation_sweep import ablation_sweep, attribution_scores
from .census import score_heads
from .heads import BEHAVIORS, HeadId, all_heads
from .hooks import attached_hooks, pattern_hook, resid_post_hook
from .models import bos_token_id, model_name, special_token_ids
from .probing import probe_layers
from .scoring import HeadScores
from .stimuli import (
    Stimuli,
    occurrence_tokens,
    repeated_tokens,
    text_stimuli,
    unrepeated_tokens,
)
from .weights import composition_scores, key_feeders, ov_copying_scores

__all__ = ["ClassifySettings", "HeadClass", "Classification", "classify_heads"]


@dataclass(frozen=True)
class ClassifySettings:
    """Every knob of a census, recorded in the report.

    Attributes:
        seed: seed of the stimuli, the resampling and the probes.
        n_seqs: sequences of ``[BOS] r r``.
        seq_len: length ``L`` of ``r``.
        method: ablation method (``mean``, ``zero``, ``resample``).
        min_lift: smallest lift (0..1) that makes a candidate.
        z: standard errors by which score must beat null.
        min_effect: smallest relative ablation effect (0..1) that confirms.
        z_effect: standard errors by which the ablation effect must exceed zero.
        sweep: also ablate every head alone on the second-copy loss (exactly; on models
            with more than ``MAX_EXACT_SWEEP`` heads, the heads an attribution-patching
            screen ranks highest, plus every classified head).
        probes: fit the built-in linear probes after every layer (and, for previous-token
            heads, with the head ablated).
        batch_size: sequences per census forward pass (None: all at once); keeps the
            census' memory flat as ``n_seqs`` grows.
    """

    seed: int = 0
    n_seqs: int = 32
    seq_len: int = 30
    method: str = "mean"
    min_lift: float = 0.3
    z: float = 3.0
    min_effect: float = 0.1
    z_effect: float = 2.0
    sweep: bool = True
    probes: bool = True
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.n_seqs < 2:
            raise ValueError(f"n_seqs must be at least 2, got {self.n_seqs}")
        if self.seq_len < 2:
            raise ValueError(f"seq_len must be at least 2, got {self.seq_len}")
        if not 0.0 < self.min_lift <= 1.0:
            raise ValueError(f"min_lift must lie in (0, 1], got {self.min_lift}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if not 0.0 < self.min_effect <= 1.0:
            raise ValueError(f"min_effect must lie in (0, 1], got {self.min_effect}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HeadClass:
    """One head's scores, classes and the ablation evidence for each class.

    Attributes:
        head: ``"L.H"``.
        layer, index: the head's layer and index within the layer.
        scores, nulls, lifts, stderr: behavior -> value (see :mod:`interp.scoring`).
        classes: behaviors the head is a candidate for (confirmed or not), report order.
        ablation: behavior -> evidence (method, metric, clean, ablated, effect, relative,
            stderr, confirmed), for each class.
        loss_effect: second-copy loss change when this head alone is ablated (None if
            not measured).
        weights: evidence from the weights (see :mod:`interp.weights`): ``ov_copying``
            (-1..1) and, for induction heads, ``key_feeders``: earlier previous-token heads
            ranked by K-composition above its random baseline.
        distance: mean attention on the key ``d`` positions back, ``d = 0, 1, ...`` (BOS
            excluded; None where no query has such a key): local vs long-range heads.
        no_repeat: behavior -> the head's attention on the same *positions* in ``[BOS] r s``
            sequences without repeats (0..1); near the null for content-based heads, near
            the score for positional shortcuts.
    """

    head: str
    layer: int
    index: int
    scores: dict[str, float]
    nulls: dict[str, float]
    lifts: dict[str, float]
    stderr: dict[str, float]
    classes: tuple[str, ...]
    ablation: dict[str, dict]
    loss_effect: float | None = None
    weights: dict = field(default_factory=dict)
    distance: list = field(default_factory=list)
    no_repeat: dict = field(default_factory=dict)

    @property
    def confirmed_classes(self) -> tuple[str, ...]:
        return tuple(c for c in self.classes if self.ablation.get(c, {}).get("confirmed"))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "HeadClass":
        return cls(**{**data, "classes": tuple(data["classes"]),
                      "weights": dict(data.get("weights", {})),
                      "distance": list(data.get("distance", [])),
                      "no_repeat": dict(data.get("no_repeat", {}))})


@dataclass(frozen=True)
class Classification:
    """The census of a whole model: one :class:`HeadClass` per head, plus group ablations.

    ``to_dict()`` is the ``report.json`` document. ``example`` holds one stimulus sequence
    (``tokens``) and the attention pattern of each head on it (``patterns``: label ->
    ``[query][key]``, rounded to 3 decimals; only classified heads on large models).
    ``probes`` holds :class:`interp.probing.LayerProbes` dicts: probe accuracy at the
    embedding and after each layer for each built-in probe task. ``text_scores`` (when
    texts were given) holds the same scores on natural text: ``{"stimuli": {...},
    "heads": {label: {behavior: {"score", "null", "lift"}}}}``; classes always come from
    the ``[BOS] r r`` stimuli named in ``settings["stimuli"]``.
    """

    model: dict
    settings: dict
    heads: tuple[HeadClass, ...]
    groups: tuple[dict, ...] = field(default_factory=tuple)
    baseline: dict = field(default_factory=dict)
    example: dict = field(default_factory=dict)
    probes: tuple[dict, ...] = field(default_factory=tuple)
    text_scores: dict = field(default_factory=dict)

    @property
    def behaviors(self) -> tuple[str, ...]:
        """The behaviors every head was scored for, in report order."""
        return tuple(self.heads[0].scores) if self.heads else BEHAVIORS

    def head(self, label: str | HeadId) -> HeadClass:
        key = str(HeadId.parse(label))
        for h in self.heads:
            if h.head == key:
                return h
        raise KeyError(f"no head {key} in this classification")

    def heads_with(self, behavior: str, *, confirmed: bool | None = None) -> list[str]:
        """Labels of heads classed as ``behavior`` (optionally only (un)confirmed ones)."""
        out = []
        for h in self.heads:
            if behavior in h.classes:
                ok = bool(h.ablation.get(behavior, {}).get("confirmed"))
                if confirmed is None or ok == confirmed:
                    out.append(h.head)
        return out

    def summary(self) -> str:
        """A few lines for a terminal."""
        model, settings = self.model, self.settings
        kind = settings.get("stimuli", {}).get("kind")
        pair = "[BOS] s s, s held-out text" if kind == "repeated_text" else "[BOS] r r"
        lines = [
            f"{model.get('name', 'model')}: {model.get('n_layers', '?')} layers x "
            f"{model.get('n_heads', '?')} heads, {settings.get('n_seqs', '?')} sequences of "
            f"{pair} (L={settings.get('seq_len', '?')}), "
            f"{settings.get('method', '?')} ablation, seed {settings.get('seed', '?')}"
        ]
        if self.baseline:
            lines.append(
                f"loss: first copy {self.baseline['first_copy_loss']:.3f}, "
                f"second copy {self.baseline['second_copy_loss']:.3f}"
            )
        for behavior in self.behaviors:
            yes = self.heads_with(behavior, confirmed=True)
            no = self.heads_with(behavior, confirmed=False)
            text = ", ".join(yes) if yes else "none"
            if no:
                text += f" (unconfirmed alone: {', '.join(no)})"
            lines.append(f"{behavior}: {text}")
        for group in self.groups:
            verdict = "confirmed" if group["confirmed"] else "unconfirmed"
            lines.append(
                f"group {'+'.join(group['heads'])} ({group['behavior']}): ablated together, "
                f"relative effect {group['relative']:.2f} ({verdict})"
            )
        return "\n".join(lines)

    def to_table(self) -> list[dict]:
        """Long format: one row per head and behavior with score, null, class, evidence."""
        rows = []
        for h in self.heads:
            for behavior in h.scores:
                evidence = h.ablation.get(behavior, {})
                rows.append({
                    "layer": h.layer, "head": h.index, "label": h.head, "behavior": behavior,
                    "value": h.scores[behavior], "null": h.nulls[behavior],
                    "lift": h.lifts[behavior], "classified": behavior in h.classes,
                    "confirmed": bool(evidence.get("confirmed", False)),
                    "effect": evidence.get("relative"),
                })
        return rows

    def to_dict(self) -> dict:
        return {
            "model": dict(self.model),
            "settings": dict(self.settings),
            "baseline": dict(self.baseline),
            "heads": [h.to_dict() for h in self.heads],
            "groups": [dict(g) for g in self.groups],
            "example": dict(self.example),
            "probes": [dict(p) for p in self.probes],
            "text_scores": dict(self.text_scores),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Classification":
        return cls(
            model=dict(data["model"]),
            settings=dict(data["settings"]),
            heads=tuple(HeadClass.from_dict(h) for h in data["heads"]),
            groups=tuple(dict(g) for g in data.get("groups", [])),
            baseline=dict(data.get("baseline", {})),
            example=dict(data.get("example", {})),
            probes=tuple(dict(p) for p in data.get("probes", [])),
            text_scores=dict(data.get("text_scores", {})),
        )


def _evidence(effect: AblationEffect, settings: ClassifySettings) -> dict:
    return {
        "method": effect.method,
        "metric": effect.metric,
        "clean": effect.clean,
        "ablated": effect.ablated,
        "effect": effect.effect,
        "relative": effect.relative,
        "stderr": effect.stderr,
        "scale": effect.scale,
        "confirmed": effect.supports(settings.min_effect, settings.z_effect),
    }


def _probe_evidence(
    model: Any, probe_stimuli: Stimuli, head: HeadId, settings: ClassifySettings, task: str,
    clean_probes: dict[tuple[str, int], ProbeResult],
) -> dict:
    """Accuracy of ``task``'s probe after the head's layer, clean vs with the head ablated.

    Both probes are refitted (clean and ablated activations each get their own), so a drop
    means the information is gone, not that the activations merely shifted. The clean probe
    of a layer is fitted once and kept in ``clean_probes`` for the layer's other heads.
    """
    label_fn = occurred_before_labels if task == "occurred_before" else previous_token_labels
    labels, keep = label_fn(probe_stimuli.tokens, probe_stimuli.valid)
    y = labels[keep]
    site = resid_post_hook(head.layer)
    if (task, head.layer) not in clean_probes:
        clean = residual_after_layer(model, probe_stimuli, head.layer)[keep]
        clean_probes[task, head.layer] = fit_linear_probe(
            clean, y, task=task, site=site, seed=settings.seed
        )
    before = clean_probes[task, head.layer]
    hooks = ablation_hooks(
        model, probe_stimuli, [head], method=settings.method, seed=settings.seed
    )
    ablated = residual_after_layer(model, probe_stimuli, head.layer, hooks)[keep]
    after = fit_linear_probe(ablated, y, task=task, site=site, seed=settings.seed)
    n = before.n_test
    effect = before.accuracy - after.accuracy
    stderr = (
        (before.accuracy * (1 - before.accuracy) + after.accuracy * (1 - after.accuracy)) / n
    ) ** 0.5
    scale = before.accuracy - before.chance
    relative = effect / scale if scale > 1e-9 else 0.0
    confirmed = relative >= settings.min_effect and effect > settings.z_effect * stderr
    return {
        "method": settings.method,
        "metric": f"probe_accuracy:{task}@{site}",
        "clean": before.accuracy,
        "ablated": after.accuracy,
        "effect": effect,
        "relative": relative,
        "stderr": stderr,
        "scale": scale,
        "chance": before.chance,
        "confirmed": bool(confirmed),
    }


def classify_heads(
    model: Any,
    settings: ClassifySettings | None = None,
    *,
    stimuli: Stimuli | None = None,
    texts: Sequence[str] = (),
    progress: bool = False,
) -> Classification:
    """Score, classify and ablation-test every head of ``model``.

    Args:
        model: a ``TransformerBridge`` (never modified; no hook stays on it).
        settings: the census settings (default :class:`ClassifySettings`).
        stimuli: ``[BOS] r r`` stimuli to use instead of drawing them from the settings.
        texts: natural text to score the heads on as well (needs a model tokenizer).
        progress: show progress bars on the long steps.

    Returns:
        A :class:`Classification`; the same model, settings and seed give the same result.

    Example:
        >>> result = classify_heads(load_model("default"))  # doctest: +SKIP
        >>> print(result.summary())
    """
    settings = settings or ClassifySettings()
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    vocab = int(model.cfg.d_vocab)
    bos = bos_token_id(model)
    if stimuli is None:
        if 2 * settings.seq_len + 1 > int(model.cfg.n_ctx):
            raise ValueError(
                f"seq_len {settings.seq_len} needs {2 * settings.seq_len + 1} positions; "
                f"the model's context is {model.cfg.n_ctx}"
            )
        stimuli = repeated_tokens(
            settings.n_seqs, settings.seq_len, vocab_size=vocab, bos_token_id=bos,
            seed=settings.seed, exclude_ids=special_token_ids(model),
        )
    elif stimuli.repeat_len is None:
        raise ValueError("classify_heads needs [BOS] r r stimuli (see interp.repeated_tokens)")
    scores = score_heads(model, stimuli, batch_size=settings.batch_size, progress=progress)
    first, second = copy_losses(model, stimuli)
    baseline = {
        "first_copy_loss": float(first.mean()),
        "second_copy_loss": float(second.mean()),
    }

    stats = {
        b: (scores.score(b), scores.null(b), scores.lift(b), scores.stderr(b))
        for b in scores.behaviors
    }
    unrepeated = unrepeated_tokens(
        stimuli.n_seqs, stimuli.repeat_len, vocab_size=vocab, bos_token_id=bos,
        seed=settings.seed, exclude_ids=special_token_ids(model),
    )
    no_repeat = score_heads(model, unrepeated, batch_size=settings.batch_size, distance=False,
                            positional=True)
    candidates = _candidates(stats, no_repeat, n_layers, n_heads, settings)
    probe_stimuli = _probe_stimuli(model, settings, bos)
    evidence = _ablation_evidence(model, stimuli, probe_stimuli, candidates, settings, progress)
    loss_effects, sweep_note = _loss_sweep(model, stimuli, candidates, settings, progress)
    groups = _group_ablations(model, stimuli, candidates, evidence, settings)
    layer_probes: list[dict] = []
    if settings.probes:
        layer_probes.append(
            probe_layers(model, probe_stimuli, "occurred_before", seed=settings.seed).to_dict()
        )
        if vocab <= MAX_PROBE_CLASSES:
            layer_probes.append(
                probe_layers(model, stimuli, "previous_token", seed=settings.seed).to_dict()
            )
    text_scores = _text_scores(model, texts) if texts else {}
    weights = _weight_evidence(model, candidates, settings.seed)
    heads = tuple(
        HeadClass(
            head=str(h), layer=h.layer, index=h.head,
            scores={b: float(stats[b][0][h]) for b in stats},
            nulls={b: float(stats[b][1][h]) for b in stats},
            lifts={b: float(stats[b][2][h]) for b in stats},
            stderr={b: float(stats[b][3][h]) for b in stats},
            classes=tuple(candidates[h]),
            ablation=evidence[h],
            loss_effect=loss_effects.get(h),
            weights=weights.get(h, {}),
            no_repeat={b: float(no_repeat.score(b)[h]) for b in BEHAVIORS},
            distance=_rounded(scores.distance[h.layer, h.head]) if scores.distance is not None
            else [],
        )
        for h in candidates
    )
    shown = [h for h, c in candidates.items() if c]
    if n_layers * n_heads <= MAX_EXAMPLE_HEADS:
        shown = list(candidates)
    return Classification(
        model={"name": model_name(model), "n_layers": n_layers, "n_heads": n_heads,
               "d_model": int(model.cfg.d_model), "d_vocab": vocab},
        settings={**settings.to_dict(), "stimuli": stimuli.to_dict(),
                  "loss_sweep": sweep_note},
        heads=heads,
        groups=tuple(groups),
        baseline=baseline,
        example=_example_patterns(model, stimuli, shown),
        probes=tuple(layer_probes),
        text_scores=text_scores,
    )


def _candidates(
    stats: dict, no_repeat: HeadScores, n_layers: int, n_heads: int,
    settings: ClassifySettings,
) -> dict[HeadId, list[str]]:
    """Each head's candidate classes by the rules of the module docstring."""
    candidates: dict[HeadId, list[str]] = {h: [] for h in all_heads(n_layers, n_heads)}
    for behavior in BEHAVIORS:  # controls are scored and shown, never classes
        score, null, lift_, se = stats[behavior]
        positional = no_repeat.score(behavior)
        for h in candidates:
            gap = float(score[h] - null[h])
            if float(lift_[h]) < settings.min_lift or gap <= settings.z * float(se[h]):
                continue
            if behavior in CONTENT_BEHAVIORS and float(positional[h] - null[h]) > gap / 2:
                continue  # keeps its offset without repeats: a positional shortcut
            candidates[h].append(behavior)
    return candidates


def _ablation_evidence(
    model: Any, stimuli: Stimuli, probe_stimuli: Stimuli, candidates: dict[HeadId, list[str]],
    settings: ClassifySettings, progress: bool,
) -> dict[HeadId, dict[str, dict]]:
    """The ablation that could refute each candidate class (module docstring)."""
    induction_heads = [h for h, c in candidates.items() if "induction" in c]
    vocab = int(model.cfg.d_vocab)
    evidence: dict[HeadId, dict[str, dict]] = {h: {} for h in candidates}
    clean_probes: dict[tuple[str, int], ProbeResult] = {}
    steps = [(h, b) for h, c in candidates.items() for b in c]
    iterator = steps
    if progress and steps:
        from tqdm.auto import tqdm

        iterator = tqdm(steps, desc="ablations", unit="test")
    for h, behavior in iterator:
        if behavior == "duplicate_token":
            evidence[h][behavior] = _probe_evidence(
                model, probe_stimuli, h, settings, "occurred_before", clean_probes
            )
            continue
        receivers = [r for r in induction_heads if r.layer > h.layer]
        if behavior == "previous_token" and receivers:
            effect = measure_ablation(
                model, stimuli, [h], metric="downstream_induction", method=settings.method,
                receivers=receivers, seed=settings.seed,
            )
        else:
            effect = measure_ablation(
                model, stimuli, [h], metric="second_copy_loss", method=settings.method,
                seed=settings.seed,
            )
        evidence[h][behavior] = _evidence(effect, settings)
        if effect.metric == "downstream_induction":
            evidence[h][behavior]["receivers"] = [str(r) for r in receivers]
        if behavior == "previous_token" and settings.probes and vocab <= MAX_PROBE_CLASSES:
            # supplementary: does the information the head writes vanish with it?
            evidence[h][behavior]["probe"] = _probe_evidence(
                model, stimuli, h, settings, "previous_token", clean_probes
            )
    return evidence


def _loss_sweep(
    model: Any, stimuli: Stimuli, candidates: dict[HeadId, list[str]],
    settings: ClassifySettings, progress: bool,
) -> tuple[dict[HeadId, float], str]:
    """Second-copy loss effect of ablating each head alone, and how it was measured."""
    if not settings.sweep:
        return {}, "off"
    swept = list(candidates)
    note = "exact, every head"
    if len(swept) > MAX_EXACT_SWEEP:
        # Many heads: screen all with attribution patching (one forward + backward),
        # then ablate exactly the classified heads and the strongest estimates.
        screen = attribution_scores(model, stimuli, method=settings.method, seed=settings.seed)
        ranked = sorted(swept, key=lambda h: -abs(float(screen.effects[h])))
        keep = set(ranked[:MAX_EXACT_SWEEP]) | {h for h, c in candidates.items() if c}
        swept = [h for h in swept if h in keep]
        note = (f"exact for {len(swept)} of {len(candidates)} heads, chosen by an "
                "attribution-patching screen")
    exact = ablation_sweep(model, stimuli, method=settings.method, heads=swept,
                           seed=settings.seed, progress=progress)
    return {h: float(exact.effects[h]) for h in swept}, note


def _group_ablations(
    model: Any, stimuli: Stimuli, candidates: dict[HeadId, list[str]],
    evidence: dict[HeadId, dict[str, dict]], settings: ClassifySettings,
) -> list[dict]:
    """Ablate the heads that share a class together (exposes redundancy); each member's
    evidence gets a pointer to its group."""
    groups = []
    for behavior in ("induction", "previous_token"):
        members = [h for h, c in candidates.items() if behavior in c]
        if len(members) < 2:
            continue
        effect = measure_ablation(
            model, stimuli, members, metric="second_copy_loss", method=settings.method,
            seed=settings.seed,
        )
        group = {"behavior": behavior, **effect.to_dict(),
                 "confirmed": effect.supports(settings.min_effect, settings.z_effect)}
        groups.append(group)
        for h in members:
            evidence[h][behavior]["group"] = {
                "heads": list(group["heads"]), "relative": group["relative"],
                "confirmed": group["confirmed"],
            }
    return groups


def _text_scores(model: Any, texts: Sequence[str]) -> dict:
    """Every head's scores on natural text (same scorers, token-identity targets)."""
    stimuli = text_stimuli(model, list(texts))
    scores = score_heads(model, stimuli, distance=False)
    heads = {}
    for h in all_heads(scores.n_layers, scores.n_heads):
        heads[str(h)] = {
            b: {"score": _finite(scores.score(b)[h]), "null": _finite(scores.null(b)[h]),
                "lift": _finite(scores.lift(b)[h])}
            for b in scores.behaviors
        }
    return {"stimuli": stimuli.to_dict(), "n_queries": dict(scores.n_queries), "heads": heads}


def _finite(value: torch.Tensor) -> float | None:
    v = float(value)
    return v if v == v and abs(v) != float("inf") else None


def _rounded(values: torch.Tensor) -> list:
    return [None if v != v else round(float(v), 4) for v in values.tolist()]


#: Above this many heads, the every-head loss sweep is screened by attribution patching
#: and only the strongest estimates (plus every classified head) are ablated exactly.
MAX_EXACT_SWEEP = 64

#: Behaviors defined by token content, which a positional head can only fake.
CONTENT_BEHAVIORS = ("duplicate_token", "induction")

#: Previous-token-identity probes are multiclass over the vocabulary; above this many
#: classes (a GPT-2 vocabulary) they are skipped.
MAX_PROBE_CLASSES = 1024

#: Models with at most this many heads get every head's example pattern in the report.
MAX_EXAMPLE_HEADS = 64


def _example_patterns(model: Any, stimuli: Stimuli, heads: list[HeadId]) -> dict:
    """The first sequence's tokens and each listed head's attention pattern on it."""
    first = stimuli.subset(torch.arange(1))
    by_layer: dict[int, list[int]] = {}
    for h in heads:
        by_layer.setdefault(h.layer, []).append(h.head)
    patterns: dict[str, list] = {}

    def make(layer: int):
        def keep(pattern: torch.Tensor, hook: Any) -> None:
            for head in by_layer[layer]:
                rows = pattern[0, head].detach().float().cpu()  # (query, key)
                patterns[f"{layer}.{head}"] = [
                    [round(float(v), 3) for v in row[: q + 1]] for q, row in enumerate(rows)
                ]

        return keep

    if by_layer:
        hooks = [(pattern_hook(layer), make(layer)) for layer in sorted(by_layer)]
        device = next(model.parameters()).device
        with torch.inference_mode(), attached_hooks(model, hooks):
            model(first.tokens.to(device), stop_at_layer=max(by_layer) + 1)
    ordered = {str(h): patterns[str(h)] for h in heads if str(h) in patterns}
    return {"tokens": first.tokens[0].tolist(), "patterns": ordered}


def _weight_evidence(
    model: Any, candidates: dict[HeadId, list[str]], seed: int
) -> dict[HeadId, dict]:
    """OV copying per head; K-composition feeders of each induction head."""
    try:
        copying = ov_copying_scores(model)
        composition = composition_scores(model, "K", seed=seed)
    except (AttributeError, RuntimeError, ValueError) as err:  # exotic architectures
        return {h: {"error": f"weight evidence unavailable: {err}"} for h in candidates}
    previous = [h for h, c in candidates.items() if "previous_token" in c]
    out: dict[HeadId, dict] = {}
    for h, classes in candidates.items():
        entry: dict = {"ov_copying": float(copying[h.layer, h.head])}
        if "induction" in classes:
            entry["key_feeders"] = [
                {"head": label, "k_composition_excess": value}
                for label, value in key_feeders(composition, h, previous)
            ]
        out[h] = entry
    return out


def _probe_stimuli(model: Any, settings: ClassifySettings, bos: int) -> Stimuli:
    """Sequences for the 'occurred before' probes (see :func:`interp.occurrence_tokens`)."""
    special = special_token_ids(model)
    drawable = int(model.cfg.d_vocab) - 1 - len(special)
    n_pos = min(int(model.cfg.n_ctx), 2 * settings.seq_len + 1, drawable)
    return occurrence_tokens(
        max(settings.n_seqs, 16), n_pos, vocab_size=int(model.cfg.d_vocab), bos_token_id=bos,
        seed=settings.seed + 1, exclude_ids=special,
    )
