"""Output sets (report, sweep) are written safely and atomically, and a mixed set is found.

- Links planted in advance at every name the writer could pick (the old predictable
  temporary names, the output names, and the first candidates ``tempfile`` would try) are
  never followed: the victim file outside the directory keeps its bytes.
- A write killed (SIGKILL, in a forked child or a real ``interp report`` / ``interp sweep``
  subprocess) at a random line of the writer leaves every output file either the old
  complete file or the new complete one, a mixed set that ``check_output_set`` (and
  ``interp check``) calls mixed, and no stray temporary that looks like an output.
- A full disk (``RLIMIT_FSIZE``) during ``interp sweep`` is a one-line error that leaves the
  old files as they were and no temporary behind.
- Each set's file names are spelled once (``REPORT_FILES``, ``SWEEP_FILES``, ``ZOO_FILES``)
  and the writers write exactly those.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from interp import (
    Classification,
    MixedOutputError,
    check_output_set,
    load_report,
    load_sweep,
    save_model,
    write_report,
)
from interp.io import output_files
from interp.report.sweep_page import write_sweep
from interp.cli import main
from interp.io.output_files import (
    REPORT_FILES,
    REPORT_SET,
    SWEEP_FILES,
    SWEEP_SET,
    ZOO_FILES,
    OutputSet,
    write_output_set,
    write_set,
)

from test_report import make_document

ROOT = Path(__file__).resolve().parents[1]
REPORT_NAMES = ("report.html", "report.json", "report.md")
SWEEP_NAMES = ("sweep.html", "sweep.json")


def _report(seed: int) -> Classification:
    document = make_document()
    document["settings"]["seed"] = seed
    return Classification.from_dict(document)


from interp.runs.store import ITEMS_DIR  # noqa: E402  (the sweep's item store)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.is_file() and not p.is_symlink()}


# ------------------------------------------------------------------ planted links (item 1)


@pytest.fixture
def victim(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim.txt"
    target.write_bytes(b"precious\n")
    return target


def _plant(out: Path, names: list[str], victim: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    links = []
    for name in names:
        link = out / name
        link.symlink_to(victim)
        links.append(link)
    return links


CANDIDATES = [c * 8 for c in "abcdefgh"]
TAG = "feedbeef"


@pytest.fixture
def predictable_temp_names(monkeypatch):
    """The writer's tag is TAG and ``tempfile`` tries CANDIDATES in order (each call), then
    random names: so links can be planted at the first names the writer will try (like a
    fixed seed: both are random sources)."""
    monkeypatch.setattr(output_files, "_new_tag", lambda: TAG)
    real = tempfile._get_candidate_names

    def names():
        rest = real()
        yield from CANDIDATES[:6]
        while True:
            yield next(rest)

    monkeypatch.setattr(tempfile, "_get_candidate_names", names)


def _every_name(files: tuple[str, ...]) -> list[str]:
    old = [f".{f}.{os.getpid()}.tmp" for f in files] + [f"{f}.tmp" for f in files]
    new = [f".{f}.{TAG}.{c}.tmp" for f in files for c in CANDIDATES[:6]]
    return old + new + list(files)


def test_report_never_follows_a_planted_link(result_files, victim, tmp_path,
                                             predictable_temp_names):
    out = tmp_path / "out"
    links = _plant(out, _every_name(REPORT_NAMES), victim)
    paths = write_report(_report(0), out)
    assert victim.read_bytes() == b"precious\n"
    for path in paths.values():
        assert not path.is_symlink() and path.is_file()
    assert _files(out) == result_files  # the same bytes as a write into an empty directory
    for link in links:  # planted temporaries untouched (outputs replaced, not followed)
        if link.name not in REPORT_NAMES:
            assert link.is_symlink() and os.readlink(link) == str(victim)


def test_sweep_never_follows_a_planted_link(sweep, victim, tmp_path, predictable_temp_names):
    out = tmp_path / "out"
    _plant(out, _every_name(SWEEP_NAMES), victim)
    paths = write_sweep(sweep, out)
    assert victim.read_bytes() == b"precious\n"
    assert all(p.is_file() and not p.is_symlink() for p in paths.values())
    assert check_output_set(out, "sweep.json").status == "complete"


def test_save_model_never_follows_a_planted_link(random_model, victim, tmp_path,
                                                 predictable_temp_names):
    out = tmp_path / "model"
    names = ("config.json", "model.safetensors", "tokenizer.json", "special_tokens.json")
    _plant(out, _every_name(names), victim)
    save_model(random_model, out)
    assert victim.read_bytes() == b"precious\n"
    assert not (out / "tokenizer.json").exists()  # a planted (stale) tokenizer is removed


@pytest.fixture
def result_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    write_report(_report(0), out)
    return _files(out)


# ----------------------------------------------------------------- run id, mixed sets (7)


def test_set_carries_one_run_id_and_json_the_others_sha256(tmp_path):
    paths = write_report(_report(0), tmp_path)
    record = json.loads(paths["json"].read_text())["output_set"]
    run_id = record["run_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", run_id)
    for key in ("html", "markdown"):
        data = paths[key].read_bytes()
        assert data.endswith(f"<!-- interp-run-id: {run_id} -->\n".encode())
        import hashlib

        assert record["sha256"][paths[key].name] == hashlib.sha256(data).hexdigest()
    check = check_output_set(tmp_path, "report.json")
    assert check.ok and check.run_id == run_id and "complete" in check.message()
    assert load_report(tmp_path) == _report(0)


def test_mixed_report_is_detected_and_refused(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    write_report(_report(1), a)
    write_report(_report(2), b)
    run_a = json.loads((a / "report.json").read_text())["output_set"]["run_id"]
    run_b = json.loads((b / "report.json").read_text())["output_set"]["run_id"]
    assert run_a != run_b
    shutil.copy(b / "report.html", a / "report.html")  # a crash between renames
    check = check_output_set(a, "report.json")
    assert check.status == "mixed"
    assert check.problems == (
        f"report.html: not the file report.json was written with (it carries run id "
        f"{run_b}, report.json run id {run_a})",)
    with pytest.raises(MixedOutputError, match="report.html"):
        load_report(a)
    assert main(["check", str(a)]) == 1
    err = capsys.readouterr().err
    assert "MIXED" in err and "report.html" in err and run_b in err
    assert main(["check", str(b)]) == 0
    assert "complete set, run id " + run_b in capsys.readouterr().out
    (a / "report.json").unlink()  # killed before the last rename of a first write
    assert check_output_set(a, REPORT_FILES.manifest_name, REPORT_FILES.others).status == "mixed"
    assert main(["check", str(a)]) == 1
    assert main(["check", str(tmp_path / "nothing")]) == 2


def test_mixed_sweep_is_detected(sweep, tmp_path):
    write_sweep(sweep, tmp_path)
    assert load_sweep(tmp_path).steps == sweep.steps
    with open(tmp_path / "sweep.html", "ab") as fh:
        fh.write(b"<!-- edited -->\n")
    with pytest.raises(MixedOutputError, match="sweep.html"):
        load_sweep(tmp_path)


def test_each_set_is_named_once_and_written_as_named(tmp_path):
    assert REPORT_FILES.names == REPORT_SET == ("report.json", "report.html", "report.md")
    assert SWEEP_FILES.names == SWEEP_SET == ("sweep.json", "sweep.html")
    assert ZOO_FILES.names == ("zoo.json", "zoo.html")
    assert sorted(REPORT_FILES.names) == sorted(REPORT_NAMES)
    paths = write_report(_report(0), tmp_path / "r")
    assert {k: p.name for k, p in paths.items()} == dict(REPORT_FILES.files)


def test_write_set_writes_every_document_of_its_set_and_only_those(tmp_path):
    pair = OutputSet({"txt": "a.txt", "json": "a.json"})
    assert pair.manifest_name == "a.json" and pair.others == ("a.txt",)
    paths = write_set(tmp_path, pair, {"json": "{}", "txt": "hi"})
    assert sorted(p.name for p in paths.values()) == ["a.json", "a.txt"]
    assert check_output_set(tmp_path, pair.manifest_name, pair.others).ok
    with pytest.raises(ValueError, match="not those of the set"):
        write_set(tmp_path, pair, {"json": "{}"})


def test_empty_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        write_report(_report(0), "")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------- fault injection (Done when)


class _KillAt:
    """A trace function that counts the lines executed in interp/output_files.py and, at
    line ``k``, kills the process (SIGKILL) or raises KeyboardInterrupt; ``k=0`` counts."""

    def __init__(self, k: int, how: str = "kill"):
        self.k, self.how, self.count = k, how, 0
        self.file = output_files.__file__

    def __call__(self, frame, event, arg):
        if frame.f_code.co_filename != self.file:
            return None
        return self.local

    def local(self, frame, event, arg):
        if event == "line":
            self.count += 1
            if self.count == self.k:
                if self.how == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise KeyboardInterrupt
        return self.local


def _count_lines(write) -> int:
    tracer = _KillAt(0)
    sys.settrace(tracer)
    try:
        write()
    finally:
        sys.settrace(None)
    return tracer.count


def _killed_in_child(write, k: int) -> bool:
    """Run ``write`` in a forked child that SIGKILLs itself at line ``k`` of the writer."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            sys.settrace(_KillAt(k))
            write()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def _check_trial(out: Path, old: dict[str, bytes], new: dict[str, bytes],
                 names: tuple[str, ...], manifest: str) -> str:
    """Every output old-complete or new-complete, a mixed set called mixed, and nothing
    else in the directory but hidden temporaries. Returns what the directory holds."""
    if not out.exists():
        assert not old, "the old set vanished"
        return "absent"
    present = {}
    for name in names:
        path = out / name
        if path.exists():
            data = path.read_bytes()
            assert data in (old.get(name), new[name]), f"{name} is neither old nor new"
            present[name] = "new" if data == new[name] else "old"
        else:
            assert name not in old, f"{name} vanished"
            present[name] = "absent"
    for path in out.iterdir():
        if path.name in names or path.name == ITEMS_DIR and path.is_dir():
            continue  # the sweep's resumable item store (interp.runs)
        assert re.fullmatch(r"\.(%s)\.[0-9a-f]{8}\.[A-Za-z0-9_]+\.tmp"
                            % "|".join(map(re.escape, names)),
                            path.name), f"stray file {path.name} looks like an output"
    others = tuple(n for n in names if n != manifest)
    check = check_output_set(out, manifest, others)
    states = set(present.values())
    if states in ({"new"}, {"old"}):
        assert check.status == "complete", check.message()
    elif states == {"absent"}:
        assert check.status == "missing"
    else:
        assert check.status == "mixed", (present, check.message())
    return "/".join(sorted(states))


