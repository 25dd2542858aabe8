"""Classify every head from its scores, then test each class with an ablation.

**Candidate class.** A head is a candidate for a behavior when, on the same pass, its score
beats its own null (see :mod:`interp.engine.scoring`) both in size and beyond noise:

- lift ``(score - null) / (1 - null) >= min_lift`` (default 0.3: at least 30% of the
  attention that could move onto the targets beyond chance does), and
- ``score - null > z * stderr`` over sequences (default z = 3).

- for behaviors that declare a positional control (content-based ones, such as
  duplicate-token and induction): on ``[BOS] r s`` sequences without repeats (same run,
  same seed) the head's attention on the same *positions* must lose at least half of its
  gap over the null; a head that keeps attending there without repeats is a positional
  shortcut.

These criteria are relative to nulls measured in the same run, not to a fixed score, so
they carry across models and stimulus lengths.

**Confirmation.** Every candidate class is then put to the ablation its behavior names
(:mod:`interp.spec.behaviors`, run by :mod:`interp.pipeline.confirm`), and :func:`interp.results.evidence.decide`
gives the verdict: confirmed, refuted, or undecidable when the stimuli give the ablation
nothing to measure. A class the ablation does not support stays in the result, marked; it
is never dropped. Heads that share a class are also ablated together, which exposes
redundant heads (each alone small, together clearly more than the strongest alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch

from ..engine.ablation import CleanRun, clean_run, copy_losses
from ..engine.ablation_sweep import ablation_sweep, attribution_scores
from ..engine.census import predictions_from_final, score_heads
from ..engine.measures import compute_measures
from ..engine.probing import probe_layers
from ..engine.text_census import score_texts
from ..io.jsonsafe import finite_or_none
from ..model.heads import HeadId, all_heads
from ..model.hooks import attached_hooks, pattern_hook
from ..model.loading import (
    bos_token_id,
    model_device,
    model_name,
    special_token_ids,
    uses_rotary,
)
from ..model.weights import composition_scores, key_feeders, ov_copying_scores
from ..results.classification import (
    BehaviorInfo,
    Classification,
    HeadClass,
    MeasureInfo,
)
from ..results.evidence import Evidence, Feeder, GroupEvidence, WeightEvidence
from ..results.scores import HeadScores, ScoreSummary
from ..spec.ablation_methods import ablation_method
from ..spec.behaviors import POSITIONAL_SHORTCUT_SHARE, Behavior, resolve_behaviors
from ..spec.measures import Measure, resolve_measures
from ..spec.probe_tasks import ProbeTask, probe_task
from ..stimuli.long import long_stimuli
from ..stimuli.preflight import check_seed, check_token_ids
from ..stimuli.seeds import derive_seed
from ..stimuli.tokens import (
    Stimuli,
    check_stimuli,
    occurrence_tokens,
    repeated_tokens,
    unrepeated_tokens,
)
from .confirm import (
    ConfirmationContext,
    check_marked,
    confirm_group,
    confirm_heads,
    link,
    probe_available,
)


@dataclass(frozen=True)
class ClassifySettings:
    """Every knob of a census, recorded in the report.

    Attributes:
        seed: seed of the stimuli, the resampling and the probes.
        n_seqs: sequences of ``[BOS] r r``.
        seq_len: length ``L`` of ``r``.
        method: ablation method, a name in :mod:`interp.spec.ablation_methods` (``mean``,
            ``zero``, ``resample``).
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
            Text (``texts``) is always scored in batches (of
            ``interp.engine.text_census.TEXT_BATCH_SIZE`` when None).
        behaviors: the behaviors to score and classify: names or :class:`interp.Behavior`
            values (None: every registered behavior, :func:`interp.registered_behaviors`).
        exclude_tokens: token ids never drawn into the stimuli, besides BOS and the
            model's special tokens (e.g. a marker token the model was trained with).
        measures: the per-head measures to compute (:mod:`interp.spec.measures`): names or
            :class:`interp.Measure` values (None: every registered measure; ``()``: none).
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
    behaviors: tuple[Behavior | str, ...] | None = None
    exclude_tokens: tuple[int, ...] = ()
    measures: tuple[Measure | str, ...] | None = None

    def __post_init__(self) -> None:
        check_seed(self.seed)
        ablation_method(self.method)  # fails early on an unknown method
        if isinstance(self.exclude_tokens, (str, bytes)):
            raise ValueError("exclude_tokens must be a sequence of token ids, not a string")
        object.__setattr__(self, "exclude_tokens", check_token_ids(
            self.exclude_tokens, vocab_size=2**63, name="exclude_tokens"))
        if self.measures is not None:
            if isinstance(self.measures, (str, Measure)):
                object.__setattr__(self, "measures", (self.measures,))
            resolve_measures(tuple(self.measures))  # fails early on unknown names
        if self.behaviors is not None:
            if isinstance(self.behaviors, (str, Behavior)):
                object.__setattr__(self, "behaviors", (self.behaviors,))
            resolve_behaviors(tuple(self.behaviors))  # fails early on unknown names
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
        data = asdict(self)
        data["behaviors"] = [b.name for b in resolve_behaviors(self.behaviors)]
        data["exclude_tokens"] = list(self.exclude_tokens)
        data["measures"] = [m.name for m in resolve_measures(self.measures)]
        return data


