"""Fuzzing the JSON readers and the command line with Hypothesis (issue 20).

Inputs are valid files of each kind (spec file, project and Hugging Face ``config.json``,
``special_tokens.json``, a stored item of each kind, ``report.json``, ``sweep.json``,
``zoo.json``, a safetensors header) with random edits (a value replaced, a key deleted or
added, a value wrapped in deep nesting, ``NaN``/``1e309``, hostile labels and paths, the
text cut short), and argument lists of ``interp check``, ``zoo``, ``sweep`` and ``report``
made from hostile values. The properties:

- a reader returns, or raises a ``ValueError`` whose message is one line; never a
  traceback (``RecursionError``, ``KeyError``, ``TypeError``, ...);
- what a reader accepts can be used: a stored result that validates builds its result
  object (and a classification its summary, Markdown and zoo page);
- the command line exits 0, 1 or 2 with no traceback, one ``interp: error:`` line on exit
  2, and writes nothing outside ``--out`` (the work itself is replaced by a stub that
  stops at the first step that would compute, once every check passed).

Each test prints how many inputs it tried and how many distinct error messages it saw
(paths and quoted values masked), run with ``-s`` to read them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import interp.cli as cli
import interp.runs.pipelines as pipelines
from interp import Classification, load_report, load_sweep, save_model, write_report
from interp.io.output_files import MixedOutputError, check_directory
from interp.io.safe_json import safetensors_header
from interp.model.loading import ModelLoadError, _read_special_tokens, read_model_config
from interp.pipeline.checkpoints import CheckpointScores, assemble_sweep
from interp.report.head_report import render_json, render_markdown
from interp.report.sweep_page import write_sweep
from interp.report.zoo_page import render_zoo_html, write_zoo, zoo_document
from interp.results.checkpoints import CheckpointSweep
from interp.runs.specs import read_spec_file
from interp.runs.store import Item, read_item, write_item

from test_report import make_document

pytestmark = pytest.mark.slow

#: Examples per test (thousands in all; each test stays well under 60 s on 2 cores).
#: ``INTERP_FUZZ_EXAMPLES=N`` runs N per test with fresh random inputs (a longer hunt).
HUNT = int(os.environ.get("INTERP_FUZZ_EXAMPLES", "0"))
READER_EXAMPLES = HUNT or 1200
OUTPUT_EXAMPLES = HUNT or 800  # each copies a set and reads it back: the slowest
HEADER_EXAMPLES = HUNT or 500
CLI_EXAMPLES = HUNT or 800


# ------------------------------------------------------------------------- strategies

HOSTILE_TEXT = ["../../escaped", "/", "x/y", ".", "..", "items", "javascript:alert(1)",
                "a\0b", "L" * 300, "", "\ud800", "planted", "default", "zoo.json", "step_1",
                " ", "-1", "1e309", "NaN", "~", "\\", "%2e%2e", "<b>x</b>"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**66), 2**66), st.sampled_from(
        [0, -1, 1, 2, 10**6, 10**12, 2**63, -(2**63), 10**400]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -0.0, 1e-320]),
    st.text(max_size=12), st.sampled_from(HOSTILE_TEXT),
)
VALUES = st.recursive(
    SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.text(max_size=8) | st.sampled_from(["model", "label", "heads", "scores"]),
        kids, max_size=4), max_leaves=12)


def _nodes(doc, path=()):
    """Every (path) in a JSON tree, the root included."""
    yield path
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _nodes(value, (*path, i))


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def edited(draw, document, max_edits=3):
    """``document`` with 1 to ``max_edits`` random edits."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = list(_nodes(doc))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "insert", "deep",
                                       "wrap"]))
        if not path:
            if action in ("replace", "deep"):
                doc = draw(VALUES) if action == "replace" else [doc]
            continue
        parent, key = _get(doc, path[:-1]), path[-1]
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "insert":
            if isinstance(parent, dict):
                parent[draw(st.text(max_size=8))] = draw(VALUES)
            else:
                parent.insert(draw(st.integers(0, len(parent))), draw(VALUES))
        elif action == "deep":
            value = parent[key]
            for _ in range(draw(st.integers(1, 80))):
                value = [value]
            parent[key] = value
        else:
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    return doc


@st.composite
def text_of(draw, document):
    """JSON text: the document edited, cut short, or replaced by something else."""
    kind = draw(st.sampled_from(["edited"] * 6 + ["cut", "deep", "junk", "bytes"]))
    if kind == "edited":
        return json.dumps(draw(edited(document)), allow_nan=True)
    text = json.dumps(document)
    if kind == "cut":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "deep":
        n = draw(st.sampled_from([65, 1000, 100_000, 200_000]))
        return draw(st.sampled_from(["[", "{\"a\":"])) * n
    if kind == "junk":
        return draw(st.text(max_size=40))
    return draw(st.binary(max_size=40)).decode("latin-1")


