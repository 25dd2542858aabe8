"""Checks made before any work: seeds, token ids, the repeat length that fits a context."""

import numpy as np
import pytest

from interp import ClassifySettings
from interp.stimuli.preflight import MAX_SEED, check_seed, check_token_ids, fit_seq_len, parse_token_ids


def test_seeds():
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED
    assert check_seed(np.int64(7)) == 7
    for bad in (-1, MAX_SEED + 1, 10**22):
        with pytest.raises(ValueError, match="from 0 to 2147483647"):
            check_seed(bad)
    for bad in (True, 1.5, "3", None):
        with pytest.raises(ValueError, match="must be an integer"):
            check_seed(bad)
    with pytest.raises(ValueError, match="seed"):  # the API refuses it up front too
        ClassifySettings(seed=-1)


def test_token_ids():
    assert parse_token_ids("63") == (63,)
    assert parse_token_ids("5,63 70, 5") == (5, 63, 70)
    assert parse_token_ids("") == ()
    with pytest.raises(ValueError, match="'a' is not an integer"):
        parse_token_ids("5,a")
    with pytest.raises(ValueError, match="negative"):
        parse_token_ids("-3")
    assert check_token_ids([3, np.int64(1), 3], 10) == (1, 3)
    with pytest.raises(ValueError, match=r"outside the model's vocabulary \(0\.\.9\)"):
        check_token_ids([10], 10)
    assert ClassifySettings(exclude_tokens=[63, 5]).exclude_tokens == (5, 63)
    assert ClassifySettings(exclude_tokens=[63, 5]).to_dict()["exclude_tokens"] == [5, 63]
    with pytest.raises(ValueError, match="not a string"):
        ClassifySettings(exclude_tokens="63")


def test_fit_seq_len():
    assert fit_seq_len(65, None) == (30, None)
    assert fit_seq_len(61, None) == (30, None)
    length, note = fit_seq_len(41, None)
    assert length == 20 and "using --seq-len 20" in note and "41 positions" in note
    assert fit_seq_len(41, 20) == (20, None)
    with pytest.raises(ValueError, match="--seq-len 21 needs 43 positions.*longest .* 20"):
        fit_seq_len(41, 21)
    with pytest.raises(ValueError, match="too short"):
        fit_seq_len(4, None)