def classify_heads(
    model: Any,
    settings: ClassifySettings | None = None,
    *,
    stimuli: Stimuli | None = None,
    texts: Sequence[str] = (),
    long_text: Sequence[str] = (),
    progress: bool = False,
) -> Classification:
    """Score, classify and ablation-test every head of ``model``.

    Args:
        model: a ``TransformerBridge`` (never modified; no hook stays on it).
        settings: the census settings (default :class:`ClassifySettings`).
        stimuli: ``[BOS] r r`` stimuli to use instead of drawing them from the settings.
        texts: natural text to score the heads on as well (needs a model tokenizer).
        long_text: documents to cut the long measure stimuli from (a text model's held-out
            text; needs a tokenizer); default random tokens.
        progress: show progress bars on the long steps.

    Returns:
        A :class:`Classification`; the same model, settings and seed give the same result.

    Example:
        >>> result = classify_heads(load_model("default"))  # doctest: +SKIP
        >>> print(result.summary())
    """
    settings = settings or ClassifySettings()
    behaviors = resolve_behaviors(settings.behaviors)
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    vocab = int(model.cfg.d_vocab)
    bos = bos_token_id(model)
    if texts and getattr(model, "tokenizer", None) is None:
        raise ValueError("text (--text) needs a model with a tokenizer; this model has none")
    excluded = _excluded_ids(model, settings)
    if stimuli is None:
        if 2 * settings.seq_len + 1 > int(model.cfg.n_ctx):
            raise ValueError(
                f"seq_len {settings.seq_len} needs {2 * settings.seq_len + 1} positions; "
                f"the model's context is {model.cfg.n_ctx}"
            )
        stimuli = repeated_tokens(
            settings.n_seqs, settings.seq_len, vocab_size=vocab, bos_token_id=bos,
            seed=settings.seed, exclude_ids=excluded,
        )
    check_stimuli(model, stimuli, repeated=True)
    # one clean pass serves the predictions, the copy losses and every later ablation
    census_run = clean_run(model, stimuli) if bool(stimuli.valid.all()) else None
    predictions = (predictions_from_final(model, census_run.final)
                   if census_run is not None and any(b.needs_predictions for b in behaviors)
                   else None)
    scores = score_heads(model, stimuli, batch_size=settings.batch_size, progress=progress,
                         behaviors=behaviors, predictions=predictions)
    first, second = copy_losses(model, stimuli, clean=census_run)
    baseline = {
        "first_copy_loss": float(first.mean()),
        "second_copy_loss": float(second.mean()),
    }
    stats = {b.name: scores.summary(b.name) for b in behaviors}
    controlled = [b for b in behaviors if b.positional is not None]
    no_repeat = None
    if controlled:
        unrepeated = unrepeated_tokens(
            stimuli.n_seqs, stimuli.repeat_len, vocab_size=vocab, bos_token_id=bos,
            seed=settings.seed, exclude_ids=excluded,
        )
        no_repeat = score_heads(model, unrepeated, batch_size=settings.batch_size,
                                distance=False, positional=True, behaviors=controlled)
    candidates = _candidates(stats, no_repeat, behaviors, n_layers, n_heads, settings)
    context = ConfirmationContext(
        model=model, stimuli=stimuli, occurrence=_probe_stimuli(model, settings, bos, excluded),
        candidates=candidates, method=settings.method, seed=settings.seed,
        min_effect=settings.min_effect, z_effect=settings.z_effect, probes=settings.probes,
    )
    if census_run is not None:
        context.adopt(census_run)
    # the sweep first: it leaves each head's ablated pass in the shared clean run, so the
    # confirmations that ablate one head on the second-copy loss reuse it
    loss_effects, sweep_note = _loss_sweep(context, settings, progress)
    evidence, groups = _confirmations(context, behaviors, progress)
    if context.made_clean_run(stimuli) is not None:  # no census ablation after this point
        context.made_clean_run(stimuli).reruns.clear()
    layer_probes = _layer_probes(context, behaviors, progress) if settings.probes else []
    text_scores = _text_scores(model, texts, settings.batch_size, behaviors) if texts else {}
    weights = _weight_evidence(model, candidates, behaviors, settings.seed)
    measured = _measures(model, settings, stimuli, bos, excluded, long_text, progress,
                         census_run=context.made_clean_run(stimuli))
    heads = tuple(
        HeadClass(
            label=str(h), layer=h.layer, index=h.head,
            scores={b: float(s.score[h]) for b, s in stats.items()},
            nulls={b: float(s.null[h]) for b, s in stats.items()},
            lifts={b: float(s.lift[h]) for b, s in stats.items()},
            stderr={b: float(s.stderr[h]) for b, s in stats.items()},
            classes=tuple(candidates[h]),
            ablation=evidence[h],
            loss_effect=loss_effects.get(h),
            weights=weights[h],
            no_repeat={} if no_repeat is None
            else {b.name: float(no_repeat.score(b.name)[h]) for b in controlled},
            distance=_rounded(scores.distance[h.layer, h.head]) if scores.distance is not None
            else [],
            measures={name: None if v is None else _measure_value(v[h.layer, h.head])
                      for name, v in measured.values.items()},
            checks=measured.checks.get(h, {}),
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
                  "loss_sweep": sweep_note, "excluded_ids": list(excluded),
                  "long_stimuli": measured.long_stimuli},
        heads=heads,
        groups=tuple(groups) + tuple(measured.groups),
        baseline=baseline,
        example=_example_patterns(model, stimuli, shown),
        probes=tuple(layer_probes),
        text_scores=text_scores,
        behaviors=tuple(BehaviorInfo.of(b) for b in behaviors),
        measures=measured.infos,
    )


