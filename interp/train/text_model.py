"""Training a small language model on the Python standard library's source, from a seed.

Every Python install carries the same training text: the ``.py`` files under
``sysconfig.get_paths()["stdlib"]`` (source, comments and docstrings; ``pydoc_data/topics.py``
included), skipping ``test``/``tests``/``idle_test``/``site-packages``/``__pycache__``
directories. Files are read in sorted order of their path relative to the stdlib root. A
file is held out (never trained on) when the SHA-256 of its relative path, read as an
integer, is divisible by ``heldout_every`` (20: about 5% of files); the split depends only
on the file names, so it is the same on every machine. Different Python versions ship
different stdlib source: :func:`corpus_fingerprint` hashes the training files so a model
card can say exactly which text a model saw.

The tokenizer is a byte-level BPE (``tokenizers``) trained on the training files, with
``<bos>`` as token 0. Training sequences are ``<bos>`` followed by ``n_ctx - 1`` tokens from a
uniformly random offset into the stream of training files (each file preceded by ``<bos>``).

The model is a TL-native ``TransformerBridge``: pre-LayerNorm GPT with MLPs (GELU), learned
absolute positions, untied embeddings. What made induction heads grow within minutes of one
CPU core (measured in shared/FACTS.md): weights initialised with std ``init_range`` = 0.1
(GPT-2's 0.02 grew none), the position table started as sinusoids with element RMS
``pos_scale`` = 0.5, AdamW (0.9, 0.95), weight decay 0.1 on matrices but not on the token or
position embeddings, lr 3e-3 after 200 warm-up steps, clip 1.0 (the loop is
:mod:`interp.train.core`).

Everything is deterministic on CPU: the initialisation comes from ``cfg.seed`` (``boot_native``
forks the RNG around it) and the data offsets from a ``torch.Generator`` seeded with
``cfg.seed``; nothing reads the global RNG.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from ..stimuli.text import HELDOUT_MARKER
from .core import train_loop

BOS = "<bos>"


EXCLUDED_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "__pycache__"})


@dataclass(frozen=True)
class TextTrainConfig:
    """Everything that determines a trained text model besides the Python version's stdlib.

    Attributes:
        seed: seeds the initialisation and the data offsets.
        n_layers, n_heads, d_model, d_mlp: the model's shape (``d_head = d_model // n_heads``).
        d_vocab: BPE vocabulary size, ``<bos>`` included.
        n_ctx: sequence length including BOS.
        steps, batch_size: optimiser steps and sequences per step.
        lr, weight_decay, betas, warmup_steps, grad_clip: AdamW with linear warm-up, then a
            constant rate; no weight decay on biases, LayerNorm, token and position tables.
        init_range: std of the normal initialisation of every weight matrix.
        pos_scale: element RMS of the sinusoidal table the position embedding starts as.
        heldout_every: one file in this many (by name hash) is held out.
        log_every: steps per history entry (training loss averaged over those steps).
        eval_every: steps between held-out evaluations (loss and in-context score).
        model_name: written into the model's config.
    """

    seed: int = 0
    n_layers: int = 2
    n_heads: int = 4
    d_model: int = 128
    d_mlp: int = 512
    d_vocab: int = 2048
    n_ctx: int = 256
    steps: int = 5000
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 200
    grad_clip: float = 1.0
    init_range: float = 0.1
    pos_scale: float = 0.5
    heldout_every: int = 20
    log_every: int = 50
    eval_every: int = 250
    model_name: str = "interp-text"

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.n_ctx < 32:
            raise ValueError(f"n_ctx must be at least 32, got {self.n_ctx}")
        if self.heldout_every < 2:
            raise ValueError(f"heldout_every must be at least 2, got {self.heldout_every}")
        if self.d_vocab < 260:
            raise ValueError(f"a byte-level BPE needs d_vocab >= 260, got {self.d_vocab}")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextTrainConfig:
        data = dict(data)
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)


@dataclass(frozen=True)
class TextCorpus:
    """The stdlib split into training and held-out documents (relative path, text)."""

    root: str
    train: tuple[tuple[str, str], ...]
    heldout: tuple[tuple[str, str], ...]

    @property
    def train_chars(self) -> int:
        return sum(len(t) for _, t in self.train)

    @property
    def heldout_chars(self) -> int:
        return sum(len(t) for _, t in self.heldout)


def stdlib_files(root: str | Path | None = None) -> list[Path]:
    """The stdlib's ``.py`` files outside test and site-packages directories, sorted by
    their path relative to ``root`` (default: this Python's stdlib)."""
    base = Path(root if root is not None else sysconfig.get_paths()["stdlib"])
    if not base.is_dir():
        raise FileNotFoundError(f"standard library directory {base} does not exist")
    files = [
        p
        for p in base.rglob("*.py")
        if p.is_file() and not (EXCLUDED_DIRS & set(p.relative_to(base).parts[:-1]))
    ]
    return sorted(files, key=lambda p: p.relative_to(base).as_posix())


def _is_heldout(relpath: str, every: int) -> bool:
    return int(hashlib.sha256(relpath.encode()).hexdigest(), 16) % every == 0


def load_stdlib_corpus(root: str | Path | None = None, *, heldout_every: int = 20) -> TextCorpus:
    """Read the stdlib files (UTF-8, undecodable bytes replaced) and split them by name hash."""
    base = Path(root if root is not None else sysconfig.get_paths()["stdlib"])
    train: list[tuple[str, str]] = []
    heldout: list[tuple[str, str]] = []
    for path in stdlib_files(base):
        rel = path.relative_to(base).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        if not text.strip():
            continue
        (heldout if _is_heldout(rel, heldout_every) else train).append((rel, text))
    if not train or not heldout:
        raise ValueError(f"{base} gave {len(train)} training and {len(heldout)} held-out files")
    return TextCorpus(root=str(base), train=tuple(train), heldout=tuple(heldout))


def corpus_fingerprint(docs: Sequence[tuple[str, str]]) -> str:
    """SHA-256 over the documents' paths and texts, in order (hex, first 16 digits)."""
    h = hashlib.sha256()
    for rel, text in docs:
        h.update(rel.encode())
        h.update(b"\0")
        h.update(text.encode("utf-8", errors="replace"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE ``tokenizers.Tokenizer`` with ``<bos>`` as id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer)
    if tokenizer.token_to_id(BOS) != 0:
        raise RuntimeError("the BPE trainer did not give <bos> id 0")
    return tokenizer


def wrap_tokenizer(tokenizer: Any) -> Any:
    """A ``transformers`` fast tokenizer around a ``tokenizers.Tokenizer`` (BOS = ``<bos>``)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS)


def encode_stream(tokenizer: Any, texts: Sequence[str]) -> Int[Tensor, " n"]:
    """All texts as one stream of token ids, each text preceded by ``<bos>`` (id 0)."""
    out: list[int] = []
    for enc in tokenizer.encode_batch(list(texts), add_special_tokens=False):
        out.append(0)
        out.extend(enc.ids)
    return torch.tensor(out, dtype=torch.long)


def sinusoids(n_ctx: int, d_model: int, rms: float) -> Float[Tensor, "pos d_model"]:
    """The transformer's sin/cos position table, scaled to element RMS ``rms``."""
    pos = torch.arange(n_ctx, dtype=torch.float64)[:, None]  # (pos, 1)
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    table = torch.zeros(n_ctx, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return (table * rms * math.sqrt(2.0)).float()


def build_text_model(cfg: TextTrainConfig, tokenizer: Any | None = None) -> Any:
    """A freshly initialised native ``TransformerBridge`` (init seeded by ``cfg.seed``)."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    model_cfg = TransformerBridgeConfig(
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        d_model=cfg.d_model,
        d_head=cfg.d_model // cfg.n_heads,
        d_mlp=cfg.d_mlp,
        act_fn="gelu_new",
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        attn_only=False,
        normalization_type="LN",
        positional_embedding_type="standard",
        initializer_range=cfg.init_range,
        seed=cfg.seed,
        model_name=cfg.model_name,
    )
    model = TransformerBridge.boot_native(model_cfg, model_name=cfg.model_name)
    with torch.no_grad():
        pos = model.state_dict()["pos_embed.weight"]
        table = sinusoids(cfg.n_ctx, cfg.d_model, cfg.pos_scale)
        if pos.shape != table.shape:
            raise RuntimeError(f"unexpected position table shape {tuple(pos.shape)}")
        dict(model.named_parameters())[_param_name(model, "pos.")].copy_(table)
    if tokenizer is not None:
        model.tokenizer = wrap_tokenizer(tokenizer)
    return model


def _param_name(model: Any, prefix: str) -> str:
    names = [n for n, _ in model.named_parameters() if n.startswith(prefix) and n.endswith("weight")]
    if len(names) != 1:
        raise RuntimeError(f"expected one {prefix} weight parameter, found {names}")
    return names[0]


def sample_windows(
    stream: Int[Tensor, " n"], n_seqs: int, n_ctx: int, generator: torch.Generator
) -> Int[Tensor, "batch n_ctx"]:
    """``n_seqs`` sequences ``<bos>`` + ``n_ctx - 1`` tokens from random offsets of ``stream``."""
    body = n_ctx - 1
    if stream.numel() <= body:
        raise ValueError(f"a stream of {stream.numel()} tokens is too short for n_ctx {n_ctx}")
    starts = torch.randint(0, stream.numel() - body, (n_seqs,), generator=generator)
    idx = starts[:, None] + torch.arange(body)[None, :]  # (batch, body)
    bos = torch.zeros(n_seqs, 1, dtype=torch.long)
    return torch.cat([bos, stream[idx]], dim=1)  # (batch, n_ctx)


def per_position_loss(model: Any, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos_1"]:
    """Next-token loss at every position: column ``t`` is ``-log p(tokens[:, t + 1])``."""
    logits = model(tokens)  # (batch, pos, vocab)
    pred = logits[:, :-1]  # (batch, pos - 1, vocab)
    target = tokens[:, 1:]  # (batch, pos - 1)
    loss = torch.nn.functional.cross_entropy(
        pred.reshape(-1, pred.shape[-1]).float(), target.reshape(-1), reduction="none"
    )
    return loss.view(target.shape)


def heldout_windows(
    stream: Int[Tensor, " n"], n_ctx: int, n_seqs: int
) -> Int[Tensor, "batch n_ctx"]:
    """Up to ``n_seqs`` non-overlapping ``<bos>`` + ``n_ctx - 1`` token windows, from the start."""
    body = n_ctx - 1
    n = min(n_seqs, stream.numel() // body)
    if n < 1:
        raise ValueError(f"a stream of {stream.numel()} tokens is too short for n_ctx {n_ctx}")
    windows = stream[: n * body].view(n, body)  # (batch, body)
    return torch.cat([torch.zeros(n, 1, dtype=torch.long), windows], dim=1)


def train_text_model(
    cfg: TextTrainConfig,
    train_stream: Int[Tensor, " n"],
    tokenizer: Any,
    *,
    eval_tokens: Int[Tensor, "batch n_ctx"] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train a text model on windows of ``train_stream``; deterministic from ``cfg.seed``.

    Args:
        cfg: the recipe.
        train_stream: the tokenized training files (:func:`encode_stream`).
        tokenizer: the ``tokenizers.Tokenizer`` (saved with the model and its checkpoints).
        eval_tokens: held-out windows; every ``cfg.eval_every`` steps the history gets their
            mean loss (``heldout_loss``) and the loss at token 200 minus token 20, each
            averaged over 11 positions around it (``icl_200_20``; scaled to the context
            when ``n_ctx`` is not 256).
        progress: called with each history entry as it is made.
        checkpoint_dir: if given, the model is saved to ``checkpoint_dir / step_{step:05d}``
            at step 0, every ``checkpoint_every`` steps (default ``cfg.eval_every``) and at
            the end.

    Returns:
        ``(model, history)``: the trained bridge in eval mode and the log entries (``step``,
        ``lr``, ``loss``, ``seconds``; plus held-out numbers where evaluated).
    """
    model = build_text_model(cfg, tokenizer)
    history = train_loop(
        model, cfg, step_loss=partial(_step_loss, cfg, train_stream), summarize=_summarize,
        no_decay={_param_name(model, "tok_embed."), _param_name(model, "pos.")},
        evaluate=None if eval_tokens is None else partial(_heldout_eval, eval_tokens=eval_tokens),
        eval_every=cfg.eval_every, progress=progress, checkpoint_dir=checkpoint_dir,
        checkpoint_every=cfg.eval_every if checkpoint_every is None else checkpoint_every,
        seconds_digits=1,
    )
    return model, history


def _step_loss(
    cfg: TextTrainConfig, stream: Int[Tensor, " n"], model: Any, generator: torch.Generator
) -> tuple[Tensor, Float[Tensor, " 2"]]:
    """The mean loss on fresh windows of ``stream``, and (that loss, 1) to sum (``float64``)."""
    tokens = sample_windows(stream, cfg.batch_size, cfg.n_ctx, generator)
    loss = per_position_loss(model, tokens).mean()
    return loss, torch.tensor([loss.item(), 1.0], dtype=torch.float64)


def _summarize(window: Float[Tensor, " 2"]) -> dict[str, float]:
    """A log window's mean training loss (over its steps)."""
    loss_sum, n_steps = window.tolist()
    return {"loss": loss_sum / n_steps}


def _heldout_eval(model: Any, eval_tokens: Tensor) -> dict[str, float]:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = per_position_loss(model, eval_tokens)  # (batch, pos - 1)
    if was_training:
        model.train()
    n = loss.shape[1] + 1
    late, early = round(200 * n / 256), round(20 * n / 256)
    # column t predicts token t + 1
    late_loss = loss[:, late - 6 : late + 5].mean().item()
    early_loss = loss[:, early - 6 : early + 5].mean().item()
    return {"heldout_loss": loss.mean().item(), "icl_200_20": late_loss - early_loss}


def write_heldout_text(
    docs: Sequence[tuple[str, str]], path: str | Path, *, max_chars: int = 250_000,
    max_doc_chars: int = 40_000,
) -> list[str]:
    """Write held-out documents (each after a ``HELDOUT_MARKER`` line) up to ``max_chars``.

    Documents longer than ``max_doc_chars`` are skipped so that the sample spans many files.
    Returns the relative paths written, in order.
    """
    parts: list[str] = []
    names: list[str] = []
    total = 0
    for rel, text in docs:
        if len(text) > max_doc_chars or total + len(text) > max_chars:
            continue
        parts.append(f"{HELDOUT_MARKER}{rel}\n{text}")
        names.append(rel)
        total += len(text)
    if not parts:
        raise ValueError("no held-out document fits max_chars / max_doc_chars")
    Path(path).write_text("".join(p if p.endswith("\n") else p + "\n" for p in parts))
    return names
