"""Reading a written report or sweep back, checked as one complete output set."""

from __future__ import annotations

import os
from typing import Any

from ..io.output_files import REPORT_FILES, SWEEP_FILES, read_output_set
from ..results.checkpoints import CheckpointSweep
from ..results.classification import Classification


def load_report(out_dir: str | os.PathLike) -> Any:
    """The :class:`interp.Classification` of a report written by
    :func:`interp.write_report`, after checking that the report's files belong together.

    Raises:
        MixedOutputError: ``report.html``/``report.md`` are not the files ``report.json``
            was written with.
    """
    return Classification.from_dict(
        read_output_set(out_dir, REPORT_FILES.manifest_name, REPORT_FILES.others)
    )


def load_sweep(out_dir: str | os.PathLike) -> Any:
    """The :class:`interp.CheckpointSweep` written by :func:`interp.write_sweep`, after
    checking that ``sweep.html`` is the page ``sweep.json`` was written with."""
    return CheckpointSweep.from_dict(
        read_output_set(out_dir, SWEEP_FILES.manifest_name, SWEEP_FILES.others)
    )