def _candidates(
    stats: dict[str, ScoreSummary], no_repeat: HeadScores | None,
    behaviors: tuple[Behavior, ...],
    n_layers: int, n_heads: int, settings: ClassifySettings,
) -> dict[HeadId, list[str]]:
    """Each head's candidate classes by the rules of the module docstring."""
    candidates: dict[HeadId, list[str]] = {h: [] for h in all_heads(n_layers, n_heads)}
    for behavior in behaviors:
        if not behavior.is_class:  # controls are scored and shown, never classes
            continue
        stat = stats[behavior.name]
        positional = (no_repeat.score(behavior.name)
                      if no_repeat is not None and behavior.positional is not None else None)
        for h in candidates:
            gap = float(stat.score[h] - stat.null[h])
            # written so that a NaN score (no query had a target) never makes a candidate
            if not (float(stat.lift[h]) >= settings.min_lift
                    and gap > settings.z * float(stat.stderr[h])):
                continue
            if (positional is not None
                    and float(positional[h] - stat.null[h]) > gap * POSITIONAL_SHORTCUT_SHARE):
                continue  # keeps its offset without repeats: a positional shortcut
            candidates[h].append(behavior.name)
    return candidates


def _confirmations(
    context: ConfirmationContext, behaviors: tuple[Behavior, ...], progress: bool,
) -> tuple[dict[HeadId, dict[str, Evidence]], list[GroupEvidence]]:
    """Each candidate class put to the ablation its behavior names (module docstring),
    and the heads that share a class ablated together (exposes redundancy; each member's
    evidence gets a pointer to its group).

    One behavior at a time, its group right after its members: the group's tests of each
    member alone and of the group without one restart from the members' own ablated passes
    while the clean run still keeps them (:func:`interp.engine.ablation.ablated_resid`)."""
    evidence: dict[HeadId, dict[str, Evidence]] = {h: {} for h in context.candidates}
    groups: list[GroupEvidence] = []
    members = {b.name: [h for h, classes in context.candidates.items() if b.name in classes]
               for b in behaviors}
    steps: list[tuple[Behavior, list[HeadId]]] = []
    for b in behaviors:
        steps += [(b, [h]) for h in members[b.name]]
        if len(members[b.name]) >= 2:
            steps.append((b, members[b.name]))
    for behavior, heads in _steps(steps, "ablations", "test", progress):
        if len(heads) == 1:
            evidence[heads[0]][behavior.name] = confirm_heads(context, behavior, heads)
            continue
        single = {h: evidence[h][behavior.name] for h in heads}
        group = confirm_group(context, behavior, heads, single)
        groups.append(group)
        for h in heads:
            evidence[h][behavior.name] = evidence[h][behavior.name].with_group(
                link(group, str(h)))
    return evidence, groups


