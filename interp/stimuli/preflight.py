"""Checks made before any work, so that bad input fails in a second with a message naming
it, not after a census: seeds, token ids to exclude, the repeat length that fits a model's
context, and reading ``--text`` files with bounded memory.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable
from typing import Any

#: Largest seed accepted: seeds feed torch generators, numpy and scikit-learn (which take
#: at most 2**32 - 1), some with an offset added (:func:`interp.stimuli.seeds.derive_seed`).
MAX_SEED = 2**31 - 1


#: Most bytes read from a ``--text`` file (a bigger file is refused, not truncated).
MAX_TEXT_BYTES = 64 * 2**20


#: Default repeat length ``L`` of ``[BOS] r r`` (``--seq-len``).
DEFAULT_SEQ_LEN = 30


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int in ``0..MAX_SEED``.

    Raises:
        ValueError: not an integer (bools are refused), negative, or too large.
    """
    seed = _integer(seed, name)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be an integer from 0 to {MAX_SEED}, got {seed}")
    return int(seed)


def _integer(value: Any, name: str) -> int:
    """``value`` as a Python int (numpy and torch integers too; bools refused)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def parse_token_ids(text: str) -> tuple[int, ...]:
    """``"63"`` or ``"5,63 70"`` -> ``(5, 63, 70)`` (sorted, unique).

    Raises:
        ValueError: an entry that is not a non-negative integer.
    """
    ids = set()
    for part in text.replace(",", " ").split():
        try:
            value = int(part)
        except ValueError:
            raise ValueError(
                f"--exclude-tokens takes token ids separated by commas (e.g. 5,63); "
                f"{part!r} is not an integer"
            ) from None
        if value < 0:
            raise ValueError(f"--exclude-tokens: token id {value} is negative")
        ids.add(value)
    return tuple(sorted(ids))


def check_token_ids(ids: Iterable[int], vocab_size: int, name: str = "exclude_tokens") -> tuple[int, ...]:
    """``ids`` sorted and unique, each checked to lie in ``0..vocab_size-1``.

    Raises:
        ValueError: an id outside the vocabulary, or a non-integer.
    """
    out = set()
    for i in ids:
        i = _integer(i, f"{name}: a token id")
        if i < 0:
            raise ValueError(f"{name}: token id {i} is negative")
        if i >= vocab_size:
            raise ValueError(
                f"{name}: token id {i} is outside the model's vocabulary (0..{vocab_size - 1})"
            )
        out.add(int(i))
    return tuple(sorted(out))


def fit_seq_len(
    n_ctx: int, requested: int | None, *, default: int = DEFAULT_SEQ_LEN,
) -> tuple[int, str | None]:
    """The repeat length ``L`` to use in a model whose context holds ``n_ctx`` positions.

    ``[BOS] r r`` needs ``2 * L + 1`` positions. An explicit ``requested`` length must fit
    (an error otherwise); with ``requested=None`` the ``default`` (:data:`DEFAULT_SEQ_LEN`)
    is used, or the longest ``L`` that fits when the context is shorter, with a note saying
    so.

    Returns:
        ``(L, note)``: the note is None unless the default was shortened.

    Raises:
        ValueError: an explicit length that does not fit, or a context too short for any
            (``L >= 2`` needs 5 positions).
    """
    longest = (int(n_ctx) - 1) // 2
    if requested is not None:
        if 2 * requested + 1 > n_ctx:
            raise ValueError(
                f"--seq-len {requested} needs {2 * requested + 1} positions; the model's "
                f"context is {n_ctx} (the longest repeat that fits is {longest})"
            )
        return int(requested), None
    if longest < 2:
        raise ValueError(
            f"the model's context ({n_ctx} positions) is too short for [BOS] r r with "
            "|r| >= 2 (5 positions)"
        )
    if default <= longest:
        return int(default), None
    return longest, (
        f"the model's context is {n_ctx} positions, too short for the default --seq-len "
        f"{default} ({2 * default + 1} positions): using --seq-len {longest}, "
        "the longest repeat that fits"
    )


def read_texts(path: str | os.PathLike, *, max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """Non-empty, stripped lines of a UTF-8 text file, reading at most ``max_bytes``.

    Raises:
        ValueError: a file larger than ``max_bytes`` (``/dev/zero`` included: it is refused
            after ``max_bytes``, never read to the end), not UTF-8, or with no text.
        OSError: the file cannot be opened (the message names it).
    """
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(
            f"--text {os.fspath(path)} holds more than {max_bytes // 2**20} MiB; interp reads "
            "at most that much (each text is cut to the model's context anyway): pass a "
            "smaller file"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"--text {os.fspath(path)} is not UTF-8 text: {err}") from err
    del data
    texts = [line.strip() for line in text.splitlines() if line.strip()]
    if not texts:
        raise ValueError(f"--text {os.fspath(path)} holds no text")
    return texts
