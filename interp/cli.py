"""Command line (also ``python -m interp``):

- ``interp report --model SPEC --out DIR``: census, classification and report of one model;
  with ``--circuit``, also the circuit of its confirmed heads (from the same census), written
  beside the report (``circuit.html``/``json``/``md``) and linked from it;
- ``interp sweep --model DIR [DIR ...] --out DIR``: head scores across the checkpoints of a
  training run (or one run directory holding ``step_*`` checkpoints); writes ``sweep.json``
  and ``sweep.html``; resumable, and ``--ray`` runs one Ray task per checkpoint;
- ``interp zoo --models SPEC ... --out DIR``: classify several models, write each one's
  report and a comparison page (``zoo.html``, ``zoo.json``).
- ``interp circuit --model SPEC --out DIR [--behavior NAME ...]``: every edge into the
  confirmed heads (q, k, v) and into the logits scored by edge attribution patching, the
  top ones checked by path patching; writes ``circuit.html``, ``circuit.json``,
  ``circuit.md`` (:func:`interp.find_circuit`).
- ``interp check DIR``: checks that the report, sweep or zoo files in ``DIR`` (and a zoo's
  model reports) belong together (one run id, a manifest that fits its schema; see
  :mod:`interp.io.output_files`); exit 1 when a set is mixed or unknown.

Whatever can be checked before the census is (the output directory, the seed, the device,
``--exclude-tokens``, the ``--text`` file, whether the model has a tokenizer for it, and
whether ``sweep --heldout-text``'s checkpoints have one), so bad input fails at once with
one line. ``report`` and ``zoo`` take the same model specs
(:data:`interp.runs.specs.SPEC_HELP`). ``--quiet`` also silences what libraries print while
models load and run. Ctrl-C prints ``interp: interrupted`` and exits 130;
running out of memory is an error that suggests ``--batch-size``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from .engine.edges import check_supported
from .io.output_files import OUTPUT_SETS, check_directory, check_output_dir
from .io.safe_json import parse_json
from .model.loading import DTYPE_NAMES, ModelLoadError, check_device
from .pipeline.circuit import CircuitSettings, find_circuit
from .pipeline.classify import (
    CENSUS_SIZE,
    LARGE_CENSUS_SIZE,
    MAX_EXACT_SWEEP,
    ClassifySettings,
    census_size,
    classify_heads,
)
from .pipeline.text_model import classify_text_model, heldout_documents, heldout_source
from .report.circuit_page import write_circuit
from .report.head_report import write_report
from .report.sweep_page import best_head_text, rise_lines
from .runs.pipelines import run_sweep, run_zoo
from .runs.runner import RayMissingError
from .runs.specs import SPEC_HELP, expand_specs, has_tokenizer, load_spec, spec_label
from .spec.ablation_methods import ablation_method_names
from .spec.behaviors import registered_behaviors
from .stimuli.preflight import (
    DEFAULT_SEQ_LEN,
    check_seed,
    fit_seq_len,
    parse_token_ids,
    read_texts,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interp", description="Classify every attention head of a transformer."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report", parents=[_common_flags(fit_seq_len=True, sized=True), _ablation_flags()],
        help="score, classify and ablation-test every head; write report.html/json/md",
    )
    report.add_argument("--model", default="default", metavar="SPEC",
                        help=f"the model (default: 'default'): {SPEC_HELP}")
    report.add_argument("--out", required=True, help="directory to write the report into")
    report.add_argument("--batch-size", type=int, default=None,
                        help="sequences per census forward pass (default: all at once)")
    report.add_argument("--text", default=None, metavar="FILE",
                        help="also score the heads on this text file, one text per line "
                             "(needs a model with a tokenizer); default for a model that "
                             "ships held-out text (--model text): that text")
    report.add_argument("--stimuli", default="auto", choices=["auto", "random", "text"],
                        help="[BOS] r r stimuli: random tokens, or spans of the model's "
                             "held-out text (auto: text where the model ships held-out text)")
    report.add_argument("--circuit", action="store_true",
                        help="also find the circuit of the confirmed heads (as `interp "
                             "circuit` does, from this census) and write circuit.html/json/md "
                             "beside the report, which links it")

    sweep = commands.add_parser(
        "sweep", parents=[_common_flags(fit_seq_len=True), _ray_flags()],
        help="score every head at every checkpoint of a training run; write sweep.json/html",
    )
    sweep.add_argument("--model", nargs="+", required=True, metavar="DIR",
                       help="checkpoint directories (steps parsed from names like "
                            "step_00100), or one run directory holding them")
    sweep.add_argument("--out", required=True, help="directory to write sweep.json/html into")
    sweep.add_argument("--heldout-text", default=None, metavar="FILE_OR_MODEL",
                       help="held-out text for the in-context score and repeated-text scores: "
                            "a heldout.txt file, any text file (one document), or a model "
                            "that ships one (e.g. 'text')")

    zoo = commands.add_parser(
        "zoo", parents=[_common_flags(fit_seq_len=False), _ablation_flags(), _ray_flags()],
        help="classify several models; write each one's report and a comparison page",
    )
    zoo.add_argument("--models", nargs="+", required=True, metavar="SPEC",
                     help=f"the models, each {SPEC_HELP}; or a .json spec file listing them")
    zoo.add_argument("--out", required=True,
                     help="directory for zoo.html/json and one report directory per model")

    circuit = commands.add_parser(
        "circuit", parents=[_common_flags(fit_seq_len=True, sized=True)],
        help="score every edge into the confirmed heads and the logits, path-patch the "
             "top; write circuit.html/json/md",
    )
    circuit.add_argument("--model", default="default", metavar="SPEC",
                         help=f"the model (default: 'default'): {SPEC_HELP}")
    circuit.add_argument("--out", required=True, help="directory to write the circuit into")
    circuit.add_argument("--behavior", nargs="+", default=None, metavar="NAME",
                         help="only the heads confirmed for these behaviors are receivers "
                              "(default: every registered behavior)")
    circuit.add_argument("--method", default="mean", choices=ablation_method_names(),
                         help="ablation method that makes a sender's corrupt output")
    circuit.add_argument("--max-checked", type=int, default=None, metavar="N",
                         help="path-patch only the N edges of largest |score| (default: all)")
    circuit.add_argument("--ig-steps", type=int, default=5, metavar="N",
                         help="gradient points per edge score (0: plain edge attribution "
                              "patching; default 5)")

    check = commands.add_parser(
        "check", help="check that the report/sweep/zoo files in a directory belong together",
    )
    check.add_argument("dir", help="a directory written by interp report, sweep or zoo")
    return parser


def _common_flags(*, fit_seq_len: bool, sized: bool = False) -> argparse.ArgumentParser:
    """The flags of ``report``, ``sweep`` and ``zoo`` (a parent parser, built afresh per
    subcommand: argparse shares a parent's actions, so one instance would share defaults).

    Args:
        fit_seq_len: ``--seq-len`` defaults to None (the caller fits the default to the
            model's context) instead of ``DEFAULT_SEQ_LEN``.
        sized: ``--n-seqs`` and ``--seq-len`` default to the model's census size
            (:func:`interp.pipeline.classify.census_size`: smaller for large models).
    """
    parent = argparse.ArgumentParser(add_help=False)
    stimuli = parent.add_argument_group("stimuli")
    stimuli.add_argument("--seed", type=int, default=0,
                         help="seed of the stimuli (and of the ablations)")
    if sized:
        stimuli.add_argument("--n-seqs", type=int, default=None,
                             help=f"number of [BOS] r r sequences (default {CENSUS_SIZE[0]}; "
                                  f"{LARGE_CENSUS_SIZE[0]} for models of more than "
                                  f"{MAX_EXACT_SWEEP} heads)")
    else:
        stimuli.add_argument("--n-seqs", type=int, default=32,
                             help="number of [BOS] r r sequences")
    if fit_seq_len and sized:
        stimuli.add_argument("--seq-len", type=int, default=None,
                             help=f"length of r (default {CENSUS_SIZE[1]}; "
                                  f"{LARGE_CENSUS_SIZE[1]} for models of more than "
                                  f"{MAX_EXACT_SWEEP} heads; or the longest that fits the "
                                  "model's context, said so)")
    elif fit_seq_len:
        stimuli.add_argument("--seq-len", type=int, default=None,
                             help=f"length of r (default {DEFAULT_SEQ_LEN}, or the longest "
                                  "that fits the model's context, said so)")
    else:
        stimuli.add_argument("--seq-len", type=int, default=_DefaultSeqLen(DEFAULT_SEQ_LEN),
                             help=f"length of r (default {DEFAULT_SEQ_LEN}, or for a model "
                                  "with a shorter context the longest that fits, said so)")
    stimuli.add_argument("--exclude-tokens", default="", metavar="IDS",
                         help="token ids never drawn into the stimuli, comma-separated "
                              "(e.g. a marker token; special_tokens.json is read too)")
    device = parent.add_argument_group("device")
    device.add_argument("--device", default=None, help="cpu, cuda, ... (default cpu)")
    device.add_argument("--dtype", default=None, choices=DTYPE_NAMES,
                        help="dtype of the weights and activations (default: the dtype a "
                             "project directory was saved in, else float32)")
    device.add_argument("--device-map", default=None, metavar="MAP",
                        help="spread a Hugging Face model over devices: 'auto' (accelerate's "
                             "balanced map), or a JSON object module -> device")
    device.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    device.add_argument("--quiet", action="store_true",
                        help="no progress bars, and nothing the libraries print while "
                             "models load and run (warnings and errors still show)")
    return parent


def _ablation_flags() -> argparse.ArgumentParser:
    """The flags of ``report`` and ``zoo`` that choose the ablations (a parent parser).

    ``--method`` offers the ablation methods registered when the parser is built
    (:func:`interp.spec.ablation_methods.ablation_method_names`, the one list of them).
    """
    parent = argparse.ArgumentParser(add_help=False)
    ablation = parent.add_argument_group("ablation")
    ablation.add_argument("--method", default="mean", choices=ablation_method_names(),
                          help="ablation method")
    ablation.add_argument("--no-sweep", action="store_true",
                          help="skip ablating every head alone (faster on big models)")
    return parent


def _ray_flags() -> argparse.ArgumentParser:
    """The flags of ``sweep`` and ``zoo`` that run them on Ray (a parent parser)."""
    parent = argparse.ArgumentParser(add_help=False)
    ray = parent.add_argument_group("ray")
    ray.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="run each model as a Ray task: alone, on a local Ray started "
                          "here; with an address (e.g. auto, ray://head:10001), on that "
                          "cluster (needs `pip install -e .[ray]`)")
    ray.add_argument("--workers", type=int, default=None,
                     help="CPUs of the local Ray (default: all), or the most tasks in "
                          "flight on a cluster")
    return parent


#: Most torch threads ``--threads`` takes (torch refuses or crashes on absurd counts).
MAX_THREADS = 1024


class _DefaultSeqLen(int):
    """``zoo``'s default ``--seq-len``: equal to :data:`DEFAULT_SEQ_LEN`, and marking that
    none was given, so each model whose context is shorter gets the longest that fits."""


def _device_map(value: str | None) -> str | dict | None:
    if value is None or not value.lstrip().startswith("{"):
        return value
    try:
        parsed = parse_json(value, source="--device-map")  # bounded depth, finite numbers
    except ValueError as err:
        raise ValueError(f"--device-map is neither a name nor a JSON object: {err}") from err
    if not isinstance(parsed, dict):
        raise ValueError("--device-map JSON must be an object (module -> device)")
    return parsed


@contextlib.contextmanager
def _libraries_silenced(quiet: bool) -> Iterator[None]:
    """Under ``--quiet``, what libraries print while models load and run goes nowhere:
    TransformerLens' "Moving model to device" lines, transformers' "Converting and
    de-quantizing GGUF tensors" bar. interp itself prints nothing there (its own notes
    and results are printed outside); Python warnings still reach stderr."""
    if not quiet:
        yield
        return
    stderr = sys.stderr

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with open(os.devnull, "w") as sink, warnings.catch_warnings(), \
            contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.showwarning = show
        yield


def _check_tokenizers(models: Sequence[str]) -> None:
    """``--heldout-text`` needs checkpoints with a tokenizer: checked once, on their files,
    before any is loaded (a checkpoint whose files cannot tell, a hub name, passes here)."""
    specs = expand_specs(models)
    without = [spec_label(spec) for spec in specs if has_tokenizer(spec) is False]
    if without:
        shown = ", ".join(without[:3]) + (", ..." if len(without) > 3 else "")
        raise ValueError(f"--heldout-text needs checkpoints with a tokenizer; "
                         f"{len(without)} of {len(specs)} have none ({shown})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (130 after Ctrl-C)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # A progress bar may hold the line: start a fresh one.
        print(("\n" if _PROGRESS[0] else "") + "interp: interrupted", file=sys.stderr)
        return 130


#: Whether progress bars may be on screen (the interrupted message then starts a new line).
_PROGRESS = [False]


def _out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is running out of memory (Python's, torch's CPU or CUDA allocator)."""
    if isinstance(err, MemoryError):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text.lower()
    )


