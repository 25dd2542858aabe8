"""Many models, one item each: checkpoint sweeps and model zoos, serially or on Ray, resumable.

A sweep (:func:`run_sweep`) scores every checkpoint of a training run; a zoo
(:func:`run_zoo`) classifies several models and compares them. Both are lists of
independent *items* (one model each), run by :func:`run_items`:

- **Serially** in this process (the default), or **on Ray** (``ray=...``): each item is one
  Ray task (``num_cpus=1``; ``num_gpus=1`` where the cluster has GPUs, and the device then
  defaults to ``cuda``). ``ray="local"`` starts a Ray instance on this machine with
  ``workers`` CPUs; an address (``"ray://host:10001"``, ``"host:6379"`` or ``"auto"``)
  joins a running cluster (``ray start --head`` on one machine, ``ray start --address ...``
  on the others; every node needs ``interp`` installed). Results stream back as they finish
  (a progress bar), and the output is assembled in a fixed order, so it is byte-identical to
  the serial run: the stimuli are drawn from the seed on each worker, the same way.
- **Resumable**: each finished item's result is written (atomically) to
  ``OUT/items/<key>.json``. The key is a SHA-256 over the model's content (every file of its
  directory; the weights of a planted model; the name and revision of a hub model) and the
  settings that change the result, so a rerun computes only the items that are missing, and
  a changed setting (or changed weights) computes afresh. A stored file is used only when it
  validates and records this very request (key, label, source, settings: a moved run
  directory is computed afresh); otherwise the item is computed again and the run says
  which file it replaced (``replaced``).
- **Checked first**: labels (plain file names, :mod:`interp.io.labels`), spec files, the
  item store (``OUT/items`` never a link) and, for a sweep, that the checkpoints whose
  configs can tell share one architecture, before anything is hashed or computed.
- **Failures**: a worker process that dies is retried by Ray (``max_retries``); an item that
  fails for a reason of its own (a corrupt checkpoint, a hub model with no network) is
  reported in the output (``failed`` in ``sweep.json`` / ``zoo.json``) and the rest goes on.
  Failed items are not stored, so a rerun tries them again.

Model specs are everything :func:`interp.load_model` takes, plus ``planted`` /
``planted:NAME`` (the hand-set oracles of :mod:`interp.train.planted`, see :data:`PLANTED_SPECS`)
and, in a spec file (:func:`read_spec_file`), hub models at a training checkpoint
(``{"model": "EleutherAI/pythia-70m", "checkpoint_value": 1000}``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..pipeline.checkpoints import (
    CheckpointScores,
    assemble_sweep,
    plan_checkpoints,
    score_checkpoint,
)
from ..pipeline.classify import ClassifySettings, classify_heads
from ..pipeline.text_model import heldout_source
from ..report.head_report import write_report
from ..report.sweep_page import write_sweep
from ..report.zoo_page import write_zoo
from ..results.classification import Classification
from ..stimuli.preflight import check_seed, fit_seq_len
from .runner import run_items, unique_labels
from .specs import expand_specs, load_spec, spec_dims, spec_label, spec_source
from .store import items_dir


@dataclass(frozen=True)
class SweepRun:
    """A sweep written by :func:`run_sweep`: the sweep, its files and what was computed."""

    sweep: Any  # interp.results.checkpoints.CheckpointSweep
    paths: dict[str, Path]
    computed: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    replaced: dict[str, str] = field(default_factory=dict)


def score_item(spec: dict, *, n_seqs: int, seq_len: int | None, seed: int,
               device: Any = None, dtype: Any = None, batch_size: int | None = None,
               device_map: Any = None, exclude_tokens: Sequence[int] = (),
               heldout_text: str | None = None) -> Any:
    """One checkpoint of a sweep (the Ray task's body): load, then
    :func:`interp.pipeline.checkpoints.score_checkpoint` with stimuli drawn from the seed."""
    model = load_spec(spec, device=device, dtype=dtype, device_map=device_map)
    texts = heldout_source(heldout_text) if heldout_text else None
    return score_checkpoint(model, n_seqs=n_seqs, seq_len=seq_len, seed=seed,
                            batch_size=batch_size, exclude_tokens=exclude_tokens,
                            heldout_texts=texts, label=spec_label(spec))


def run_sweep(
    checkpoints: Sequence[Any],
    out_dir: str | os.PathLike,
    *,
    n_seqs: int = 32,
    seq_len: int | None = 30,
    seed: int = 0,
    device: str | None = None,
    dtype: str | None = None,
    batch_size: int | None = None,
    device_map: Any = None,
    exclude_tokens: Sequence[int] = (),
    heldout_text: str | None = None,
    ray: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> SweepRun:
    """Score every checkpoint (serially or on Ray), resumably, and write the sweep.

    The same as :func:`interp.score_checkpoints` followed by
    :func:`interp.checkpoint_report.write_sweep` (the same bytes), except that each
    checkpoint is stored under ``out_dir/items/`` as it finishes (a rerun computes only
    what is missing) and a checkpoint that fails is listed in ``sweep.failed`` instead of
    stopping the sweep.

    Args:
        checkpoints: arguments of :func:`expand_specs` (directories, a run directory, a
            ``.json`` spec file, ``planted:NAME``, hub names, spec dicts).
        out_dir: where ``sweep.json``, ``sweep.html`` and ``items/`` go.
        n_seqs, seq_len, seed, device, dtype, batch_size, exclude_tokens: as in
            :func:`interp.score_checkpoints`.
        device_map: for Hugging Face checkpoints (:func:`interp.load_model`).
        heldout_text: a held-out text file or a model that ships one (``"text"``): the
            in-context score and the repeated-text curves of every checkpoint
            (:func:`interp.pipeline.text_model.heldout_source`).
        ray, workers, threads, progress: as in :func:`run_items`.

    Returns:
        A :class:`SweepRun`.

    Raises:
        ValueError: no checkpoint could be scored, or they differ in shape (found before
            any is scored where their configs tell), a bad label or spec file.
        RayMissingError: ``ray`` given and Ray not installed.
    """
    specs = expand_specs(checkpoints)
    labels = unique_labels(specs)
    items_dir(out_dir)
    check_seed(seed)
    _one_architecture(specs, labels)
    _, names, order, steps = plan_checkpoints(specs, labels)
    settings = {"n_seqs": n_seqs, "seq_len": seq_len, "seed": seed, "device": device,
                "dtype": dtype, "batch_size": batch_size, "device_map": device_map,
                "exclude_tokens": [int(t) for t in exclude_tokens],
                "heldout_text": None if heldout_text is None else os.fspath(heldout_text)}
    run = run_items(score_item, "checkpoint_scores", specs, settings, out_dir, ray=ray,
                    workers=workers, threads=threads, progress=progress)
    done = [i for i in order if names[i] in run.results]
    try:
        sweep = assemble_sweep(
            [names[i] for i in done],
            [steps[order.index(i)] for i in done],
            [spec_source(specs[i]) for i in done],
            [CheckpointScores.from_dict(run.results[names[i]]) for i in done],
            failed=[{"checkpoint": names[i], "source": spec_source(specs[i]),
                     "error": run.failed[names[i]]} for i in order if names[i] in run.failed],
        )
    except (KeyError, IndexError, TypeError, RuntimeError) as err:  # stored items that
        # validate one by one but disagree with each other (their curves, their measures)
        raise ValueError(f"the stored items in {items_dir(out_dir)} do not fit together "
                         f"({type(err).__name__}: {err}); delete them to compute afresh"
                         ) from None
    paths = write_sweep(sweep, out_dir)
    return SweepRun(sweep=sweep, paths=paths, computed=run.computed, reused=run.reused,
                    replaced=run.replaced)


def _one_architecture(specs: Sequence[dict], labels: Sequence[str]) -> None:
    """Refuse, before anything is scored, checkpoints whose configs (or planted models)
    give different ``(layers, heads, vocabulary)``; those only loading can tell are
    checked as they are scored (:func:`assemble_sweep`)."""
    first: tuple[str, tuple[int, int, int]] | None = None
    for label, spec in zip(labels, specs):
        dims = spec_dims(spec)
        if dims is None:
            continue
        if first is None:
            first = (label, dims)
        elif dims != first[1]:
            raise ValueError(
                f"checkpoint {label!r} has (layers, heads, vocabulary) {dims}; checkpoint "
                f"{first[0]!r} has {first[1]}: a sweep needs one architecture")


@dataclass(frozen=True)
class ZooRun:
    """A zoo written by :func:`run_zoo`.

    Attributes:
        models: label -> the model's :class:`interp.Classification`, in the given order.
        failed: label -> error message.
        paths: ``{"html": ..., "json": ...}`` of the comparison page; each model's report
            is in ``out_dir/<label>/``.
    """

    models: dict[str, Any]
    failed: dict[str, str]
    paths: dict[str, Path]
    computed: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    replaced: dict[str, str] = field(default_factory=dict)


def classify_item(spec: dict, *, settings: dict, device: Any = None, dtype: Any = None,
                  device_map: Any = None, fit_context: bool = False) -> Any:
    """One model of a zoo (the Ray task's body): load, then :func:`interp.classify_heads`.

    ``fit_context``: the settings' ``seq_len`` is the default one; where this model's
    context is too short for it, use the longest repeat that fits (as ``interp report``
    does; :func:`interp.stimuli.preflight.fit_seq_len`).
    """
    model = load_spec(spec, device=device, dtype=dtype, device_map=device_map)
    chosen = ClassifySettings(**settings)
    n_ctx = int(model.cfg.n_ctx)
    if fit_context and 2 * chosen.seq_len + 1 > n_ctx:
        fit_seq_len(n_ctx, None)  # refuses a context too short for any repeat
        chosen = replace(chosen, seq_len=(n_ctx - 1) // 2)
    return classify_heads(model, chosen, progress=False)


def run_zoo(
    models: Sequence[Any],
    out_dir: str | os.PathLike,
    *,
    settings: Any = None,
    device: str | None = None,
    dtype: str | None = None,
    device_map: Any = None,
    ray: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    progress: bool = False,
    fit_context: bool = False,
) -> ZooRun:
    """Classify every model (serially or on Ray), resumably; write each model's report into
    ``out_dir/<label>/`` and the comparison page (``zoo.html``, ``zoo.json``) into
    ``out_dir`` (:mod:`interp.report.zoo_page`).

    Args:
        models: arguments of :func:`expand_specs`.
        settings: a :class:`interp.ClassifySettings` (default: its defaults).
        device, dtype, device_map, ray, workers, threads, progress: as in :func:`run_sweep`.
        fit_context: ``settings.seq_len`` is the default: shorten it for a model whose
            context is too short (:func:`classify_item`).

    Raises:
        ValueError: no model could be classified; before any work, a bad label or spec
            file, or a model's directory under ``out_dir`` that is a link or a file.
    """
    specs = expand_specs(models)
    labels = unique_labels(specs)
    out = Path(out_dir)
    items_dir(out)
    for label in labels:
        target = out / label
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise ValueError(f"{target} is a link or a file; {label}'s report goes into a "
                             "directory of that name")
    settings = settings or ClassifySettings()
    task_settings = {"settings": settings.to_dict(), "device": device, "dtype": dtype,
                     "device_map": device_map}
    if fit_context:
        task_settings["fit_context"] = True
    run = run_items(classify_item, "classification", specs, task_settings, out_dir, ray=ray,
                    workers=workers, threads=threads, progress=progress)
    if not run.results:
        raise ValueError("no model could be classified: " + "; ".join(
            f"{k}: {v}" for k, v in run.failed.items()))
    classified = {label: Classification.from_dict(run.results[label])
                  for label in labels if label in run.results}
    for label, result in classified.items():
        write_report(result, out / label)
    sources = {label: spec_source(spec) for label, spec in zip(labels, specs)}
    failed = {label: run.failed[label] for label in labels if label in run.failed}
    paths = write_zoo(classified, out, failed=failed, sources=sources)
    return ZooRun(models=classified, failed=failed, paths=paths, computed=run.computed,
                  reused=run.reused, sources=sources, replaced=run.replaced)
