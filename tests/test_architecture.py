"""Architecture rules that CONTRIBUTING.md states, checked on the source (AST, no imports).

- Reporting (report, plots, checkpoint_report, pages, results, evidence) reads results only:
  it never imports a module that loads or runs a model (type-checking imports excepted).
- plotly is imported only by plots, report and checkpoint_report.
- Full TransformerLens hook names (``blocks.0.attn.hook_pattern``) are built only in hooks.py.
- Behaviors are data: outside behaviors.py no module spells a built-in behavior's name
  (planted.py names the roles of its hand-set heads, which are its vocabulary).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import interp

PACKAGE = Path(interp.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
REPORTING = {"report", "plots", "checkpoint_report", "pages", "results", "evidence",
             "zoo_report", "jsonsafe"}
RUNS_MODELS = {"models", "hooks", "census", "ablation", "ablation_sweep", "classify",
               "confirm", "probing", "checkpoints", "training", "planted", "head_types", "measures",
               "weights", "cli"}
PLOTLY_ALLOWED = {"plots", "report", "checkpoint_report"}
BUILTIN_NAMES = {b.name for b in interp.registered_behaviors()}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, imported module) for imports outside ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ("." * node.level) + (node.module or "")
            out.append((node.lineno, base))
            if node.level and not node.module:  # from . import x
                out += [(node.lineno, "." + alias.name) for alias in node.names]
    return out


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    """String constants that are not docstrings (f-string pieces included)."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def _runs_models(module: str) -> bool:
    """Whether an import (``.models``, ``interp.hooks``, ...) names a model-running module."""
    if module.startswith("."):
        top = module.lstrip(".").split(".")[0]
    elif module.startswith("interp."):
        top = module.split(".")[1]
    else:
        return False
    return top in RUNS_MODELS


@pytest.mark.parametrize("name", sorted(REPORTING))
def test_reporting_never_imports_what_runs_a_model(name):
    path = PACKAGE / f"{name}.py"
    bad = [(line, mod) for line, mod in _runtime_imports(_tree(path)) if _runs_models(mod)]
    assert not bad, f"{path.name} imports model-running modules: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_plotly_only_in_plots_and_reports(path):
    found = [(line, mod) for line, mod in _runtime_imports(_tree(path))
             if mod.split(".")[0] == "plotly"]
    if path.stem not in PLOTLY_ALLOWED:
        assert not found, f"{path.name} imports plotly: {found}"


@pytest.mark.parametrize("path", [p for p in MODULES if p.stem != "hooks"],
                         ids=lambda p: p.stem)
def test_hook_names_only_in_hooks(path):
    found = [(line, s) for line, s in _strings(_tree(path)) if "hook_" in s]
    assert not found, f"{path.name} spells hook names: {found}"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.stem not in ("behaviors", "planted")],  # planted: roles
    ids=lambda p: p.stem)
def test_behavior_names_only_in_the_registry(path):
    found = [(line, s) for line, s in _strings(_tree(path)) if s in BUILTIN_NAMES]
    assert not found, f"{path.name} spells behavior names (use interp.behaviors): {found}"


def test_the_rules_can_fail(tmp_path):
    """The checks see a violation when there is one (they are not vacuous)."""
    bad = tmp_path / "bad.py"
    bad.write_text('"""doc: induction"""\nfrom .models import load_model\nimport plotly\n'
                   'X = "induction"\nY = f"blocks.{0}.attn.hook_z"\n')
    tree = _tree(bad)
    assert (2, ".models") in _runtime_imports(tree) and _runs_models(".models")
    assert _runs_models("interp.hooks") and not _runs_models("interp.results")
    assert any(mod == "plotly" for _, mod in _runtime_imports(tree))
    strings = [s for _, s in _strings(tree)]
    assert "induction" in strings and "doc: induction" not in strings
    assert any("hook_" in s for s in strings)
