"""``interp report`` end to end: files, summary, determinism, bad input."""

import json
import subprocess
import sys

import pytest

from interp import save_model
from interp.cli import _parser, main
from interp.io.output_files import CIRCUIT_FILES, check_directory
from interp.io.safe_json import validate
from interp.io.schemas import CircuitDoc, ReportDoc
from interp.spec.ablation_methods import ablation_method_names
from interp.stimuli.preflight import DEFAULT_SEQ_LEN


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory, planted):
    path = tmp_path_factory.mktemp("planted_model")
    save_model(planted.model, path)
    return path


ARGS = ["--n-seqs", "8", "--seq-len", "12", "--quiet"]


def test_report_writes_three_files_and_prints_a_summary(planted_dir, tmp_path, capsys):
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"), *ARGS]) == 0
    out = capsys.readouterr().out
    assert "induction: 1.0" in out and "previous_token: 0.0" in out
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "report.html", "report.json", "report.md"]
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [h["head"] for h in data["heads"]][:2] == ["0.0", "0.1"]
    assert data["settings"]["seed"] == 0 and data["settings"]["n_seqs"] == 8


def test_same_seed_same_report_other_seed_other_numbers(planted_dir, tmp_path):
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / name),
                     "--seed", seed, *ARGS]) == 0
    for file in ("report.html", "report.json", "report.md"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "report.json").read_bytes() != (
        tmp_path / "c" / "report.json").read_bytes()