def _steps(items: list, desc: str, unit: str, progress: bool) -> Any:
    """``items``, with a progress bar when ``progress`` (every stage of the census that can
    take more than a few seconds on a large model shows one)."""
    if not progress or not items:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit=unit)



def _layer_probes(
    context: ConfirmationContext, behaviors: tuple[Behavior, ...], progress: bool = False,
) -> list:
    """Probe accuracy after every layer for each probe task the behaviors use."""
    tasks: dict[str, ProbeTask] = {}
    for b in behaviors:
        conf = b.confirmation
        for task in (conf.probe_task, conf.evidence_probe):
            if task and probe_available(task, context.model):
                spec = probe_task(task)
                tasks.setdefault(spec.name, spec)
    out = []
    for spec in _steps(list(tasks.values()), "layer probes", "task", progress):
        stimuli = context.occurrence if spec.stimuli == "occurrence" else context.stimuli
        out.append(probe_layers(context.model, stimuli, spec, seed=context.seed))
    return out


def _loss_sweep(
    context: ConfirmationContext, settings: ClassifySettings, progress: bool,
) -> tuple[dict[HeadId, float], str]:
    """Second-copy loss effect of ablating each head alone, and how it was measured."""
    model, stimuli, candidates = context.model, context.stimuli, context.candidates
    if not settings.sweep:
        return {}, "off"
    swept = list(candidates)
    note = "exact, every head"
    if len(swept) > MAX_EXACT_SWEEP:
        # Many heads: screen all with attribution patching (one forward + backward),
        # then ablate exactly the classified heads and the strongest estimates.
        screen = attribution_scores(model, stimuli, method=settings.method, seed=settings.seed)
        ranked = sorted(swept, key=lambda h: -abs(float(screen.effects[h])))
        keep = set(ranked[:SCREENED_EXACT]) | {h for h, c in candidates.items() if c}
        swept = [h for h in swept if h in keep]
        note = (f"exact for {len(swept)} of {len(candidates)} heads, chosen by an "
                "attribution-patching screen")
    exact = ablation_sweep(model, stimuli, method=settings.method, heads=swept,
                           seed=settings.seed, progress=progress, clean=context.clean)
    return {h: float(exact.effects[h]) for h in swept}, note


