"""Models that ship held-out text (the bundled ``text`` model): the text, and the census on it.

A model directory may hold ``heldout.txt``: documents the model never trained on, each after
a ``# interp-heldout-file: <path>`` line (:func:`interp.text_training.write_heldout_text`).
``interp report`` then scores the heads on that text when no ``--text`` is given, and
``interp sweep`` can measure the in-context score on it.

:func:`classify_text_model` is the census ``interp report`` runs on such a model. Its
``[BOS] r r`` stimuli are, by default, *repeated held-out text* (``[BOS] s s`` with ``s`` a
span of held-out text, :func:`interp.stimuli.text.repeated_text_tokens`): a model of text
finds uniform random tokens far out of distribution. ``stimuli="random"`` asks for the usual
random tokens instead. :func:`measure_text_heads` writes the result as ``heads.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..model.loading import BUNDLED_MODELS, load_model
from ..results.classification import Classification
from ..stimuli.text import HELDOUT_MARKER, read_heldout_documents, repeated_text_tokens
from ..stimuli.text import read_heldout_documents as read_documents
from .classify import ClassifySettings, classify_heads

HELDOUT_FILE = "heldout.txt"


STIMULI_KINDS = ("text", "random")


def model_directory(spec: Any) -> Path | None:
    """The directory a model spec loads from (bundled names included), or None."""
    if not isinstance(spec, (str, os.PathLike)):
        return None
    text = os.fspath(spec)
    if text in BUNDLED_MODELS:
        return BUNDLED_MODELS[text]
    path = Path(text).expanduser()
    return path if path.is_dir() else None


def heldout_documents(spec: Any) -> list[str]:
    """The held-out documents shipped with a model (empty when it ships none)."""
    directory = model_directory(spec)
    if directory is None or not (directory / HELDOUT_FILE).is_file():
        return []
    return read_heldout_documents(directory / HELDOUT_FILE)


def heldout_source(source: str | os.PathLike) -> list[str]:
    """Held-out documents from a ``heldout.txt`` file, a plain text file (one document), or
    a model spec that ships held-out text (e.g. ``"text"``).

    Raises:
        ValueError: not UTF-8, empty, or neither a text file nor such a model.
    """
    path = Path(source).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"held-out text {path} is not UTF-8 text: {err}") from err
        if text.startswith(HELDOUT_MARKER):
            return read_documents(path)
        if not text.strip():
            raise ValueError(f"held-out text {path} holds no text")
        return [text]
    documents = heldout_documents(source)
    if not documents:
        raise ValueError(f"held-out text {os.fspath(source)!r} is neither a text file nor a "
                         "model that ships held-out text (heldout.txt)")
    return documents


def classify_text_model(
    model: Any,
    documents: list[str],
    settings: ClassifySettings | None = None,
    *,
    stimuli: str = "text",
    texts: list[str] | None = None,
    progress: bool = False,
) -> Classification:
    """:func:`interp.classify_heads` with held-out documents: scores on the documents as
    natural text, and classes from ``[BOS] s s`` spans of them (``stimuli="text"``) or from
    random ``[BOS] r r`` (``stimuli="random"``). ``texts`` replaces the documents as the
    natural text the heads are also scored on. With ``stimuli="text"`` the long measure
    stimuli (sinks, induction by distance, key position) are cut from the documents too.

    Raises:
        ValueError: unknown ``stimuli``, no documents, or a model without a tokenizer.
    """
    if stimuli not in STIMULI_KINDS:
        raise ValueError(f"stimuli must be one of {STIMULI_KINDS}, got {stimuli!r}")
    if not documents:
        raise ValueError("classify_text_model needs held-out documents")
    settings = settings or ClassifySettings()
    repeated = None
    if stimuli == "text":
        repeated = repeated_text_tokens(model, documents, settings.n_seqs, settings.seq_len,
                                        seed=settings.seed)
    return classify_heads(model, settings, stimuli=repeated, texts=texts or documents,
                          long_text=documents if stimuli == "text" else (),
                          progress=progress)


def measure_text_heads(path: str | os.PathLike, settings: ClassifySettings | None = None) -> dict:
    """``heads.json`` for the model in ``path``: the heads ``interp report --model <path>``
    confirms (on repeated held-out text, the report's default), the heads confirmed on
    random ``[BOS] r r``, and every head's scores on both and on natural held-out text."""
    settings = settings or ClassifySettings()
    model = load_model(path)
    documents = heldout_documents(path)
    out: dict = {}
    by_kind = {kind: classify_text_model(model, documents, settings, stimuli=kind)
               for kind in STIMULI_KINDS}
    main = by_kind["text"]
    for behavior in main.behavior_names:
        out[behavior] = main.heads_with(behavior, confirmed=True)
    out["notes"] = (
        "Measured by interp.pipeline.text_model.measure_text_heads with ClassifySettings "
        f"{settings.to_dict()}: the lists are the heads `interp report` confirms by ablation "
        "on [BOS] s s, s a span of held-out standard-library text (heldout.txt). "
        "'random_tokens' holds the heads confirmed on uniform random [BOS] r r, "
        "'marked' the heads a measure marks (sinks, with the no-op check's verdict), "
        "'scores' every head's score on both and on natural held-out text."
    )
    out["marked"] = main.marks()
    out["random_tokens"] = {b: by_kind["random"].heads_with(b, confirmed=True)
                            for b in main.behavior_names}
    out["candidates"] = {kind: {b: c.heads_with(b) for b in c.behavior_names}
                         for kind, c in by_kind.items()}
    out["baseline"] = {kind: c.baseline for kind, c in by_kind.items()}
    out["scores"] = {
        kind: {h.label: {b: round(v, 4) for b, v in h.scores.items()} for h in c.heads}
        for kind, c in by_kind.items()
    }
    out["scores"]["natural_text"] = {
        label: {b: None if v["score"] is None else round(v["score"], 4)
                for b, v in per.items()}
        for label, per in main.text_scores.get("heads", {}).items()
    }
    return out
