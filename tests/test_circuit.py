"""Circuits: edge attribution scores and path patching against circuits known by
construction (planted models), the bundled model's previous-token -> induction key edge,
the output files and bad input."""

from __future__ import annotations

import json
import re

import pytest
import torch
from sklearn.metrics import roc_auc_score

from interp import (
    DEFAULT_MODEL_DIR,
    Circuit,
    CircuitSettings,
    build_planted_model,
    classify_heads,
    find_circuit,
    write_circuit,
)
from interp.cli import main
from interp.engine.edges import check_supported
from interp.io.output_files import CIRCUIT_FILES, check_output_set
from interp.io.safe_json import validate
from interp.io.schemas import CircuitDoc
from interp.model.heads import HeadId

SMALL = CircuitSettings(n_seqs=16, seq_len=20)


def _is_head(label: str) -> bool:
    return label[0].isdigit()


def _head_auc(circuit: Circuit, true: set[tuple[str, str, str]]) -> float:
    """ROC AUC of the scores, true edges against every other edge from a head."""
    edges = [e for e in circuit.edges if _is_head(e.source)]
    assert true <= {e.key for e in edges}
    return roc_auc_score([e.key in true for e in edges], [e.score for e in edges])


@pytest.fixture(scope="module")
def decoyed(watch_model_module):
    """A previous-token head feeding an induction head through its key, beside decoys:
    ``back_1`` attends exactly like the previous-token head but writes nothing anyone
    reads; ``current_token`` and ``uniform`` write nothing read either."""
    planted = build_planted_model(
        roles_layer0=("previous_token", "back_1", "current_token", "duplicate_token",
                      "uniform"),
        roles_layer1=("induction", "uniform"))
    watch_model_module(planted.model)
    before = {k: v.clone() for k, v in planted.model.state_dict().items()}
    circuit = find_circuit(planted.model, SMALL)
    after = planted.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # never mutated
    return planted, circuit


@pytest.fixture(scope="module")
def watch_model_module():
    from conftest import watch

    return watch


def test_planted_true_edges_are_confirmed_with_the_right_input(decoyed):
    planted, circuit = decoyed
    (prev,) = planted.heads_with_role("previous_token")
    (ind,) = planted.heads_with_role("induction")
    assert circuit.receivers[ind] == "induction"
    assert circuit.edge(prev, ind, "k").status == "confirmed"
    assert circuit.edge(prev, ind, "q").status == "refuted"
    assert circuit.edge(prev, ind, "v").status == "refuted"
    assert circuit.edge(ind, "logits", "out").status == "confirmed"
    key = circuit.edge(prev, ind, "k")
    assert key.score > 0 and key.effect > 0.5 and key.relative > 0.5


def test_planted_decoy_edges_are_never_confirmed(decoyed):
    planted, circuit = decoyed
    decoys = [h for h, r in planted.roles.items() if r in ("back_1", "current_token", "uniform")]
    assert decoys
    from_decoys = [e for e in circuit.edges if e.source in decoys]
    assert from_decoys
    assert all(e.status in ("refuted", "undecidable") for e in from_decoys)


def test_planted_edge_ranking_auc(decoyed):
    planted, circuit = decoyed
    (prev,) = planted.heads_with_role("previous_token")
    (ind,) = planted.heads_with_role("induction")
    auc = _head_auc(circuit, {(prev, ind, "k"), (ind, "logits", "out")})
    assert auc >= 0.95


def test_every_pair_is_scored_for_every_input(decoyed):
    planted, circuit = decoyed
    heads = [h for h in planted.roles]
    for target in circuit.receivers:
        layer = HeadId.parse(target).layer
        earlier = ["embed"] + [h for h in heads if HeadId.parse(h).layer < layer]
        for source in earlier:
            for inp in ("q", "k", "v"):
                circuit.edge(source, target, inp)
    for head in heads:
        circuit.edge(head, "logits", "out")
    # attention reads q and k only: v edges into a head never change its score
    assert all(e.score == 0 and e.effect == 0 for e in circuit.edges if e.input == "v")
    assert all(e.status != "unchecked" for e in circuit.edges)  # default: every edge checked