def _text_scores(
    model: Any, texts: Sequence[str], batch_size: int | None = None,
    behaviors: tuple[Behavior, ...] | None = None,
) -> dict:
    """Every head's scores on natural text (same scorers, token-identity targets), in
    batches (:func:`interp.engine.text_census.score_texts`)."""
    scores = score_texts(model, texts, batch_size=batch_size, behaviors=behaviors)
    heads = {}
    for h in all_heads(scores.n_layers, scores.n_heads):
        heads[str(h)] = {
            b: {"score": finite_or_none(scores.score(b)[h]),
                "null": finite_or_none(scores.null(b)[h]),
                "lift": finite_or_none(scores.lift(b)[h])}
            for b in scores.behaviors
        }
    return {"stimuli": dict(scores.stimuli), "n_queries": dict(scores.n_queries), "heads": heads}


class MeasureResults(NamedTuple):
    """What :func:`_measures` found: each measure's ``[layer, head]`` values (None where
    unavailable) and description, each marked head's check evidence (head -> measure ->
    evidence), the checks' group ablations, and how the long stimuli were drawn."""

    values: dict[str, torch.Tensor | None]
    infos: tuple[MeasureInfo, ...]
    checks: dict[HeadId, dict[str, Evidence]]
    groups: list[GroupEvidence]
    long_stimuli: dict


