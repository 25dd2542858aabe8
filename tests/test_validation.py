"""Every file interp reads is checked against its schema first (issue 20).

- Labels are plain file names: a spec file's label cannot write outside ``--out`` (``..``,
  absolute paths, ``x/y``, ``.``, ``items``), and a model named ``javascript:alert(1)``
  gets a label (and a zoo link) that is a relative path.
- JSON is read bounded: 100,000-deep nesting, ``NaN``, ``1e309`` are one-line errors,
  never ``RecursionError``.
- ``interp check`` covers report, sweep and zoo sets; a manifest whose run record is
  removed or malformed is an unknown set (exit 1); ``load_report`` / ``load_sweep`` raise
  a ``ValueError`` subclass naming the field, never ``KeyError``.
- Spec files: a directory without ``config.json`` and a bad label fail at read time,
  before anything is hashed or classified.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from interp import load_report, load_sweep, save_model, write_report
from interp.cli import main
from interp.io.labels import MAX_LABEL_LEN, check_label, derive_label
from interp.io.output_files import (
    REPORT_FILES,
    ZOO_FILES,
    MixedOutputError,
    UnknownOutputError,
    check_directory,
    check_output_set,
)
from interp.io.safe_json import JSONFileError, nesting_depth, parse_json, read_json
from interp.report.zoo_page import render_zoo_html, write_zoo, zoo_document
from interp.results.classification import Classification
from interp.runs import specs as specs_module
from interp.runs.specs import read_spec_file, spec_label

from test_report import make_document

DEEP = "[" * 100_000 + "]" * 100_000
ZOO_ARGS = ["--n-seqs", "4", "--seq-len", "6", "--no-sweep", "--quiet"]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("interp: error:")]
    assert len(lines) == 1, err
    return lines[0]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory, planted):
    path = tmp_path_factory.mktemp("planted_model") / "planted_model"
    save_model(planted.model, path)
    return path


# ---------------------------------------------------------------- labels (issue items 1, 2)


@pytest.mark.parametrize("label", [
    "../../escaped", "/abs/victim", "x/y", ".", "..", "items", "ITEMS", "zoo.json",
    ".hidden", "a\0b", "x" * 300, "", "javascript:alert(1)", "a\\b",
])
def test_a_label_is_a_plain_file_name(label):
    with pytest.raises(ValueError, match="label"):
        check_label(label)


def test_labels_derived_from_model_names_are_plain_file_names():
    assert derive_label("javascript:alert(1)") == "javascript_alert_1_"
    assert derive_label("../../x") == "_.._x"
    assert derive_label("items") == "items-model"
    assert len(derive_label("y" * 500)) == MAX_LABEL_LEN
    for name in ("planted-redundant", "step_00100", "pythia-70m@1000"):
        assert derive_label(name) == check_label(name) == name
    assert spec_label({"model": "no-such/javascript:alert(1)"}) == "javascript_alert_1_"


@pytest.mark.parametrize("label", ["../../escaped", "/ABSOLUTE", "x/y", ".", "items"])
def test_spec_file_labels_never_write_outside_out(label, planted_dir, tmp_path, capsys):
    """Old code: ``../../escaped`` wrote a report two levels above --out, an absolute label
    replaced a report.md elsewhere, ``items`` wrote into the item store."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "report.md").write_text("precious\n")
    if label == "/ABSOLUTE":
        label = str(victim)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"model": str(planted_dir), "label": label}]))
    out = tmp_path / "a" / "b" / "out"
    before = _tree(tmp_path)
    assert main(["zoo", "--models", str(spec), "--out", str(out), *ZOO_ARGS]) == 2
    line = _one_error_line(capsys)
    assert f"{spec}: models[0].label" in line
    assert _tree(tmp_path) == before  # nothing written anywhere
    assert (victim / "report.md").read_text() == "precious\n"


@pytest.mark.parametrize("label", ["a\0b", "L" * 300])
def test_bad_labels_fail_before_classification(label, planted_dir, tmp_path, capsys,
                                               monkeypatch):
    """Old code: a NUL byte or 300 characters failed only after classifying the model."""
    def never(*args, **kwargs):
        raise AssertionError("a model was classified before the label was checked")

    monkeypatch.setattr(specs_module, "load_spec", never)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"models": [{"model": str(planted_dir), "label": label}]}))
    started = time.perf_counter()
    assert main(["zoo", "--models", str(spec), "--out", str(tmp_path / "out"), *ZOO_ARGS]) == 2
    assert time.perf_counter() - started < 10
    assert "models[0].label" in _one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_zoo_links_are_relative_paths_never_a_scheme(planted, tmp_path, capsys):
    """Old code: a model directory named ``javascript:alert(1)`` became
    ``<a href="javascript:alert(1)/report.html">``, a script when clicked."""
    model_dir = tmp_path / "javascript:alert(1)"
    save_model(planted.model, model_dir)
    out = tmp_path / "zoo"
    assert main(["zoo", "--models", str(model_dir), "--out", str(out), *ZOO_ARGS]) == 0
    page = (out / ZOO_FILES.files["html"]).read_text()
    assert 'href="javascript_alert_1_/report.html"' in page
    assert "javascript:" not in page.split("<body", 1)[1].replace(
        "javascript:alert(1)</td>", "")  # the source column shows the path, as text
    assert (out / "javascript_alert_1_" / "report.html").is_file()
    assert sorted(p.name for p in out.iterdir()) == [
        "items", "javascript_alert_1_", "zoo.html", "zoo.json"]
    # a document with such a label is never rendered
    document = json.loads((out / "zoo.json").read_text())
    document["models"][0]["label"] = "javascript:alert(1)"
    with pytest.raises(ValueError, match="label 'javascript:alert\\(1\\)'"):
        render_zoo_html(document)