def test_redundant_pairs_are_confirmed_as_groups_and_decoys_stay_unconfirmed(watch_model):
    """Two previous-token heads feed two induction heads that write the same answer: each
    edge alone is refuted (its twin compensates), patched together they are confirmed,
    with the right input, and the decoy beside them is not."""
    planted = build_planted_model(roles_layer0=("previous_token", "previous_token", "back_1"),
                                  redundant_induction=True)
    watch_model(planted.model)
    circuit = find_circuit(planted.model, SMALL)
    prevs = planted.heads_with_role("previous_token")
    inds = planted.heads_with_role("induction")
    keys = {(p, i, "k") for p in prevs for i in inds if i in circuit.receivers}
    outs = {(i, "logits", "out") for i in inds}
    true = keys | outs
    assert len(keys) == 4 and len(outs) == 2
    assert _head_auc(circuit, true) >= 0.95
    for key in true:
        edge = circuit.edge(*key)
        assert edge.status == "confirmed" and "alone" in edge.reason
        assert edge.relative < 0.1  # refuted alone: the twin compensates
    assert {circuit.edge(*k).group for k in keys} == {tuple(prevs)}
    assert {circuit.edge(*k).group for k in outs} == {tuple(inds)}
    for p in prevs:  # the wrong inputs stay unconfirmed
        for i in inds:
            assert circuit.edge(p, i, "q").status != "confirmed"
    decoy = planted.heads_with_role("back_1")[0]
    assert all(e.status in ("refuted", "undecidable") and not e.group
               for e in circuit.edges if e.source == decoy)
    confirmed_groups = [g for g in circuit.groups if g.confirmed]
    assert {(g.target, g.input) for g in confirmed_groups} == (
        {(i, "k") for i in inds} | {("logits", "out")})
    assert all(decoy not in g.confirmed for g in circuit.groups)
    assert Circuit.from_dict(json.loads(json.dumps(circuit.to_dict()))) == circuit


@pytest.fixture(scope="module")
def suppression(watch_model_module):
    """Three layers: previous-token -> induction (key) -> copy suppression (query), with
    induction and copy suppression both writing to the logits, beside decoys: ``back_1``
    (the previous-token pattern, writes nothing read), ``mute_copy_suppression`` (the
    suppressor's pattern, writes nothing read), ``current_token``, ``bos``, ``uniform``.
    ``d_vocab=64``: few chance repeats inside ``r`` (with 24 tokens and ``seq_len`` 20 the
    suppressor also tempers confident wrong predictions, so ablating it raises the
    second-copy loss and the census also confirms it as an induction head)."""
    planted = build_planted_model(
        d_vocab=64, roles_layer0=("previous_token", "back_1", "current_token"),
        roles_layer1=("induction", "uniform", "bos"),
        roles_layer2=("copy_suppression", "mute_copy_suppression", "uniform"))
    watch_model_module(planted.model)
    classification = classify_heads(planted.model, SMALL.census(), progress=False)
    circuit = find_circuit(planted.model, SMALL, classification=classification)
    roles = {r: planted.heads_with_role(r)[0] for r in
             ("previous_token", "induction", "copy_suppression", "mute_copy_suppression")}
    return planted, classification, circuit, roles


def test_census_classes_the_suppression_circuit(suppression):
    planted, classification, circuit, roles = suppression
    assert classification.head(roles["induction"]).confirmed_classes == ("induction",)
    assert classification.head(roles["copy_suppression"]).confirmed_classes == (
        "copy_suppression",)
    assert classification.head(roles["mute_copy_suppression"]).confirmed_classes == ()
    assert circuit.receivers == {roles["previous_token"]: "previous_token",
                                 roles["induction"]: "induction",
                                 roles["copy_suppression"]: "copy_suppression"}


