"""Running items serially or as Ray tasks (the optional ``ray`` extra), resumably."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .specs import model_content_hash, spec_label
from .store import Item, item_key, items_dir, read_item, write_item

#: Ray retries of a task whose worker process died (Ray's own ``max_retries``).
MAX_RETRIES = 3


RAY_HINT = "pip install -e .[ray]  (or: pip install 'ray==2.60.0')"


class RayMissingError(RuntimeError):
    """``ray=...`` was asked for and Ray is not installed; the message says how to get it."""


@dataclass(frozen=True)
class ItemRun:
    """What :func:`run_items` did.

    Attributes:
        results: label -> the item's result (the task's ``to_dict()``), for items that
            finished (now or in an earlier run).
        failed: label -> error message, for items that failed.
        computed: labels of the items computed by this run, in the order they finished.
        reused: labels of the items read from the store.
        replaced: label -> why its stored file was not used (one line naming the file),
            for items computed again although a file was there.
    """

    results: dict[str, dict]
    failed: dict[str, str]
    computed: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    replaced: dict[str, str] = field(default_factory=dict)


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
        ValueError: an invalid label, two specs with the same label (in any case), or
            ``store/items`` a link (:class:`interp.runs.store.StoreError`); all before any
            work.
    """
    import torch

    labels = unique_labels(specs)
    items_dir(store)
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
        todo: list[Item] = []
        replaced: dict[str, str] = {}
        for item in items:
            if item.error is not None:
                failed[item.label] = item.error
                continue
            stored = read_item(root, item, kind, settings)
            if stored.result is not None:
                results[item.label] = stored.result
                reused.append(item.label)
            else:
                if stored.problem is not None:
                    replaced[item.label] = stored.problem
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
                    text = write_item(root, item, outcome["result"], settings)
                    results[item.label] = json.loads(text)["result"]
                    computed.append(item.label)  # a failed item is not counted as computed
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
                   reused=tuple(reused), replaced=replaced)


def unique_labels(specs: Sequence[dict]) -> list[str]:
    """The labels of ``specs`` (:func:`spec_label`), checked to be unique in any case (a
    zoo makes a directory of each, and some file systems ignore case).

    Raises:
        ValueError: an invalid given label, or a label used twice.
    """
    labels = [spec_label(s) for s in specs]
    folded = [x.lower() for x in labels]
    repeated = sorted({x for x in labels if folded.count(x.lower()) > 1})
    if repeated:
        raise ValueError(f"two models share the label(s) {repeated}; give each a label")
    return labels


def _make_item(kind: str, label: str, spec: dict, settings: dict) -> Item:
    try:
        content = model_content_hash(spec)
    except Exception as err:  # the item fails alone; the message names the problem
        return Item(label, spec, None, _error_text(err))
    return Item(label, spec, item_key(kind, content, settings))


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


def _run_here(task: Callable[..., Any], todo: list[Item], settings: dict,
              threads: int) -> Iterator[tuple[Item, dict]]:
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


def _run_ray(ray: Any, task: Callable[..., Any], todo: list[Item], settings: dict,
             threads: int, workers: int | None) -> Iterator[tuple[Item, dict]]:
    remote = ray.remote(_call).options(
        num_cpus=1, num_gpus=1 if _cluster_gpus(ray) > 0 else 0, max_retries=MAX_RETRIES)
    queue = list(todo)
    limit = max(1, workers) if workers else len(queue)
    pending: dict[Any, Item] = {}
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
