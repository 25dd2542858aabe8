"""Command line (also ``python -m interp``):

- ``interp report --model SPEC --out DIR``: census, classification and report of one model;
- ``interp sweep --model DIR [DIR ...] --out DIR``: head scores across the checkpoints of a
  training run (or one run directory holding ``step_*`` checkpoints); writes ``sweep.json``
  and ``sweep.html``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interp", description="Classify every attention head of a transformer."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report",
        help="score, classify and ablation-test every head; write report.html/json/md",
    )
    report.add_argument("--model", default="default",
                        help="'default' (bundled), a model directory, or a TransformerLens name")
    report.add_argument("--out", required=True, help="directory to write the report into")
    report.add_argument("--seed", type=int, default=0, help="seed of stimuli and ablations")
    report.add_argument("--n-seqs", type=int, default=32, help="number of [BOS] r r sequences")
    report.add_argument("--seq-len", type=int, default=30, help="length of r")
    report.add_argument("--method", default="mean", choices=["mean", "zero", "resample"],
                        help="ablation method")
    report.add_argument("--device", default=None, help="cpu, cuda, ... (default cpu)")
    report.add_argument("--dtype", default=None, help="float32, bfloat16 or float16")
    report.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1; the bundled model is tiny)")
    report.add_argument("--batch-size", type=int, default=None,
                        help="sequences per census forward pass (default: all at once)")
    report.add_argument("--no-sweep", action="store_true",
                        help="skip ablating every head alone (faster on big models)")
    report.add_argument("--text", default=None, metavar="FILE",
                        help="also score the heads on this text file, one text per line "
                             "(needs a model with a tokenizer); default for a model that "
                             "ships held-out text (--model text): that text")
    report.add_argument("--stimuli", default="auto", choices=["auto", "random", "text"],
                        help="[BOS] r r stimuli: random tokens, or spans of the model's "
                             "held-out text (auto: text where the model ships held-out text)")
    report.add_argument("--quiet", action="store_true", help="no progress bars")

    sweep = commands.add_parser(
        "sweep",
        help="score every head at every checkpoint of a training run; write sweep.json/html",
    )
    sweep.add_argument("--model", nargs="+", required=True, metavar="DIR",
                       help="checkpoint directories (steps parsed from names like "
                            "step_00100), or one run directory holding them")
    sweep.add_argument("--out", required=True, help="directory to write sweep.json/html into")
    sweep.add_argument("--seed", type=int, default=0, help="seed of the stimuli")
    sweep.add_argument("--n-seqs", type=int, default=32, help="number of [BOS] r r sequences")
    sweep.add_argument("--seq-len", type=int, default=30, help="length of r")
    sweep.add_argument("--device", default=None, help="cpu, cuda, ... (default cpu)")
    sweep.add_argument("--dtype", default=None, help="float32, bfloat16 or float16")
    sweep.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--heldout-text", default=None, metavar="FILE_OR_MODEL",
                       help="held-out text for the in-context score and repeated-text scores: "
                            "a heldout.txt file, any text file (one document), or a model "
                            "that ships one (e.g. 'text')")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    import torch

    if args.threads < 1:
        print("interp: --threads must be at least 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    if args.command == "sweep":
        return _sweep(args)
    from .classify import ClassifySettings, classify_heads
    from .models import ModelLoadError, load_model
    from .report import write_report

    started = time.perf_counter()
    try:
        settings = ClassifySettings(
            seed=args.seed, n_seqs=args.n_seqs, seq_len=args.seq_len, method=args.method,
            sweep=not args.no_sweep, batch_size=args.batch_size,
        )
        if not args.quiet:
            print(f"loading model {args.model!r} ...", file=sys.stderr)
        texts = _read_texts(args.text) if args.text else ()
        model = load_model(args.model, device=args.device, dtype=args.dtype)
        result = _classify(model, args, settings, texts)
        paths = write_report(result, args.out)
    except (ModelLoadError, ValueError, OSError) as err:
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    print(result.summary())
    print(f"report written to {paths['html'].parent} "
          f"({', '.join(p.name for p in paths.values())}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _classify(model, args: argparse.Namespace, settings, texts):
    """The census; a model that ships held-out text is also scored on it (when no --text
    is given) and, with --stimuli auto or text, classified on repeated spans of it."""
    from .classify import classify_heads
    from .text_model import classify_text_model, heldout_documents

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


def _read_texts(path: str) -> list[str]:
    """Non-empty lines of a UTF-8 text file."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"--text {path} is not UTF-8 text: {err}") from err
    texts = [line.strip() for line in lines if line.strip()]
    if not texts:
        raise ValueError(f"--text {path} holds no text")
    return texts


def _sweep(args: argparse.Namespace) -> int:
    from .checkpoints import score_checkpoints
    from .heads import BEHAVIORS
    from .models import ModelLoadError
    from .checkpoint_report import best_head, write_sweep

    started = time.perf_counter()
    checkpoints = args.model[0] if len(args.model) == 1 else args.model
    try:
        heldout = _heldout_text(args.heldout_text) if args.heldout_text else None
        sweep = score_checkpoints(
            checkpoints, n_seqs=args.n_seqs, seq_len=args.seq_len, seed=args.seed,
            device=args.device, dtype=args.dtype, progress=not args.quiet,
            heldout_texts=heldout,
        )
        paths = write_sweep(sweep, args.out)
    except (ModelLoadError, ValueError, FileExistsError, NotADirectoryError) as err:
        print(f"interp: error: {err}", file=sys.stderr)
        return 2
    behaviors = [b for b in BEHAVIORS if b in sweep.behaviors]
    print(f"{sweep.n_checkpoints} checkpoints, {sweep.n_layers} layers x {sweep.n_heads} "
          "heads; per behavior the best head's score (head), copy losses in nats")
    header = f"{'step':>8} {'1st-copy':>8} {'2nd-copy':>8}" + "".join(
        f" {b:>15}" for b in behaviors)
    print(header)
    for c, row in enumerate(sweep.loss_table()):
        cells = ""
        for b in behaviors:
            head, score = best_head(sweep, b, c)
            cells += " {:>15}".format(f"{score:.2f} ({head})")
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
            cells.append(f"repeated text: induction {row['text_induction_max']:.2f} "
                         f"({row['text_induction_head']}), copies "
                         f"{row['text_first_copy_loss']:.2f} -> {row['text_second_copy_loss']:.2f}")
        print("  ".join(cells))
    for b in behaviors:
        step, head, rise = sweep.largest_rise(b)
        print(f"largest rise of {b}: step {step} (head {head}, lift {rise:+.2f})")
    print(f"sweep written to {paths['html'].parent} "
          f"({', '.join(p.name for p in paths.values())}) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _heldout_text(source: str) -> list[str]:
    """Held-out documents from a heldout.txt file, a plain text file, or a model spec."""
    from pathlib import Path

    from .text_model import heldout_documents
    from .text_training import HELDOUT_MARKER, read_heldout_documents

    path = Path(source).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"--heldout-text {path} is not UTF-8 text: {err}") from err
        if text.startswith(HELDOUT_MARKER):
            return read_heldout_documents(path)
        if not text.strip():
            raise ValueError(f"--heldout-text {path} holds no text")
        return [text]
    documents = heldout_documents(source)
    if not documents:
        raise ValueError(f"--heldout-text {source!r} is neither a text file nor a model that "
                         "ships held-out text (heldout.txt)")
    return documents