def test_induction_feeds_copy_suppression_through_the_query(suppression):
    _, classification, circuit, roles = suppression
    prev, ind, cs = roles["previous_token"], roles["induction"], roles["copy_suppression"]
    assert circuit.edge(prev, ind, "k").status == "confirmed"
    query = circuit.edge(ind, cs, "q")
    assert query.status == "confirmed" and query.score > 0 and query.relative > 0.9
    assert circuit.edge(ind, cs, "k").status == "refuted"
    assert circuit.edge(ind, cs, "v").status == "refuted"
    assert circuit.edge(prev, cs, "q").status == "refuted"  # no direct edge: via induction
    assert circuit.edge(ind, "logits", "out").status == "confirmed"
    assert circuit.edge(ind, "logits", "out").metric == "second_copy_loss"
    # The suppressor's direct path to the logits lowers the predicted token's logit: its
    # own behavior's test (direct_copy_suppression), which it passes with about the share
    # the census measured for the whole head (it writes nothing else), not the loss (which
    # its job raises).
    out = circuit.edge(cs, "logits", "out")
    assert out.metric == "direct_copy_suppression"
    assert out.status == "confirmed" and out.score > 0 and out.effect > 0
    whole = classification.head(cs).ablation["copy_suppression"]
    assert out.relative == pytest.approx(whole.relative, abs=0.05)


def test_suppression_decoy_edges_are_never_confirmed(suppression):
    planted, _, circuit, _ = suppression
    decoys = [h for h, r in planted.roles.items()
              if r in ("back_1", "mute_copy_suppression", "current_token", "bos", "uniform")]
    from_decoys = [e for e in circuit.edges if e.source in decoys]
    assert len(from_decoys) > 20
    assert all(e.status in ("refuted", "undecidable") for e in from_decoys)


def test_suppression_edge_ranking_auc(suppression):
    _, _, circuit, roles = suppression
    prev, ind, cs = roles["previous_token"], roles["induction"], roles["copy_suppression"]
    true = {(prev, ind, "k"), (ind, cs, "q"), (ind, "logits", "out"), (cs, "logits", "out")}
    assert _head_auc(circuit, true) >= 0.95
    edges = [e for e in circuit.edges if _is_head(e.source)]
    assert roc_auc_score([e.key in true for e in edges], [abs(e.score) for e in edges]) >= 0.95
    assert {e.key for e in edges if e.status == "confirmed"} == true


def test_bundled_previous_token_to_induction_key_edge_is_confirmed(bundled_model):
    known = json.loads((DEFAULT_MODEL_DIR / "heads.json").read_text())
    prevs = [h for h in known["previous_token"] if HeadId.parse(h).layer == 0]
    inds = known["induction"]
    circuit = find_circuit(bundled_model, CircuitSettings(n_seqs=16))
    for p in prevs:
        for i in inds:
            if i in circuit.receivers:
                assert circuit.edge(p, i, "k").status == "confirmed"
    assert any(i in circuit.receivers for i in inds)


def test_max_checked_leaves_the_rest_unchecked(decoyed):
    planted, _ = decoyed
    circuit = find_circuit(planted.model, CircuitSettings(n_seqs=16, seq_len=20,
                                                          max_checked=3))
    checked = [e for e in circuit.edges if e.status != "unchecked"]
    assert len(checked) == 3
    assert all(e.effect is None for e in circuit.edges if e.status == "unchecked")


