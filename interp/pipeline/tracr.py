"""Models compiled by tracr (Lindner et al. 2023) as circuits known by construction.

tracr compiles a RASP program into a transformer whose residual stream is a direct sum of
labelled one-hot directions (``tokens:a``, ``indices:3``, ``one``, ``map_6:True``, ...):
each attention head and MLP reads some labels and writes others, so the compiled graph
says exactly which sender feeds which receiver input. ``benchmarks/tracr/export_tracr.py``
(run where tracr, jax and dm-haiku are installed) exports a program's weights and that
graph to ``<name>.npz`` + ``<name>.json``; this module needs neither jax nor tracr:

- :func:`load_tracr_model` rebuilds the compiled model as a TransformerBridge
  (``normalization_type=None``, ReLU MLPs, tracr's causal mask and ``1/sqrt(key_size)``
  scale; the unembedding is the projection onto the output SOp's directions: one logit per
  output value, or the value itself for a numerical output);
- :func:`true_edges` turns tracr's graph into interp's edges: ``(sender, receiver, input)``
  is true when the sender writes a label that the receiver reads through that input;
  tracr's declared spaces (the *full* graph, constant directions such as ``one`` and the
  BOS flag included) or, with :func:`weight_reads`, only the declared labels whose weights
  are not zero (tracr puts ``tokens:BOS`` in every head's value space with a zero row of
  ``W_V``: ``embed -> head.v`` is in the declared graph but carries nothing);
- :func:`tracr_edge_scores` scores every edge with interp's edge attribution (EAP with
  integrated gradients, :mod:`interp.engine.edges`: the same clean run, sender deltas and
  ``delta . gradient`` on the straight path to every read sender corrupted) but with
  receiver metrics that fit a tracr model, whose heads have no behavior class in the
  census (a tracr head that shifts a value by one position is not a previous-token head in
  the census's sense, and most tracr heads are aggregations that no class names):

  * head ``L.H`` (inputs ``q``, ``k``, ``v``): minus the squared distance of the head's
    output (``pattern @ (x_v W_V + b_V)``, before ``W_O``) from its clean output, summed
    over positions and averaged over sequences: unlike the census's attention-mass metric
    it also reads ``v``;
  * ``logits`` (input ``out``, senders other than ``embed`` as in interp): the log
    probability of the clean prediction at every non-BOS position (categorical output), or
    minus the squared distance from the clean value (numerical output);
  * ``mlp.L`` (input ``in``; interp's edges have no MLP receivers, so these are an
    *extension*, reported apart): minus the squared distance of the MLP's output from
    its clean output.

  Every metric is highest at the clean input, so a positive score means the sender helped.

  **Zero ablation** (``method="zero"`` of :mod:`interp.spec.ablation_methods`, the
  default here, as ACDC on tracr, Conmy et al. 2023): a tracr model writes constant
  directions on every input (``one``, the MLPs' bias direction; the BOS flag that the
  attention falls back on), which mean ablation keeps, so edges that carry only them
  score 0 under it; zeroing a sender removes them too. **Ranking by |score|**
  (:func:`edge_auc`, as auto-circuit ranks): an edge whose patch moves the receiver's
  metric in either direction is in the circuit. The signed scores are kept in the
  output: on the integrated path every input of the receiver shrinks together, and a
  tracr MLP subtracts its thresholds through ``one``, so there shrinking ``one`` moves
  the output back toward clean while the other inputs move it away: ``embed -> mlp.L``
  scores negative, though patched alone it moves the MLP most of all.
- :func:`tracr_path_patching` checks edges (or sets of senders) exactly, one receiver
  input at a time, and gives each the registry's verdict; :func:`tracr_run` makes the
  clean pass and ablated senders that it and :func:`tracr_edge_scores` can share.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..engine.ablation import summarise_effect
from ..engine.edges import (
    EMBED,
    HEAD_INPUTS,
    LOGITS,
    OUT,
    CircuitRun,
    Senders,
    attribution,
    circuit_run,
    head_pattern,
    ig_points,
    sender_deltas,
)
from ..model.heads import HeadId
from ..results.evidence import Evidence
from ..stimuli.tokens import Stimuli

#: Where the exported programs live (``tests/data/tracr`` in the source tree).
TRACR_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "tracr"
#: What the embeddings write in a tracr residual stream.
EMBED_PREFIXES = ("tokens:", "indices:")
EMBED_LABELS = ("one",)
#: The input name of an MLP receiver (an extension of interp's edges).
MLP_IN = "in"
#: The metric names of a head's or MLP's receiver, and of the logits.
DISTANCE = "tracr_output_distance"
LOGITS_METRIC = "tracr_logits"
#: Weights below this (absolute) count as not reading a direction (:func:`weight_reads`).
WEIGHT_TOL = 1e-6


@dataclass
class TracrModel:
    """A tracr-compiled program as a bridge, with tracr's graph.

    Attributes:
        model: the TransformerBridge (eval mode).
        meta: the exported JSON (labels, encoding, graph ``nodes``, references).
        name: the program's export name.
    """

    model: Any
    meta: dict[str, Any]
    name: str

    @property
    def nodes(self) -> dict[str, dict[str, list[str]]]:
        return self.meta["nodes"]

    @property
    def bos_id(self) -> int:
        return int(self.meta["encoding"][self.meta["bos"]])

    def encode(self, seq: list[str]) -> list[int]:
        return [self.bos_id] + [int(self.meta["encoding"][t]) for t in seq]


def load_tracr_model(name: str, folder: Path | str = TRACR_DATA) -> TracrModel:
    """Rebuild ``<folder>/<name>.npz`` (+ ``.json``) as a TransformerBridge."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    folder = Path(folder)
    meta = json.loads((folder / f"{name}.json").read_text())
    w = {k: torch.from_numpy(np.asarray(v, dtype=np.float32))
         for k, v in np.load(folder / f"{name}.npz").items()}
    n_layers, n_heads, d_head = meta["n_layers"], meta["n_heads"], meta["d_head"]
    d_vocab, d_model = w["W_E"].shape
    cfg = TransformerBridgeConfig(
        d_model=d_model, d_head=d_head, n_heads=n_heads, n_layers=n_layers,
        n_ctx=int(w["W_pos"].shape[0]), d_vocab=d_vocab, d_vocab_out=int(w["W_U"].shape[1]),
        d_mlp=meta["d_mlp"], act_fn="relu", attn_only=False, normalization_type=None,
        positional_embedding_type="standard", seed=0, model_name=f"tracr-{name}")
    model = TransformerBridge.boot_native(cfg, model_name=f"tracr-{name}")
    state = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    state["embed.weight"] = w["W_E"]
    state["pos_embed.weight"] = w["W_pos"]
    for layer in range(n_layers):
        pre = f"blocks.{layer}"
        for x in ("q", "k", "v"):  # head-major rows: [n_heads * d_head, d_model]
            big = x.upper()
            state[f"{pre}.attn.{x}.weight"] = w[f"W_{big}"][layer].permute(0, 2, 1).reshape(
                n_heads * d_head, d_model)
            state[f"{pre}.attn.{x}.bias"] = w[f"b_{big}"][layer].reshape(-1)
        state[f"{pre}.attn.o.weight"] = w["W_O"][layer].reshape(n_heads * d_head, d_model).T
        state[f"{pre}.attn.o.bias"] = w["b_O"][layer]
        state[f"{pre}.mlp.in.weight"] = w["W_in"][layer].T
        state[f"{pre}.mlp.in.bias"] = w["b_in"][layer]
        state[f"{pre}.mlp.out.weight"] = w["W_out"][layer].T
        state[f"{pre}.mlp.out.bias"] = w["b_out"][layer]
    state["unembed.weight"] = w["W_U"].T
    model.load_state_dict({k: v.contiguous() for k, v in state.items()}, strict=True)
    model.eval()
    return TracrModel(model=model, meta=meta, name=name)


