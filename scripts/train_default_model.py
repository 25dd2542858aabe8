#!/usr/bin/env python3
"""Train the bundled default model, measure its heads, and write it in the project's format.

    .venv/bin/python scripts/train_default_model.py --out interp/bundled/default --seed 1
    .venv/bin/python scripts/train_default_model.py --out run/model --steps 200  # a short run

Writes ``config.json`` + ``model.safetensors`` (``interp.model.loading.save_model``), ``heads.json``
(the head roles :func:`interp.classify_heads` confirms on the trained model,
``Classification.roles()``) and ``training.json`` (the recipe, the loss history, final
losses, each head's second-copy loss effect, wall time). The same seed gives bit-identical
weights on CPU. ``--measure-only`` rewrites ``heads.json`` for a model already in ``--out``.
``--steps N`` trains N steps instead of the recipe's 4000 (a quick try of the commands;
induction forms between steps ~1150 and 1600, see ``interp/bundled/default/MODEL_CARD.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # `scripts/train_default_model.py` from a shell: torch is in .venv
    from _project_python import use_project_python

    use_project_python(__file__)

import torch  # noqa: E402

REPEAT_LEN = 30
N_SEQUENCES = 32
EVAL_SEED = 12345
TRAIN_SEED = 1  # seed 0 grew three partial duplicate-token heads (0.28-0.33), none over 0.4


def measure(model) -> tuple[dict, dict]:
    """``(heads.json document, evaluation)`` from the package's own census and ablations."""
    from interp import ClassifySettings, classify_heads, copy_losses, repeated_tokens
    from interp.engine.ablation_sweep import ablation_sweep
    from interp.model.heads import all_heads
    from interp.model.loading import special_token_ids

    result = classify_heads(model, ClassifySettings(seed=0))
    stimuli = repeated_tokens(N_SEQUENCES, REPEAT_LEN, vocab_size=int(model.cfg.d_vocab),
                              seed=EVAL_SEED, exclude_ids=special_token_ids(model))
    first, second = copy_losses(model, stimuli)
    sweep = ablation_sweep(model, stimuli, method="mean", seed=0)
    evaluation = {
        "first_copy_loss": float(first.mean()),
        "second_copy_loss": float(second.mean()),
        "mean_ablation_loss_effect": {str(h): round(float(sweep.effects[h]), 4)
                                      for h in all_heads(sweep.n_layers, sweep.n_heads)},
    }
    print(result.summary())
    return result.roles(), evaluation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write the model to")
    parser.add_argument(
        "--seed", type=int, default=TRAIN_SEED, help=f"default {TRAIN_SEED}, the bundled model's"
    )
    parser.add_argument("--steps", type=int, default=None,
                        help="optimiser steps (default: the recipe's, 4000)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="also save the model at step 0 and every --checkpoint-every "
                             "steps (step_NNNNN directories, for `interp sweep`)")
    parser.add_argument("--checkpoint-every", type=int, default=None,
                        help="steps between checkpoints (default 500), and the last step")
    parser.add_argument("--quiet", action="store_true", help="print no training progress")
    parser.add_argument("--measure-only", action="store_true",
                        help="do not train: rewrite heads.json of the model in --out")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        parser.error("--checkpoint-every must be at least 1")

    torch.set_num_threads(1)
    from interp.model.loading import load_model, save_model
    from interp.train.default_model import TrainConfig, train_model

    if args.measure_only:
        heads, _ = measure(load_model(args.out))
        (args.out / "heads.json").write_text(json.dumps(heads, indent=2) + "\n")
        print(f"wrote {args.out / 'heads.json'}")
        return 0

    cfg = TrainConfig(seed=args.seed)
    if args.steps is not None:
        cfg = dataclasses.replace(cfg, steps=args.steps)

    def show(entry: dict) -> None:
        if not args.quiet:
            print(
                f"step {entry['step']:5d}  loss {entry['loss']:.3f}  copy {entry['copy_loss']:.3f}"
                f"  other {entry['other_loss']:.3f}  lr {entry['lr']:.2e}  {entry['seconds']:.0f}s",
                flush=True,
            )

    start = time.perf_counter()
    model, history = train_model(
        cfg,
        progress=show,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every,
    )
    train_seconds = time.perf_counter() - start

    heads, evaluation = measure(model)
    out = save_model(model, args.out)
    (out / "heads.json").write_text(json.dumps(heads, indent=2) + "\n")
    training = {
        "config": cfg.to_dict(),
        "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "final_train_loss": history[-1]["loss"],
        "final_copy_loss": history[-1]["copy_loss"],
        "final_other_loss": history[-1]["other_loss"],
        "eval": evaluation,
        "history": history,
    }
    (out / "training.json").write_text(json.dumps(training, indent=2) + "\n")
    print(f"wrote {out} (trained in {train_seconds:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
