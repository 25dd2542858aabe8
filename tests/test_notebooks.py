"""Every notebook runs top to bottom, and is committed with the outputs it produces
(``scripts/run_notebooks.py`` executes and saves them; this test executes them the same way)
and an opening paragraph that says what it shows and how to read it."""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)

#: Words of prose the opening cell holds at least, besides its title.
OPENING_WORDS = 80
#: Largest committed notebook (bytes).
MAX_BYTES = 200_000


def _shape(notebook) -> list[list[tuple]]:
    """Per code cell, its outputs' kinds: (output type, stream name or mime types)."""
    return [[(o["output_type"], o.get("name") or tuple(sorted(o.get("data", {}))))
             for o in cell.get("outputs", [])]
            for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_its_saved_outputs_are_current(path, tmp_path):
    notebook = run_notebooks.execute(path, cwd=tmp_path)
    assert not run_notebooks.problems(notebook)
    committed = nbformat.read(path, as_version=4)
    assert _shape(notebook) == _shape(committed), (
        f"{path.name}: its saved outputs are not what it prints now; "
        f"run .venv/bin/python scripts/run_notebooks.py {path.relative_to(ROOT)}")
    # whatever it writes goes to the one visible folder (notebook_output/<notebook>/)
    assert {p.name for p in tmp_path.iterdir()} <= {run_notebooks.OUTPUT_DIR}
    assert {p.name for p in (tmp_path / run_notebooks.OUTPUT_DIR).glob("*")} <= {path.stem}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_has_outputs_and_an_opening_paragraph(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), f"{path.name} was not executed"
    assert any(c.outputs for c in code), f"{path.name} is saved without outputs"
    assert not run_notebooks.problems(notebook)
    text = json.dumps([c.get("outputs", []) for c in code])
    assert "/tmp/" not in text and str(ROOT) not in text
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    prose = [line for line in first.source.splitlines()[1:] if not line.startswith("#")]
    assert len(" ".join(prose).split()) >= OPENING_WORDS, f"{path.name}: opening too short"
    assert "how to read" in first.source.lower(), f"{path.name}: say how to read it"
    assert path.stat().st_size < MAX_BYTES
    assert [c.metadata.get("execution") for c in notebook.cells] == [None] * len(notebook.cells)


def test_there_is_a_quickstart():
    assert any(p.name == "quickstart.ipynb" for p in NOTEBOOKS)
