#!/usr/bin/env python3
"""Execute the notebooks top to bottom and save them with their outputs.

    .venv/bin/python scripts/run_notebooks.py                      # every notebooks/*.ipynb
    .venv/bin/python scripts/run_notebooks.py notebooks/quickstart.ipynb

Each notebook runs in a fresh ``python3`` kernel (nbclient) whose working directory is the
notebook's own, as under Jupyter, so the reports it writes land in
``notebooks/notebook_output/<notebook>/`` (ignored by git). The saved file keeps what a
reader needs and nothing that changes from run to run: outputs, execution counts, stable
cell ids, one stdout and one stderr output per cell however the kernel chunked them; no
execution timings, no kernel or Python version. A plotly figure larger than
:data:`FIGURE_LIMIT` as the notebook file lays it out (an attention pattern: ~60 KB; a
heatmap of 8 heads: ~30 KB) is saved as a one-line note saying so; running the cell draws
it. A notebook
that raises, or whose outputs name an absolute path, is not saved and the script exits 1.
``tests/test_notebooks.py`` executes the notebooks with :func:`execute` too and checks the
committed files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __name__ == "__main__":  # `scripts/run_notebooks.py` from a shell: nbclient is in .venv
    from _project_python import use_project_python

    use_project_python(__file__)

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: Where a notebook writes its report and figures, relative to its working directory.
OUTPUT_DIR = "notebook_output"
#: The kernel's warning filter (``PYTHONWARNINGS``): tqdm's import-time note that no
#: ipywidgets is installed.
KERNEL_WARNINGS = "ignore:IProgress not found"
#: Plotly figures whose indented JSON is larger than this many bytes are not saved.
FIGURE_LIMIT = 40_000
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def execute(path: Path, cwd: Path | None = None, timeout: int = 600) -> nbformat.NotebookNode:
    """The notebook at ``path`` executed in a fresh kernel in ``cwd`` (default: its own
    directory), with deterministic metadata (:func:`clean`).

    The kernel runs torch on one thread (``OMP_NUM_THREADS=1``; the notebooks also call
    ``torch.set_num_threads(1)``) and without tqdm's "IProgress not found" warning (which
    says whether ipywidgets is installed, and names its own file).
    """
    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": KERNEL_WARNINGS}
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            record_timing=False, coalesce_streams=True,
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    client.execute(env=env)
    return clean(notebook, path.stem)


def clean(notebook: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Drop what changes from run to run (execution timings, kernel and language versions)
    and figures over :data:`FIGURE_LIMIT`; give every cell a stable id
    (``<notebook>-<index>``)."""
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    notebook.metadata = nbformat.from_dict({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{stem}-{index:02d}"
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type == "code":
            cell.outputs = [_small(output) for output in cell.outputs]
    return notebook


def _small(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The output itself, or a note in place of a plotly figure over the limit."""
    figure = output.get("data", {}).get(PLOTLY_MIME)
    if figure is None:
        return output
    size = len(json.dumps(figure, indent=1))  # as nbformat lays it out
    if size <= FIGURE_LIMIT:
        return output
    note = (f"[a plotly figure of {size // 1000} KB, left out of the saved notebook to keep "
            "it small: run the cell to draw it]")
    return nbformat.v4.new_output("display_data", data={"text/plain": note})


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    """What must not be saved: error outputs, and outputs naming an absolute path (a
    temporary directory, the author's checkout)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
                continue
            text = json.dumps(output)
            for marker in ("/tmp/", str(ROOT), str(Path.home())):
                if marker in text:
                    found.append(f"cell {index}: an output names {marker}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = 0
    for path in paths:
        notebook = execute(path)
        found = problems(notebook)
        if found:
            failed += 1
            print(f"{path}: not saved: {'; '.join(found)}", file=sys.stderr)
            continue
        nbformat.write(notebook, path)
        print(f"{path}: saved ({path.stat().st_size / 1024:.0f} KB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
