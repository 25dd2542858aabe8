"""Edge scores against circuits compiled by tracr (tests/data/tracr, exported by
benchmarks/tracr/export_tracr.py; no jax needed here): the converted bridge reproduces
tracr's residual stream, and interp's edge attribution (EAP-IG with tracr receiver
metrics, :mod:`interp.pipeline.tracr`) ranks tracr's true edges.

What is measured (64 sequences, zero ablation as ACDC on tracr, 5 IG steps), and asserted:

- ranked by |score| (an edge whose patch moves the metric either way is in the circuit),
  against the graph of what tracr's weights read (:func:`weight_reads`): AUC 1.0 on both
  programs, every true edge non-zero, every other edge exactly 0; the same against the RASP
  program's graph (``constants=False``), which in interp's edge space is that graph;
- against tracr's full declared graph (constant directions included): 0.900 / 0.889 on
  interp's edges: the only misses are ``embed -> head.v``, declared through the BOS flag
  but with a zero row of ``W_V`` (nothing flows; path patching: effect exactly 0);
- exact path patching of every candidate edge alone, zero ablation, the registry's rule:
  every weight-read true edge is confirmed through its own input, every other edge (the
  same sender into another input included) refuted; no redundancy (no group needed).
"""

from __future__ import annotations

import pytest
import torch

