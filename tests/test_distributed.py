"""Sweeps and zoos as items: serial or on Ray, byte-identical, resumable, failures reported.

The Ray tests share one local Ray instance (2 CPUs, started once for the module and shut
down after it); ``run_sweep`` / ``run_zoo`` / the CLI find it running and leave it so.
"""

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import interp
from interp.report.sweep_page import write_sweep
from interp.pipeline.checkpoints import score_checkpoints
from interp.pipeline.classify import ClassifySettings
from interp.cli import main
from interp.report.head_report import render_json
from interp.runs.store import ITEMS_DIR
from interp.runs.runner import RayMissingError
from interp.runs.specs import expand_specs, load_spec, model_content_hash, read_spec_file, spec_label
from interp.runs.pipelines import run_sweep, run_zoo
from interp.train.default_model import TrainConfig, train_model

N_SEQS, SEQ_LEN, SEED = 4, 8, 3
SWEEP = {"n_seqs": N_SEQS, "seq_len": SEQ_LEN, "seed": SEED}
CLI_SWEEP = ["--n-seqs", str(N_SEQS), "--seq-len", str(SEQ_LEN), "--seed", str(SEED), "--quiet"]
TINY = TrainConfig(
    seed=0, n_layers=2, n_heads=2, d_model=16, d_vocab=24, n_ctx=21, steps=10, batch_size=2,
    min_span=2, max_span=6, log_every=2, warmup_steps=1, model_name="tiny",
)
ZOO = ["default", "planted", "planted:redundant"]
ZOO_SETTINGS = ClassifySettings(seed=0, n_seqs=8, seq_len=10, sweep=False)
CLI_ZOO = ["--n-seqs", "8", "--seq-len", "10", "--no-sweep", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A training run with checkpoints step_00000 ... step_00010 (6 checkpoints)."""
    path = tmp_path_factory.mktemp("run")
    train_model(TINY, checkpoint_dir=path, checkpoint_every=2)
    return path


@pytest.fixture(scope="module")
def serial(run_dir, tmp_path_factory):
    """The reference: ``score_checkpoints`` + ``write_sweep`` (no items, no Ray)."""
    out = tmp_path_factory.mktemp("serial")
    write_sweep(score_checkpoints(run_dir, **SWEEP), out)
    return {name: (out / name).read_bytes() for name in ("sweep.json", "sweep.html")}


def _files(out):
    return {name: (Path(out) / name).read_bytes() for name in ("sweep.json", "sweep.html")}


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="Ray tests need the ray extra: pip install -e .[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


# ----------------------------------------------------------------------------- serial


def test_serial_run_equals_score_checkpoints(run_dir, serial, tmp_path):
    run = run_sweep([run_dir], tmp_path, **SWEEP)
    assert _files(tmp_path) == serial
    assert len(run.computed) == 6 and run.reused == ()
    assert len(list((tmp_path / ITEMS_DIR).glob("*.json"))) == 6
    assert run.sweep.steps == (0, 2, 4, 6, 8, 10) and run.sweep.failed == ()


def test_rerun_reuses_and_changed_setting_recomputes(run_dir, tmp_path):
    first = run_sweep([run_dir], tmp_path, **SWEEP)
    stored = {p.name: p.stat().st_mtime_ns for p in (tmp_path / ITEMS_DIR).iterdir()}
    again = run_sweep([run_dir], tmp_path, **SWEEP)
    assert again.computed == () and sorted(again.reused) == sorted(first.computed)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / ITEMS_DIR).iterdir()} == stored
    other = run_sweep([run_dir], tmp_path, **{**SWEEP, "seed": SEED + 1})
    assert len(other.computed) == 6 and other.reused == ()
    assert other.sweep.stimuli["seed"] == SEED + 1
    # a damaged item file is computed again, alone
    victim = sorted((tmp_path / ITEMS_DIR).iterdir())[0]
    victim.write_text("{not json")
    healed = run_sweep([run_dir], tmp_path, **SWEEP)
    assert len(healed.computed) + len(healed.reused) == 6
    assert len(healed.computed) in (0, 1)  # 1 if the damaged file was one of this seed's


def test_item_keys_follow_content_not_place(run_dir, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(run_dir / "step_00004", moved)
    assert model_content_hash(str(moved)) == model_content_hash(str(run_dir / "step_00004"))
    assert model_content_hash(str(moved)) != model_content_hash(str(run_dir / "step_00002"))
    assert model_content_hash("planted") != model_content_hash("planted:redundant")
    assert model_content_hash("planted") == model_content_hash("planted")


def test_corrupt_checkpoint_is_reported_not_fatal(run_dir, serial, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "step_00006" / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    out = tmp_path / "out"
    assert main(["sweep", "--model", str(copy), "--out", str(out), *CLI_SWEEP]) == 1
    printed = capsys.readouterr().out
    assert "FAILED step_00006" in printed and "corrupt" in printed
    document = json.loads((out / "sweep.json").read_text())
    assert [f["checkpoint"] for f in document["failed"]] == ["step_00006"]
    assert "corrupt or not safetensors" in document["failed"][0]["error"]
    assert document["steps"] == [0, 2, 4, 8, 10]
    assert "step_00006" in (out / "sweep.html").read_text()  # the page lists it too
    # the other checkpoints have the serial scores
    reference = json.loads(serial["sweep.json"])
    keep = [i for i, label in enumerate(reference["labels"]) if label != "step_00006"]
    for behavior, grid in document["scores"].items():
        assert grid == [reference["scores"][behavior][i] for i in keep]


def test_spec_file_hub_checkpoints_fail_fast_per_item(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = tmp_path / "run.json"
    spec.write_text(json.dumps({"models": [
        {"model": str(run_dir / "step_00000"), "label": "step0"},
        {"model": "EleutherAI/pythia-14m", "checkpoint_value": 1000},
        {"model": "EleutherAI/pythia-14m", "checkpoint_index": 3},
        "missing_dir/step_5",
    ]}))
    entries = read_spec_file(spec)
    assert [spec_label(e) for e in entries] == [
        "step0", "pythia-14m@1000", "pythia-14m@index3", "step_5"]
    started = time.perf_counter()
    run = run_sweep([spec], tmp_path / "out", **SWEEP)
    assert time.perf_counter() - started < 60
    assert run.sweep.labels == ("step0",)
    errors = {f["checkpoint"]: f["error"] for f in run.sweep.failed}
    assert set(errors) == {"pythia-14m@1000", "pythia-14m@index3", "step_5"}
    assert "not reachable" in errors["pythia-14m@1000"]
    assert "does not exist" in errors["step_5"]
    assert {f["source"] for f in run.sweep.failed} >= {
        "EleutherAI/pythia-14m@checkpoint_value=1000"}


def test_bad_specs_name_the_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"model": "x", "checkpoint_value": "1000"}]))
    with pytest.raises(ValueError, match="checkpoint_value must be an integer"):
        read_spec_file(bad)
    bad.write_text(json.dumps([{"model": "x", "revision": "main"}]))
    with pytest.raises(ValueError, match="unknown keys"):
        read_spec_file(bad)
    with pytest.raises(ValueError, match="share the label"):
        run_sweep(["planted", {"model": "default", "label": "planted"}], tmp_path, **SWEEP)
    with pytest.raises(interp.ModelLoadError, match="unknown planted model"):
        load_spec("planted:nope")
    assert expand_specs(["planted"]) == [{"model": "planted"}]


def test_without_ray_the_message_says_how_to_get_it(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(RayMissingError, match=r"pip install -e \.\[ray\]"):
        run_sweep([run_dir], tmp_path, ray="local", **SWEEP)
    assert main(["sweep", "--model", str(run_dir), "--out", str(tmp_path), "--ray",
                 *CLI_SWEEP]) == 2
    assert "pip install -e .[ray]" in capsys.readouterr().err


# ----------------------------------------------------------------------------- Ray


def test_ray_sweep_is_byte_identical(ray_local, run_dir, serial, tmp_path):
    out = tmp_path / "ray"
    assert main(["sweep", "--model", str(run_dir), "--out", str(out), "--ray",
                 "--workers", "2", *CLI_SWEEP]) == 0
    assert _files(out) == serial
    assert ray_local.is_initialized()  # a running instance is left running


def _our_ray_tasks() -> list[int]:
    """PIDs of Ray workers started by this process (descendants) running ``_call``."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if not cmdline.startswith(b"ray::_call"):
            continue
        pid = int(entry)
        while pid > 1:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                break
            pid = int(stat.rsplit(")", 1)[1].split()[1])
            if pid == me:
                found.append(int(entry))
                break
    return found


def test_killed_worker_is_retried(ray_local, run_dir, serial, tmp_path):
    killed: list[int] = []
    stop = threading.Event()

    def killer():
        while not stop.is_set() and not killed:
            for pid in _our_ray_tasks():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.005)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        run = run_sweep([run_dir], tmp_path, ray="local", workers=2, **SWEEP)
    finally:
        stop.set()
        thread.join()
    assert killed, "no Ray task was seen running, so none was killed"
    assert run.sweep.failed == ()
    assert _files(tmp_path) == serial


