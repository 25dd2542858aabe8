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
  settings that change the result, so a rerun computes only the items that are missing, a
  changed setting (or changed weights) computes afresh, and moving a run directory does not.
- **Failures**: a worker process that dies is retried by Ray (``max_retries``); an item that
  fails for a reason of its own (a corrupt checkpoint, a hub model with no network) is
  reported in the output (``failed`` in ``sweep.json`` / ``zoo.json``) and the rest goes on.
  Failed items are not stored, so a rerun tries them again.

Model specs are everything :func:`interp.load_model` takes, plus ``planted`` /
``planted:NAME`` (the hand-set oracles of :mod:`interp.planted`, see :data:`PLANTED_SPECS`)
and, in a spec file (:func:`read_spec_file`), hub models at a training checkpoint
(``{"model": "EleutherAI/pythia-70m", "checkpoint_value": 1000}``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .output_files import write_files

__all__ = [
    "PLANTED_SPECS",
    "ItemRun",
    "RayMissingError",
    "SweepRun",
    "ZooRun",
    "expand_specs",
    "load_spec",
    "model_content_hash",
    "read_spec_file",
    "run_items",
    "run_sweep",
    "run_zoo",
]

#: Directory (under the output directory) holding one JSON file per finished item.
ITEMS_DIR = "items"
#: Bumped when an item's stored form changes (old items are then recomputed).
ITEM_FORMAT = 1
#: Ray retries of a task whose worker process died (Ray's own ``max_retries``).
MAX_RETRIES = 3
RAY_HINT = "pip install -e .[ray]  (or: pip install 'ray==2.60.0')"

#: ``planted:NAME`` specs -> arguments of :func:`interp.build_planted_model`.
PLANTED_SPECS: dict[str, dict[str, Any]] = {
    "planted": {},
    "planted:redundant": {"redundant_induction": True},
    "planted:duplicate": {"duplicate_feeds_output": True},
}


class RayMissingError(RuntimeError):
    """``ray=...`` was asked for and Ray is not installed; the message says how to get it."""


# ----------------------------------------------------------------------------- model specs


def read_spec_file(path: str | os.PathLike) -> list[dict]:
    """The models listed in a JSON spec file.

    The file holds a list (or ``{"models": [...]}``); each entry is a spec string
    (``"default"``, a directory, ``planted:NAME``, a hub name) or an object
    ``{"model": SPEC, "label": ..., "checkpoint_index": N | "checkpoint_value": N}``
    (a training checkpoint of a hub model, TransformerLens' ``boot_transformers``
    arguments: Pythia's ``checkpoint_value`` is the step). Relative directories are read
    relative to the file.

    Returns:
        One dict per entry: ``{"model": str, "label"?: str, "checkpoint_index"?: int,
        "checkpoint_value"?: int}``.

    Raises:
        ValueError: not JSON, or an entry of the wrong form.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the spec file {file}: {err}") from err
    entries = data.get("models") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{file} must hold a non-empty list of models (or {{\"models\": [...]}})")
    out = []
    for n, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"model": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ValueError(f"{file}: entry {n} must be a spec string or {{\"model\": ...}}")
        unknown = set(entry) - {"model", "label", "checkpoint_index", "checkpoint_value"}
        if unknown:
            raise ValueError(f"{file}: entry {n} has unknown keys {sorted(unknown)}")
        if "checkpoint_index" in entry and "checkpoint_value" in entry:
            raise ValueError(f"{file}: entry {n} gives both checkpoint_index and "
                             "checkpoint_value")
        for key in ("checkpoint_index", "checkpoint_value"):
            if key in entry and not isinstance(entry[key], int):
                raise ValueError(f"{file}: entry {n}: {key} must be an integer")
        spec = dict(entry)
        local = (file.parent / spec["model"]).expanduser()
        if not Path(spec["model"]).is_absolute() and local.exists():
            spec["model"] = os.fspath(local)
        out.append(spec)
    return out


def expand_specs(args: Sequence[Any]) -> list[dict]:
    """Model specs from the command line: each argument is a spec, a ``.json`` spec file
    (:func:`read_spec_file`) or a run directory holding ``step_*`` checkpoints
    (:func:`interp.find_checkpoints`).

    Returns:
        One ``{"model": ..., ...}`` dict per model, in the given order.
    """
    from .checkpoints import find_checkpoints
    from .models import CONFIG_FILE

    out: list[dict] = []
    for arg in args:
        if isinstance(arg, dict):
            out.append(dict(arg))
            continue
        if not isinstance(arg, (str, os.PathLike)):
            out.append({"model": arg})
            continue
        path = Path(arg).expanduser()
        if path.is_file() and path.suffix == ".json":
            out.extend(read_spec_file(path))
        elif path.is_dir() and not (path / CONFIG_FILE).is_file():
            out.extend({"model": os.fspath(p)} for p in find_checkpoints(path))
        else:
            out.append({"model": os.fspath(arg)})
    if not out:
        raise ValueError("no models given")
    return out


def spec_label(spec: dict) -> str:
    """A model's name in tables and file names: the given label, the directory's name, the
    planted spec, or the hub name with its checkpoint (``pythia-70m@1000``)."""
    from .models import model_name

    if spec.get("label"):
        return str(spec["label"])
    model = spec["model"]
    if not isinstance(model, (str, os.PathLike)):
        return model_name(model)
    text = os.fspath(model)
    if text in PLANTED_SPECS or text == "default":
        return text.replace(":", "-")
    path = Path(text).expanduser()
    if path.exists():
        return path.resolve().name
    if "checkpoint_value" in spec:
        return f"{text.split('/')[-1]}@{spec['checkpoint_value']}"
    if "checkpoint_index" in spec:
        return f"{text.split('/')[-1]}@index{spec['checkpoint_index']}"
    return text.split("/")[-1]


def spec_source(spec: dict) -> str:
    """What a model was loaded from, as text (a path, a planted spec, a hub name@checkpoint)."""
    from .models import model_name

    model = spec["model"]
    if not isinstance(model, (str, os.PathLike)):
        return model_name(model)
    text = os.fspath(model)
    for key in ("checkpoint_index", "checkpoint_value"):
        if key in spec:
            text += f"@{key}={spec[key]}"
    return text


def load_spec(spec: dict | str, *, device: Any = None, dtype: Any = None,
              device_map: Any = None) -> Any:
    """Load one model spec (:func:`expand_specs` form or a plain string).

    ``planted`` / ``planted:NAME`` build a planted model (:data:`PLANTED_SPECS`); everything
    else goes to :func:`interp.load_model`, with a hub checkpoint's ``checkpoint_index`` /
    ``checkpoint_value``.

    Raises:
        interp.ModelLoadError: the model cannot be loaded (the message names the problem).
    """
    from .models import ModelLoadError, load_model

    if not isinstance(spec, dict):
        spec = {"model": spec}
    model = spec["model"]
    if isinstance(model, str) and model.startswith("planted"):
        if model not in PLANTED_SPECS:
            raise ModelLoadError(
                f"unknown planted model {model!r}; known: {', '.join(PLANTED_SPECS)}")
        if device_map is not None:
            raise ModelLoadError("device_map does not apply to planted models")
        from .planted import build_planted_model

        built = build_planted_model(**PLANTED_SPECS[model]).model
        built.cfg.model_name = model.replace(":", "-")
        if device is not None:
            built.to(device)
        if dtype is not None:
            built.to(_dtype(dtype))
        return built
    hub = {k: spec[k] for k in ("checkpoint_index", "checkpoint_value") if k in spec}
    return load_model(model, device=device, dtype=dtype, device_map=device_map, **hub)


def model_content_hash(spec: dict | str) -> str:
    """SHA-256 (hex) of what a model is made of, without loading it where it can help.

    - a directory (or ``default``): every regular file under it, by relative path and bytes
      (weights, config, tokenizer); a corrupt file hashes like any other;
    - ``planted:NAME``: the built model's weights;
    - a hub name: the name and checkpoint (a checkpoint of a hub model does not change);
    - a ``TransformerBridge``: its weights.

    Raises:
        interp.ModelLoadError: an unknown planted spec.
    """
    from .models import DEFAULT_MODEL_DIR

    if not isinstance(spec, dict):
        spec = {"model": spec}
    model = spec["model"]
    digest = hashlib.sha256()
    if not isinstance(model, (str, os.PathLike)):
        _hash_state(model, digest)
        return digest.hexdigest()
    text = os.fspath(model)
    if text.startswith("planted"):
        digest.update(b"planted\0")
        _hash_state(load_spec(spec), digest)
        return digest.hexdigest()
    path = DEFAULT_MODEL_DIR if text == "default" else Path(text).expanduser()
    if path.is_dir():
        digest.update(b"dir\0")
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            if file.name.startswith(".") or file.name.endswith(".tmp"):
                continue
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(str(file.stat().st_size).encode() + b"\0")
            with open(file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()
    # Anything else is a hub name (or a typo, which then fails to load, alone).
    digest.update(b"hub\0" + json.dumps(
        {k: spec.get(k) for k in ("model", "checkpoint_index", "checkpoint_value")},
        sort_keys=True).encode())
    return digest.hexdigest()


def _hash_state(model: Any, digest: Any) -> None:
    """Feed every parameter and buffer (name, shape, dtype, raw bytes) into ``digest``."""
    import torch

    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().view(-1)  # (numel,)
        digest.update(f"{name}\0{tuple(tensor.shape)}\0{tensor.dtype}\0".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())


def _dtype(value: Any) -> Any:
    from .models import _dtype_from

    return _dtype_from(value)


def item_key(kind: str, content: str, settings: dict) -> str:
    """The store key of one item: SHA-256 over its kind, model content and settings."""
    text = json.dumps({"format": ITEM_FORMAT, "kind": kind, "model": content,
                       "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ----------------------------------------------------------------------------- running items


@dataclass(frozen=True)
class ItemRun:
    """What :func:`run_items` did.

    Attributes:
        results: label -> the item's result (the task's ``to_dict()``), for items that
            finished (now or in an earlier run).
        failed: label -> error message, for items that failed.
        computed: labels of the items computed by this run, in the order they finished.
        reused: labels of the items read from the store.
    """

    results: dict[str, dict]
    failed: dict[str, str]
    computed: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Item:
    label: str
    spec: dict
    key: str | None  # None: the key could not be computed (see error)
    error: str | None = None


def run_items(
    task: Callable[..., Any],
    kind: str,
    specs: Sequence[dict],
    settings: dict,
    store: str | os.PathLike,
    *,
    ray: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> ItemRun:
    """Run ``task(spec, **settings)`` once per model spec, reusing stored results.

    Args:
        task: a module-level function (Ray ships it to workers by reference) returning an
            object with ``to_dict()``; it loads the model itself.
        kind: names the task in the store keys (results of different tasks never mix).
        specs: :func:`expand_specs` dicts; their labels (:func:`spec_label`) must be unique.
        settings: keyword arguments of ``task``; JSON-safe; part of the store key.
        store: directory of the stored results (created if missing).
        ray: None to run here, ``"local"`` to start a local Ray with ``workers`` CPUs, or a
            cluster address.
        workers: local Ray CPUs, or (with an address) the most tasks in flight.
        threads: torch threads in each task (default: this process's).
        progress: show a progress bar.

    Returns:
        An :class:`ItemRun`.

    Raises:
        RayMissingError: ``ray`` given and Ray not installed.
        ValueError: two specs with the same label.
    """
    import torch

    labels = [spec_label(s) for s in specs]
    repeated = sorted({x for x in labels if labels.count(x) > 1})
    if repeated:
        raise ValueError(f"two models share the label(s) {repeated}; give each a label")
    threads = threads or torch.get_num_threads()
    ray_mod, started = _start_ray(ray, workers) if ray is not None else (None, False)
    try:
        if ray_mod is not None and settings.get("device", "absent") is None \
                and _cluster_gpus(ray_mod) > 0:
            settings = {**settings, "device": "cuda"}
        items = [_make_item(kind, label, spec, settings) for label, spec in zip(labels, specs)]
        root = Path(store)
        results: dict[str, dict] = {}
        failed: dict[str, str] = {}
        reused: list[str] = []
        todo: list[_Item] = []
        for item in items:
            stored = _read_item(root, item.key) if item.key else None
            if item.error is not None:
                failed[item.label] = item.error
            elif stored is not None:
                results[item.label] = stored
                reused.append(item.label)
            else:
                todo.append(item)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=kind, unit="model")
        computed: list[str] = []
        try:
            runner = _run_ray(ray_mod, task, todo, settings, threads, workers) if ray_mod \
                else _run_here(task, todo, settings, threads)
            for item, outcome in runner:
                if "error" in outcome:
                    failed[item.label] = outcome["error"]
                else:
                    # Stored and fresh results read back the same way (key order, NaN, floats).
                    text = _write_item(root, item, outcome["result"], settings)
                    results[item.label] = json.loads(text)["result"]
                computed.append(item.label)
                if bar is not None:
                    bar.update(1)
                    if failed:
                        bar.set_postfix(failed=len(failed))
        finally:
            if bar is not None:
                bar.close()
    finally:
        if started:
            ray_mod.shutdown()
    return ItemRun(results=results, failed=failed, computed=tuple(computed),
                   reused=tuple(reused))


def _make_item(kind: str, label: str, spec: dict, settings: dict) -> _Item:
    try:
        content = model_content_hash(spec)
    except Exception as err:  # the item fails alone; the message names the problem
        return _Item(label, spec, None, _error_text(err))
    return _Item(label, spec, item_key(kind, content, settings))


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _call(task: Callable[..., Any], spec: dict, settings: dict, threads: int) -> dict:
    """Run one item (here or in a Ray worker): ``{"result": dict}`` or ``{"error": text}``.

    Errors of the item itself are returned, not raised, so Ray does not retry them; a
    worker that dies is retried by Ray.
    """
    import torch

    torch.set_num_threads(threads)
    try:
        return {"result": task(spec, **settings).to_dict()}
    except Exception as err:  # an item's own failure (corrupt file, no network, ...)
        return {"error": _error_text(err)}


def _run_here(task: Callable[..., Any], todo: list[_Item], settings: dict,
              threads: int) -> Iterator[tuple[_Item, dict]]:
    for item in todo:
        yield item, _call(task, item.spec, settings, threads)


def _start_ray(address: str, workers: int | None) -> tuple[Any, bool]:
    """The ``ray`` module, initialised, and whether this call started it (and must stop it)."""
    try:
        import ray
    except ImportError as err:
        raise RayMissingError(f"running on Ray needs Ray installed: {RAY_HINT}") from err
    if ray.is_initialized():  # someone else's instance (a notebook, a test): leave it running
        return ray, False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address in ("", "local"):
        kwargs["num_cpus"] = workers or os.cpu_count() or 1
    else:
        kwargs["address"] = address
    ray.init(**kwargs)
    return ray, True


def _cluster_gpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("GPU", 0))


def _run_ray(ray: Any, task: Callable[..., Any], todo: list[_Item], settings: dict,
             threads: int, workers: int | None) -> Iterator[tuple[_Item, dict]]:
    remote = ray.remote(_call).options(
        num_cpus=1, num_gpus=1 if _cluster_gpus(ray) > 0 else 0, max_retries=MAX_RETRIES)
    queue = list(todo)
    limit = max(1, workers) if workers else len(queue)
    pending: dict[Any, _Item] = {}
    while queue or pending:
        while queue and len(pending) < limit:
            item = queue.pop(0)
            pending[remote.remote(task, item.spec, settings, threads)] = item
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            item = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as err:  # retries used up, or the task was lost
                outcome = {"error": f"Ray gave up on this item: {_error_text(err)}"}
            yield item, outcome


def _read_item(root: Path, key: str) -> dict | None:
    path = root / ITEMS_DIR / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # missing or unreadable: compute it again
    if not isinstance(data, dict) or data.get("key") != key or "result" not in data:
        return None
    return data["result"]


def _write_item(root: Path, item: _Item, result: dict, settings: dict) -> str:
    """Store one result; returns the text written. Keys keep their order (a result's
    behaviors are in report order), so a stored result reads back as the fresh one."""
    assert item.key is not None
    record = {"key": item.key, "label": item.label, "source": spec_source(item.spec),
              "settings": settings, "result": result}
    text = json.dumps(record) + "\n"
    write_files(root / ITEMS_DIR, {f"{item.key}.json": text.encode("utf-8")})
    return text


# ----------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class SweepRun:
    """A sweep written by :func:`run_sweep`: the sweep, its files and what was computed."""

    sweep: Any  # interp.checkpoints.CheckpointSweep
    paths: dict[str, Path]
    computed: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()


def score_item(spec: dict, *, n_seqs: int, seq_len: int | None, seed: int,
               device: Any = None, dtype: Any = None, batch_size: int | None = None,
               device_map: Any = None, exclude_tokens: Sequence[int] = (),
               heldout_text: str | None = None) -> Any:
    """One checkpoint of a sweep (the Ray task's body): load, then
    :func:`interp.checkpoints.score_checkpoint` with stimuli drawn from the seed."""
    from .checkpoints import score_checkpoint

    from .text_model import heldout_source

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
            (:func:`interp.text_model.heldout_source`).
        ray, workers, threads, progress: as in :func:`run_items`.

    Returns:
        A :class:`SweepRun`.

    Raises:
        ValueError: no checkpoint could be scored, or they differ in shape.
        RayMissingError: ``ray`` given and Ray not installed.
    """
    from .checkpoint_report import write_sweep
    from .checkpoints import CheckpointScores, assemble_sweep, plan_checkpoints
    from .preflight import check_seed

    specs = expand_specs(checkpoints)
    labels = [spec_label(s) for s in specs]
    _, names, order, steps = plan_checkpoints(specs, labels)
    check_seed(seed)
    settings = {"n_seqs": n_seqs, "seq_len": seq_len, "seed": seed, "device": device,
                "dtype": dtype, "batch_size": batch_size, "device_map": device_map,
                "exclude_tokens": [int(t) for t in exclude_tokens],
                "heldout_text": None if heldout_text is None else os.fspath(heldout_text)}
    run = run_items(score_item, "checkpoint_scores", specs, settings, out_dir, ray=ray,
                    workers=workers, threads=threads, progress=progress)
    done = [i for i in order if names[i] in run.results]
    sweep = assemble_sweep(
        [names[i] for i in done],
        [steps[order.index(i)] for i in done],
        [spec_source(specs[i]) for i in done],
        [CheckpointScores.from_dict(run.results[names[i]]) for i in done],
        failed=[{"checkpoint": names[i], "source": spec_source(specs[i]),
                 "error": run.failed[names[i]]} for i in order if names[i] in run.failed],
    )
    paths = write_sweep(sweep, out_dir)
    return SweepRun(sweep=sweep, paths=paths, computed=run.computed, reused=run.reused)


# ----------------------------------------------------------------------------- zoos


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


def classify_item(spec: dict, *, settings: dict, device: Any = None, dtype: Any = None,
                  device_map: Any = None) -> Any:
    """One model of a zoo (the Ray task's body): load, then :func:`interp.classify_heads`."""
    from .classify import ClassifySettings, classify_heads

    model = load_spec(spec, device=device, dtype=dtype, device_map=device_map)
    return classify_heads(model, ClassifySettings(**settings), progress=False)


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
) -> ZooRun:
    """Classify every model (serially or on Ray), resumably; write each model's report into
    ``out_dir/<label>/`` and the comparison page (``zoo.html``, ``zoo.json``) into
    ``out_dir`` (:mod:`interp.zoo_report`).

    Args:
        models: arguments of :func:`expand_specs`.
        settings: a :class:`interp.ClassifySettings` (default: its defaults).
        device, dtype, device_map, ray, workers, threads, progress: as in :func:`run_sweep`.

    Raises:
        ValueError: no model could be classified.
    """
    from .classify import Classification, ClassifySettings
    from .report import write_report
    from .zoo_report import write_zoo

    specs = expand_specs(models)
    labels = [spec_label(s) for s in specs]
    settings = settings or ClassifySettings()
    task_settings = {"settings": settings.to_dict(), "device": device, "dtype": dtype,
                     "device_map": device_map}
    run = run_items(classify_item, "classification", specs, task_settings, out_dir, ray=ray,
                    workers=workers, threads=threads, progress=progress)
    if not run.results:
        raise ValueError("no model could be classified: " + "; ".join(
            f"{k}: {v}" for k, v in run.failed.items()))
    out = Path(out_dir)
    classified = {label: Classification.from_dict(run.results[label])
                  for label in labels if label in run.results}
    for label, result in classified.items():
        write_report(result, out / label)
    sources = {label: spec_source(spec) for label, spec in zip(labels, specs)}
    failed = {label: run.failed[label] for label in labels if label in run.failed}
    paths = write_zoo(classified, out, failed=failed, sources=sources)
    return ZooRun(models=classified, failed=failed, paths=paths, computed=run.computed,
                  reused=run.reused, sources=sources)