from interp.engine.edges import check_by_hand, circuit_run
from interp.model.heads import HeadId
from interp.model.hooks import attached_hooks
from interp.pipeline.tracr import (
    MLP_IN,
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

PROGRAMS = ("frac_prevs", "detect_abc")


@pytest.fixture(scope="module", params=PROGRAMS)
def scored(request):
    from conftest import watch

    tm = load_tracr_model(request.param)
    watch(tm.model)
    return tm, tracr_edge_scores(tm, n_seqs=64, steps=5, method="zero")


@pytest.mark.parametrize("name", PROGRAMS)
def test_bridge_reproduces_tracr(name):
    tm = load_tracr_model(name)
    last = f"blocks.{tm.meta['n_layers'] - 1}.hook_resid_post"
    store = {}

    def keep(act, hook):
        store["resid"] = act.detach().clone()

    for ref in tm.meta["references"]:
        tokens = torch.tensor([ref["ids"]])
        with torch.no_grad(), attached_hooks(tm.model, [(last, keep)]):
            logits = tm.model(tokens)[0, 1:]
        assert torch.allclose(store["resid"][0], torch.tensor(ref["residual"]), atol=1e-4)
        want = torch.tensor(ref["decoded"][1:], dtype=torch.float32)
        got = logits[:, 0] if tm.meta["numerical_output"] else logits.argmax(-1).float()
        assert torch.allclose(got, want, atol=1e-4)
    assert tm.encode(["a"]) == [tm.bos_id, tm.meta["encoding"]["a"]]
    run = circuit_run(tm.model, tracr_stimuli(tm, n_seqs=4))
    check_by_hand(tm.model, run, [HeadId.parse(n) for n in tm.nodes if n[0].isdigit()])


def test_true_edges_follow_tracr_graph():
    tm = load_tracr_model("detect_abc")
    true = true_edges(tm.meta)
    # mlp.0 computes tokens == a/b/c; heads 1.0/1.1 shift two of them (read through v,
    # positions through q/k); mlp.1 and mlp.2 AND them; the unembed reads mlp.2.
    assert {("mlp.0", "1.0", "v"), ("mlp.0", "1.1", "v"), ("embed", "1.0", "q"),
            ("embed", "1.0", "k"), ("1.0", "mlp.1", MLP_IN), ("1.1", "mlp.1", MLP_IN),
            ("mlp.1", "mlp.2", MLP_IN), ("mlp.0", "mlp.2", MLP_IN),
            ("mlp.2", "logits", "out")} <= true
    assert ("mlp.0", "1.0", "q") not in true and ("1.0", "logits", "out") not in true
    assert true <= set(candidate_edges(tm.meta))
    # the constant directions only: the bias 'one' into mlp.1, the BOS flag into v
    assert true - true_edges(tm.meta, constants=False) == {
        ("embed", "mlp.1", MLP_IN), ("embed", "mlp.2", MLP_IN), ("embed", "1.0", "v"),
        ("embed", "1.1", "v")}


def test_weight_reads_drop_the_zero_bos_value_rows():
    for name in PROGRAMS:
        tm = load_tracr_model(name)
        reads = weight_reads(tm)
        dropped = {(node, inp, lab) for node, d in tm.nodes.items()
                   for inp, labs in d.items() if inp != "writes"
                   for lab in set(labs) - set(reads[node][inp])}
        heads = [n for n in tm.nodes if n[0].isdigit()]
        # every head's value row of the BOS flag is zero; other dropped labels (a map's
        # inputs that give 0, a shift's queries with no key) leave another label read
        assert {(h, "v", "tokens:BOS") for h in heads} <= dropped
        assert true_edges(tm.meta) - true_edges(tm.meta, reads=reads) == {
            ("embed", h, "v") for h in heads}


def test_tracr_edge_auc(scored):
    tm, scores = scored
    edges = candidate_edges(tm.meta)
    in_interp = [e for e in edges if e[2] != MLP_IN]  # interp's edge space
    used = true_edges(tm.meta, reads=weight_reads(tm))
    full = true_edges(tm.meta)
    assert edge_auc(scores, used, in_interp) == 1.0
    assert edge_auc(scores, used, edges) == 1.0
    # the RASP program's own graph (the SOps it names; the constant directions are the
    # compiler's) is, in interp's edge space, exactly the graph the weights read
    program = true_edges(tm.meta, constants=False)
    assert {e for e in program if e[2] != MLP_IN} == {e for e in used if e[2] != MLP_IN}
    assert edge_auc(scores, program, in_interp) == 1.0
    assert all(abs(scores[e]) > 1e-2 for e in used)
    assert all(scores[e] == 0 for e in edges if e not in used)
    # the full declared graph: only embed -> head.v (a zero W_V row) is missed
    expected = {"frac_prevs": 0.9, "detect_abc": 8 / 9}[tm.name]
    assert edge_auc(scores, full, in_interp) == pytest.approx(expected)
    assert {e for e in full if scores[e] == 0} == full - used


@pytest.mark.parametrize("name", PROGRAMS)
def test_tracr_path_patching_verdicts(name):
    tm = load_tracr_model(name)
    used = true_edges(tm.meta, reads=weight_reads(tm))
    edges = candidate_edges(tm.meta)
    found = tracr_path_patching(tm, n_seqs=64, method="zero")
    assert set(found) == {((s,), r, i) for s, r, i in edges}
    for (sender, receiver, inp) in edges:
        evidence = found[(sender,), receiver, inp]
        if (sender, receiver, inp) in used:
            assert evidence.status == "confirmed", (sender, receiver, inp, evidence.reason)
        else:
            assert evidence.status in ("refuted", "undecidable"), (sender, receiver, inp)
    # the right input: a sender confirmed into q/k is refuted into v, and the reverse
    assert found[("mlp.0",), "1.0", "v"].status == "confirmed"
    assert found[("mlp.0",), "1.0", "q"].status == "refuted"
    assert found[("embed",), "1.0", "k"].status == "confirmed"
    assert found[("embed",), "1.0", "v"].effect == 0.0


def test_tracr_path_patching_sets_share_one_run():
    tm = load_tracr_model("detect_abc")
    prepared = tracr_run(tm, n_seqs=32)
    sets = [(("1.0", "1.1"), "mlp.1", MLP_IN), (("mlp.0", "1.0", "1.1"), "logits", "out")]
    found = tracr_path_patching(tm, sets, prepared=prepared)
    # both shifted values together into the AND; three non-edges together into the logits
    assert found[sets[0]].status == "confirmed"
    assert found[sets[1]].status == "refuted" and found[sets[1]].effect == 0.0
    alone = tracr_path_patching(tm, [(("1.0",), "mlp.1", MLP_IN)], prepared=prepared)
    assert alone[("1.0",), "mlp.1", MLP_IN].status == "confirmed"
    assert tracr_edge_scores(tm, prepared=prepared) == tracr_edge_scores(tm, n_seqs=32)
    with pytest.raises(ValueError, match="no such receiver"):
        tracr_path_patching(tm, [(("embed",), "mlp.7", MLP_IN)], prepared=prepared)
