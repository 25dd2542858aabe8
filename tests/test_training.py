"""interp.train.default_model: the data is deterministic with copies at varying offsets; training is
deterministic from the seed. interp.train.core: the loop both trainers share."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interp.train.core import adamw, train_loop, warmup_lr
from interp.train.default_model import BOS_TOKEN_ID, MARK_TOKEN_ID, TrainConfig, make_training_batch, train_model

torch.set_num_threads(1)


def _copy_offsets(row: list[int], min_span: int) -> set[int]:
    """Distances d at which a run of >= min_span tokens repeats the run d positions earlier."""
    offsets = set()
    for d in range(min_span, len(row)):
        run = 0
        for i in range(d, len(row)):
            run = run + 1 if row[i] == row[i - d] else 0
            if run >= min_span:
                offsets.add(d)
                break
    return offsets


def test_batch_is_deterministic_and_advances_the_generator():
    cfg = TrainConfig(batch_size=8)
    a = make_training_batch(cfg, torch.Generator().manual_seed(3))
    b = make_training_batch(cfg, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(3)
    first, second = make_training_batch(cfg, g), make_training_batch(cfg, g)
    assert not torch.equal(first, second)


def test_batch_shape_vocab_and_bos():
    cfg = TrainConfig(batch_size=16)
    batch = make_training_batch(cfg, torch.Generator().manual_seed(0))
    assert batch.shape == (16, cfg.n_ctx) and batch.dtype == torch.long
    assert (batch[:, 0] == BOS_TOKEN_ID).all()
    assert (batch[:, 1:] >= 1).all() and (batch < cfg.d_vocab).all()


def test_copies_sit_at_varying_offsets():
    cfg = TrainConfig(batch_size=32, min_span=6)
    batch = make_training_batch(cfg, torch.Generator().manual_seed(1))
    per_row = [_copy_offsets(row, cfg.min_span) for row in batch[:, 1:].tolist()]
    assert all(per_row), "every sequence holds at least one copied span"
    offsets = set().union(*per_row)
    assert len(offsets) >= 10, f"copy offsets barely vary: {sorted(offsets)}"


def test_mark_follows_only_repeated_tokens():
    cfg = TrainConfig(batch_size=32, mark_prob=0.5)
    batch = make_training_batch(cfg, torch.Generator().manual_seed(2))
    n_marks = 0
    for row in batch.tolist():
        for i in range(2, len(row)):
            if row[i] == MARK_TOKEN_ID and row[i - 1] != MARK_TOKEN_ID:
                n_marks += 1
                assert row[i - 1] in row[1 : i - 1], "MARK after a token's first occurrence"
    assert n_marks > 0
    off = TrainConfig(batch_size=32, mark_prob=0.0)
    without = make_training_batch(off, torch.Generator().manual_seed(2))
    assert (without[:, 1:] != MARK_TOKEN_ID).any()  # token 1 is ordinary when MARK is off


@pytest.mark.slow
def test_training_is_deterministic_from_the_seed(tmp_path):
    cfg = TrainConfig(
        seed=5, n_heads=2, d_model=16, d_vocab=16, n_ctx=17, steps=6, batch_size=4,
        warmup_steps=2, min_span=2, max_span=4, log_every=3,
    )
    model_a, history_a = train_model(cfg, checkpoint_dir=tmp_path, checkpoint_every=3)
    model_b, history_b = train_model(cfg)
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert [h["loss"] for h in history_a] == [h["loss"] for h in history_b]
    assert [h["step"] for h in history_a] == [3, 6]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000", "step_00003", "step_00006"]

    other, _ = train_model(dataclasses.replace(cfg, seed=6))
    assert not torch.equal(other.state_dict()["embed.weight"], state_a["embed.weight"])


def test_config_round_trips_through_json():
    cfg = TrainConfig(seed=3, mark_prob=0.25)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


# ----------------------------------------------------------------- the shared training loop

CORE = TrainConfig(seed=2, steps=5, log_every=2, warmup_steps=4, lr=0.1)


def _linear_step(model, generator):
    """A least-squares step on random inputs; sums (loss, 1) for the log window."""
    x = torch.randn(8, 3, generator=generator)
    loss = (model(x) - x.sum(-1, keepdim=True)).pow(2).mean()
    return loss, torch.tensor([loss.item(), 1.0], dtype=torch.float64)


def _linear_run(evaluated):
    def evaluate(model):
        evaluated.append(model.training)
        return {"eval": 1.0}

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    history = train_loop(
        model, CORE, step_loss=_linear_step,
        summarize=lambda w: {"loss": w[0].item() / w[1].item(), "n": w[1].item()},
        evaluate=evaluate, eval_every=4, seconds_digits=1,
    )
    return model, history


def test_core_logs_evaluates_and_is_deterministic():
    evaluated = []
    model, history = _linear_run(evaluated)
    assert [(h["step"], h["n"]) for h in history] == [(2, 2.0), (4, 2.0), (5, 1.0)]
    assert [h["lr"] for h in history] == [warmup_lr(CORE, s - 1) for s in (2, 4, 5)]
    assert [h["lr"] for h in history] == [0.05, 0.1, 0.1]
    assert ["eval" in h for h in history] == [False, True, True] and evaluated == [True, True]
    assert list(history[0]) == ["step", "lr", "loss", "n", "seconds"]
    assert history[0]["seconds"] == round(history[0]["seconds"], 1) and not model.training
    again, history_again = _linear_run([])
    assert torch.equal(model.weight, again.weight) and torch.equal(model.bias, again.bias)
    assert [h["loss"] for h in history] == [h["loss"] for h in history_again]
    with pytest.raises(ValueError, match="checkpoint_every"):
        train_loop(model, CORE, step_loss=_linear_step, summarize=dict, checkpoint_every=0)


def test_core_decays_matrices_only_and_not_the_named_ones():
    model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 3))
    groups = adamw(model, CORE, no_decay={"0.weight"}).param_groups
    assert [g["weight_decay"] for g in groups] == [CORE.weight_decay, 0.0]
    assert groups[0]["params"] == [model[1].weight]
    assert groups[1]["params"] == [model[0].weight, model[1].bias]


# ------------------------------------------- the training scripts, run as the docs show (issue 19)

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
needs_venv = pytest.mark.skipif(
    not VENV_PYTHON.is_file(),
    reason="no .venv (made by scripts/setup.sh): the scripts re-execute with .venv/bin/python")


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_scripts_are_executable_with_a_shebang(script):
    assert script.stat().st_mode & 0o111 == 0o111, f"chmod +x {script.name}"
    assert script.read_text().startswith("#!/usr/bin/env python3\n")


def _shell_without_torch(tmp_path) -> dict:
    """An environment whose first ``python3`` is the base interpreter without site-packages
    (``-S``): no torch, no interp, as a system Python on a fresh machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    base = Path(getattr(sys, "_base_executable", sys.executable))
    fake = bin_dir / "python3"
    fake.write_text(f'#!/bin/sh\nexec "{base}" -S "$@"\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    assert subprocess.run(["python3", "-c", "import torch"], env=env,
                          capture_output=True).returncode != 0
    return env


@needs_venv
def test_scripts_find_the_venv_when_the_first_python3_lacks_torch(tmp_path):
    env = _shell_without_torch(tmp_path)
    done = subprocess.run([str(ROOT / "scripts" / "train_default_model.py"), "--help"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--steps" in done.stdout and "--checkpoint-dir" in done.stdout


@needs_venv
@pytest.mark.slow
def test_train_default_model_script_makes_a_short_run_with_checkpoints(tmp_path):
    env = _shell_without_torch(tmp_path)
    done = subprocess.run(
        [str(ROOT / "scripts" / "train_default_model.py"), "--out", "run/model", "--steps", "2",
         "--checkpoint-dir", "run/ckpts", "--checkpoint-every", "1", "--quiet"],
        env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600,
        cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "run" / "ckpts").iterdir()) == [
        "step_00000", "step_00001", "step_00002"]
    training = json.loads((tmp_path / "run" / "model" / "training.json").read_text())
    assert training["config"]["steps"] == 2 and training["history"][-1]["step"] == 2
    assert (tmp_path / "run" / "model" / "heads.json").is_file()