def _fault_trials(tmp_path, names, manifest_key, docs_old, docs_new, seeds, fresh):
    """Kill a set's write at random lines; check every trial."""
    manifest = docs_new[manifest_key][0]
    ref_old, ref_new = tmp_path / "ref_old", tmp_path / "ref_new"
    write_output_set(ref_old, docs_old, manifest=manifest_key)
    write_output_set(ref_new, docs_new, manifest=manifest_key)
    old, new = _files(ref_old), _files(ref_new)
    probe = tmp_path / "probe"
    total = _count_lines(lambda: write_output_set(probe, docs_new, manifest=manifest_key))
    assert total > 20
    outcomes = set()
    for seed in seeds:
        rng = random.Random(seed)
        out = tmp_path / f"trial{seed}"
        if not fresh:
            shutil.copytree(ref_old, out)
        k = rng.randint(1, total)
        assert _killed_in_child(
            lambda: write_output_set(out, docs_new, manifest=manifest_key), k)
        outcomes.add(_check_trial(out, {} if fresh else old, new, names, manifest))
        shutil.rmtree(out, ignore_errors=True)
    return outcomes


def _report_documents(result):
    from interp.report.head_report import render_html, render_json, render_markdown

    texts = {"html": render_html(result), "json": render_json(result),
             "markdown": render_markdown(result)}
    return {k: (REPORT_FILES.files[k], v) for k, v in texts.items()}


