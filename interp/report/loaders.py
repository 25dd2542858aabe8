"""Reading a written report or sweep back, checked as one complete output set whose
manifest fits its schema (:mod:`interp.io.schemas`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..io.output_files import (
    REPORT_FILES,
    SWEEP_FILES,
    OutputSet,
    UnknownOutputError,
    read_output_set,
)
from ..results.checkpoints import CheckpointSweep
from ..results.classification import Classification


def load_report(out_dir: str | os.PathLike) -> Any:
    """The :class:`interp.Classification` of a report written by
    :func:`interp.write_report`, after checking that the report's files belong together.

    Raises:
        FileNotFoundError: no ``report.json`` in ``out_dir``.
        MixedOutputError: ``report.html``/``report.md`` are not the files ``report.json``
            was written with.
        UnknownOutputError: ``report.json`` is not JSON, has no run record, or breaks its
            schema (a ``MixedOutputError``, a ``ValueError``; the message names the field).
    """
    return _load(out_dir, REPORT_FILES, Classification.from_dict)


def load_sweep(out_dir: str | os.PathLike) -> Any:
    """The :class:`interp.CheckpointSweep` written by :func:`interp.write_sweep`, after
    checking that ``sweep.html`` is the page ``sweep.json`` was written with.

    Raises:
        FileNotFoundError, MixedOutputError, UnknownOutputError: as :func:`load_report`.
    """
    return _load(out_dir, SWEEP_FILES, CheckpointSweep.from_dict)


def _load(out_dir: str | os.PathLike, output_set: OutputSet, build: Any) -> Any:
    document = read_output_set(out_dir, output_set.manifest_name, output_set.others,
                               output_set.schema)
    try:
        return build(document)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        where = Path(out_dir) / output_set.manifest_name
        raise UnknownOutputError(f"{where}: cannot be read back ({type(err).__name__}: "
                                 f"{' '.join(str(err).split())})") from None