def test_killed_sweep_resumes_with_what_is_missing(ray_local, run_dir, serial, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(interp.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "interp", "sweep", "--model", str(run_dir), "--out", str(out),
         *CLI_SWEEP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    items = out / ITEMS_DIR
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if items.is_dir() and any(p.suffix == ".json" for p in items.iterdir()):
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    stored = sorted(p.name for p in items.glob("*.json"))
    assert 1 <= len(stored) < 6, "the sweep was not killed part-way"
    assert not (out / "sweep.json").exists()
    run = run_sweep([run_dir], out, ray="local", workers=2, **SWEEP)
    assert len(run.reused) == len(stored) and len(run.computed) == 6 - len(stored)
    assert _files(out) == serial


@pytest.fixture(scope="module")
def zoo_serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("zoo")
    run = run_zoo(ZOO, out, settings=ZOO_SETTINGS)
    return out, run


def test_zoo_compares_bundled_and_planted_models(zoo_serial):
    out, run = zoo_serial
    document = json.loads((out / "zoo.json").read_text())
    labels = [m["label"] for m in document["models"]]
    assert labels == ["default", "planted", "planted-redundant"]
    classes = {m["label"]: m["classes"] for m in document["models"]}
    # planted oracles: the roles are known exactly
    assert classes["planted"]["previous_token"]["confirmed"] == ["0.0"]
    assert classes["planted"]["induction"]["confirmed"] == ["1.0"]
    assert classes["planted"]["duplicate_token"]["confirmed"] == ["0.1"]
    redundant = classes["planted-redundant"]["induction"]
    assert sorted(redundant["confirmed"] + redundant["unconfirmed"]) == ["1.0", "1.1"]
    # the bundled model's recorded induction heads (heads.json)
    bundled = classes["default"]["induction"]
    assert sorted(bundled["confirmed"] + bundled["unconfirmed"]) == ["1.1", "1.2"]
    for label in labels:  # each model's own report, as `interp report` writes it
        written = json.loads((out / label / "report.json").read_text())
        written.pop("output_set")
        assert written == json.loads(render_json(run.models[label]))
    page = (out / "zoo.html").read_text()
    for label in labels:
        assert f'href="{label}/report.html"' in page
    assert "<script" not in page


def test_zoo_reports_a_failed_model_and_escapes_text(tmp_path):
    bad = {"model": "planted:<b>nope</b>", "label": "bad"}
    run = run_zoo(["planted", bad], tmp_path, settings=ZOO_SETTINGS)
    assert list(run.models) == ["planted"]
    assert list(run.failed) == ["bad"] and "unknown planted model" in run.failed["bad"]
    document = json.loads((tmp_path / "zoo.json").read_text())
    assert document["failed"][0]["label"] == "bad"
    page = (tmp_path / "zoo.html").read_text()
    assert "<b>nope" not in page and "&lt;b&gt;nope" in page
    # a label is a plain file name: markup in one is refused before any work
    with pytest.raises(ValueError, match="label 'bad<i>' holds '<', '>'"):
        run_zoo([{"model": "planted", "label": "bad<i>"}], tmp_path / "z2", settings=ZOO_SETTINGS)
    assert not (tmp_path / "z2").exists()


def test_zoo_on_ray_is_byte_identical(ray_local, zoo_serial, tmp_path):
    out, _ = zoo_serial
    assert main(["zoo", "--models", *ZOO, "--out", str(tmp_path), "--ray", "--workers", "2",
                 *CLI_ZOO]) == 0
    for name in ("zoo.json", "zoo.html", "planted/report.json", "default/report.html"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


# ------------------------------------------------- the store trusts no file (issue 20, item 4)

TWO = ("step_00000", "step_00002")


def _damage(path: Path, how: str) -> None:
    text = path.read_text()
    record = json.loads(text)
    result = record["result"]
    if how == "empty result":
        record["result"] = {}
    elif how == "wrong shape":
        result["scores"]["induction"].append(result["scores"]["induction"][0])
    elif how == "string score":
        result["scores"]["induction"][0][0] = "0.5"
    elif how == "huge shape":
        result["shape"][0] = 10**9
    if how == "1e309":
        text = re.sub(r'"first_copy_loss": [^,]+', '"first_copy_loss": 1e309', text)
    else:
        text = json.dumps(record)
    path.write_text(text)


@pytest.mark.parametrize("how", ["empty result", "wrong shape", "string score", "huge shape",
                                 "1e309"])
def test_an_item_that_does_not_validate_is_computed_again_and_named(how, run_dir, tmp_path,
                                                                    capsys):
    """Old code: a KeyError / RuntimeError / TypeError traceback on every rerun."""
    models = [str(run_dir / name) for name in TWO]
    first = run_sweep(models, tmp_path, **SWEEP)
    reference = _files(tmp_path)
    victim = sorted((tmp_path / ITEMS_DIR).iterdir())[0]
    _damage(victim, how)
    again = run_sweep(models, tmp_path, **SWEEP)
    assert len(again.computed) == 1 and len(again.reused) == 1
    (label, problem), = again.replaced.items()
    assert str(victim) in problem and label in first.computed
    assert _files(tmp_path) == reference
    json.loads(victim.read_text())  # replaced by a valid item
    _damage(victim, how)
    assert main(["sweep", "--model", *models, "--out", str(tmp_path), *CLI_SWEEP]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{label}: stored item not used, computed afresh and replaced: {victim}" in err
    assert _files(tmp_path) == reference


def test_another_checkpoints_item_under_this_key_is_not_reused(run_dir, tmp_path):
    """Old code: step_00002 reported step_00000's scores (inner key rewritten)."""
    models = [str(run_dir / name) for name in TWO]
    run_sweep(models, tmp_path, **SWEEP)
    reference = _files(tmp_path)
    items = {json.loads(p.read_text())["label"]: p for p in (tmp_path / ITEMS_DIR).iterdir()}
    planted = json.loads(items["step_00000"].read_text())
    planted["key"] = items["step_00002"].stem
    items["step_00002"].write_text(json.dumps(planted))
    again = run_sweep(models, tmp_path, **SWEEP)
    assert again.computed == ("step_00002",) and again.reused == ("step_00000",)
    assert "records label \"step_00000\", not \"step_00002\"" in again.replaced["step_00002"]
    assert _files(tmp_path) == reference
    # the same file with its label rewritten too: its source and scores still differ
    planted["label"] = "step_00002"
    items["step_00002"].write_text(json.dumps(planted))
    again = run_sweep(models, tmp_path, **SWEEP)
    assert again.computed == ("step_00002",) and "records source" in again.replaced["step_00002"]
    assert _files(tmp_path) == reference


def test_the_item_store_never_follows_a_link(run_dir, tmp_path, capsys):
    """Old code: ``OUT/items`` as a symbolic link was followed."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / ITEMS_DIR).symlink_to(elsewhere, target_is_directory=True)
    model = str(run_dir / "step_00000")
    assert main(["sweep", "--model", model, "--out", str(out), *CLI_SWEEP]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert main(["zoo", "--models", "planted", "--out", str(out), *CLI_ZOO]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in out.iterdir()) == ["items"]
    # an item file that is a link: not read, replaced by a real file, its target untouched
    (out / ITEMS_DIR).unlink()
    run_sweep([model], out, **SWEEP)
    item = next((out / ITEMS_DIR).iterdir())
    victim = tmp_path / "victim.json"
    victim.write_text(item.read_text())
    item.unlink()
    item.symlink_to(victim)
    again = run_sweep([model], out, **SWEEP)
    assert again.computed == ("step_00000",) and str(item) in again.replaced["step_00000"]
    assert not item.is_symlink() and victim.read_text() == item.read_text()


def test_zoo_grid_marks_unconfirmed_classes_as_the_table_does():
    """A head whose class its ablation did not confirm reads ``I?`` in grey in the grid, as
    ``1.1?`` in the table above it; a confirmed class keeps its colour."""
    from interp.report.zoo_page import render_zoo_html

    model = {"label": "m", "source": "m", "n_layers": 1, "n_heads": 2, "report": "m/report.html",
             "first_copy_loss": 1.0, "second_copy_loss": 0.5,
             "classes": {"induction": {"confirmed": ["0.0"], "unconfirmed": ["0.1"]},
                         "copy_suppression": {"confirmed": [], "unconfirmed": ["0.0"]}},
             "heads": {"0.0": ["induction", "copy_suppression"], "0.1": ["induction"]}}
    html = render_zoo_html({"models": [model], "failed": [], "behaviors": [
        "induction", "copy_suppression"], "run": {}})
    assert '<td class="unconfirmed">I?</td>' in html
    assert ">I CS?</td>" in html and '<td class="unconfirmed">I CS' not in html
