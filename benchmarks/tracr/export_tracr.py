"""Compile small RASP programs with tracr and export them for interp's tests (no jax there).

Run in a separate environment that has tracr (``tracr-pypi``, jax, dm-haiku)::

    /work/tracr-venv/bin/python benchmarks/tracr/export_tracr.py tests/data/tracr

For each program it writes ``<name>.npz`` (the weights in TransformerLens layout, float32)
and ``<name>.json``: the residual labels, the token encoding, the output decoding, a few
inputs with tracr's own final residual stream and decoded output (the reference that the
converted bridge must reproduce), and tracr's compiled graph as *nodes*: every attention
head ``L.H`` and MLP ``mlp.L`` that tracr placed, with the residual labels it reads (per
input ``q``/``k``/``v`` for heads, ``in`` for MLPs) and writes, taken from the craft blocks
(``w_qk.left_space``, ``w_qk.right_space``, ``w_ov.input_space``/``output_space``;
``fst.input_space``/``snd.output_space``). ``embed`` writes ``tokens:*``, ``indices:*``
and ``one``; ``logits`` reads the output SOp's labels.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np
from tracr.compiler import (
    assemble,
    basis_inference,
    craft_graph_to_model,
    craft_model_to_transformer,
    expr_to_craft_graph,
    lib,
    rasp_to_graph,
)
from tracr.craft import bases, transformers
from tracr.rasp import rasp

BOS, PAD = "BOS", "PAD"


def programs() -> dict[str, tuple[rasp.SOp, set, int, list[list]]]:
    """name -> (program, vocab, max_seq_len, reference inputs without BOS)."""
    frac = lib.make_frac_prevs(rasp.tokens == "x")
    detect = lib.detect_pattern(rasp.tokens, "abc")
    return {
        "frac_prevs": (frac, {"a", "b", "x"}, 8,
                       [list("axbxxab"), list("xxxx"), list("abab"), list("bxaxbxax")]),
        "detect_abc": (detect, {"a", "b", "c"}, 8,
                       [list("abcabc"), list("aabcbc"), list("cbaabc"), list("abcbcabc")]),
    }


def compile_with_graph(program, vocab, max_seq_len):
    """tracr's compile_rasp_to_model, keeping the craft model (causal, BOS/PAD names)."""
    extracted = rasp_to_graph.extract_rasp_graph(program)
    graph, sources, sink = extracted.graph, extracted.sources, extracted.sink
    basis_inference.infer_bases(graph, sink, vocab, max_seq_len)
    expr_to_craft_graph.add_craft_components_to_rasp_graph(
        graph, bos_dir=bases.BasisDirection(rasp.tokens.label, BOS), mlp_exactness=100)
    craft_model = craft_graph_to_model.craft_graph_to_model(graph, sources)
    assembled = craft_model_to_transformer.craft_model_to_transformer(
        craft_model=craft_model, graph=graph, sink=sink, max_seq_len=max_seq_len,
        causal=True, compiler_bos=BOS, compiler_pad=PAD)
    return craft_model, assembled


def labels(space) -> list[str]:
    out = []
    for d in space.basis:
        out.append(str(d.name) if d.value is None else f"{d.name}:{d.value}")
    return sorted(out)


def graph_nodes(craft_model) -> dict[str, dict[str, list[str]]]:
    """tracr's blocks as interp node labels, with what each reads and writes."""
    _, names = assemble._get_model_config_and_module_names(craft_model)
    nodes: dict[str, dict[str, list[str]]] = {}
    for block, name in zip(craft_model.blocks, names):
        layer = int(name.split("_")[1].split("/")[0])
        if isinstance(block, transformers.MLP):
            nodes[f"mlp.{layer}"] = {"in": labels(block.fst.input_space),
                                     "writes": labels(block.snd.output_space)}
        else:
            for h, head in enumerate(block.as_multi().heads()):
                nodes[f"{layer}.{h}"] = {
                    "q": labels(head.w_qk.left_space), "k": labels(head.w_qk.right_space),
                    "v": labels(head.w_ov.input_space), "writes": labels(head.w_ov.output_space)}
    return nodes