# ------------------------------------------------------------------ bounded JSON (item 5)


def test_deep_nesting_is_one_error_not_recursion(tmp_path):
    assert nesting_depth(DEEP, limit=64) == 65
    with pytest.raises(JSONFileError, match="nested deeper than 64"):
        parse_json(DEEP, source="x.json")
    inside = '{"a": "' + "[" * 100 + '\\"[", "b": [["]]"]]}'  # brackets in strings
    assert parse_json(inside, source="x.json") == {"a": "[" * 100 + '"[', "b": [["]]"]]}
    for text, match in [('{"a": NaN}', "NaN is not a finite number"),
                        ('[1e309]', "out of range"), ("[-Infinity]", "Infinity"),
                        ('{"a": 1', "not valid JSON"), (b"\xff", "not UTF-8")]:
        with pytest.raises(JSONFileError, match=match):
            parse_json(text, source="x.json")
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 1000 + "1]")
    with pytest.raises(JSONFileError, match="larger than"):
        read_json(big, max_bytes=100)


@pytest.mark.parametrize("depth", [100_000, 200_000])
def test_deeply_nested_spec_file_is_refused(depth, tmp_path, capsys):
    """Old code: RecursionError tracebacks."""
    spec = tmp_path / "spec.json"
    spec.write_text('{"models": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(ValueError, match="nested deeper"):
        read_spec_file(spec)
    assert main(["zoo", "--models", str(spec), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "nested deeper" in _one_error_line(capsys)


# --------------------------------------------------------- spec files before hashing (item 3)


def test_spec_entry_naming_a_directory_without_config_fails_before_hashing(tmp_path,
                                                                           monkeypatch):
    """Old code: ``{"model": "/usr"}`` hashed 5.8 GB before saying it holds no config."""
    usr = tmp_path / "usr"
    (usr / "lib").mkdir(parents=True)
    (usr / "lib" / "big.bin").write_bytes(b"\0" * 1000)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"model": str(usr)}]))

    def never(*args, **kwargs):
        raise AssertionError("hashed before checking")

    monkeypatch.setattr(specs_module, "_hash_state", never)
    with pytest.raises(ValueError, match=r"models\[0\]\.model .* holds no config\.json"):
        read_spec_file(spec)
    with pytest.raises(ValueError, match="holds no config.json"):
        specs_module.model_content_hash({"model": str(usr)})


def test_spec_file_schema_names_the_field(tmp_path):
    spec = tmp_path / "spec.json"
    for data, match in [
        ([{"model": "x", "checkpoint_value": -1}], r"models\[0\]\.checkpoint_value must be "
                                                   "greater than or equal to 0"),
        ([{"model": "x", "checkpoint_index": 1.5}], "checkpoint_index must be an integer"),
        ([{"model": 3}], r"models\[0\]\.model must be a string"),
        ({"models": []}, "at least 1 item"),
        ("default", "non-empty list of models"),
        ([{"model": "x", "label": "a", "checkpoint_index": 1, "checkpoint_value": 2}],
         "gives both"),
    ]:
        spec.write_text(json.dumps(data))
        with pytest.raises(ValueError, match=match):
            read_spec_file(spec)


# ---------------------------------------------------------- interp check, loaders (item 5)


def _zoo_set(out: Path) -> dict:
    models = {}
    for label in ("a", "b"):
        document = make_document(name=label)
        models[label] = Classification.from_dict(document)
        write_report(models[label], out / label)
    write_zoo(models, out, sources={"a": "/models/a", "b": "/models/b"})
    return models