def test_written_files_are_a_checked_set(decoyed, tmp_path):
    _, circuit = decoyed
    paths = write_circuit(circuit, tmp_path / "c")
    assert sorted(p.name for p in paths.values()) == sorted(CIRCUIT_FILES.names)
    assert check_output_set(tmp_path / "c", CIRCUIT_FILES.manifest_name, CIRCUIT_FILES.others).ok
    doc = validate(CircuitDoc, json.loads(paths["json"].read_text()), source="circuit.json")
    assert len(doc.edges) == len(circuit.edges)
    data = json.loads(paths["json"].read_text())
    data.pop("output_set")
    assert Circuit.from_dict(data) == circuit
    from plotly.offline import get_plotlyjs

    html = paths["html"].read_text()
    assert html.count(get_plotlyjs()[:200]) == 1  # plotly.js inlined once: offline
    assert not re.search(r"<script[^>]*\bsrc=", html)
    outside_bundle = html.replace(get_plotlyjs(), "")
    assert "http://" not in outside_bundle and "https://" not in outside_bundle
    assert html.count('class="plotly-graph-div"') == 1
    assert "| source | target |" in paths["markdown"].read_text()


def test_unknown_behavior_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown behavior"):
        CircuitSettings(behaviors=("no_such_behavior",))
    out = tmp_path / "c"
    assert main(["circuit", "--model", "planted", "--out", str(out), "--behavior",
                 "no_such_behavior", "--quiet"]) == 2
    assert "unknown behavior" in capsys.readouterr().err
    assert not out.exists()


def test_no_confirmed_heads_is_a_clear_error(watch_model):
    planted = build_planted_model(roles_layer0=("uniform", "bos"), roles_layer1=("uniform",))
    watch_model(planted.model)
    with pytest.raises(ValueError, match="no head .* is confirmed"):
        find_circuit(planted.model, SMALL)


def test_out_dir_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert main(["circuit", "--model", "planted", "--out", str(target), "--quiet"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_cli_writes_the_set(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["circuit", "--model", "planted", "--out", str(out), "--n-seqs", "8",
                 "--seq-len", "12", "--behavior", "induction", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "circuit written to" in printed
    data = json.loads((out / "circuit.json").read_text())
    assert set(data["receivers"].values()) == {"induction"}
    assert main(["check", str(out)]) == 0


def test_rotary_models_without_a_rotary_module_are_refused():
    class Cfg:
        positional_embedding_type = "rotary"

    class Fake:
        cfg = Cfg()

    with pytest.raises(ValueError, match="rotary"):
        check_supported(Fake())


def test_an_edge_that_opposes_its_receivers_metric_is_in_the_circuit():
    """Path patching decides on the size of the effect in either direction: a sender that
    clearly opposes the receiver's metric (a suppressor on the loss) is confirmed, its
    negative effect kept; a small or noisy effect of either sign is refuted."""
    from interp.engine.path_patching import verdict
    from interp.results.evidence import AblationEffect

    def edge(effect, stderr, scale=2.0):
        return AblationEffect(heads=("2.0",), method="mean", metric="second_copy_loss",
                              clean=1.0, ablated=1.0 + effect, effect=effect, stderr=stderr,
                              relative=effect / scale if scale else float("nan"), scale=scale,
                              seed=0)

    helps, opposes = verdict(edge(0.8, 0.05), 0.1, 2.0), verdict(edge(-0.8, 0.05), 0.1, 2.0)
    assert helps.status == opposes.status == "confirmed"
    assert opposes.relative == pytest.approx(-0.4) and "opposes" in opposes.reason
    assert verdict(edge(-0.1, 0.01), 0.1, 2.0).status == "refuted"  # 0.05 of the scale
    assert verdict(edge(-0.8, 0.5), 0.1, 2.0).status == "refuted"  # within the noise
    assert verdict(edge(-0.8, 0.05, scale=0.0), 0.1, 2.0).status == "undecidable"


def test_a_direct_test_of_the_logits_must_be_callable():
    from interp import Confirmation

    with pytest.raises(ValueError, match="direct must be callable"):
        Confirmation("second_copy_loss", direct=3)
    assert Confirmation("second_copy_loss").direct is None
