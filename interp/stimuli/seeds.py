"""Seeds: every random choice of a run is drawn from the run's seed and a named purpose.

One seed (``--seed``) determines a whole report: the census's ``[BOS] r r`` stimuli are
drawn from it directly, and every other random draw from :func:`derive_seed` with its
purpose, so two purposes never share a stream by accident and a module that needs the
same stimuli as another (a checkpoint sweep's long stimuli and a report's) names the same
purpose instead of repeating an offset.
"""

from __future__ import annotations

__all__ = ["SEED_OFFSETS", "derive_seed"]

#: Each purpose's offset from the run's seed. The values are the offsets the modules used
#: before this table existed, so the same seed still gives byte-identical reports.
SEED_OFFSETS: dict[str, int] = {
    "census": 0,  # the [BOS] r r stimuli (and the [BOS] r s control's first half)
    "occurrence_probe": 1,  # the 'occurred before' probe's sequences
    "long_stimuli": 2,  # the long measure stimuli (reports and checkpoint sweeps alike)
    "successor_context": 3,  # the successor check's sequences of ordinal tokens
    "unrepeated_second_half": 7919,  # the fresh second half of [BOS] r s
}


def derive_seed(seed: int, purpose: str) -> int:
    """The seed of ``purpose`` in a run seeded with ``seed`` (``seed`` plus the purpose's
    offset in :data:`SEED_OFFSETS`).

    Raises:
        KeyError: an unknown purpose (the message lists the known ones).
    """
    if purpose not in SEED_OFFSETS:
        raise KeyError(f"unknown seed purpose {purpose!r}; known: {list(SEED_OFFSETS)}")
    return int(seed) + SEED_OFFSETS[purpose]