def weights(assembled) -> dict[str, np.ndarray]:
    """The params in TransformerLens layout ([layer, head, ...])."""
    p = {k: {kk: np.asarray(vv, dtype=np.float32) for kk, vv in v.items()}
         for k, v in assembled.params.items()}
    cfg = assembled.model_config
    n_heads, d_head, n_layers = cfg.num_heads, cfg.key_size, cfg.num_layers
    d_model = p["token_embed"]["embeddings"].shape[1]
    out: dict[str, np.ndarray] = {"W_E": p["token_embed"]["embeddings"],
                                  "W_pos": p["pos_embed"]["embeddings"]}
    stacks: dict[str, list[np.ndarray]] = {k: [] for k in (
        "W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O", "W_in", "b_in", "W_out",
        "b_out")}
    for layer in range(n_layers):
        pre = f"transformer/layer_{layer}"
        for x, mod in (("Q", "query"), ("K", "key"), ("V", "value")):
            w, b = p[f"{pre}/attn/{mod}"]["w"], p[f"{pre}/attn/{mod}"]["b"]
            stacks[f"W_{x}"].append(w.reshape(d_model, n_heads, d_head).transpose(1, 0, 2))
            stacks[f"b_{x}"].append(b.reshape(n_heads, d_head))
        lin = p[f"{pre}/attn/linear"]
        stacks["W_O"].append(lin["w"].reshape(n_heads, d_head, d_model))
        stacks["b_O"].append(lin["b"])
        stacks["W_in"].append(p[f"{pre}/mlp/linear_1"]["w"])
        stacks["b_in"].append(p[f"{pre}/mlp/linear_1"]["b"])
        stacks["W_out"].append(p[f"{pre}/mlp/linear_2"]["w"])
        stacks["b_out"].append(p[f"{pre}/mlp/linear_2"]["b"])
    out.update({k: np.stack(v) for k, v in stacks.items()})
    return out


def unembed(assembled, residual_labels: list[str], output_labels: list[str]) -> np.ndarray:
    """``[d_model, n_out]``: the projection onto the output SOp's directions (tracr's
    unembedding before its argmax / numerical readout)."""
    w = np.zeros((len(residual_labels), len(output_labels)), dtype=np.float32)
    for j, lab in enumerate(output_labels):
        w[residual_labels.index(lab), j] = 1.0
    return w


def export(name, program, vocab, max_seq_len, inputs, folder: Path) -> None:
    craft_model, assembled = compile_with_graph(program, vocab, max_seq_len)
    residual = list(assembled.residual_labels)
    out_name = program.label
    output_labels = [lab for lab in residual if lab == out_name or lab.startswith(out_name + ":")]
    arrays = weights(assembled)
    arrays["W_U"] = unembed(assembled, residual, output_labels)
    encoding = dict(assembled.input_encoder.encoding_map)
    refs = []
    for seq in inputs:
        tokens = [BOS] + seq
        res = assembled.apply(tokens)
        refs.append({"input": seq, "ids": [encoding[t] for t in tokens],
                     "residual": np.asarray(res.transformer_output[0]).round(6).tolist(),
                     "decoded": [None if v is None else (v if isinstance(v, str) else float(v))
                                 for v in res.decoded]})
    meta = {
        "name": name, "program": str(program.label), "vocab": sorted(vocab),
        "max_seq_len": max_seq_len, "causal": True, "bos": BOS, "pad": PAD,
        "residual_labels": residual, "encoding": encoding, "output_labels": output_labels,
        "numerical_output": rasp.is_numerical(program),
        "n_layers": int(assembled.model_config.num_layers),
        "n_heads": int(assembled.model_config.num_heads),
        "d_head": int(assembled.model_config.key_size),
        "d_mlp": int(assembled.model_config.mlp_hidden_size),
        "nodes": graph_nodes(craft_model), "references": refs,
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / f"{name}.npz", **arrays)
    (folder / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(name, {k: v.shape for k, v in arrays.items()}, "nodes:", list(meta["nodes"]))


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/tracr")
    for name, (program, vocab, max_seq_len, inputs) in programs().items():
        export(name, program, vocab, max_seq_len, inputs, folder)


if __name__ == "__main__":
    main()
