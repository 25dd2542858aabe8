"""Architecture rules that CONTRIBUTING.md states, checked on the source (AST, no imports).

- The subpackages are layers (:data:`LAYERS`, top first): a module imports only from its
  own subpackage or the layers below it, at the top of the file. An import inside a
  function is allowed only for an optional or heavy third-party dependency (Ray, tqdm,
  transformers, TransformerLens, ...), never for a module of ``interp``.
- Reporting reads results only: ``interp.report.head_report`` never imports a layer that loads or runs
  a model (type-checking imports and the head label type ``model.heads`` excepted).
- The head types of ``interp.catalog`` are independent: none imports another, so each is
  one file and the registration order is the order ``catalog/__init__`` imports them in.
- plotly is imported only inside ``interp.report.head_report``.
- Full TransformerLens hook names (``blocks.0.attn.hook_pattern``) are built only in
  ``interp/model/hooks.py``.
- Behaviors are data: outside the catalog (where each head type registers itself and names
  the behaviors it reads) no module spells a built-in behavior's name (``planted.py`` names
  the roles of its hand-set heads, which are its vocabulary).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import interp

PACKAGE = Path(interp.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "bundled" not in p.parts)
#: The layers, top first. ``cli``/``__main__``/``__init__`` sit above them all.
LAYERS = ("runs", "report", "pipeline", "catalog", "engine", "train", "results", "spec",
          "stimuli", "model", "io")
TOP = {"cli", "__main__", "__init__"}
#: Layers that load or run a model: reporting never imports them.
RUNS_MODELS = {"runs", "pipeline", "catalog", "engine", "train", "stimuli", "model"}
#: Modules of those layers that run nothing (the head label type): reporting may use them.
PURE = {"model.heads"}
BUILTIN_NAMES = {b.name for b in interp.registered_behaviors()}


def _name(path: Path) -> str:
    """Dotted module name under ``interp`` (``engine.census``; ``cli``; ``engine`` for an
    ``__init__``)."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> str:
    return module.split(".")[0]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _imports(path: Path, tree: ast.Module) -> list[tuple[int, str, bool]]:
    """(line, absolute module imported, inside a function) for runtime imports; intra-package
    imports resolved to ``interp.<layer>...``."""
    skip = _type_checking_nodes(tree)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {id(n) for n in ast.walk(node)} - {id(node)}
    package = ["interp", *_name(path).split(".")]
    if path.name != "__init__.py" or path.parent == PACKAGE:
        package = package[:-1] if path.name != "__init__.py" else ["interp"]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        local = id(node) in inside
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, local) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module:
                    out.append((node.lineno, target, local))
                else:  # from . import x
                    out += [(node.lineno, f"{target}.{a.name}", local) for a in node.names]
            else:
                out.append((node.lineno, node.module or "", local))
    return out


def _intra(imports: list[tuple[int, str, bool]]) -> list[tuple[int, str, bool]]:
    return [(line, mod.split(".", 1)[1], local) for line, mod, local in imports
            if mod.startswith("interp.")]


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


def _layer_violations(module: str, imports: list[tuple[int, str, bool]]) -> list:
    """Imports of ``interp`` modules that break the layer rules, with the reason."""
    bad = []
    own = _layer(module)
    for line, target, local in _intra(imports):
        layer = _layer(target)
        if local:
            bad.append((line, target, "imported inside a function"))
        elif own in TOP or layer == own:
            continue
        elif layer in TOP:
            bad.append((line, target, "imports the command line"))
        elif own not in LAYERS or layer not in LAYERS:
            bad.append((line, target, "module outside the layers"))
        elif LAYERS.index(layer) < LAYERS.index(own):
            bad.append((line, target, f"{own} may not import {layer}, a layer above it"))
        elif own == "report" and layer in RUNS_MODELS and target not in PURE:
            bad.append((line, target, "reporting imports what runs a model"))
        elif own == "catalog" and layer == "catalog":
            bad.append((line, target, "head types are independent"))
    if own == "catalog" and "." in module:
        bad += [(line, t, "head types are independent") for line, t, _ in _intra(imports)
                if _layer(t) == "catalog"]
    return bad


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_imports_follow_the_layers(path):
    tree = _tree(path)
    bad = _layer_violations(_name(path), _imports(path, tree))
    assert not bad, f"{_name(path)}: {bad}"


def test_every_module_is_in_a_layer():
    """A new subpackage must be placed in LAYERS (or it escapes the rules)."""
    stray = {_layer(_name(p)) for p in MODULES} - set(LAYERS) - TOP
    assert not stray, f"subpackages missing from LAYERS: {stray}"


def test_layers_hold_no_circle():
    """No import circle between modules, counting imports inside functions too."""
    graph: dict[str, set[str]] = {}
    names = {_name(p) for p in MODULES}
    for path in MODULES:
        module = _name(path)
        targets = set()
        for _, target, _ in _intra(_imports(path, _tree(path))):
            while target and target not in names and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in names and target != module and not (
                    path.name == "__init__.py" and target.startswith(module + ".")):
                targets.add(target)
        graph[module] = targets
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in graph[node]:
            if seen.get(nxt) == 1:
                raise AssertionError(f"import circle: {' -> '.join(stack + [node, nxt])}")
            if nxt not in seen:
                visit(nxt, stack + [node])
        seen[node] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [])


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_plotly_only_in_report(path):
    found = [(line, mod) for line, mod, _ in _imports(path, _tree(path))
             if mod.split(".")[0] == "plotly"]
    if _layer(_name(path)) != "report":
        assert not found, f"{_name(path)} imports plotly: {found}"


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p) != "model.hooks"], ids=_name)
def test_hook_names_only_in_hooks(path):
    found = [(line, s) for line, s in _strings(_tree(path)) if "hook_" in s]
    assert not found, f"{_name(path)} spells hook names: {found}"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if _layer(_name(p)) != "catalog" and _name(p) != "train.planted"],
    ids=_name)
def test_behavior_names_only_in_the_catalog(path):
    found = [(line, s) for line, s in _strings(_tree(path)) if s in BUILTIN_NAMES]
    assert not found, f"{_name(path)} spells behavior names (use the registry): {found}"


def test_the_rules_can_fail(tmp_path):
    """The checks see a violation when there is one (they are not vacuous)."""
    bad = PACKAGE / "engine" / "bad_example.py"  # a path for naming only; never written
    source = ('"""doc: induction"""\nfrom ..pipeline.classify import classify_heads\n'
              'from .census import score_heads\nimport plotly\nX = "induction"\n'
              'Y = f"blocks.{0}.attn.hook_z"\n\ndef f():\n    from ..model.hooks import capture\n')
    tree = ast.parse(source)
    imports = _imports(bad, tree)
    assert (2, "interp.pipeline.classify", False) in imports
    assert (9, "interp.model.hooks", True) in imports
    reasons = [r for _, _, r in _layer_violations("engine.bad_example", imports)]
    assert reasons == ["engine may not import pipeline, a layer above it",
                       "imported inside a function"]
    assert _layer_violations("report.page", [(1, "interp.engine.census", False)])
    assert not _layer_violations("report.page", [(1, "interp.model.heads", False)])
    assert _layer_violations("catalog.sink", [(1, "interp.catalog.induction", False)])
    assert not _layer_violations("catalog.sink", [(1, "interp.engine.census", False)])
    assert any(mod == "plotly" for _, mod, _ in imports)
    strings = [s for _, s in _strings(tree)]
    assert "induction" in strings and "doc: induction" not in strings
    assert any("hook_" in s for s in strings)