def test_check_covers_a_zoo_and_its_model_reports(tmp_path, capsys):
    """Old code: ``interp check`` could not check a zoo set at all (exit 2)."""
    _zoo_set(tmp_path)
    assert [c.status for c in check_directory(tmp_path)] == ["complete"] * 3
    assert main(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "zoo.json: complete set" in out and "b/report.json: complete set" in out
    with open(tmp_path / "zoo.html", "ab") as fh:
        fh.write(b"<!-- edited -->\n")
    assert main(["check", str(tmp_path)]) == 1
    assert "zoo.html: not the file zoo.json was written with" in capsys.readouterr().err
    _zoo_set(tmp_path)
    shutil.rmtree(tmp_path / "b")
    assert main(["check", str(tmp_path)]) == 1
    assert "listed in" in capsys.readouterr().err


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.pop("output_set"), "no run record"),
    (lambda d: d.update(output_set="not an object"), "output_set must be an object"),
    (lambda d: d.update(output_set={"run_id": 5, "sha256": {}}), "output_set.run_id must be a string"),
    (lambda d: d["output_set"]["sha256"].pop("report.md"), "does not list report.md"),
    (lambda d: d["output_set"]["sha256"].update({"../x": "0" * 64}), "plain file name"),
])
def test_a_manifest_without_a_valid_run_record_is_an_unknown_set(edit, match, tmp_path,
                                                                 capsys):
    """Old code: exit 0, "written by an older interp"."""
    write_report(Classification.from_dict(make_document()), tmp_path)
    path = tmp_path / REPORT_FILES.manifest_name
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    check = check_output_set(tmp_path, "report.json", REPORT_FILES.others)
    assert check.status == "unknown" and not check.ok
    assert main(["check", str(tmp_path)]) == 1
    assert match in capsys.readouterr().err
    with pytest.raises(UnknownOutputError, match=match):
        load_report(tmp_path)


@pytest.mark.parametrize("manifest", ["report.json", "sweep.json", "zoo.json"])
def test_hostile_manifests_give_one_line_never_a_traceback(manifest, tmp_path, capsys):
    """Old code: RecursionError tracebacks from ``check_output_set``."""
    for content in (DEEP, "[]", '"text"', '{"output_set": NaN}', "{" * 50):
        (tmp_path / manifest).write_text(content)
        assert check_output_set(tmp_path, manifest).status == "unknown"
        assert main(["check", str(tmp_path)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "UNKNOWN" in err


@pytest.mark.parametrize("field", ["model", "heads", "settings"])
def test_load_report_names_the_missing_field(field, tmp_path):
    """Old code: KeyError from ``Classification.from_dict``."""
    write_report(Classification.from_dict(make_document()), tmp_path)
    path = tmp_path / "report.json"
    document = json.loads(path.read_text())
    del document[field]
    path.write_text(json.dumps(document))
    with pytest.raises(UnknownOutputError, match=f"report.json: {field} is missing"):
        load_report(tmp_path)
    assert issubclass(UnknownOutputError, MixedOutputError)
    assert issubclass(UnknownOutputError, ValueError)


def test_load_report_refuses_heads_that_do_not_fit_the_model(tmp_path):
    write_report(Classification.from_dict(make_document()), tmp_path)
    path = tmp_path / "report.json"
    document = json.loads(path.read_text())
    document["heads"][0]["scores"]["induction"] = "high"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"heads\[0\]\.scores\.induction must be a number"):
        load_report(tmp_path)
    document["heads"][0]["scores"]["induction"] = 0.5
    document["heads"][0].update(head="7.0", layer=7)
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="outside the model's 2 x 2 heads"):
        load_report(tmp_path)


def test_load_sweep_names_the_problem(tmp_path):
    from interp.report.sweep_page import write_sweep
    from interp.results.checkpoints import CheckpointSweep
    import torch

    grid = torch.zeros(2, 1, 2)
    sweep = CheckpointSweep(
        labels=("step_0", "step_1"), steps=(0, 1), sources=("a", "b"), n_layers=1, n_heads=2,
        scores={"induction": grid}, nulls={"induction": grid}, stderrs={"induction": grid},
        first_copy_loss=torch.ones(2), second_copy_loss=torch.ones(2), stimuli={"seed": 0})
    write_sweep(sweep, tmp_path)
    assert load_sweep(tmp_path).steps == (0, 1)
    path = tmp_path / "sweep.json"
    document = json.loads(path.read_text())
    document["scores"]["induction"] = [[[0.0, 0.0]]]  # one checkpoint of two
    path.write_text(json.dumps(document))
    with pytest.raises(UnknownOutputError, match="has 1 entries where 2 are expected"):
        load_sweep(tmp_path)
    del document["labels"]
    path.write_text(json.dumps(document))
    with pytest.raises(UnknownOutputError, match="labels is missing"):
        load_sweep(tmp_path)


def test_zoo_document_labels_are_checked_when_read_back(tmp_path):
    models = _zoo_set(tmp_path)
    document = zoo_document(models)
    assert [m["label"] for m in document["models"]] == ["a", "b"]
    path = tmp_path / "zoo.json"
    data = json.loads(path.read_text())
    data["models"][1]["label"] = "../a"
    path.write_text(json.dumps(data))
    check = check_output_set(tmp_path, "zoo.json", ZOO_FILES.others)
    assert check.status == "unknown" and "models[1].label" in check.problems[0]


def test_symlinked_manifest_target_is_read_not_written(tmp_path):
    """``interp check`` only reads; a planted link is read like a file and judged."""
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "report.json")
    assert main(["check", str(out)]) == 1
    assert outside.read_text() == "{}"


def test_a_fifo_or_device_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "spec.json"
    os.mkfifo(fifo)
    started = time.perf_counter()
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(JSONFileError, match="not a regular file"):
            read_json(path, max_bytes=100)
    with pytest.raises(ValueError, match="not a regular file"):
        read_spec_file(fifo)
    assert time.perf_counter() - started < 2