# ------------------------------------------------------------------------- bookkeeping


class Tally:
    """Inputs tried and the distinct error messages seen (paths and values masked)."""

    def __init__(self) -> None:
        self.tried = 0
        self.messages: Counter = Counter()

    def error(self, err: BaseException, root: Path) -> None:
        text = str(err)
        assert isinstance(err, ValueError), f"{type(err).__name__}: {text}"
        self.messages[_mask(text, root)] += 1

    def report(self, name: str) -> str:
        return (f"{name}: {self.tried} inputs tried, {len(self.messages)} distinct error "
                f"messages")


def _mask(text: str, root: Path) -> str:
    text = text.replace(str(root), "<tmp>")
    text = re.sub(r"\(got .*?\)$|\(got .*?\) \(and", "(got ...)", text)
    return re.sub(r"/tmp/[^\s:,)']+", "<tmp>", text)


def _one_line(err: BaseException) -> None:
    assert "\n" not in str(err), f"{type(err).__name__} over several lines: {err}"


SETTINGS = settings(max_examples=READER_EXAMPLES, deadline=None, derandomize=not HUNT,
                    database=None, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------- seed documents


def _report_doc() -> dict:
    return make_document()


def _scores_doc() -> dict:
    grid = [[0.1, 0.2], [0.3, None]]
    return {"name": "m", "shape": [2, 2, 24, 0], "stimuli": {"seed": 0, "n_seqs": 4},
            "scores": {"induction": grid}, "nulls": {"induction": grid},
            "stderrs": {"induction": grid}, "first_copy_loss": 3.2,
            "second_copy_loss": float("nan"),
            "curves": {"values": {"prefix_matching": grid, "icl_score": [0.5]},
                       "info": {"icl": {}}},
            "measures": {"sink": grid}}


NATIVE = json.loads((Path(__file__).parents[1] / "interp" / "bundled" / "default" /
                     "config.json").read_text())
HF = {"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 100,
      "n_positions": 128, "architectures": ["GPT2LMHeadModel"], "n_inner": None}
SPEC = {"models": [{"model": "planted", "label": "p"}, "default",
                   {"model": "EleutherAI/pythia-14m", "checkpoint_value": 1000}]}


# ------------------------------------------------------------------------- readers


def test_fuzz_spec_files_and_configs(tmp_path, capsys):
    """read_spec_file, read_model_config (project and Hugging Face formats) and
    special_tokens.json on edited files."""
    tally = Tally()
    root = Path(tempfile.mkdtemp(dir=tmp_path))

    @SETTINGS
    @given(kind=st.sampled_from(["spec", "native", "hf", "special"]), data=st.data())
    def run(kind, data):
        seed = {"spec": SPEC, "native": NATIVE, "hf": HF,
                "special": {"special_token_ids": [5, 6]}}[kind]
        text = data.draw(text_of(seed))
        tally.tried += 1
        case = root / "case"
        shutil.rmtree(case, ignore_errors=True)
        case.mkdir()
        name = {"spec": "spec.json", "special": "special_tokens.json"}.get(kind, "config.json")
        (case / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            if kind == "spec":
                specs = read_spec_file(case / name)
                assert specs and all(isinstance(s["model"], str) for s in specs)
            elif kind == "special":
                assert all(isinstance(i, int) for i in _read_special_tokens(case))
            else:
                config = read_model_config(case)
                assert isinstance(config, dict)
        except ValueError as err:
            _one_line(err)
            tally.error(err, root)

    run()
    print(tally.report("spec files and configs"))
    assert tally.tried >= READER_EXAMPLES * 0.9 and len(tally.messages) > 30


@pytest.fixture(scope="module")
def output_templates(tmp_path_factory):
    """A valid report, sweep and zoo set to edit."""
    root = tmp_path_factory.mktemp("templates")
    result = Classification.from_dict(make_document())
    write_report(result, root / "report")
    grid = torch.zeros(2, 2, 2)
    write_sweep(CheckpointSweep(
        labels=("step_0", "step_1"), steps=(0, 1), sources=("a", "b"), n_layers=2, n_heads=2,
        scores={"induction": grid}, nulls={"induction": grid}, stderrs={"induction": grid},
        first_copy_loss=torch.ones(2), second_copy_loss=torch.ones(2),
        stimuli={"seed": 0}), root / "sweep")
    write_report(result, root / "zoo" / "a")
    write_zoo({"a": result}, root / "zoo", sources={"a": "/m/a"})
    return root


def test_fuzz_output_sets(output_templates, tmp_path):
    """check_directory (interp check), load_report and load_sweep on edited manifests."""
    tally = Tally()
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    seeds = {kind: json.loads((output_templates / kind / f"{kind}.json").read_text())
             for kind in ("report", "sweep", "zoo")}

    @settings(SETTINGS, max_examples=OUTPUT_EXAMPLES)
    @given(kind=st.sampled_from(["report", "sweep", "zoo"]), data=st.data())
    def run(kind, data):
        text = data.draw(text_of(seeds[kind]))
        tally.tried += 1
        case = root / "case"
        shutil.rmtree(case, ignore_errors=True)
        shutil.copytree(output_templates / kind, case)
        (case / f"{kind}.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        checks = check_directory(case)
        assert checks and all(c.status in ("complete", "mixed", "unknown") for c in checks)
        for check in checks:
            for problem in check.problems:
                assert "\n" not in problem
                if check.status == "unknown":
                    tally.messages[_mask(problem, root)] += 1
        try:
            if kind == "report":
                load_report(case).summary()
            elif kind == "sweep":
                loaded = load_sweep(case)
                assert loaded.n_checkpoints == len(loaded.labels)
        except ValueError as err:
            if type(err) is not MixedOutputError:  # a mixed set lists its files, a line each
                _one_line(err)
            tally.error(err, root)

    run()
    print(tally.report("report.json, sweep.json, zoo.json"))
    assert tally.tried >= OUTPUT_EXAMPLES * 0.9 and len(tally.messages) > 30


def test_fuzz_stored_items(tmp_path):
    """read_item on edited items of both kinds: a result it accepts can be used."""
    tally = Tally()
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    settings_ = {"n_seqs": 4, "seed": 0}
    seeds = {"checkpoint_scores": _scores_doc(), "classification": _report_doc()}
    items = {kind: Item("m", {"model": "planted"}, "0123456789abcdef" * 2) for kind in seeds}
    records = {}
    for kind, result in seeds.items():
        write_item(root, items[kind], result, settings_)
        records[kind] = json.loads((root / "items" / f"{items[kind].key}.json").read_text())

    @SETTINGS
    @given(kind=st.sampled_from(sorted(seeds)), data=st.data())
    def run(kind, data):
        # mostly edits inside the result, so that the record still matches
        inner = data.draw(st.booleans()) or data.draw(st.booleans())
        record = copy.deepcopy(records[kind])
        if inner:
            record["result"] = data.draw(edited(record["result"]))
            text = json.dumps(record, allow_nan=True)
        else:
            text = data.draw(text_of(record))
        tally.tried += 1
        path = root / "items" / f"{items[kind].key}.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        stored = read_item(root, items[kind], kind, settings_)
        if stored.result is None:
            if stored.problem is not None:
                assert "\n" not in stored.problem and str(path) in stored.problem
                tally.messages[_mask(stored.problem, root)] += 1
            return
        if kind == "checkpoint_scores":
            scores = CheckpointScores.from_dict(stored.result)
            assemble_sweep(["m"], [0], ["planted"], [scores])
        else:
            result = Classification.from_dict(stored.result)
            result.summary()
            render_markdown(result)
            render_json(result)
            render_zoo_html(zoo_document({"m": result}))

    run()
    print(tally.report("stored items"))
    assert tally.tried >= READER_EXAMPLES * 0.9 and len(tally.messages) > 30


def test_fuzz_safetensors_headers(tmp_path):
    tally = Tally()
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    header = {"__metadata__": {"format": "pt"},
              "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}

    @settings(SETTINGS, max_examples=HEADER_EXAMPLES)
    @given(data=st.data())
    def run(data):
        text = data.draw(text_of(header)).encode("utf-8", "surrogatepass")
        length = data.draw(st.sampled_from([len(text), len(text) + 1, 0, 2**63, len(text) - 1]))
        payload = data.draw(st.sampled_from([b"\0" * 16, b"", b"\0" * 4]))
        tally.tried += 1
        path = root / "model.safetensors"
        path.write_bytes(max(0, length).to_bytes(8, "little") + text + payload)
        try:
            tensors = safetensors_header(path)
            assert all(all(isinstance(d, int) for d in t["shape"]) for t in tensors.values())
        except ValueError as err:
            _one_line(err)
            tally.error(err, root)

    run()
    print(tally.report("safetensors headers"))
    assert tally.tried >= HEADER_EXAMPLES * 0.9 and len(tally.messages) > 10


# ------------------------------------------------------------------------- the command line


class Reached(Exception):
    """The stub of the first step that computes: every check before it passed."""


def _stub(*args, **kwargs):
    raise Reached


def _snapshot(root: Path, skip: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            continue
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            if path == skip:
                continue
            info = path.lstat()
            out[str(path)] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return out


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory, random_model):
    """A valid project-format model directory to edit, and a valid Hugging Face config."""
    root = tmp_path_factory.mktemp("models")
    save_model(random_model, root / "native")
    return root


FLAGS = ["--seed", "--n-seqs", "--seq-len", "--exclude-tokens", "--device", "--dtype",
         "--device-map", "--threads", "--workers", "--method", "--heldout-text", "--text",
         "--batch-size", "--stimuli"]
VALUES_ARGV = st.one_of(st.sampled_from(
    ["0", "1", "-1", "2", "4", "31", "2147483648", "1e309", "nan", "", "cuda", "meta",
     "cpu", "bogus", "float32", "auto", '{"": "cpu"}', '{"a": ' + "[" * 100_000, "[]",
     "5,63", "x,y", "random", "text", "mean", "zero"] + HOSTILE_TEXT),
    st.text(max_size=10))


@st.composite
def argv(draw, sandbox: Path, out: Path):
    command = draw(st.sampled_from(["check", "zoo", "sweep", "report"]))
    inputs = sandbox / "inputs"
    spec = inputs / "spec.json"
    spec.write_text(draw(text_of(SPEC)), encoding="utf-8", errors="surrogatepass")
    config = inputs / "model" / "config.json"
    config.write_text(draw(text_of(NATIVE)), encoding="utf-8", errors="surrogatepass")
    models = st.sampled_from([str(spec), str(inputs / "model"), str(inputs / "missing"),
                              str(inputs), "planted:nope", "no/such-model",
                              "javascript:alert(1)", str(sandbox)])
    if command == "check":
        where = draw(st.sampled_from([str(out), str(inputs), str(spec), "", str(sandbox)]))
        return ["check", where]
    args = [command]
    if command == "zoo":
        args += ["--models", *draw(st.lists(models | st.just("planted"), min_size=1,
                                             max_size=3))]
    else:
        args += ["--model", *draw(st.lists(models, min_size=1,
                                           max_size=1 if command == "report" else 3))]
    args += ["--out", draw(st.sampled_from([str(out), str(out / "sub"), str(spec), ""]))]
    for _ in range(draw(st.integers(0, 4))):
        args += [draw(st.sampled_from(FLAGS)), draw(VALUES_ARGV)]
    return args + ["--quiet"]


def test_fuzz_command_line(tmp_path, model_dirs, monkeypatch):
    """interp check / zoo / sweep / report with hostile arguments and files."""
    tally = Tally()
    outcomes: Counter = Counter()
    sandbox = Path(tempfile.mkdtemp(dir=tmp_path))
    (sandbox / "inputs").mkdir()
    shutil.copytree(model_dirs / "native", sandbox / "inputs" / "model")
    out = sandbox / "out"
    monkeypatch.setattr(pipelines, "run_items", _stub)  # zoo and sweep: the first work
    monkeypatch.setattr(cli, "_classify", _stub)  # report: the census
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    @settings(SETTINGS, max_examples=CLI_EXAMPLES)
    @given(data=st.data())
    def run(data):
        args = data.draw(argv(sandbox, out))
        tally.tried += 1
        before = _snapshot(sandbox, out)
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = cli.main(args)
        except Reached:
            code = "reached"
        except SystemExit as exit_:  # argparse: a usage error
            code = f"usage {exit_.code}"
            assert exit_.code == 2
        finally:
            torch.set_num_threads(1)
        err = stderr.getvalue()
        assert "Traceback" not in err, (args, err)
        assert code in (0, 1, 2, "reached", "usage 2"), (args, code, err)
        if code == 2:
            lines = [x for x in err.splitlines() if x.startswith("interp: error:")]
            assert len(lines) == 1, (args, err)
            tally.messages[_mask(lines[0], sandbox)] += 1
        outcomes[code] += 1
        after = _snapshot(sandbox, out)
        changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        assert not changed, (args, changed)  # nothing outside --out
        shutil.rmtree(out, ignore_errors=True)

    run()
    print(tally.report("command line") + f"; outcomes {dict(outcomes)}")
    assert tally.tried >= CLI_EXAMPLES * 0.9 and len(tally.messages) > 20
    assert outcomes["reached"] > 0 and outcomes[2] > 0


def test_mask_hides_paths_and_values():
    assert _mask("/tmp/x/y: n must be an integer (got 'a')", Path("/tmp/x")) == (
        "<tmp>/y: n must be an integer (got ...)")
    assert math.isfinite(1.0)
