"""Head scores across the checkpoints of a training run: when does each head form?

:func:`score_checkpoints` runs the head census (:func:`interp.score_heads`) and the copy
losses (:func:`interp.copy_losses`) on every checkpoint of a run, with the *same* seeded
``[BOS] r r`` stimuli for all of them, so the curves differ only because the weights do.
Checkpoints are loaded one at a time (:func:`interp.load_model`), so a long run never
holds more than one model in memory.

**Steps.** A checkpoint's step is the last number in its label: ``step_00100`` -> 100,
``checkpoint-500`` -> 500, ``step1000`` (Pythia's revisions) -> 1000. A label is the
directory's name, a given label, or a bridge's model name. When every label holds a
number, the checkpoints are ordered by step; otherwise they keep the given order and their
steps are their positions ``0, 1, 2, ...``.

**Scores** are those of :mod:`interp.engine.scoring`: per head the mean attention on a behavior's
targets (0..1), the null (the same head's attention on chance keys) and the lift
``(score - null) / (1 - null)``. A head "forms" where its lift rises; the first- and
second-copy losses show the same transition from the output side (induction makes the
second copy predictable, so its loss drops below the first copy's).

**Model-level curves** (:mod:`interp.pipeline.phase_change`, the induction phase change of Olsson et
al. 2022): every checkpoint also gets each head's prefix-matching score (``[BOS]`` + 25
distinct random tokens repeated 4 times; attention to the token after earlier copies) and,
when held-out text is given (``heldout_texts``), the in-context-learning score (loss at token
200 minus token 20 of held-out windows), the held-out loss, and the head scores and copy
losses on repeated held-out text (``[BOS] s s``, ``s`` a span of held-out text), which a text
model finds far less out of distribution than random tokens.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor

from ..engine.ablation import copy_losses
from ..engine.census import score_heads
from ..engine.measures import compute_measures
from ..io.jsonsafe import tensor_from_list, tensor_to_list
from ..model.loading import (
    CONFIG_FILE,
    bos_token_id,
    load_model,
    model_name,
    special_token_ids,
)
from ..results.checkpoints import CURVE_TENSORS, CheckpointSweep, parse_step
from ..spec.measures import registered_measures
from ..stimuli.long import long_stimuli
from ..stimuli.preflight import check_seed, check_token_ids, fit_seq_len
from ..stimuli.seeds import derive_seed
from ..stimuli.text import (
    mid_frequency_ids,
    repeated_text_tokens,
    text_token_stream,
    text_windows,
)
from ..stimuli.tokens import (
    PREFIX_LEN,
    PREFIX_REPEATS,
    Stimuli,
    prefix_matching_tokens,
    repeated_tokens,
)
from .phase_change import (
    icl_positions,
    in_context_score,
    per_position_loss,
    prefix_matching_scores,
)


def find_checkpoints(parent: str | os.PathLike) -> list[Path]:
    """The checkpoint directories of a run: subdirectories of ``parent`` that hold a
    ``config.json`` and a number in their name (``step_00100``), ordered by that number.

    Raises:
        ValueError: ``parent`` is not a directory, or holds no such subdirectory.

    Example:
        >>> find_checkpoints("/tmp/ckpts")[:2]  # doctest: +SKIP
        [PosixPath('/tmp/ckpts/step_00000'), PosixPath('/tmp/ckpts/step_00100')]
    """
    root = Path(parent).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")
    found = [
        p for p in root.iterdir()
        if p.is_dir() and (p / CONFIG_FILE).is_file() and parse_step(p.name) is not None
    ]
    if not found:
        raise ValueError(
            f"{root} holds no checkpoint directories (subdirectories like step_00100 with "
            f"a {CONFIG_FILE})"
        )
    return sorted(found, key=lambda p: (parse_step(p.name), p.name))


@dataclass(frozen=True)
class CheckpointScores:
    """One checkpoint's part of a sweep: what :func:`score_checkpoint` returns.

    Small and JSON-safe (:meth:`to_dict`), so it can be stored per checkpoint (resumable
    sweeps) or sent back from a worker (:mod:`interp.runs`).

    Attributes:
        name: the loaded model's name (the source of checkpoints given as bridges).
        shape: ``(n_layers, n_heads, d_vocab, bos_token_id)`` of the model.
        stimuli: description of the stimuli it was scored on (:meth:`Stimuli.to_dict`).
        scores, nulls, stderrs: behavior -> ``[layer, head]`` (see :class:`CheckpointSweep`).
        first_copy_loss, second_copy_loss: mean next-token loss on the first and second
            copy of ``r`` (nats).
        curves: this checkpoint's model-level curves (:mod:`interp.pipeline.phase_change`), JSON-safe:
            ``{"values": {name: value}, "info": {...}}`` (empty when none was measured).
        measures: measure -> ``[layer, head]`` (:func:`sweep_measures`).
    """

    name: str
    shape: tuple[int, int, int, int]
    stimuli: dict
    scores: dict[str, Float[Tensor, "layer head"]]
    nulls: dict[str, Float[Tensor, "layer head"]]
    stderrs: dict[str, Float[Tensor, "layer head"]]
    first_copy_loss: float
    second_copy_loss: float
    curves: dict = field(default_factory=dict)
    measures: dict[str, Float[Tensor, "layer head"]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-safe form (NaN as None); :meth:`from_dict` restores an equal object."""
        return {
            "name": self.name,
            "shape": list(self.shape),
            "stimuli": dict(self.stimuli),
            "scores": {b: tensor_to_list(t) for b, t in self.scores.items()},
            "nulls": {b: tensor_to_list(t) for b, t in self.nulls.items()},
            "stderrs": {b: tensor_to_list(t) for b, t in self.stderrs.items()},
            "first_copy_loss": tensor_to_list(torch.tensor([self.first_copy_loss]))[0],
            "second_copy_loss": tensor_to_list(torch.tensor([self.second_copy_loss]))[0],
            "curves": dict(self.curves),
            "measures": {m: tensor_to_list(t) for m, t in self.measures.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> CheckpointScores:
        n_layers, n_heads = int(data["shape"][0]), int(data["shape"][1])

        def grid(values: list) -> Tensor:
            return tensor_from_list(values).reshape(n_layers, n_heads)  # (L, H)

        def number(value: Any) -> float:
            return float("nan") if value is None else float(value)

        return cls(
            name=str(data["name"]),
            shape=tuple(int(v) for v in data["shape"]),  # type: ignore[arg-type]
            stimuli=dict(data["stimuli"]),
            scores={b: grid(v) for b, v in data["scores"].items()},
            nulls={b: grid(v) for b, v in data["nulls"].items()},
            stderrs={b: grid(v) for b, v in data["stderrs"].items()},
            first_copy_loss=number(data["first_copy_loss"]),
            second_copy_loss=number(data["second_copy_loss"]),
            curves=dict(data.get("curves") or {}),
            measures={m: grid(v) for m, v in (data.get("measures") or {}).items()},
        )


def score_checkpoint(
    spec: Any,
    *,
    stimuli: Stimuli | None = None,
    n_seqs: int = 32,
    seq_len: int | None = 30,
    seed: int = 0,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    batch_size: int | None = None,
    exclude_tokens: Sequence[int] = (),
    heldout_texts: Sequence[str] | None = None,
    prefix_matching: bool = True,
    shape: Sequence[int] | None = None,
    label: str | None = None,
) -> CheckpointScores:
    """Load one checkpoint and score it: the unit of work of a sweep.

    :func:`score_checkpoints` calls it once per checkpoint; :mod:`interp.runs` runs
    it as one task per checkpoint. Without ``stimuli`` it draws the ``[BOS] r r`` stimuli
    from ``n_seqs``, ``seq_len``, ``seed`` and this model's vocabulary, BOS and special
    tokens, so checkpoints of one run draw identical stimuli wherever they are scored.

    Args:
        spec: anything :func:`interp.load_model` takes.
        stimuli: ``[BOS] r r`` stimuli to use instead of drawing them.
        n_seqs, seq_len, seed: the stimuli to draw when none are given (``seq_len=None``:
            30, or the longest repeat this checkpoint's context fits).
        device, dtype, batch_size, exclude_tokens, heldout_texts, prefix_matching: as in
            :func:`score_checkpoints` (the model-level curves of this checkpoint).
        shape: the ``(n_layers, n_heads, d_vocab, bos)`` the model must have (a sweep's
            first checkpoint); checked before scoring.
        label: the checkpoint's name in error messages (default: from ``spec``).

    Returns:
        A :class:`CheckpointScores`.

    Raises:
        ValueError: the model's shape differs from ``shape``.
        interp.ModelLoadError: the checkpoint cannot be loaded.
    """
    model = load_model(spec, device=device, dtype=dtype)
    this = (int(model.cfg.n_layers), int(model.cfg.n_heads), int(model.cfg.d_vocab),
            bos_token_id(model))
    if shape is not None and this != tuple(shape):
        raise ValueError(
            f"checkpoint {label or _label(spec)!r} has (layers, heads, vocabulary, BOS) "
            f"{this}; the first checkpoint has {tuple(shape)}: a sweep needs one architecture"
        )
    if stimuli is None:
        seq_len, _ = fit_seq_len(int(model.cfg.n_ctx), seq_len)
        given = check_token_ids(exclude_tokens, this[2])
        stimuli = repeated_tokens(n_seqs, seq_len, vocab_size=this[2], bos_token_id=this[3],
                                  seed=seed,
                                  exclude_ids=sorted(set(special_token_ids(model)) | set(given)))
        if given:
            stimuli = replace(stimuli, description={**stimuli.description,
                                                    "exclude_tokens": list(given)})
    result = score_heads(model, stimuli, batch_size=batch_size)
    first, second = copy_losses(model, stimuli)
    curves = _CurveCollector(heldout_texts, prefix_matching, seed, n_seqs,
                             int(stimuli.repeat_len or 2))
    curves.add(model, batch_size)
    measured = sweep_measures(model, stimuli, seed=seed,
                              exclude_ids=sorted(set(special_token_ids(model))
                                                 | set(int(t) for t in exclude_tokens)))
    return CheckpointScores(
        name=model_name(model),
        shape=this,
        stimuli=stimuli.to_dict(),
        scores={b: result.score(b).float() for b in result.behaviors},
        nulls={b: result.null(b).float() for b in result.behaviors},
        stderrs={b: result.stderr(b).float() for b in result.behaviors},
        first_copy_loss=float(first.mean()),
        second_copy_loss=float(second.mean()),
        curves=curves.to_dict(),
        measures=measured,
    )


def sweep_measures(
    model: Any, stimuli: Stimuli, *, seed: int, exclude_ids: Sequence[int] = (),
) -> dict[str, Float[Tensor, "layer head"]]:
    """Every registered per-head measure with one value per head (profiles left out), on
    the sweep's stimuli and the measures' long stimuli (:func:`interp.stimuli.long.long_stimuli`,
    skipped where the context is too short); NaN where a measure is unavailable."""
    chosen = [m for m in registered_measures() if m.bins is None]
    if not chosen:
        return {}
    where = {"census": stimuli}
    try:
        where["long"] = long_stimuli(model, max(8, stimuli.n_seqs // 2),
                                     seed=derive_seed(seed, "long_stimuli"),
                                     bos_token_id=bos_token_id(model), exclude_ids=exclude_ids)
    except ValueError:  # a context too short for the copies
        pass
    values, _ = compute_measures(model, chosen, where)
    shape = (int(model.cfg.n_layers), int(model.cfg.n_heads))
    return {m: (v.float() if v is not None else torch.full(shape, float("nan")))
            for m, v in values.items()}


def score_checkpoints(
    checkpoints: str | os.PathLike | Sequence[Any],
    *,
    labels: Sequence[str | int] | None = None,
    n_seqs: int = 32,
    seq_len: int | None = 30,
    seed: int = 0,
    stimuli: Stimuli | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    batch_size: int | None = None,
    exclude_tokens: Sequence[int] = (),
    progress: bool = False,
    heldout_texts: Sequence[str] | None = None,
    prefix_matching: bool = True,
) -> CheckpointSweep:
    """Score every head of every checkpoint on the same stimuli.

    Args:
        checkpoints: model specs (directories, ``TransformerBridge`` objects, anything
            :func:`interp.load_model` takes), or one run directory holding ``step_*``
            checkpoint directories (see :func:`find_checkpoints`).
        labels: one label per checkpoint (default: directory names, or model names);
            steps are parsed from them.
        n_seqs, seq_len, seed: the ``[BOS] r r`` stimuli (:func:`interp.repeated_tokens`);
            ``seq_len=None``: 30, or the longest repeat the checkpoint's context fits
            (:func:`interp.stimuli.preflight.fit_seq_len`); every checkpoint draws the same.
        stimuli: use these ``[BOS] r r`` stimuli instead (``n_seqs``, ``seq_len`` and
            ``seed`` are then not used).
        device, dtype: passed to :func:`interp.load_model` for each checkpoint loaded
            from a directory.
        batch_size: sequences per forward pass of the census.
        heldout_texts: held-out documents (never trained on) for the in-context score,
            the held-out loss and the scores on repeated held-out text (needs checkpoints
            with a tokenizer); see :mod:`interp.pipeline.phase_change`.
        prefix_matching: also score every head's prefix matching (cheap; on by default).
        exclude_tokens: token ids never drawn into the stimuli besides BOS and the first
            checkpoint's special tokens; recorded in the sweep's ``stimuli``.
        progress: show a progress bar over checkpoints.
        heldout_texts: held-out documents (never trained on) for the in-context score,
            the held-out loss and the scores on repeated held-out text (needs checkpoints
            with a tokenizer); see :mod:`interp.pipeline.phase_change`.
        prefix_matching: also score every head's prefix matching (cheap; on by default).

    Returns:
        A :class:`CheckpointSweep`.

    Raises:
        ValueError: no checkpoints, labels of the wrong length, checkpoints of different
            shapes, vocabularies or BOS ids, or stimuli that are not ``[BOS] r r``.
        interp.ModelLoadError: a checkpoint cannot be loaded.

    Example:
        >>> sweep = score_checkpoints("/tmp/ckpts", n_seqs=16)  # doctest: +SKIP
        >>> sweep.largest_rise("induction")  # (step, head, rise in lift)
    """
    check_seed(seed)
    specs, names, order, steps = plan_checkpoints(checkpoints, labels)
    if stimuli is not None and stimuli.repeat_len is None:
        raise ValueError("checkpoint sweeps need [BOS] r r stimuli (see interp.repeated_tokens)")
    iterator: Any = order
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(order, desc="checkpoints", unit="ckpt")
    results: list[CheckpointScores] = []
    for i in iterator:
        first = results[0] if results else None
        # Without given stimuli each checkpoint draws them from the same seed and its own
        # vocabulary; assemble_sweep checks that all drew the same.
        results.append(score_checkpoint(
            specs[i], stimuli=stimuli, n_seqs=n_seqs, seq_len=seq_len, seed=seed,
            device=device, dtype=dtype, batch_size=batch_size, exclude_tokens=exclude_tokens,
            heldout_texts=heldout_texts, prefix_matching=prefix_matching,
            shape=first.shape if first else None, label=names[i],
        ))
    sources = [checkpoint_source(specs[i], r) for i, r in zip(order, results)]
    return assemble_sweep([names[i] for i in order], steps, sources, results)


def plan_checkpoints(
    checkpoints: str | os.PathLike | Sequence[Any],
    labels: Sequence[str | int] | None = None,
) -> tuple[list[Any], list[str], list[int], list[int]]:
    """The specs of a sweep, their labels, the order they are scored in and their steps.

    Returns:
        ``(specs, names, order, steps)``: ``specs`` and ``names`` in the given order;
        ``order`` indexes them by ascending step (the given order when some label holds no
        number); ``steps[k]`` is the step of ``specs[order[k]]``.

    Raises:
        ValueError: no checkpoints, or labels of the wrong length.
    """
    specs = _expand(checkpoints)
    if labels is not None and len(labels) != len(specs):
        raise ValueError(f"{len(labels)} labels for {len(specs)} checkpoints")
    names = [str(v) for v in labels] if labels is not None else [_label(s) for s in specs]
    parsed = [parse_step(v) for v in (labels if labels is not None else names)]
    order = list(range(len(specs)))
    if all(s is not None for s in parsed):
        order.sort(key=lambda i: parsed[i])
        steps = [int(parsed[i]) for i in order]
    else:
        steps = list(range(len(specs)))
    return specs, names, order, steps


def assemble_sweep(
    labels: Sequence[str],
    steps: Sequence[int],
    sources: Sequence[str],
    results: Sequence[CheckpointScores],
    *,
    failed: Sequence[dict] = (),
) -> CheckpointSweep:
    """Stack per-checkpoint results (in step order) into a :class:`CheckpointSweep`.

    Raises:
        ValueError: no results, or results of different shapes or stimuli.
    """
    if not results:
        raise ValueError("no checkpoint could be scored: " + "; ".join(
            f"{f['checkpoint']}: {f['error']}" for f in failed))
    first = results[0]
    for label, r in zip(labels, results):
        if tuple(r.shape) != tuple(first.shape):
            raise ValueError(
                f"checkpoint {label!r} has (layers, heads, vocabulary, BOS) {tuple(r.shape)}; "
                f"the first checkpoint has {tuple(first.shape)}: a sweep needs one architecture"
            )
        if r.stimuli != first.stimuli:
            raise ValueError(
                f"checkpoint {label!r} was scored on other stimuli ({r.stimuli}) than the "
                f"first checkpoint ({first.stimuli})"
            )

    def stack(kind: str) -> dict[str, Tensor]:
        return {b: torch.stack([getattr(r, kind)[b] for r in results]).float()  # (C, L, H)
                for b in getattr(first, kind)}

    return CheckpointSweep(
        labels=tuple(labels),
        steps=tuple(int(s) for s in steps),
        sources=tuple(sources),
        n_layers=first.shape[0],
        n_heads=first.shape[1],
        scores=stack("scores"),
        nulls=stack("nulls"),
        stderrs=stack("stderrs"),
        first_copy_loss=torch.tensor([r.first_copy_loss for r in results]).float(),
        second_copy_loss=torch.tensor([r.second_copy_loss for r in results]).float(),
        stimuli=dict(first.stimuli),
        failed=tuple(dict(f) for f in failed),
        **_stack_curves(results),
        measures={m: torch.stack([r.measures[m] for r in results]).float()  # (C, L, H)
                  for m in first.measures if all(m in r.measures for r in results)},
    )


def _expand(checkpoints: Any) -> list[Any]:
    if isinstance(checkpoints, (str, os.PathLike)):
        path = Path(checkpoints).expanduser()
        if path.is_dir() and not (path / CONFIG_FILE).is_file():
            return list(find_checkpoints(path))
        return [checkpoints]
    specs = list(checkpoints)
    if not specs:
        raise ValueError("no checkpoints given")
    return specs


def _label(spec: Any) -> str:
    if isinstance(spec, (str, os.PathLike)):
        return Path(spec).expanduser().name or os.fspath(spec)
    return model_name(spec)


def checkpoint_source(spec: Any, result: CheckpointScores) -> str:
    """What a checkpoint was loaded from: its path, or the model's name."""
    if isinstance(spec, (str, os.PathLike)):
        return os.fspath(spec)
    return result.name


class _CurveCollector:
    """Measures the model-level curves (:mod:`interp.pipeline.phase_change`) checkpoint by
    checkpoint; the stimuli are drawn once, from the first checkpoint."""

    def __init__(self, texts: Sequence[str] | None, prefix: bool, seed: int, n_seqs: int,
                 seq_len: int) -> None:
        if texts is not None and (isinstance(texts, str) or not list(texts)):
            raise ValueError("heldout_texts must be a non-empty list of documents")
        self.texts = list(texts) if texts is not None else None
        self.prefix, self.seed, self.n_seqs, self.seq_len = prefix, seed, n_seqs, seq_len
        self.stimuli: dict[str, Any] | None = None
        self.values: dict[str, list] = {}
        self.info: dict = {}

    def _setup(self, model: Any) -> None:
        bos = bos_token_id(model)
        self.stimuli = {}
        allowed = None
        if self.texts is not None:
            docs = text_token_stream(model, self.texts)
            allowed = mid_frequency_ids(docs)
            if len(allowed) < PREFIX_LEN:  # too little text: draw from every id
                allowed = None
            windows = text_windows(docs, int(model.cfg.n_ctx), bos_token_id=bos)
            late, early = icl_positions(int(model.cfg.n_ctx))
            repeated = repeated_text_tokens(model, self.texts, self.n_seqs, self.seq_len,
                                               seed=self.seed)
            self.stimuli.update(windows=windows, repeated=repeated, late=late, early=early)
            self.info["icl"] = {"late_token": late, "early_token": early, "half_width": 5,
                                "n_windows": int(windows.shape[0]),
                                "n_ctx": int(windows.shape[1])}
            self.info["repeated_text"] = repeated.to_dict()
        special = special_token_ids(model)
        drawable = (len(allowed) if allowed is not None
                    else int(model.cfg.d_vocab) - 1 - len(special))
        # Olsson's 25 tokens x 4, shortened where the vocabulary or context is smaller
        prefix_len = min(PREFIX_LEN, drawable, (int(model.cfg.n_ctx) - 1) // PREFIX_REPEATS)
        if self.prefix and prefix_len < 2:
            self.info["prefix_matching"] = {"skipped": "vocabulary or context too small"}
        elif self.prefix:
            stim = prefix_matching_tokens(
                self.n_seqs, vocab_size=int(model.cfg.d_vocab), bos_token_id=bos,
                seq_len=prefix_len, seed=self.seed, exclude_ids=special, allowed_ids=allowed,
            )
            self.stimuli["prefix"] = stim
            self.info["prefix_matching"] = {
                **stim.to_dict(), "offset": "+1 (the token after each earlier copy)",
                "drawn_from": (f"{len(allowed)} mid-frequency ids of the held-out text"
                               if allowed is not None else "every ordinary id"),
            }

    def add(self, model: Any, batch_size: int | None) -> None:
        if self.texts is None and not self.prefix:
            return
        if self.stimuli is None:
            self._setup(model)
        assert self.stimuli is not None
        if "prefix" in self.stimuli:
            self.values.setdefault("prefix_matching", []).append(
                prefix_matching_scores(model, self.stimuli["prefix"]))
        if "windows" in self.stimuli:
            loss = per_position_loss(model, self.stimuli["windows"])  # (batch, pos - 1)
            self.values.setdefault("icl_score", []).append(torch.tensor(in_context_score(
                loss, late=self.stimuli["late"], early=self.stimuli["early"])))
            self.values.setdefault("heldout_loss", []).append(loss.mean())
            repeated = self.stimuli["repeated"]
            result = score_heads(model, repeated, batch_size=batch_size)
            for behavior in result.behaviors:
                self.values.setdefault(f"score:{behavior}", []).append(result.score(behavior))
                self.values.setdefault(f"null:{behavior}", []).append(result.null(behavior))
            first, second = copy_losses(model, repeated)
            self.values.setdefault("text_first_copy_loss", []).append(first.mean())
            self.values.setdefault("text_second_copy_loss", []).append(second.mean())

    def fields(self) -> dict:
        out: dict = {}
        for name in CURVE_TENSORS:
            if name in self.values:
                out[name] = torch.stack(self.values[name]).float()
        scores = {k.split(":", 1)[1]: torch.stack(v).float()
                  for k, v in self.values.items() if k.startswith("score:")}
        if scores:
            out["text_scores"] = scores
            out["text_nulls"] = {k.split(":", 1)[1]: torch.stack(v).float()
                                 for k, v in self.values.items() if k.startswith("null:")}
        if self.values:
            out["curves"] = self.info
        return out

    def to_dict(self) -> dict:
        """One checkpoint's curves, JSON-safe: ``{"values": {name: nested list}, "info":
        {...}}`` (``{}`` when nothing was measured); :func:`_stack_curves` reads them."""
        fields = self.fields()
        if not fields:
            return {}
        values = {name: tensor_to_list(fields[name][0]) for name in CURVE_TENSORS
                  if name in fields}
        for kind in ("scores", "nulls"):
            for b, t in fields.get(f"text_{kind}", {}).items():
                values[f"{kind[:-1]}:{b}"] = tensor_to_list(t[0])
        return {"values": values, "info": dict(fields["curves"])}


def _stack_curves(results: Sequence[CheckpointScores]) -> dict:
    """:class:`CheckpointSweep` fields from the checkpoints' curves (``{}`` unless every
    checkpoint has them)."""
    if not results or not all(r.curves for r in results):
        return {}
    names = list(results[0].curves["values"])

    def stacked(name: str) -> Tensor:
        rows = [tensor_from_list(r.curves["values"][name]) for r in results]
        return torch.stack(rows).float()  # (C, ...) ; scalars were saved as [x]

    out: dict = {}
    for name in CURVE_TENSORS:
        if name in names:
            value = stacked(name)
            out[name] = value if name == "prefix_matching" else value.reshape(len(results))
    scores = {k.split(":", 1)[1]: stacked(k) for k in names if k.startswith("score:")}
    if scores:
        out["text_scores"] = scores
        out["text_nulls"] = {k.split(":", 1)[1]: stacked(k) for k in names
                             if k.startswith("null:")}
    out["curves"] = dict(results[0].curves["info"])
    return out