def _memory_message(args: argparse.Namespace) -> str:
    hint = "pass a smaller --batch-size (e.g. 16)" if hasattr(args, "batch_size") else \
        "pass fewer --n-seqs"
    if getattr(args, "text", None):
        hint += " or a shorter --text file"
    return f"interp: error: out of memory; {hint}"


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args.dir)
    _PROGRESS[0] = not args.quiet
    # scikit-learn guesses "regression?" when a probe has many classes; the token-identity
    # probes have many by design (pytest filters the same warning in pyproject.toml)
    warnings.filterwarnings("ignore", message="The number of unique classes is greater than",
                            category=UserWarning)
    import torch

    if not 1 <= args.threads <= MAX_THREADS:
        print(f"interp: error: --threads must be from 1 to {MAX_THREADS}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    if getattr(args, "workers", None) is not None and args.workers < 1:
        print("interp: error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "zoo":
        return _zoo(args)
    if args.command == "circuit":
        return _circuit(args)
    started = time.perf_counter()
    try:
        # Everything that can be checked before the census is checked here.
        check_output_dir(args.out)
        settings = ClassifySettings(
            seed=args.seed, **_given_size(args),
            method=args.method, sweep=not args.no_sweep, batch_size=args.batch_size,
            exclude_tokens=parse_token_ids(args.exclude_tokens),
        )
        check_device(args.device)
        texts = read_texts(args.text) if args.text else ()
        if args.circuit and _stimuli_kind(args) == "text":
            raise ValueError("--circuit needs random [BOS] r r stimuli (the circuit is found "
                             f"on the census' stimuli); model {args.model!r} is classified on "
                             "its held-out text: pass --stimuli random")
        if not args.quiet:
            print(f"loading model {args.model!r} ...", file=sys.stderr)
        device_map = _device_map(args.device_map)
        with _libraries_silenced(args.quiet):
            model = load_spec(args.model, device=args.device, dtype=args.dtype,
                              device_map=device_map)
        if args.circuit:
            check_supported(model)
        settings = _sized(settings, model, args)
        with _libraries_silenced(args.quiet):
            result = _classify(model, args, settings, texts)
            circuit = _report_circuit(model, args, settings, result)
            paths = write_report(result, args.out, circuit=circuit)
    except (ModelLoadError, ValueError, OSError) as err:
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        print(_memory_message(args), file=sys.stderr)
        return 2
    print(result.summary())
    if circuit is not None:
        print(circuit.summary())
    print(f"report written to {paths['html'].parent} "
          f"({', '.join(p.name for p in paths.values())}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _given_size(args: argparse.Namespace) -> dict[str, int]:
    """``n_seqs`` and ``seq_len`` as given, or the small-model defaults until the model is
    loaded (:func:`_sized` then fits them to it)."""
    return {"n_seqs": args.n_seqs if args.n_seqs is not None else CENSUS_SIZE[0],
            "seq_len": args.seq_len if args.seq_len is not None else DEFAULT_SEQ_LEN}


def _sized(settings: Any, model: Any, args: argparse.Namespace) -> Any:
    """``settings`` (census or circuit) with the census size the model gets when
    ``--n-seqs`` / ``--seq-len`` are not given (:func:`census_size`), the length cut to
    what fits its context (said in a note)."""
    n_seqs, default_len = census_size(model)
    seq_len, note = fit_seq_len(int(model.cfg.n_ctx), args.seq_len, default=default_len)
    if note:
        print(f"interp: note: {note}", file=sys.stderr)
    return replace(settings, seq_len=seq_len,
                   n_seqs=args.n_seqs if args.n_seqs is not None else n_seqs)


def _circuit(args: argparse.Namespace) -> int:
    """``interp circuit``: receivers from a census, every edge scored, the top checked."""
    started = time.perf_counter()
    try:
        check_output_dir(args.out)
        settings = CircuitSettings(
            seed=args.seed, **_given_size(args),
            method=args.method, behaviors=tuple(args.behavior) if args.behavior else None,
            ig_steps=args.ig_steps, max_checked=args.max_checked,
            exclude_tokens=parse_token_ids(args.exclude_tokens),
        )
        check_device(args.device)
        if not args.quiet:
            print(f"loading model {args.model!r} ...", file=sys.stderr)
        with _libraries_silenced(args.quiet):
            model = load_spec(args.model, device=args.device, dtype=args.dtype,
                              device_map=_device_map(args.device_map))
        check_supported(model)
        settings = _sized(settings, model, args)
        with _libraries_silenced(args.quiet):
            circuit = find_circuit(model, settings)
            paths = write_circuit(circuit, args.out)
    except (ModelLoadError, ValueError, OSError) as err:
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        print("interp: error: out of memory; pass fewer --n-seqs", file=sys.stderr)
        return 2
    print(circuit.summary())
    print(f"circuit written to {paths['html'].parent} "
          f"({', '.join(p.name for p in paths.values())}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _check(directory: str) -> int:
    """``interp check DIR``: 0 when every set found is complete, 1 when one is mixed or
    unknown (a manifest that cannot be checked), 2 when there is none."""
    try:
        checks = check_directory(directory)
    except (OSError, ValueError) as err:  # an unreadable directory
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    for check in checks:
        print(check.message(), file=sys.stdout if check.ok else sys.stderr)
        if check.stray_temporaries:
            print(f"  {len(check.stray_temporaries)} temporary file(s) left by an interrupted "
                  f"write (safe to delete): {', '.join(check.stray_temporaries)}")
    if not checks:
        names = " or ".join(s.manifest_name for s in OUTPUT_SETS)
        print(f"interp: error: {directory} holds no {names}", file=sys.stderr)
        return 2
    return 0 if all(check.ok for check in checks) else 1


def _replaced_notes(replaced: dict[str, str]) -> None:
    """Say which stored items were not used, and why (they were computed afresh)."""
    for label, problem in replaced.items():
        print(f"interp: note: {label}: stored item not used, computed afresh and replaced: "
              f"{problem}", file=sys.stderr)


def _stimuli_kind(args: argparse.Namespace) -> str:
    """``--stimuli`` resolved: ``auto`` is ``text`` for a model that ships held-out text."""
    if args.stimuli != "auto":
        return args.stimuli
    return "text" if heldout_documents(args.model) else "random"


def _report_circuit(model, args: argparse.Namespace, settings: ClassifySettings, result):
    """``report --circuit``: the circuit of the census' confirmed heads, found on the
    census' own stimuli (its seed, sizes and method, and the ids it excluded: the given
    ones and the model's special tokens) with ``result`` as its classification; None
    without ``--circuit``, or (with a note) when no head is confirmed."""
    if not args.circuit:
        return None
    if not any(h.confirmed_classes for h in result.heads):
        print("interp: note: no head is confirmed, so there is no circuit to find; the "
              "report is written without one", file=sys.stderr)
        return None
    excluded = result.settings.get("excluded_ids", settings.exclude_tokens)
    chosen = CircuitSettings(seed=settings.seed, n_seqs=settings.n_seqs,
                             seq_len=settings.seq_len, method=settings.method,
                             exclude_tokens=tuple(excluded))
    return find_circuit(model, chosen, classification=result)


def _classify(model, args: argparse.Namespace, settings, texts):
    """The census; a model that ships held-out text is also scored on it (when no --text
    is given) and, with --stimuli auto or text, classified on repeated spans of it."""
    documents = heldout_documents(args.model)
    kind = args.stimuli
    if kind == "auto":
        kind = "text" if documents else "random"
    if kind == "text" and not documents:
        raise ValueError(f"--stimuli text: model {args.model!r} ships no held-out text "
                         "(heldout.txt)")
    if documents:
        return classify_text_model(model, documents, settings, stimuli=kind,
                                   texts=list(texts) or None, progress=not args.quiet)
    return classify_heads(model, settings, texts=texts, progress=not args.quiet)


def _sweep(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        check_output_dir(args.out)
        check_seed(args.seed)
        exclude = parse_token_ids(args.exclude_tokens)
        check_device(args.device)
        if args.heldout_text:  # fails here, before any checkpoint is loaded
            heldout_source(args.heldout_text)
            _check_tokenizers(args.model)
        device_map = _device_map(args.device_map)
        with _libraries_silenced(args.quiet):
            run = run_sweep(
                args.model, args.out, n_seqs=args.n_seqs, seq_len=args.seq_len,
                seed=args.seed, device=args.device, dtype=args.dtype, device_map=device_map,
                exclude_tokens=exclude, heldout_text=args.heldout_text, ray=args.ray,
                workers=args.workers, threads=args.threads, progress=not args.quiet,
            )
        sweep, paths = run.sweep, run.paths
        _replaced_notes(run.replaced)
        if args.seq_len is None and sweep.stimuli.get("seq_len") != DEFAULT_SEQ_LEN:
            print(f"interp: note: the checkpoints' context is too short for the default "
                  f"--seq-len {DEFAULT_SEQ_LEN}: using --seq-len {sweep.stimuli.get('seq_len')}, "
                  "the longest repeat that fits", file=sys.stderr)
    except (ModelLoadError, ValueError, RayMissingError, OSError) as err:
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        print(_memory_message(args), file=sys.stderr)
        return 2
    behaviors = [b.name for b in registered_behaviors("behavior") if b.name in sweep.behaviors]
    print(f"{sweep.n_checkpoints} checkpoints, {sweep.n_layers} layers x {sweep.n_heads} "
          "heads; per behavior the best head's score (head), copy losses in nats")
    header = f"{'step':>8} {'1st-copy':>8} {'2nd-copy':>8}" + "".join(
        f" {b:>15}" for b in behaviors)
    print(header)
    for c, row in enumerate(sweep.loss_table()):
        cells = ""
        for b in behaviors:
            cells += " {:>15}".format(best_head_text(sweep, b, c))
        print(f"{row['step']:>8} {row['first_copy_loss']:>8.3f} "
              f"{row['second_copy_loss']:>8.3f}{cells}")
    for row in sweep.model_curve_table():
        cells = [f"step {row['step']}"]
        if "prefix_matching_max" in row:
            cells.append(f"prefix matching {row['prefix_matching_max']:.2f} "
                         f"({row['prefix_matching_head']})")
        if "icl_score" in row:
            cells.append(f"in-context {row['icl_score']:+.3f}")
            cells.append(f"held-out loss {row['heldout_loss']:.3f}")
            best = [f"{b} {row[f'text_{b}_max']:.2f} ({row[f'text_{b}_head']})"
                    for b in behaviors if f"text_{b}_max" in row]
            cells.append(f"repeated text: {', '.join(best)}; copies "
                         f"{row['text_first_copy_loss']:.2f} -> {row['text_second_copy_loss']:.2f}")
        print("  ".join(cells))
    for line in rise_lines(sweep):
        print(f"largest rise of {line}")
    for failure in sweep.failed:
        print(f"FAILED {failure['checkpoint']} ({failure['source']}): {failure['error']}")
    print(f"computed {len(run.computed)} checkpoint(s), reused {len(run.reused)} stored in "
          f"{paths['html'].parent / 'items'}")
    print(f"sweep written to {paths['html'].parent} "
          f"({', '.join(p.name for p in paths.values())}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 1 if sweep.failed else 0


def _zoo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        check_output_dir(args.out)
        check_device(args.device)
        settings = ClassifySettings(seed=args.seed, n_seqs=args.n_seqs, seq_len=args.seq_len,
                                    method=args.method, sweep=not args.no_sweep,
                                    exclude_tokens=parse_token_ids(args.exclude_tokens))
        device_map = _device_map(args.device_map)
        fit = isinstance(args.seq_len, _DefaultSeqLen)
        with _libraries_silenced(args.quiet):
            run = run_zoo(
                args.models, args.out, settings=settings, device=args.device,
                dtype=args.dtype, device_map=device_map, ray=args.ray, workers=args.workers,
                threads=args.threads, progress=not args.quiet, fit_context=fit,
            )
    except (ModelLoadError, ValueError, RayMissingError, OSError) as err:
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    _replaced_notes(run.replaced)
    for label, result in run.models.items():
        used = result.settings.get("seq_len")
        if fit and used != DEFAULT_SEQ_LEN:
            print(f"interp: note: {label}'s context is too short for the default --seq-len "
                  f"{DEFAULT_SEQ_LEN}: using --seq-len {used}, the longest repeat that fits",
                  file=sys.stderr)
    for label, result in run.models.items():
        print(f"== {label} ({run.sources[label]})")
        print(result.summary())
    for label, error in run.failed.items():
        print(f"FAILED {label} ({run.sources[label]}): {error}")
    failed = f", failed {len(run.failed)}" if run.failed else ""
    print(f"computed {len(run.computed)} model(s), reused {len(run.reused)}{failed}; "
          "zoo written to "
          f"{run.paths['html']} and one report directory per model "
          f"in {time.perf_counter() - started:.1f} s")
    return 1 if run.failed else 0
