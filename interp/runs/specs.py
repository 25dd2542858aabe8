"""Model specs of sweeps and zoos: what :func:`interp.load_model` takes, planted models,
spec files, and the content hash that keys a model's stored item.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..model.loading import (
    CONFIG_FILE,
    DEFAULT_MODEL_DIR,
    ModelLoadError,
    dtype_from,
    load_model,
    model_name,
)
from ..pipeline.checkpoints import (
    find_checkpoints,
)
from ..train.planted import build_planted_model

#: ``planted:NAME`` specs -> arguments of :func:`interp.build_planted_model`.
PLANTED_SPECS: dict[str, dict[str, Any]] = {
    "planted": {},
    "planted:redundant": {"redundant_induction": True},
    "planted:duplicate": {"duplicate_feeds_output": True},
}


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
    if not isinstance(spec, dict):
        spec = {"model": spec}
    model = spec["model"]
    if isinstance(model, str) and model.startswith("planted"):
        if model not in PLANTED_SPECS:
            raise ModelLoadError(
                f"unknown planted model {model!r}; known: {', '.join(PLANTED_SPECS)}")
        if device_map is not None:
            raise ModelLoadError("device_map does not apply to planted models")
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
    return dtype_from(value)
