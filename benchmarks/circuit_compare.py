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

The edges compared are those from a head (as in tests/test_circuit.py): head -> later head
``q``/``k``/``v`` and head -> ``logits``; the AUC counts ties as half. interp ranks by its
signed score (positive = the sender helped), auto-circuit by |score| (its convention).
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "decoyed": {"roles_layer0": ("previous_token", "back_1", "current_token",
                                  "duplicate_token", "uniform"),
                    "roles_layer1": ("induction", "uniform")},
    "redundant": {"roles_layer0": ("previous_token", "previous_token", "back_1"),
                      "redundant_induction": True},
}
N_SEQS, SEQ_LEN, SEED = 16, 20, 0


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
    return {(p, i, "k") for p in prevs for i in inds} | {(i, "logits", "out") for i in inds}


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


# ----------------------------------------------------------- auto-circuit side (ac venv)
def run_auto_circuit(folder: Path) -> list[dict]:
    import torch as t

    t.set_num_threads(1)
    from auto_circuit.data import PromptDataLoader, PromptDataset
    from auto_circuit.prune_algos.ACDC import acdc_prune_scores
    from auto_circuit.prune_algos.mask_gradient import mask_gradient_prune_scores
    from auto_circuit.utils.graph_utils import patchable_model
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    rows = []
    for name in MODELS:
        meta = json.loads((folder / f"{name}.json").read_text())
        w = {k: t.from_numpy(v) for k, v in np.load(folder / f"{name}.npz").items()}
        n_layers, n_heads, d_model, d_head = w["W_Q"].shape
        cfg = HookedTransformerConfig(
            n_layers=n_layers, d_model=d_model, d_head=d_head, n_heads=n_heads,
            n_ctx=meta["n_ctx"], d_vocab=meta["d_vocab"], attn_only=True,
            normalization_type=None, positional_embedding_type="standard", seed=0)
        model = HookedTransformer(cfg)
        state = model.state_dict()
        for layer in range(n_layers):
            for k in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
                state[f"blocks.{layer}.attn.{k}"] = w[k][layer]
        state["embed.W_E"], state["pos_embed.W_pos"] = w["W_E"], w["W_pos"]
        state["unembed.W_U"], state["unembed.b_U"] = w["W_U"], w["b_U"]
        model.load_state_dict(state, strict=False)
        model.eval()
        with t.no_grad():
            diff = float((model(w["ref_tokens"]) - w["ref_logits"]).abs().max())
        assert diff < 1e-3, f"HookedTransformer copy differs from the bridge by {diff}"
        model.cfg.use_attn_result = True
        model.cfg.use_attn_in = True
        model.cfg.use_split_qkv_input = True
        model.cfg.use_hook_mlp_in = True

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
                pmodel, loader, official_edges=None, tao_exps=list(range(-5, -1)),
                tao_bases=[1, 3, 5, 7, 9]),
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
            start = time.perf_counter()
            prune_scores = fn()
            wall = time.perf_counter() - start
            scores = {e: 0.0 for e in edges}
            for edge in pmodel.edges:
                key = ours(edge)
                if key in scores:
                    scores[key] = abs(float(edge.prune_score(prune_scores)))
            rows.append({"model": name, "method": method, "auc": auc(scores, true, edges),
                             "wall": wall, "note": f"max |logit diff| vs bridge {diff:.1e}"})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | method | edge ROC AUC | wall s |", "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['method']} | {r['auc']:.3f} | {r['wall']:.2f} |"
              for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto-circuit", metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--ac-python", default="/work/ac-venv/bin/python")
    parser.add_argument("--append", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    if args.auto_circuit:  # the child in auto-circuit's environment
        print(json.dumps(run_auto_circuit(Path(args.auto_circuit))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_interp(Path(tmp))
        if Path(args.ac_python).exists():
            env = {**os.environ, "PYTHONPATH": ""}
            done = subprocess.run([args.ac_python, __file__, "--auto-circuit", tmp],
                                  capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                sys.exit(f"auto-circuit side failed:\n{done.stderr[-4000:]}")
            rows += json.loads(done.stdout.strip().splitlines()[-1])
        else:
            print(f"no auto-circuit environment at {args.ac_python}: interp only",
                  file=sys.stderr)
    order = {name: i for i, name in enumerate(MODELS)}
    rows.sort(key=lambda r: order[r["model"]])
    text = table(rows)
    print(text)
    for r in rows:
        print(f"- {r['model']} / {r['method']}: {r['note']}", file=sys.stderr)
    if args.append:
        head = (f"\n## Circuit edges: interp vs auto-circuit ({dt.date.today()}, "
                f"{platform.machine()}, {platform.processor() or platform.system()}, "
                f"{os.cpu_count()} cores, 1 thread)\n\n"
                f"`python benchmarks/circuit_compare.py`; planted models, {N_SEQS} sequences "
                f"of length {SEQ_LEN}; edges from heads, AUC ties half.\n\n")
        with open(ROOT / "benchmarks" / "RESULTS.md", "a") as fh:
            fh.write(head + text + "\n")


if __name__ == "__main__":
    main()