def _measures(
    model: Any, settings: ClassifySettings, stimuli: Stimuli, bos: int,
    excluded: tuple[int, ...], long_text: Sequence[str] = (), progress: bool = False,
    census_run: CleanRun | None = None,
) -> MeasureResults:
    """Every chosen measure (:mod:`interp.spec.measures`) for every head, and each
    measure's check on the heads it marks (``census_run``: the census stimuli's clean run,
    which their checks reuse)."""
    measures = resolve_measures(settings.measures)
    where = {"census": stimuli}
    long_note: dict = {}
    if any(m.kind == "pattern" and m.stimuli == "long" for m in measures):
        errors = []
        # text that cannot fill the context falls back to random tokens; a context too
        # short for the copies leaves those measures unmeasured (they say so)
        for documents in ([long_text, ()] if long_text else [()]):
            try:
                where["long"] = long_stimuli(
                    model, max(8, settings.n_seqs // 2),
                    seed=derive_seed(settings.seed, "long_stimuli"), bos_token_id=bos,
                    exclude_ids=excluded, documents=documents)
            except ValueError as err:
                errors.append(str(err))
                continue
            long_note = {**where["long"].description,
                         "n_seqs": where["long"].n_seqs, "n_pos": where["long"].n_pos}
            break
        if errors:
            long_note["errors"] = errors
    # the long stimuli's pattern pass is also the clean run their checks' ablations start
    # from (one pass of the longest stimuli instead of two)
    runs: dict[str, CleanRun] = {} if census_run is None else {"census": census_run}
    values, infos = compute_measures(model, measures, where, runs)
    checks, groups = check_marked(model, measures, values, infos, where,
                                  min_effect=settings.min_effect, z=settings.z_effect,
                                  method=settings.method, seed=settings.seed,
                                  progress=progress, clean_runs=runs)
    return MeasureResults(values, infos, checks, groups, long_note)


def _measure_value(value: torch.Tensor) -> float | list | None:
    if value.ndim == 0:
        return None if value != value else round(float(value), 6)
    return _rounded(value)


def _rounded(values: torch.Tensor) -> list:
    return [None if v != v else round(float(v), 4) for v in values.tolist()]


#: Above this many heads, the every-head loss sweep is screened by attribution patching
#: and only the :data:`SCREENED_EXACT` strongest estimates (plus every classified head) are
#: ablated exactly.
MAX_EXACT_SWEEP = 64

#: On a model screened by attribution patching, how many of its top-ranked heads (besides
#: the classified ones) are ablated exactly.
SCREENED_EXACT = 32



#: Models with at most this many heads get every head's example pattern in the report.
MAX_EXAMPLE_HEADS = 64

#: The census size (sequences, repeat length) when none is given: the full size for models
#: of up to :data:`MAX_EXACT_SWEEP` heads; for larger models (a 30 x 9-head model's forward
#: pass costs as much as ~500 of the bundled model's) a smaller one whose classes held over
#: three seeds on SmolLM2-135M (docs/smollm2.md).
CENSUS_SIZE = (32, 30)
LARGE_CENSUS_SIZE = (8, 20)


def census_size(model: Any) -> tuple[int, int]:
    """``(n_seqs, seq_len)`` of the census when the caller chooses none (see
    :data:`CENSUS_SIZE`); ``seq_len`` is still cut to what fits the context by the CLI."""
    return LARGE_CENSUS_SIZE if _is_large(model) else CENSUS_SIZE


def _is_large(model: Any) -> bool:
    """More than :data:`MAX_EXACT_SWEEP` heads: the smaller defaults apply."""
    return int(model.cfg.n_layers) * int(model.cfg.n_heads) > MAX_EXACT_SWEEP


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
        device = model_device(model)
        with torch.inference_mode(), attached_hooks(model, hooks):
            model(first.tokens.to(device), stop_at_layer=max(by_layer) + 1)
    ordered = {str(h): patterns[str(h)] for h in heads if str(h) in patterns}
    example = {"tokens": first.tokens[0].tolist(), "patterns": ordered}
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:  # the report labels positions with the decoded text
        example["token_text"] = [tokenizer.decode([t]) for t in example["tokens"]]
    return example


def _weight_evidence(
    model: Any, candidates: dict[HeadId, list[str]], behaviors: tuple[Behavior, ...],
    seed: int,
) -> dict[HeadId, WeightEvidence]:
    """OV copying per head; for each class whose behavior declares a composition
    ``(mode, source)``, the heads of class ``source`` that feed it, by composition above
    the random baseline. On a rotary model Q and K composition are not defined (the
    query-key circuit depends on the relative position): those classes say so instead."""
    modes = {b.composition[0] for b in behaviors if b.composition}
    undefined = {m for m in modes if m in ("Q", "K")} if uses_rotary(model) else set()
    try:
        copying = ov_copying_scores(model)
        composition = {m: composition_scores(model, m, seed=seed)
                       for m in sorted(modes - undefined)}
    except (AttributeError, RuntimeError, ValueError) as err:  # exotic architectures
        return {h: WeightEvidence(error=f"weight evidence unavailable: {err}")
                for h in candidates}
    out: dict[HeadId, WeightEvidence] = {}
    for h, classes in candidates.items():
        mode, feeders, source, note = None, None, None, None
        for b in behaviors:
            if b.composition and b.name in classes:
                mode, source = b.composition
                if mode in undefined:
                    note = (f"{mode} composition is not defined for this architecture: with "
                            "rotary position embeddings the query-key circuit depends on "
                            "the relative position, so W_Q W_K^T alone does not say which "
                            f"{source} heads this head reads")
                    mode, source = None, None
                    break
                sources = [s for s, c in candidates.items() if source in c]
                feeders = tuple(Feeder(label, value) for label, value
                                in key_feeders(composition[mode], h, sources))
                break
        out[h] = WeightEvidence(ov_copying=float(copying[h.layer, h.head]), mode=mode,
                                feeders=feeders, source=source, error=note)
    return out


def _excluded_ids(model: Any, settings: ClassifySettings) -> tuple[int, ...]:
    """Ids never drawn into stimuli besides BOS: the model's special tokens and
    ``settings.exclude_tokens`` (checked against the vocabulary)."""
    given = check_token_ids(settings.exclude_tokens, int(model.cfg.d_vocab))
    return tuple(sorted(set(special_token_ids(model)) | set(given)))


def _probe_stimuli(
    model: Any, settings: ClassifySettings, bos: int, excluded: tuple[int, ...],
) -> Stimuli:
    """Sequences for the 'occurred before' probes (see :func:`interp.occurrence_tokens`)."""
    drawable = int(model.cfg.d_vocab) - 1 - len(excluded)
    n_pos = min(int(model.cfg.n_ctx), 2 * settings.seq_len + 1, drawable)
    return occurrence_tokens(
        max(settings.n_seqs, 16), n_pos, vocab_size=int(model.cfg.d_vocab), bos_token_id=bos,
        seed=derive_seed(settings.seed, "occurrence_probe"), exclude_ids=excluded,
    )