def test_report_killed_at_random_points_is_old_or_new(tmp_path):
    docs_old = _report_documents(_report(1))
    docs_new = _report_documents(_report(2))
    outcomes = _fault_trials(tmp_path, REPORT_NAMES, "json", docs_old, docs_new,
                             range(40), fresh=False)
    assert "new/old" in outcomes  # some kills fell between renames: mixed, and detected
    outcomes = _fault_trials(tmp_path / "fresh", REPORT_NAMES, "json", docs_old, docs_new,
                             range(40, 60), fresh=True)
    assert "absent" in outcomes


def test_sweep_killed_at_random_points_is_old_or_new(sweep, tmp_path):
    from interp.report.sweep_page import render_sweep_html

    other = type(sweep).from_dict({**sweep.to_dict(), "labels": ["x", "y"]})
    docs = [
        {"json": (SWEEP_FILES.files["json"],
                  json.dumps(s.to_dict(), indent=2, sort_keys=True)),
         "html": (SWEEP_FILES.files["html"], render_sweep_html(s))}
        for s in (sweep, other)
    ]
    outcomes = _fault_trials(tmp_path, SWEEP_NAMES, "json", docs[0], docs[1], range(40),
                             fresh=False)
    assert "new/old" in outcomes


def test_ctrl_c_at_random_points_leaves_no_temporary(tmp_path):
    docs_old = _report_documents(_report(1))
    docs_new = _report_documents(_report(2))
    ref_old = tmp_path / "ref_old"
    write_output_set(ref_old, docs_old, manifest="json")
    old = _files(ref_old)
    total = _count_lines(lambda: write_output_set(tmp_path / "p", docs_new, manifest="json"))
    for k in range(1, total + 1):
        out = tmp_path / f"t{k}"
        shutil.copytree(ref_old, out)
        tracer = _KillAt(k, how="interrupt")
        sys.settrace(tracer)
        try:
            write_output_set(out, docs_new, manifest="json")
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_NAMES)
        new = _files(tmp_path / "p")
        _check_trial(out, old, new, REPORT_NAMES, "report.json")


_KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from interp.cli import main
from test_output_files import _KillAt
k, argv = int(sys.argv[1]), sys.argv[2:]
tracer = _KillAt(k)
real_write = __import__("interp.io.output_files", fromlist=["write_files"]).write_files
def traced(*args, **kwargs):
    sys.settrace(tracer)
    try:
        return real_write(*args, **kwargs)
    finally:
        sys.settrace(None)
import interp.io.output_files as of
of.write_files = traced
sys.exit(main(argv))
"""


def _run_killed(k: int, argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    script = _KILL_SCRIPT.format(tests=str(ROOT / "tests"))
    return subprocess.run([sys.executable, "-c", script, str(k), *argv], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_real_commands_killed_while_writing(tmp_path, planted_dir, run_dir):
    """``interp report`` and ``interp sweep`` themselves, SIGKILLed inside the writer."""
    report_args = ["report", "--model", str(planted_dir), "--n-seqs", "4", "--seq-len", "8",
                   "--no-sweep", "--quiet"]
    sweep_args = ["sweep", "--model", str(run_dir), "--n-seqs", "4", "--seq-len", "8",
                  "--quiet"]
    for args, names, manifest, seed in ((report_args, REPORT_NAMES, "report.json", 1),
                                        (sweep_args, SWEEP_NAMES, "sweep.json", 2)):
        ref = tmp_path / f"ref-{manifest}"
        assert main([*args, "--out", str(ref), "--seed", "5"]) == 0
        new_ref = tmp_path / f"new-{manifest}"
        assert main([*args, "--out", str(new_ref), "--seed", "6"]) == 0
        old, new = _files(ref), _files(new_ref)
        out = tmp_path / f"out-{manifest}"
        shutil.copytree(ref, out)
        total = _count_lines(lambda: output_files.write_files(
            tmp_path / "count", {name: b"x" for name in names}))
        k = random.Random(seed).randint(1, total)
        done = _run_killed(k, [*args, "--out", str(out), "--seed", "6"])
        assert done.returncode == -signal.SIGKILL, done.stderr
        _check_trial(out, old, new, names, manifest)


# ---------------------------------------------------------------- full disk (item 7)


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory, planted):
    path = tmp_path_factory.mktemp("planted_model")
    save_model(planted.model, path)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    root = tmp_path_factory.mktemp("run")
    for step in (0, 10):
        cfg = TransformerBridgeConfig(
            d_model=32, d_head=8, n_heads=2, n_layers=2, n_ctx=33, d_vocab=32,
            attn_only=True, normalization_type="LN", seed=step, model_name="tiny",
        )
        model = TransformerBridge.boot_native(cfg)
        save_model(model, root / f"step_{step:05d}")
    return root


@pytest.fixture(scope="module")
def sweep(run_dir):
    from interp import score_checkpoints

    return score_checkpoints(run_dir, n_seqs=4, seq_len=6)


_FSIZE_SCRIPT = """
import resource, signal, sys
from interp.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_sweep_on_a_full_disk_keeps_the_old_files(run_dir, tmp_path):
    out = tmp_path / "out"
    args = ["sweep", "--model", str(run_dir), "--out", str(out), "--n-seqs", "4",
            "--seq-len", "6", "--quiet"]
    assert main([*args, "--seed", "1"]) == 0
    before = _files(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", _FSIZE_SCRIPT, *args, "--seed", "2"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("interp: error:") and "cannot write sweep.html into" in done.stderr
    assert "too large" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert _files(out) == before  # sweep.html (3+ MB) could not be written: nothing moved
    assert sorted(p.name for p in out.iterdir() if p.name != ITEMS_DIR) == sorted(SWEEP_NAMES)
