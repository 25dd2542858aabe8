"""Run a script of ``scripts/`` with the project's Python.

The scripts start with ``#!/usr/bin/env python3`` so that ``scripts/NAME.py ...`` runs from
a shell; the first ``python3`` on the PATH is often the system's, which has neither torch nor
interp. :func:`use_project_python` then re-executes the script with ``.venv/bin/python``
(made by ``bash scripts/setup.sh``), and says what to do when there is none. A Python that
has torch and interp (the venv's, an activated one, a conda environment) runs the script
itself. ``.venv/bin/python scripts/NAME.py ...`` (what the docs show) never needs this.

Imported by the scripts only when they run as programs (``scripts/`` is then on
``sys.path``): importing a script as a module never re-executes anything.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def use_project_python(script: str) -> None:
    """Re-execute ``script`` with ``.venv/bin/python`` unless this Python can import torch
    and interp; exit with a one-line message when neither can run it."""
    if find_spec("torch") is not None and find_spec("interp") is not None:
        return
    running_venv = Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve()
    if VENV_PYTHON.is_file() and not running_venv:
        os.execv(VENV_PYTHON, [os.fspath(VENV_PYTHON), script, *sys.argv[1:]])
    missing = " and ".join(n for n in ("torch", "interp") if find_spec(n) is None)
    sys.exit(f"{Path(script).name}: this Python ({sys.executable}) has no {missing}; run "
             f"`bash scripts/setup.sh` in {ROOT}, then `.venv/bin/python "
             f"scripts/{Path(script).name} ...`")
