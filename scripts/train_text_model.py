#!/usr/bin/env python3
"""Train the bundled text model on the Python standard library and write it in the project's format.

    .venv/bin/python scripts/train_text_model.py --out interp/bundled/text \\
        --checkpoint-dir runs/text2 --checkpoint-every 250

Writes ``config.json`` + ``model.safetensors`` + ``tokenizer.json`` (``interp.model.loading.save_model``),
``heldout.txt`` (a sample of the held-out stdlib files, never trained on), ``training.json``
(the recipe, Python version, corpus hashes, the loss history, wall time) and, unless
``--no-heads``, ``heads.json`` (the heads ``interp.classify_heads`` confirms, measured as
``interp report --model text`` measures them). The same seed, steps and Python version give
bit-identical weights on CPU (one torch thread). ``--layers 1`` trains the 1-layer control run
of the induction phase-change experiment on the same data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # `scripts/train_text_model.py` from a shell: torch is in .venv
    from _project_python import use_project_python

    use_project_python(__file__)

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the BPE trainer: one core, same result

import torch  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="directory to write the model to")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's (5000)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None)
    parser.add_argument("--checkpoint-every", type=int, default=None)
    parser.add_argument("--no-heads", action="store_true", help="skip writing heads.json")
    parser.add_argument("--heads-only", action="store_true",
                        help="only (re)measure heads.json of the model already in --out")
    parser.add_argument("--quiet", action="store_true", help="print no training progress")
    parser.add_argument("--from-checkpoint", type=Path, default=None,
                        help="write --out from this checkpoint (step_N of a run with the same "
                             "seed and layers) instead of training: it equals a run with "
                             "--steps N, since the schedule does not depend on the step count")
    parser.add_argument("--history-log", type=Path, default=None,
                        help="with --from-checkpoint: the run's printed log, for the history")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    if args.heads_only:
        if args.out is None:
            parser.error("--heads-only needs --out")
        write_heads(args.out)
        return 0

    from interp.model.loading import save_model
    from interp.train.text_model import TextTrainConfig, corpus_fingerprint, encode_stream, heldout_windows, load_stdlib_corpus, train_text_model, train_tokenizer, write_heldout_text

    overrides = {"n_layers": args.layers, "seed": args.seed}
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.layers != 2:
        overrides["model_name"] = f"interp-text-{args.layers}l"
    cfg = TextTrainConfig(**overrides)

    t0 = time.perf_counter()
    corpus = load_stdlib_corpus(heldout_every=cfg.heldout_every)
    tokenizer = train_tokenizer([t for _, t in corpus.train], cfg.d_vocab)
    train_stream = encode_stream(tokenizer, [t for _, t in corpus.train])
    heldout_stream = encode_stream(tokenizer, [t for _, t in corpus.heldout])
    eval_tokens = heldout_windows(heldout_stream, cfg.n_ctx, 64)
    prep_seconds = time.perf_counter() - t0
    if not args.quiet:
        print(
            f"corpus: {len(corpus.train)} training files ({corpus.train_chars:,} chars, "
            f"{train_stream.numel():,} tokens), {len(corpus.heldout)} held out "
            f"({heldout_stream.numel():,} tokens); prepared in {prep_seconds:.0f}s",
            flush=True,
        )

    def show(entry: dict) -> None:
        if not args.quiet:
            extra = ""
            if "heldout_loss" in entry:
                extra = f"  heldout {entry['heldout_loss']:.3f}  icl {entry['icl_200_20']:+.3f}"
            print(f"step {entry['step']:5d}  loss {entry['loss']:.3f}{extra}  "
                  f"{entry['seconds']:.0f}s", flush=True)

    start = time.perf_counter()
    if args.from_checkpoint is not None:
        model, history = _from_checkpoint(args.from_checkpoint, args.history_log, cfg)
        train_seconds = float(history[-1]["seconds"]) if history else float("nan")
    else:
        model, history = train_text_model(
            cfg,
            train_stream,
            tokenizer,
            eval_tokens=eval_tokens,
            progress=show,
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
        )
        train_seconds = time.perf_counter() - start
    if args.out is None:
        return 0

    out = save_model(model, args.out)
    shipped = write_heldout_text(corpus.heldout, out / "heldout.txt")
    from interp.train.text_model import _heldout_eval

    last_eval = _heldout_eval(model, eval_tokens)  # the final weights on the eval windows
    training = {
        "config": cfg.to_dict(),
        "train_seconds": round(train_seconds, 1),
        "prepare_seconds": round(prep_seconds, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "corpus": {
            "stdlib_root": corpus.root,
            "train_files": len(corpus.train),
            "train_chars": corpus.train_chars,
            "train_tokens": int(train_stream.numel()),
            "train_sha256_16": corpus_fingerprint(corpus.train),
            "heldout_files": len(corpus.heldout),
            "heldout_tokens": int(heldout_stream.numel()),
            "heldout_sha256_16": corpus_fingerprint(corpus.heldout),
            "heldout_txt_files": shipped,
        },
        "final_train_loss": history[-1]["loss"],
        "final_heldout_loss": last_eval["heldout_loss"],
        "final_icl_200_20": last_eval["icl_200_20"],
        "history": history,
    }
    (out / "training.json").write_text(json.dumps(training, indent=2) + "\n")
    print(f"wrote {out} (trained in {train_seconds:.0f}s)", flush=True)
    if not args.no_heads:
        write_heads(out)
    return 0


def _from_checkpoint(path: Path, log: Path | None, cfg) -> tuple:
    """The checkpoint's model and the history printed by its run up to its step."""
    import re

    from interp.results.checkpoints import parse_step
    from interp.model.loading import load_model

    step = parse_step(path.name)
    if step != cfg.steps:
        raise SystemExit(f"checkpoint {path} is step {step}; pass --steps {step}")
    model = load_model(path)
    if int(model.cfg.n_layers) != cfg.n_layers or int(model.cfg.d_vocab) != cfg.d_vocab:
        raise SystemExit(f"checkpoint {path} does not match the recipe (layers, vocabulary)")
    history: list[dict] = []
    if log is not None:
        pattern = re.compile(r"step\s+(\d+)\s+loss ([\d.]+)(?:\s+heldout ([\d.]+)\s+icl "
                             r"([-+\d.]+))?\s+(\d+)s")
        for line in log.read_text().splitlines():
            m = pattern.match(line.strip())
            if m and int(m.group(1)) <= step:
                entry = {"step": int(m.group(1)), "loss": float(m.group(2)),
                         "seconds": float(m.group(5))}
                if m.group(3):
                    entry.update(heldout_loss=float(m.group(3)), icl_200_20=float(m.group(4)))
                history.append(entry)
    return model, history


def write_heads(out: Path) -> None:
    """Measure the model in ``out`` as ``interp report --model <out>`` does; write heads.json."""
    from interp.pipeline.text_model import measure_text_heads

    heads = measure_text_heads(out)
    (Path(out) / "heads.json").write_text(json.dumps(heads, indent=2) + "\n")
    print("heads:", json.dumps({k: v for k, v in heads.items() if isinstance(v, list)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
