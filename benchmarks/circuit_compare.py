"""Edge ROC AUC and wall time: interp's find_circuit next to auto-circuit's ACDC and EAP on
the same planted models, against the same true edges.

Run from the project's environment; auto-circuit (1.0.1, with TransformerLens 2.x, which
the project's TransformerLens 4.x excludes) runs in its own environment (``--ac-python``,
default ``/work/ac-venv/bin/python``), which this script calls with ``--auto-circuit``::

    python benchmarks/circuit_compare.py            # prints a Markdown table
    python benchmarks/circuit_compare.py --append   # also appends it to RESULTS.md

auto-circuit's environment (its own pins: TransformerLens<3, datasets<3 and pyarrow<18
for numpy 1.26; torch from the local CPU wheel first)::

    python3.11 -m venv /work/ac-venv
    /work/ac-venv/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
    /work/ac-venv/bin/pip install auto-circuit==1.0.1 "transformer-lens<3" torch==2.13.0 \
        "datasets<3" "pyarrow<18"

Models (``interp.train.planted``; attention-only, no LayerNorm, one-hot residual):

- ``decoyed``: layer 0 ``previous_token, back_1, current_token, duplicate_token, uniform``,
  layer 1 ``induction, uniform``. True edges: ``prev -> induction.k`` and
  ``induction -> logits``.
- ``redundant``: layer 0 ``previous_token, previous_token, back_1``, two induction heads
  that each write half the copy. True: every ``prev -> induction.k`` and every
  ``induction -> logits``.
- ``suppression``: three layers (``d_vocab`` 64): ``previous_token, back_1,
  current_token``; ``induction, uniform, bos``; ``copy_suppression,
  mute_copy_suppression, uniform``. True: ``prev -> induction.k``, ``induction ->
  copy_suppression.q``, ``induction -> logits`` and ``copy_suppression -> logits``.

tracr programs (``tests/data/tracr``, :mod:`interp.pipeline.tracr`): ``frac_prevs`` and
``detect_abc``, rebuilt as bridges (no LayerNorm, ReLU MLPs) and exported to a
HookedTransformer with the same weights (checked: same logits). Every candidate edge
(``embed``/head/MLP -> later head ``q``/``k``/``v``, -> MLP input, -> ``logits``; padding
heads and MLPs left out), zero ablation on every side (as ACDC on tracr, Conmy et al.
2023; auto-circuit's ACDC is made to ablate to zeros by handing it zeros as the corrupt
batch's outputs), 64 random inputs, the output at every position but BOS. Truth: tracr's
declared graph in full ("edge ROC AUC"), and the graph of what the weights read
(:func:`interp.pipeline.tracr.weight_reads`: less the ``embed -> head.v`` edges whose
only label, the BOS flag, has a zero ``W_V`` row). interp: :func:`tracr_edge_scores`
(EAP-IG) and :func:`tracr_path_patching` of every edge on one :func:`tracr_run`, wall
time of all three; auto-circuit's metrics: ACDC KL divergence (categorical) or MSE
(numerical ``frac_prevs``); EAP / EAP-IG the clean prediction's logit minus the other's
(categorical) or the output value (numerical).

ACDC runs 9 thresholds (``ACDC_EXPS`` x ``ACDC_BASES``; auto-circuit's default is 20)
so that the whole script stays under 15 minutes on two cores.

The planted edges compared are those from a head (as in tests/test_circuit.py): head -> later head
``q``/``k``/``v`` and head -> ``logits``; the AUC counts ties as half. interp ranks by its
signed score on planted models (positive = the sender helped) and by |score| on tracr,
auto-circuit by |score| (its convention).
Data: interp uses its census stimuli ``[BOS] r r`` (``n_seqs`` x ``seq_len``) and mean
ablation; auto-circuit needs clean/corrupt pairs with an answer at the last position:
clean ``[BOS] r r[:-1]`` (answer ``r[-1]``, the induction prediction), corrupt
``[BOS] r s[:-1]`` with ``s`` a fresh random sequence (answer ``s[-1]`` as the wrong one).
The planted weights are exported to a HookedTransformer with the same config (checked:
same logits as the bridge). Wall time: the scoring call alone (interp: all of
``find_circuit``, i.e. census receivers, every edge scored with EAP-IG and the top edges
path-patched), one thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "decoyed": {"roles_layer0": ("previous_token", "back_1", "current_token",
                                  "duplicate_token", "uniform"),
                    "roles_layer1": ("induction", "uniform")},
    "redundant": {"roles_layer0": ("previous_token", "previous_token", "back_1"),
                      "redundant_induction": True},
    "suppression": {"d_vocab": 64,
                    "roles_layer0": ("previous_token", "back_1", "current_token"),
                    "roles_layer1": ("induction", "uniform", "bos"),
                    "roles_layer2": ("copy_suppression", "mute_copy_suppression", "uniform")},
}
N_SEQS, SEQ_LEN, SEED = 16, 20, 0
#: tracr programs (tests/data/tracr) and their stimuli: random full-length inputs.
TRACR = ("frac_prevs", "detect_abc")
TRACR_SEQS = 64
#: ACDC's thresholds tau = base x 10^exp (auto-circuit's default grid is 4 x 5 = 20).
ACDC_EXPS, ACDC_BASES = [-4, -3, -2], [1, 3, 5]


def auc(scores: dict, true: set, edges: list) -> float:
    pos = np.array([scores[e] for e in edges if e in true])[:, None]
    neg = np.array([scores[e] for e in edges if e not in true])[None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


def head_edges(roles: dict[str, str]) -> list[tuple[str, str, str]]:
    heads = list(roles)
    out = [(s, r, x) for s in heads for r in heads
           if int(s.split(".")[0]) < int(r.split(".")[0]) for x in "qkv"]
    return out + [(s, "logits", "out") for s in heads]


def truth(roles: dict[str, str]) -> set[tuple[str, str, str]]:
    prevs = [h for h, r in roles.items() if r == "previous_token" and h.startswith("0.")]
    inds = [h for h, r in roles.items() if r == "induction"]
    supps = [h for h, r in roles.items() if r == "copy_suppression"]
    return ({(p, i, "k") for p in prevs for i in inds} | {(i, "logits", "out") for i in inds}
            | {(i, c, "q") for i in inds for c in supps} | {(c, "logits", "out") for c in supps})


# ---------------------------------------------------------------- interp side (project venv)
def run_interp(folder: Path) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    from interp import CircuitSettings, build_planted_model, find_circuit

    rows = []
    for name, kwargs in MODELS.items():
        planted = build_planted_model(**kwargs)
        model = planted.model
        settings = CircuitSettings(n_seqs=N_SEQS, seq_len=SEQ_LEN, seed=SEED)
        start = time.perf_counter()
        circuit = find_circuit(model, settings)
        wall = time.perf_counter() - start
        edges = head_edges(planted.roles)
        scores = {e: 0.0 for e in edges}  # edges into non-receivers are not scored: 0
        scores.update({e.key: e.score for e in circuit.edges if e.key in scores})
        rows.append({"model": name, "method": "interp find_circuit (EAP-IG + path patching)",
                         "auc": auc(scores, truth(planted.roles), edges), "wall": wall,
                         "note": f"receivers {sorted(circuit.receivers)}"})
        # the weights and a reference output for the HookedTransformer copy
        gen = torch.Generator().manual_seed(1)
        tokens = torch.randint(1, int(model.cfg.d_vocab), (2, 21), generator=gen)
        tokens[:, 0] = 0
        with torch.no_grad():
            logits = model(tokens)
        arrays = {k: getattr(model, k).detach().numpy() for k in (
            "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O", "W_U",
            "b_U")}
        np.savez(folder / f"{name}.npz", **arrays, ref_tokens=tokens.numpy(),
                 ref_logits=logits.numpy())
        (folder / f"{name}.json").write_text(json.dumps({
            "roles": planted.roles, "n_ctx": int(model.cfg.n_ctx),
            "d_vocab": int(model.cfg.d_vocab)}))
    return rows


def run_interp_tracr(folder: Path) -> list[dict]:
    """interp on the tracr programs: EAP-IG scores of every edge (zero ablation) and exact
    path patching of every edge with its verdict; the weights, the stimuli and the truths
    for the auto-circuit side."""
    import torch

    torch.set_num_threads(1)
    from interp.pipeline.tracr import (
        candidate_edges,
        edge_auc,
        load_tracr_model,
        tracr_edge_scores,
        tracr_path_patching,
        tracr_run,
        tracr_stimuli,
        true_edges,
        weight_reads,
    )

    rows = []
    for name in TRACR:
        tm = load_tracr_model(name)
        model = tm.model
        edges = candidate_edges(tm.meta)
        full, used = true_edges(tm.meta), true_edges(tm.meta, reads=weight_reads(tm))
        start = time.perf_counter()
        prepared = tracr_run(tm, n_seqs=TRACR_SEQS, method="zero", seed=SEED)
        scores = tracr_edge_scores(tm, prepared=prepared)
        checked = tracr_path_patching(tm, prepared=prepared)
        wall = time.perf_counter() - start
        status = {e: checked[(e[0],), e[1], e[2]].status for e in edges}
        good = sum(status[e] == "confirmed" for e in used)
        clean = sum(status[e] != "confirmed" for e in edges if e not in used)
        rows.append({"model": name, "method": "interp EAP-IG (zero) + path patching",
                     "auc": edge_auc(scores, full, edges),
                     "auc_used": edge_auc(scores, used, edges), "wall": wall,
                     "note": f"path patching: {good}/{len(used)} weight-read true edges "
                             f"confirmed, {clean}/{len(edges) - len(used)} others refuted "
                             "or undecidable"})
        clean_tokens = tracr_stimuli(tm, n_seqs=TRACR_SEQS, seed=SEED).tokens
        corrupt_tokens = tracr_stimuli(tm, n_seqs=TRACR_SEQS, seed=SEED + 1).tokens
        with torch.no_grad():
            logits = model(clean_tokens)
        arrays = {k: getattr(model, k).detach().numpy() for k in (
            "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O", "W_in",
            "b_in", "W_out", "b_out", "W_U", "b_U")}
        np.savez(folder / f"{name}.npz", **arrays, ref_tokens=clean_tokens.numpy(),
                 corrupt_tokens=corrupt_tokens.numpy(), ref_logits=logits.numpy())
        (folder / f"{name}.json").write_text(json.dumps({
            "n_ctx": int(model.cfg.n_ctx), "d_vocab": int(model.cfg.d_vocab),
            "numerical": bool(tm.meta["numerical_output"]), "edges": edges,
            "full": sorted(full), "used": sorted(used)}))
    return rows


# ----------------------------------------------------------- auto-circuit side (ac venv)
def hooked_copy(folder: Path, name: str) -> tuple[Any, dict, dict, float]:
    """The exported model ``name`` (``run_interp`` / ``run_interp_tracr``) rebuilt as a
    HookedTransformer with the same weights (attention-only, or with ReLU MLPs where the
    export has them), its logits checked against the bridge's, set up for auto-circuit's
    patching: ``(model, weights, meta, max |logit difference|)``."""
    import torch as t
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    meta = json.loads((folder / f"{name}.json").read_text())
    w = {k: t.from_numpy(v) for k, v in np.load(folder / f"{name}.npz").items()}
    n_layers, n_heads, d_model, d_head = w["W_Q"].shape
    has_mlp = "W_in" in w
    mlp = ({"d_mlp": int(w["W_in"].shape[-1]), "act_fn": "relu",
            "d_vocab_out": int(w["W_U"].shape[1])} if has_mlp else {})
    cfg = HookedTransformerConfig(
        n_layers=n_layers, d_model=d_model, d_head=d_head, n_heads=n_heads,
        n_ctx=meta["n_ctx"], d_vocab=meta["d_vocab"], attn_only=not has_mlp,
        normalization_type=None, positional_embedding_type="standard", seed=0, **mlp)
    model = HookedTransformer(cfg)
    state = model.state_dict()
    parts = [("attn", ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"))]
    if has_mlp:
        parts.append(("mlp", ("W_in", "b_in", "W_out", "b_out")))
    for layer in range(n_layers):
        for part, keys in parts:
            for k in keys:
                state[f"blocks.{layer}.{part}.{k}"] = w[k][layer]
    state["embed.W_E"], state["pos_embed.W_pos"] = w["W_E"], w["W_pos"]
    state["unembed.W_U"], state["unembed.b_U"] = w["W_U"], w["b_U"]
    model.load_state_dict(state, strict=False)
    model.eval()
    with t.no_grad():
        diff = float((model(w["ref_tokens"].long()) - w["ref_logits"]).abs().max())
    assert diff < 1e-3, f"HookedTransformer copy differs from the bridge by {diff}"
    model.cfg.use_attn_result = True
    model.cfg.use_attn_in = True
    model.cfg.use_split_qkv_input = True
    model.cfg.use_hook_mlp_in = True
    return model, w, meta, diff


def timed_scores(fn: Any, pmodel: Any, ours: Any, edges: list) -> tuple[dict, float]:
    """Run one auto-circuit method ``fn()``: each of our ``edges`` with the |prune score|
    of its auto-circuit edge (``ours`` maps one to ours; 0 for an edge it lacks), and the
    wall seconds of the call."""
    start = time.perf_counter()
    prune_scores = fn()
    wall = time.perf_counter() - start
    scores = {e: 0.0 for e in edges}
    for edge in pmodel.edges:
        key = ours(edge)
        if key in scores:
            scores[key] = abs(float(edge.prune_score(prune_scores)))
    return scores, wall


def run_auto_circuit(folder: Path) -> list[dict]:
    import torch as t

    t.set_num_threads(1)
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.prune_algos.ACDC import acdc_prune_scores
    from auto_circuit.prune_algos.mask_gradient import mask_gradient_prune_scores
    from auto_circuit.utils.graph_utils import patchable_model

    rows = []
    for name in MODELS:
        model, _, meta, diff = hooked_copy(folder, name)
        gen = t.Generator().manual_seed(SEED)
        r = t.stack([t.randperm(meta["d_vocab"] - 1, generator=gen)[:SEQ_LEN] + 1
                     for _ in range(N_SEQS)])
        s = t.stack([t.randperm(meta["d_vocab"] - 1, generator=gen)[:SEQ_LEN] + 1
                     for _ in range(N_SEQS)])
        bos = t.zeros(N_SEQS, 1, dtype=t.long)
        clean = t.cat([bos, r, r[:, :-1]], 1)
        corrupt = t.cat([bos, r, s[:, :-1]], 1)
        dataset = PromptDataset(clean, corrupt, [x[None] for x in r[:, -1]],
                                [x[None] for x in s[:, -1]])
        loader = PromptDataLoader(dataset, seq_len=None, diverge_idx=0, batch_size=N_SEQS,
                                  shuffle=False)
        pmodel = patchable_model(model, factorized=True, slice_output="last_seq",
                                 separate_qkv=True, device=t.device("cpu"))
        roles = meta["roles"]
        edges = head_edges(roles)
        true = truth(roles)

        def ours(edge) -> tuple[str, str, str] | None:
            src, dest = edge.src.name, edge.dest.name
            if not src.startswith("A"):
                return None
            sender = src[1:]
            if dest == "Resid End":
                return (sender, "logits", "out")
            if dest.startswith("A"):
                layer_head, inp = dest[1:].rsplit(".", 1)
                return (sender, layer_head, inp.lower())
            return None

        methods = {
            "auto-circuit ACDC (kl_div)": lambda pmodel=pmodel, loader=loader: acdc_prune_scores(
                pmodel, loader, official_edges=None, tao_exps=ACDC_EXPS,
                tao_bases=ACDC_BASES),
            "auto-circuit EAP (mask gradient, logit)": lambda pmodel=pmodel, loader=loader: (
                mask_gradient_prune_scores(
                pmodel, loader, official_edges=None, grad_function="logit",
                answer_function="avg_diff", mask_val=0.0)),
            "auto-circuit EAP-IG (mask gradient, 5 steps)": lambda pmodel=pmodel, loader=loader: (
                mask_gradient_prune_scores(
                pmodel, loader, official_edges=None, grad_function="logit",
                answer_function="avg_diff", integrated_grad_samples=5)),
        }
        for method, fn in methods.items():
            scores, wall = timed_scores(fn, pmodel, ours, edges)
            rows.append({"model": name, "method": method, "auc": auc(scores, true, edges),
                             "wall": wall, "note": f"max |logit diff| vs bridge {diff:.1e}"})
    return rows


def run_auto_circuit_tracr(folder: Path) -> list[dict]:
    """auto-circuit's ACDC, EAP and EAP-IG on the tracr programs, zero ablation (as ACDC on
    tracr in Conmy et al. 2023), the output at every position but BOS."""
    import torch as t
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.prune_algos import ACDC
    from auto_circuit.prune_algos.mask_gradient import mask_gradient_prune_scores
    from auto_circuit.types import AblationType
    from auto_circuit.utils.graph_utils import patchable_model

    t.set_num_threads(1)
    rows = []
    original_ablations = ACDC.src_ablations
    for name in TRACR:
        model, w, meta, diff = hooked_copy(folder, name)
        clean, corrupt = w["ref_tokens"].long(), w["corrupt_tokens"].long()

        numerical = meta["numerical"]
        if numerical:  # one output, the value: its mean
            answers = t.zeros(len(clean), clean.shape[1] - 1, 1, dtype=t.long)
            wrong = answers
        else:  # the clean prediction against the other class
            answers = w["ref_logits"][:, 1:].argmax(-1, keepdim=True)
            wrong = 1 - answers
        dataset = PromptDataset(clean, corrupt, list(answers), list(wrong))
        loader = PromptDataLoader(dataset, seq_len=None, diverge_idx=0,
                                  batch_size=len(clean), shuffle=False)
        pmodel = patchable_model(model, factorized=True, slice_output="not_first_seq",
                                 separate_qkv=True, device=t.device("cpu"))
        edges = [tuple(e) for e in meta["edges"]]
        full = {tuple(e) for e in meta["full"]}
        used = {tuple(e) for e in meta["used"]}

        def ours(edge) -> tuple[str, str, str] | None:
            src, dest = edge.src.name, edge.dest.name
            sender = ("embed" if src == "Resid Start" else src[1:] if src.startswith("A")
                      else "mlp." + src.split()[1] if src.startswith("MLP") else None)
            if dest == "Resid End":
                return (sender, "logits", "out")
            if dest.startswith("MLP"):
                return (sender, "mlp." + dest.split()[1], "in")
            if dest.startswith("A"):
                layer_head, inp = dest[1:].rsplit(".", 1)
                return (sender, layer_head, inp.lower())
            return None

        def zero_corrupt(model, sample, ablation_type=AblationType.RESAMPLE, clean=clean):
            # ACDC ablates to the corrupt batch's outputs: make them zeros
            is_clean = isinstance(sample, t.Tensor) and t.equal(sample, clean)
            return original_ablations(
                model, sample, ablation_type if is_clean else AblationType.ZERO)

        def acdc(pmodel=pmodel, loader=loader, zero_corrupt=zero_corrupt):
            ACDC.src_ablations = zero_corrupt
            try:
                return ACDC.acdc_prune_scores(
                    pmodel, loader, official_edges=None, tao_exps=ACDC_EXPS,
                    tao_bases=ACDC_BASES, faithfulness_target="mse" if numerical else "kl_div")
            finally:
                ACDC.src_ablations = original_ablations

        grad = {"grad_function": "logit",
                "answer_function": "avg_val" if numerical else "avg_diff",
                "ablation_type": AblationType.ZERO, "clean_corrupt": None}
        methods = {
            f"auto-circuit ACDC ({'mse' if numerical else 'kl_div'}, zero)": acdc,
            "auto-circuit EAP (mask gradient, logit, zero)":
                lambda pmodel=pmodel, loader=loader: mask_gradient_prune_scores(
                    pmodel, loader, official_edges=None, mask_val=0.0, **grad),
            "auto-circuit EAP-IG (mask gradient, 5 steps, zero)":
                lambda pmodel=pmodel, loader=loader: mask_gradient_prune_scores(
                    pmodel, loader, official_edges=None, integrated_grad_samples=5, **grad),
        }
        for method, fn in methods.items():
            scores, wall = timed_scores(fn, pmodel, ours, edges)
            rows.append({"model": name, "method": method, "auc": auc(scores, full, edges),
                         "auc_used": auc(scores, used, edges), "wall": wall,
                         "note": f"max |logit diff| vs bridge {diff:.1e}"})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | method | edge ROC AUC | AUC, weights' graph | wall s |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['method']} | {r['auc']:.3f} | "
              f"{r['auc_used']:.3f} | {r['wall']:.2f} |" if 'auc_used' in r else
              f"| {r['model']} | {r['method']} | {r['auc']:.3f} | | {r['wall']:.2f} |"
              for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto-circuit", metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--ac-python", default="/work/ac-venv/bin/python")
    parser.add_argument("--models", choices=("all", "planted", "tracr"), default="all",
                        help="which models (default: all)")
    parser.add_argument("--planted", nargs="+", choices=tuple(MODELS), default=list(MODELS),
                        help="which planted models (default: all)")
    parser.add_argument("--append", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    for name in set(MODELS) - set(args.planted):
        del MODELS[name]
    planted, tracr = args.models in ("all", "planted"), args.models in ("all", "tracr")
    if args.auto_circuit:  # the child in auto-circuit's environment
        folder = Path(args.auto_circuit)
        print(json.dumps((run_auto_circuit(folder) if planted else [])
                         + (run_auto_circuit_tracr(folder) if tracr else [])))
        return
    start = time.perf_counter()
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as tmp:
        rows = ((run_interp(Path(tmp)) if planted else [])
                + (run_interp_tracr(Path(tmp)) if tracr else []))
        if Path(args.ac_python).exists():
            env = {**os.environ, "PYTHONPATH": ""}
            done = subprocess.run([args.ac_python, __file__, "--auto-circuit", tmp,
                                   "--models", args.models, "--planted", *MODELS],
                                  capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                sys.exit(f"auto-circuit side failed:\n{done.stderr[-4000:]}")
            rows += json.loads(done.stdout.strip().splitlines()[-1])
        else:
            print(f"no auto-circuit environment at {args.ac_python}: interp only",
                  file=sys.stderr)
    total = time.perf_counter() - start
    loadavg_after = Path("/proc/loadavg").read_text().split()[:3]
    order = {name: i for i, name in enumerate([*MODELS, *TRACR])}
    rows.sort(key=lambda r: order[r["model"]])
    text = table(rows)
    print(text)
    notes = [f"- {r['model']} / {r['method']}: {r['note']}" for r in rows]
    print("\n".join(notes), file=sys.stderr)
    print(f"whole script {total:.0f} s; /proc/loadavg {' '.join(loadavg)} before, "
          f"{' '.join(loadavg_after)} after", file=sys.stderr)
    if args.append:
        head = (f"\n## Circuit edges: interp vs auto-circuit ({dt.datetime.now():%Y-%m-%d %H:%M}"
                f", {platform.machine()}, {platform.processor() or platform.system()}, "
                f"{os.cpu_count()} cores, 1 thread; /proc/loadavg {' '.join(loadavg)} before, "
                f"{' '.join(loadavg_after)} after; whole script {total:.0f} s)\n\n"
                f"`python benchmarks/circuit_compare.py --models {args.models} --planted "
                f"{' '.join(MODELS)}`; planted: "
                f"{N_SEQS} sequences of length {SEQ_LEN}, edges from heads; tracr: "
                f"{TRACR_SEQS} random inputs, every candidate edge (heads, MLPs, logits), "
                f"zero ablation; ACDC thresholds {len(ACDC_EXPS) * len(ACDC_BASES)}; AUC "
                "by |score|, ties half.\n\n")
        with open(ROOT / "benchmarks" / "RESULTS.md", "a") as fh:
            fh.write(head + text + "\n\n" + "\n".join(notes) + "\n")


if __name__ == "__main__":
    main()