def test_bad_model_exits_2_with_a_clear_message(tmp_path, capsys):
    assert main(["report", "--model", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "r"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_out_is_a_file_exits_2_and_writes_nothing(planted_dir, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert main(["report", "--model", str(planted_dir), "--out", str(target), *ARGS]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_too_long_sequences_exit_2(planted_dir, tmp_path, capsys):
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"),
                 "--seq-len", "40", "--quiet"]) == 2
    assert "context" in capsys.readouterr().err


def test_text_file_needs_text(planted_dir, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"),
                 "--text", str(empty), *ARGS]) == 2
    assert "holds no text" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "interp", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "report" in done.stdout and "sweep" in done.stdout



# ------------------------------------------------------------- flags shared by subcommands

REQUIRED = {"report": ["--out", "o"], "sweep": ["--model", "m", "--out", "o"],
            "zoo": ["--models", "m", "--out", "o"]}
SHARED = {"seed": 0, "n_seqs": 32, "exclude_tokens": "", "device": None, "dtype": None,
          "device_map": None, "threads": 1, "quiet": False}


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_shared_flags_have_one_meaning_in_every_subcommand(command):
    args = _parser().parse_args([command, *REQUIRED[command]])
    # report sizes its census by the model (census_size: smaller for large models)
    expected = {**SHARED, "n_seqs": None} if command == "report" else SHARED
    assert {k: getattr(args, k) for k in SHARED} == expected
    # report and sweep fit the default length to the context; zoo uses it as is
    assert args.seq_len == (DEFAULT_SEQ_LEN if command == "zoo" else None)
    assert hasattr(args, "method") == (command != "sweep")
    assert hasattr(args, "ray") == (command != "report")
    given = _parser().parse_args([command, *REQUIRED[command], "--seed", "3", "--n-seqs", "4",
                                  "--seq-len", "9", "--threads", "2", "--quiet"])
    assert (given.seed, given.n_seqs, given.seq_len, given.threads, given.quiet) == (
        3, 4, 9, 2, True)


def test_method_choices_are_the_registered_ablation_methods(capsys):
    for command in ("report", "zoo"):
        for name in ablation_method_names():
            args = _parser().parse_args([command, *REQUIRED[command], "--method", name])
            assert args.method == name
        with pytest.raises(SystemExit):
            _parser().parse_args([command, *REQUIRED[command], "--method", "no-such-method"])
    assert "invalid choice" in capsys.readouterr().err


# ------------------------------------------------- errors found early, one line (issue 9)

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _early_error(argv, capsys):
    """Run without --quiet: a census would print its progress bar ("census") first."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "census" not in err and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("interp: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_empty_out_is_refused_before_anything(planted_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _early_error(["report", "--model", str(planted_dir), "--out", ""], capsys)
    assert "empty" in line
    assert list(tmp_path.iterdir()) == []


def test_unwritable_out_is_refused_before_the_census(planted_dir, capsys):
    line = _early_error(["report", "--model", str(planted_dir), "--out",
                         "/proc/interp-cannot-write-here"], capsys)
    assert "not writable" in line and "/proc" in line


@pytest.mark.parametrize("seed", ["-1", "12345678901234567890123", "4294967296"])
def test_bad_seed_is_refused_before_the_census(planted_dir, tmp_path, capsys, seed):
    line = _early_error(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"),
                         "--seed", seed], capsys)
    assert "seed must be an integer from 0 to 2147483647" in line
    assert not (tmp_path / "r").exists()


def test_text_without_a_tokenizer_is_refused_before_the_census(planted_dir, tmp_path,
                                                              capsys):
    text = tmp_path / "t.txt"
    text.write_text("some text\n")
    line = _early_error(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"),
                         "--text", str(text)], capsys)
    assert "needs a model with a tokenizer" in line


@pytest.mark.parametrize("device, match", [("bogus", "unknown device"),
                                           ("meta", "holds no weights")])
def test_bad_device_is_one_line_in_report_and_sweep(planted_dir, tmp_path, capsys, device,
                                                   match):
    for command in ("report", "sweep"):
        line = _early_error([command, "--model", str(planted_dir), "--out",
                             str(tmp_path / command), "--device", device], capsys)
        assert match in line


def test_exclude_tokens_are_never_drawn_and_are_recorded(planted_dir, tmp_path, capsys):
    excluded = list(range(1, 19))  # the planted vocabulary is 24: leaves 19..23
    out = tmp_path / "r"
    assert main(["report", "--model", str(planted_dir), "--out", str(out), *ARGS,
                 "--exclude-tokens", ",".join(map(str, excluded))]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["settings"]["exclude_tokens"] == excluded
    assert set(excluded) <= set(data["settings"]["excluded_ids"])
    assert set(data["example"]["tokens"][1:]) <= {19, 20, 21, 22, 23}
    line = _early_error(["report", "--model", str(planted_dir), "--out", str(out),
                         "--exclude-tokens", "5,x"], capsys)
    assert "'x' is not an integer" in line
    assert main(["report", "--model", str(planted_dir), "--out", str(out), *ARGS,
                 "--exclude-tokens", "99"]) == 2
    assert "outside the model's vocabulary" in capsys.readouterr().err


def test_default_seq_len_is_fitted_to_a_short_context(tmp_path, capsys):
    """A 41-position model: the default 30 needs 61, so 20 is used and said; an explicit
    --seq-len that does not fit stays an error."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(d_model=32, d_head=8, n_heads=2, n_layers=1, n_ctx=41,
                                  d_vocab=48, attn_only=True, seed=0, model_name="short")
    save_model(TransformerBridge.boot_native(cfg), tmp_path / "m")
    args = ["report", "--model", str(tmp_path / "m"), "--n-seqs", "4", "--no-sweep",
            "--quiet"]
    assert main([*args, "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "using --seq-len 20, the longest repeat that fits" in err
    assert json.loads((tmp_path / "r" / "report.json").read_text())["settings"]["seq_len"] == 20
    assert main([*args, "--out", str(tmp_path / "r2"), "--seq-len", "30"]) == 2
    assert "--seq-len 30 needs 61 positions" in capsys.readouterr().err


def _env():
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


@pytest.mark.slow
def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    import os
    import signal
    import time

    # A shell's background jobs start with SIGINT ignored, and Python keeps an inherited
    # "ignore": give the child the default disposition, as a terminal's Ctrl-C would find.
    proc = subprocess.Popen(
        [sys.executable, "-m", "interp", "report", "--model", "default", "--out",
         str(tmp_path / "r"), "--n-seqs", "3000", "--batch-size", "8", "--no-sweep"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = b""
    deadline = time.monotonic() + 120
    while b"census" not in seen and time.monotonic() < deadline:
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    assert b"census" in seen, seen
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=240)  # generous: the CI machine is shared
    err = (seen + rest).decode()
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.replace("\r", "\n").rstrip().splitlines()[-1] == "interp: interrupted"
    assert not (tmp_path / "r").exists()


_LIMITED = """
import resource, sys, torch
torch.set_num_threads(1)
from interp.cli import _parser, main
from interp.spec.ablation_methods import ablation_method_names
from interp.stimuli.preflight import DEFAULT_SEQ_LEN
from interp.model.loading import load_model
load_model(sys.argv[2])  # imports and the model itself, before the limit
vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
limit = vm * 1024 + int(sys.argv[1]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(main(sys.argv[3:]))
"""


def _limited(extra_mib, model, argv):
    return subprocess.run([sys.executable, "-c", _LIMITED, str(extra_mib), str(model), *argv],
                          capture_output=True, text=True, timeout=600, env=_env())


@pytest.fixture(scope="module")
def text_model_dir(tmp_path_factory, planted):
    import os

    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<bos>", "<unk>"] + [f"w{i}" for i in range(22)]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)},
                                           unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path_factory.mktemp("text_model")
    save_model(planted.model, path)
    tokenizer.save(os.path.join(path, "tokenizer.json"))
    return path


@pytest.mark.slow
def test_many_text_lines_stay_within_a_memory_limit(text_model_dir, tmp_path):
    """1000 lines of 100 words: the text census used to run them in one forward pass
    (about 1 GB here, 5.6 GB for 5000 lines); batched, it fits in 600 MiB more than the
    loaded model."""
    import random

    rng = random.Random(0)
    text = tmp_path / "lines.txt"
    text.write_text("\n".join(" ".join(f"w{rng.randrange(22)}" for _ in range(100))
                              for _ in range(1000)) + "\n")
    done = _limited(600, text_model_dir, [
        "report", "--model", str(text_model_dir), "--out", str(tmp_path / "r"),
        "--n-seqs", "4", "--seq-len", "8", "--no-sweep", "--quiet", "--text", str(text),
        "--batch-size", "100"])
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["text_scores"]["stimuli"]["n_texts"] == 1000


@pytest.mark.slow
def test_running_out_of_memory_is_an_error_that_names_batch_size(tmp_path):
    from interp.model.loading import DEFAULT_MODEL_DIR

    done = _limited(300, DEFAULT_MODEL_DIR, [
        "report", "--model", "default", "--out", str(tmp_path / "r"), "--n-seqs", "20000",
        "--no-sweep", "--quiet"])
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("interp: error: out of memory")
    assert "--batch-size" in done.stderr
    assert not (tmp_path / "r").exists()


def test_text_files_are_read_with_a_cap(planted_dir, tmp_path, capsys):
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(65 * 2**20)  # 65 MiB of zeros, sparse
    for source in (big, "/dev/zero"):
        line = _early_error(["report", "--model", str(planted_dir), "--out",
                             str(tmp_path / "r"), "--text", str(source)], capsys)
        assert "more than 64 MiB" in line


# ------------------------------------ what a researcher sees: specs, early errors, --quiet (issue 19)

def test_report_takes_every_spec_zoo_takes(tmp_path, capsys):
    from interp.runs.specs import PLANTED_SPECS

    assert main(["report", "--model", "planted:redundant", "--out", str(tmp_path / "r"),
                 *ARGS, "--no-sweep"]) == 0
    assert "planted-redundant" in capsys.readouterr().out
    for command, flag in (("report", "--model"), ("zoo", "--models")):
        text = " ".join(_parser()._subparsers._group_actions[0].choices[command]
                        .format_help().split())
        for name in ("default", "text", "smollm2", *PLANTED_SPECS):
            assert f"'{name}'" in text, (command, name)


def test_an_unknown_model_lists_every_spec(tmp_path, capsys):
    line = _early_error(["report", "--model", "plantd", "--out", str(tmp_path / "r")], capsys)
    for name in ("'default'", "'text'", "'smollm2'", "'planted'", "'planted:redundant'",
                 "a model directory", "TransformerLens"):
        assert name in line
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def run_without_tokenizer(tmp_path_factory, planted):
    run = tmp_path_factory.mktemp("run")
    for step in (0, 100, 200):
        save_model(planted.model, run / f"step_{step:05d}")
    return run


def test_heldout_text_without_tokenizers_is_one_short_line_before_any_work(
        run_without_tokenizer, tmp_path, capsys, monkeypatch):
    import interp.runs.specs as specs

    def no_loading(*args, **kwargs):
        raise AssertionError("a checkpoint was loaded before the tokenizer check")

    monkeypatch.setattr(specs, "load_model", no_loading)
    line = _early_error(["sweep", "--model", str(run_without_tokenizer), "--out",
                         str(tmp_path / "s"), "--heldout-text", "text"], capsys)
    assert line == ("interp: error: --heldout-text needs checkpoints with a tokenizer; 3 of 3 "
                    "have none (step_00000, step_00100, step_00200)")
    assert not (tmp_path / "s").exists()


def test_dtype_choices_are_what_the_loader_takes(capsys):
    from interp.model.loading import DTYPE_NAMES, dtype_from

    for command in REQUIRED:
        action = next(a for a in _parser()._subparsers._group_actions[0].choices[command]
                      ._actions if a.dest == "dtype")
        assert tuple(action.choices) == DTYPE_NAMES
        with pytest.raises(SystemExit):
            _parser().parse_args([command, *REQUIRED[command], "--dtype", "int8"])
    assert "invalid choice: 'int8'" in capsys.readouterr().err
    assert all(dtype_from(name) is not None for name in DTYPE_NAMES)
    assert set(DTYPE_NAMES) == {"float32", "float16", "bfloat16", "float64"}


def test_quiet_silences_what_libraries_print_while_loading(planted_dir, tmp_path, capsys):
    """--dtype float64 makes TransformerLens print "Moving model to device" and "Changing
    model dtype"; --quiet keeps stdout to the summary and stderr empty."""
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"), *ARGS,
                 "--no-sweep", "--dtype", "float64"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].endswith("mean ablation, seed 0"), captured.out[:200]
    assert "Moving model" not in captured.out + captured.err
    assert captured.err == ""


def test_quiet_silences_library_bars_but_not_warnings(capsys):
    import warnings

    from tqdm.auto import tqdm

    from interp.cli import _libraries_silenced

    with _libraries_silenced(True):
        for _ in tqdm(range(3), desc="Converting and de-quantizing GGUF tensors..."):
            print("Moving model to device:  cpu")
        warnings.warn("a warning still shows", UserWarning, stacklevel=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Converting" not in captured.err and "a warning still shows" in captured.err
    with _libraries_silenced(False):
        print("shown")
    assert capsys.readouterr().out == "shown\n"


# ------------------------------------------------- checks before work (issue 20, item 3)


def _short_model(path, n_ctx=41, n_layers=1):
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(d_model=32, d_head=8, n_heads=2, n_layers=n_layers,
                                  n_ctx=n_ctx, d_vocab=48, attn_only=True, seed=0,
                                  model_name="short")
    save_model(TransformerBridge.boot_native(cfg), path)
    return path


def test_sweep_of_two_architectures_fails_before_computing(tmp_path, capsys):
    """Old code: "needs one architecture" only after computing both items."""
    model = _short_model(tmp_path / "m")
    out = tmp_path / "out"
    line = _early_error(["sweep", "--model", str(model), "planted", "--out", str(out),
                         "--n-seqs", "4", "--seq-len", "6"], capsys)
    assert "'planted' has (layers, heads, vocabulary) (2, 6, 24)" in line
    assert "'m' has (1, 2, 48): a sweep needs one architecture" in line
    assert not out.exists()


def test_zoo_fits_the_default_seq_len_to_a_short_context(tmp_path, capsys):
    """Old code: ``interp zoo`` failed on a 41-position model where report and sweep
    shorten the repeat; an explicit --seq-len that does not fit stays an error."""
    model = _short_model(tmp_path / "m")
    args = ["zoo", "--models", str(model), "--n-seqs", "4", "--no-sweep", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "z")]) == 0
    assert "m's context is too short for the default --seq-len 30: using --seq-len 20" in (
        capsys.readouterr().err)
    report = json.loads((tmp_path / "z" / "m" / "report.json").read_text())
    assert report["settings"]["seq_len"] == 20
    assert main([*args, "--out", str(tmp_path / "z2"), "--seq-len", "30"]) == 2
    assert "seq_len 30 needs 61 positions" in capsys.readouterr().err
    assert _parser().parse_args(args[:3] + ["--out", "x"]).seq_len == DEFAULT_SEQ_LEN


def test_report_on_an_absurd_config_is_one_line_at_once(tmp_path, capsys):
    model = _short_model(tmp_path / "m")
    config = json.loads((model / "config.json").read_text())
    config["n_layers"] = 10**6
    (model / "config.json").write_text(json.dumps(config))
    line = _early_error(["report", "--model", str(model), "--out", str(tmp_path / "r")], capsys)
    assert "config.json: n_layers must be less than or equal to 4096 (got 1000000)" in line
    assert not (tmp_path / "r").exists()


def test_device_map_json_is_read_bounded(planted_dir, tmp_path, capsys):
    """Old code: a RecursionError traceback."""
    deep = '{"a": ' + "[" * 100_000
    line = _early_error(["sweep", "--model", str(planted_dir), "--out", str(tmp_path / "s"),
                         "--device-map", deep], capsys)
    assert "--device-map is neither a name nor a JSON object" in line
    assert "nested deeper than 64" in line


def test_report_sizes_its_census_by_the_model(tmp_path):
    """Without --n-seqs / --seq-len a model of more heads than MAX_EXACT_SWEEP gets the
    smaller census; the bundled models keep the full one; explicit values always win."""
    from types import SimpleNamespace

    from interp.pipeline.classify import CENSUS_SIZE, LARGE_CENSUS_SIZE, census_size

    def shaped(n_layers, n_heads):
        return SimpleNamespace(cfg=SimpleNamespace(n_layers=n_layers, n_heads=n_heads))

    assert census_size(shaped(2, 4)) == census_size(shaped(8, 8)) == CENSUS_SIZE
    assert census_size(shaped(30, 9)) == LARGE_CENSUS_SIZE  # SmolLM2-135M
    out = tmp_path / "large"
    assert main(["report", "--model", "default", "--out", str(out), "--no-sweep", "--quiet"]) == 0
    settings = json.loads((out / "report.json").read_text())["settings"]
    assert (settings["n_seqs"], settings["seq_len"]) == CENSUS_SIZE


def test_every_long_stage_shows_progress_and_quiet_silences_it(tmp_path, capsys):
    args = ["report", "--model", "default", "--n-seqs", "8", "--seq-len", "12"]
    assert main([*args, "--out", str(tmp_path / "loud")]) == 0
    loud = capsys.readouterr().err
    for stage in ("census", "ablations", "ablation sweep", "layer probes",
                  "induction_long check"):
        assert f"{stage}:" in loud, stage
    assert main([*args, "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    quiet = capsys.readouterr().err
    assert "%|" not in quiet and "ablations:" not in quiet


def test_report_circuit_writes_and_links_the_circuit_set(tmp_path, capsys):
    """``--circuit`` on the bundled model: the circuit set beside the report, linked from
    report.html/md, its run id recorded in report.json, every set checked."""
    out = tmp_path / "r"
    assert main(["report", "--model", "default", "--out", str(out), "--n-seqs", "8",
                 "--no-sweep", "--circuit", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "circuit of" in printed and "circuit.html" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["report.html", "report.json", "report.md", *CIRCUIT_FILES.names])
    report = json.loads((out / "report.json").read_text())
    circuit = json.loads((out / "circuit.json").read_text())
    validate(ReportDoc, report, source="report.json")
    validate(CircuitDoc, circuit, source="circuit.json")
    assert report["circuit"]["run_id"] == circuit["output_set"]["run_id"]
    html, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    assert 'href="circuit.html"' in html and '<section id="circuit">' in html
    assert "](circuit.md)" in md and "## Circuit" in md
    for head in circuit["receivers"]:  # every confirmed head has its row
        assert f"| {head} |" in md
    confirmed = [e for e in circuit["edges"] if e["status"] == "confirmed"]
    assert confirmed and f"{confirmed[0]['source']} \\[{confirmed[0]['input']}\\]" in md
    assert main(["check", str(out)]) == 0
    assert all(c.ok for c in check_directory(out))
    # A circuit set that is not the one the report links makes the pair mixed.
    (out / "circuit.md").unlink()
    (out / "circuit.html").unlink()
    (out / "circuit.json").unlink()
    capsys.readouterr()
    assert main(["check", str(out)]) == 1
    assert "links the circuit set of run id" in capsys.readouterr().err


def test_report_without_circuit_writes_no_circuit_files(tmp_path):
    out = tmp_path / "r"
    assert main(["report", "--model", "default", "--out", str(out), "--n-seqs", "8",
                 "--no-sweep", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json",
                                                     "report.md"]
    assert "circuit" not in json.loads((out / "report.json").read_text())
    assert "circuit.html" not in (out / "report.html").read_text()


def test_report_circuit_refuses_text_stimuli_before_loading(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["report", "--model", "text", "--out", str(out), "--circuit", "--quiet"]) == 2
    assert "--circuit needs random" in capsys.readouterr().err
    assert not out.exists()