def _writes(label: str, meta: dict[str, Any]) -> list[str]:
    if label == EMBED:
        return [lab for lab in meta["residual_labels"]
                if lab.startswith(EMBED_PREFIXES) or lab in EMBED_LABELS]
    node = meta["nodes"].get(label)
    return node["writes"] if node else []


def _layer(label: str) -> int:
    if label == EMBED:
        return -1
    return int(label.split(".")[1]) if label.startswith("mlp.") else int(label.split(".")[0])


def candidate_edges(meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every edge between the nodes tracr placed (padding heads/MLPs left out), in interp's
    edge space (head ``q``/``k``/``v``, ``logits`` ``out``) and the MLP extension (``in``).
    A head in layer ``L`` reads senders of layers ``< L``; an MLP in ``L`` also reads the
    heads of ``L``; the logits read every sender but ``embed``."""
    nodes = list(meta["nodes"])
    senders = [EMBED] + nodes
    out = []
    for receiver in nodes:
        lay = _layer(receiver)
        if receiver.startswith("mlp."):
            for s in senders:
                if _layer(s) < lay or (_layer(s) == lay and not s.startswith("mlp.")):
                    out.append((s, receiver, MLP_IN))
        else:
            for s in senders:
                if _layer(s) < lay:
                    out += [(s, receiver, x) for x in ("q", "k", "v")]
    out += [(s, LOGITS, OUT) for s in nodes]
    return out


#: Directions that hold the same value on every input (the compiler's bias direction and
#: the BOS flag at position 0): an edge that carries only these moves nothing that any
#: ablation of the sender could change, except by smearing positions.
CONSTANT_LABELS = ("one", "tokens:BOS")


def true_edges(meta: dict[str, Any], *, constants: bool = True,
               reads: dict[str, dict[str, list[str]]] | None = None,
               ) -> set[tuple[str, str, str]]:
    """The candidate edges along which tracr's graph passes information: the sender writes
    a residual label that the receiver reads through that input. ``reads`` (node ->
    input -> labels; default: tracr's declared spaces, ``meta["nodes"]``) replaces what
    each node reads, e.g. by :func:`weight_reads`. ``constants=False`` ignores
    :data:`CONSTANT_LABELS` (edges that carry only a constant are then false)."""
    reads = reads or meta["nodes"]
    true = set()
    for sender, receiver, inp in candidate_edges(meta):
        read = meta["output_labels"] if receiver == LOGITS else reads[receiver][inp]
        shared = set(_writes(sender, meta)) & set(read)
        if not constants:
            shared -= set(CONSTANT_LABELS)
        if shared:
            true.add((sender, receiver, inp))
    return true


def weight_reads(tm: TracrModel, tol: float = WEIGHT_TOL) -> dict[str, dict[str, list[str]]]:
    """What each node's *weights* read: the labels of tracr's declared spaces
    (``meta["nodes"]``) whose weights are not all zero (``|w| > tol``): for a head,
    ``q`` the rows and ``k`` the columns of ``W_Q W_K^T``, ``v`` the rows of
    ``W_V W_O``; for an MLP the rows of ``W_in``.

    tracr declares spaces wider than its weights use: every head's value space holds
    ``tokens:BOS`` (so that attending to BOS, its default when no key matches, adds
    nothing) with a zero row of ``W_V``; an edge that carries only such a label carries
    nothing at all, whatever the ablation, and no method can find it. Others dropped
    (``frac_prevs``: ``tokens:a``/``b`` into an MLP that computes ``tokens == x``;
    ``detect_abc``: shift heads' queries at indices 0-1 with no key to match) leave each
    such edge another label to carry, so they change no edge.
    """
    model, labels = tm.model, tm.meta["residual_labels"]
    if len(labels) != int(model.cfg.d_model):
        raise ValueError(f"{tm.name}: {len(labels)} residual labels for d_model "
                         f"{model.cfg.d_model}")
    out: dict[str, dict[str, list[str]]] = {}
    with torch.no_grad():
        for node, declared in tm.nodes.items():
            if node.startswith("mlp."):
                used = {MLP_IN: model.W_in[_layer(node)].abs().amax(1)}
            else:
                h = HeadId.parse(node)
                qk = model.W_Q[h.layer, h.head] @ model.W_K[h.layer, h.head].T  # (d, d)
                ov = model.W_V[h.layer, h.head] @ model.W_O[h.layer, h.head]  # (d, d)
                used = {"q": qk.abs().amax(1), "k": qk.abs().amax(0), "v": ov.abs().amax(1)}
            out[node] = {inp: [lab for lab in declared[inp] if
                               float(row[labels.index(lab)]) > tol]
                         for inp, row in used.items()}
    return out


def tracr_stimuli(tm: TracrModel, n_seqs: int = 64, seed: int = 0) -> Stimuli:
    """``n_seqs`` random full-length inputs (BOS first) over the program's vocabulary."""
    gen = torch.Generator().manual_seed(seed)
    vocab = [int(tm.meta["encoding"][t]) for t in tm.meta["vocab"]]
    n = int(tm.meta["max_seq_len"])
    body = torch.tensor(vocab)[torch.randint(len(vocab), (n_seqs, n), generator=gen)]
    tokens = torch.cat([torch.full((n_seqs, 1), tm.bos_id), body], dim=1)
    return Stimuli(tokens=tokens, valid=torch.ones_like(tokens, dtype=torch.bool),
                   bos_token_id=tm.bos_id, description={"kind": "tracr", "seed": seed})


def _head_out(model: Any, head: HeadId, x_q: Tensor, x_k: Tensor, x_v: Tensor) -> Tensor:
    """The head's output before ``W_O`` (``[batch, pos, d_head]``) by hand."""
    pattern = head_pattern(model, head, x_q, x_k)  # (B, Q, K)
    v = x_v @ model.W_V[head.layer, head.head] + model.b_V[head.layer, head.head]
    return pattern.to(v.dtype) @ v


def _mlp_out(model: Any, layer: int, x: Tensor) -> Tensor:
    hidden = torch.relu(x @ model.W_in[layer] + model.b_in[layer])
    return hidden @ model.W_out[layer] + model.b_out[layer]


@dataclass(frozen=True)
class TracrReceiver:
    """One receiver node with its clean input and its metric (module docstring).

    Attributes:
        label: ``L.H``, ``mlp.L`` or ``logits``.
        inputs: the inputs it reads (``q``/``k``/``v``, ``in`` or ``out``), each a residual.
        resid: the clean residual every input reads, ``[batch, pos, d_model]``.
        senders: indices (into :class:`interp.engine.edges.Senders`) of the senders it reads.
        metric: one residual per input -> the metric per sequence, ``[batch]`` (highest at
            the clean input).
        metric_name: ``tracr_output_distance`` (heads, MLPs) or ``tracr_logits``.
    """

    label: str
    inputs: tuple[str, ...]
    resid: Tensor
    senders: tuple[int, ...]
    metric: Callable[..., Tensor]
    metric_name: str


def tracr_receivers(tm: TracrModel, run: CircuitRun, senders: Senders,
                    ) -> list[TracrReceiver]:
    """Every node of tracr's graph and the logits as :class:`TracrReceiver`."""
    model = tm.model
    n_layers = int(model.cfg.n_layers)
    out: list[TracrReceiver] = []
    for label in tm.nodes:
        lay = _layer(label)
        if label.startswith("mlp."):
            resid = (run.resid_pre[lay + 1] if lay + 1 < n_layers else run.final) \
                - run.mlp_out[lay]  # the residual between the attention and the MLP
            idx = tuple(i for i, (s, sl) in enumerate(zip(senders.labels, senders.layers))
                        if sl < lay or (sl == lay and not s.startswith("mlp.")))
            with torch.no_grad():
                clean = _mlp_out(model, lay, resid)

            def mlp_metric(x: Tensor, lay: int = lay, clean: Tensor = clean) -> Tensor:
                return -((_mlp_out(model, lay, x) - clean) ** 2).sum((-2, -1))

            out.append(TracrReceiver(label, (MLP_IN,), resid, idx, mlp_metric, DISTANCE))
        else:
            head = HeadId.parse(label)
            resid = run.resid_pre[lay]
            with torch.no_grad():
                clean = _head_out(model, head, resid, resid, resid)

            def head_metric(x_q: Tensor, x_k: Tensor, x_v: Tensor, head: HeadId = head,
                            clean: Tensor = clean) -> Tensor:
                return -((_head_out(model, head, x_q, x_k, x_v) - clean) ** 2).sum((-2, -1))

            out.append(TracrReceiver(label, HEAD_INPUTS, resid, tuple(senders.before(lay)),
                                     head_metric, DISTANCE))
    w_u = model.W_U.detach()
    numerical = bool(tm.meta["numerical_output"])
    with torch.no_grad():
        clean_logits = run.final @ w_u
        target = clean_logits.argmax(-1)

    def out_metric(final: Tensor) -> Tensor:
        logits = final @ w_u
        if numerical:
            return -((logits - clean_logits)[:, 1:] ** 2).sum((-2, -1))
        logp = torch.log_softmax(logits.float(), -1).gather(-1, target[..., None])[..., 0]
        return logp[:, 1:].sum(-1)

    idx = tuple(i for i, s in enumerate(senders.labels) if s != EMBED)
    out.append(TracrReceiver(LOGITS, (OUT,), run.final, idx, out_metric,
                             DISTANCE if numerical else LOGITS_METRIC))
    return out


def _ig_grads(fn: Any, start: Tensor, direction: Tensor, n_inputs: int, steps: int,
              ) -> list[Tensor]:
    """Gradients of ``fn(*inputs)`` (a scalar) averaged over :func:`ig_points` on the path
    ``start + alpha * direction``, one per input (all inputs start at the same point)."""
    grads = [torch.zeros_like(start) for _ in range(n_inputs)]
    points = ig_points(steps)
    with torch.inference_mode(False), torch.enable_grad():
        for alpha in points:
            base = (start + alpha * direction).detach()
            xs = [base.clone().requires_grad_(True) for _ in range(n_inputs)]
            for g, got in zip(grads, torch.autograd.grad(fn(*xs), xs)):
                g += got / len(points)
    return grads


@dataclass(frozen=True)
class TracrRun:
    """One clean pass of a tracr model over random inputs, with every sender's ablated
    change and every receiver: what :func:`tracr_edge_scores` and
    :func:`tracr_path_patching` both read (:func:`tracr_run` makes one).

    Attributes:
        run: the clean pass.
        senders: every sender's ``ablated - clean`` output.
        receivers: :func:`tracr_receivers`.
        method, seed: the ablation method and seed.
    """

    run: CircuitRun
    senders: Senders
    receivers: tuple[TracrReceiver, ...]
    method: str
    seed: int


def tracr_run(tm: TracrModel, *, n_seqs: int = 64, method: str = "zero", seed: int = 0,
              ) -> TracrRun:
    """A :class:`TracrRun` on :func:`tracr_stimuli` (``n_seqs``, ``seed``) with ``method``
    ablation (default ``zero``: module docstring)."""
    stimuli = tracr_stimuli(tm, n_seqs=n_seqs, seed=seed)
    run = circuit_run(tm.model, stimuli)
    senders = sender_deltas(tm.model, run, method=method, seed=seed)
    return TracrRun(run=run, senders=senders,
                    receivers=tuple(tracr_receivers(tm, run, senders)), method=method,
                    seed=seed)


def tracr_edge_scores(tm: TracrModel, *, n_seqs: int = 64, steps: int = 5,
                      method: str = "zero", seed: int = 0, prepared: TracrRun | None = None,
                      ) -> dict[tuple[str, str, str], float]:
    """The signed attribution score of every :func:`candidate_edges` edge (module
    docstring: positive = the sender helped; rank by ``|score|``, :func:`edge_auc`), on
    ``prepared`` if given (then ``n_seqs``, ``method`` and ``seed`` are its own)."""
    prepared = prepared or tracr_run(tm, n_seqs=n_seqs, method=method, seed=seed)
    run, senders, receivers = prepared.run, prepared.senders, prepared.receivers
    wanted = set(candidate_edges(tm.meta))
    batch = run.stimuli.n_seqs
    scores: dict[tuple[str, str, str], float] = {}
    for rec in receivers:
        idx = list(rec.senders)

        def total(*xs: Tensor, rec: TracrReceiver = rec) -> Tensor:
            return rec.metric(*xs).sum() / batch

        grads = _ig_grads(total, rec.resid, senders.deltas[idx].sum(0), len(rec.inputs),
                          steps)
        for name, grad in zip(rec.inputs, grads):
            # metric(corrupt) - metric(clean) to first order, per sender; negated: helped > 0
            values = -attribution(senders.deltas[idx], grad, batch).mean(1)
            for i, v in zip(idx, values.tolist()):
                if (senders.labels[i], rec.label, name) in wanted:
                    scores[senders.labels[i], rec.label, name] = float(v)
    return scores


def tracr_path_patching(
    tm: TracrModel, sets: Sequence[tuple[tuple[str, ...], str, str]] | None = None, *,
    n_seqs: int = 64, method: str = "zero", seed: int = 0, min_effect: float = 0.1,
    z: float = 2.0, prepared: TracrRun | None = None,
) -> dict[tuple[tuple[str, ...], str, str], Evidence]:
    """Exact path patching of sets of senders into one receiver input, with a verdict.

    For ``(senders, receiver, input)`` the residual that ``input`` of ``receiver`` reads
    becomes ``clean + sum of the senders' (ablated - clean)``; every other input, and
    every other node, keeps its clean value (a receiver's metric is computed by hand from
    its inputs, so nothing in between is rerun). The effect per sequence is, for a head,
    an MLP or a numerical output, the *distance* of the patched output from the clean one
    (the root of the squared-distance metric: on the squared distance a relative effect
    would be the square of the share moved, so the rule's 10% would mean 32%), for
    categorical logits the fall of the clean prediction's log probability; positive: the
    senders helped along that path. Its mean and standard error over the sequences go to
    :func:`interp.results.evidence.decide` with the receiver's *scale*: the same effect
    when every sender it reads is ablated into every input at once (the receiver cut off
    from all it reads); a relative effect above 1 is possible (zeroing ``one`` alone
    into a tracr MLP moves it more than zeroing all its input). Default ``sets``: every
    :func:`candidate_edges` edge alone. On ``prepared`` if given (then ``n_seqs``,
    ``method`` and ``seed`` are its own).

    Returns:
        ``(senders, receiver, input)`` -> :class:`interp.results.evidence.Evidence`
        (``heads`` of its effect: the senders).
    """
    if sets is None:
        sets = [((s,), r, i) for s, r, i in candidate_edges(tm.meta)]
    prepared = prepared or tracr_run(tm, n_seqs=n_seqs, method=method, seed=seed)
    senders, receivers = prepared.senders, prepared.receivers
    method, seed = prepared.method, prepared.seed
    missing = {r for _, r, _ in sets} - {rec.label for rec in receivers}
    if missing:
        raise ValueError(f"no such receiver in {tm.name}: {sorted(missing)}")
    out: dict[tuple[tuple[str, ...], str, str], Evidence] = {}
    with torch.no_grad():
        for rec in receivers:
            chosen = [key for key in sets if key[1] == rec.label]
            if not chosen:
                continue
            n_in = len(rec.inputs)
            clean = rec.metric(*[rec.resid] * n_in).double()  # (B,)
            cut = rec.resid + senders.deltas[list(rec.senders)].sum(0)
            scale = float(_fall(rec, clean, rec.metric(*[cut] * n_in).double()).mean())
            for key in chosen:
                group, _, inp = key
                moved = rec.resid + senders.deltas[[senders.index(s) for s in group]].sum(0)
                xs = [moved if name == inp else rec.resid for name in rec.inputs]
                patched = rec.metric(*xs).double()
                effect = summarise_effect(list(group), method, rec.metric_name, clean,
                                          patched, _fall(rec, clean, patched), scale, seed)
                out[key] = Evidence.from_effect(effect, min_effect, z)
    return out


def _fall(rec: TracrReceiver, clean: Tensor, patched: Tensor) -> Tensor:
    """The effect per sequence: the distance of the patched output from the clean one
    (the root of the squared-distance metric, which is 0 at the clean input), or the
    fall of the log probability (categorical logits)."""
    if rec.metric_name == DISTANCE:
        return (clean - patched).clamp(min=0).sqrt()
    return clean - patched


def edge_auc(scores: dict[tuple[str, str, str], float], true: set[tuple[str, str, str]],
             edges: list[tuple[str, str, str]], *, magnitude: bool = True) -> float:
    """ROC AUC of ``scores`` over ``edges`` with ``true`` as positives (ties count half),
    ranked by ``|score|`` (an edge whose patch moves the metric in either direction is in
    the circuit; auto-circuit ranks the same way) or, with ``magnitude=False``, by the
    signed score."""
    rank = {e: abs(v) if magnitude else v for e, v in scores.items()}
    pos = [rank[e] for e in edges if e in true]
    neg = [rank[e] for e in edges if e not in true]
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n) + 0.5 * (p == n)).mean())
