"""The planted head types beyond the three behaviors (sinks, local windows, copy
suppression, successor heads) and their look-alike decoys, checked against ground truth
computed from the tokens and read straight off the weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import watch
from interp.model.hooks import attached_hooks, capture, pattern_hook, z_hook
from interp.train.planted import PLANTED_ROLES, PlantedModel, build_planted_model

torch.set_num_threads(1)

D_VOCAB = 24
REPEAT = 20
BATCH = 8
TYPED_LAYER0 = (
    "previous_token", "sink_1", "local_3", "uniform", "back_29", "current_token",
    "successor", "self_copy",
)
TYPED_LAYER1 = ("induction", "copy_suppression", "bos")


def _repeated(seed: int = 0) -> torch.Tensor:
    """``[BOS] r r`` with r drawn without replacement from 1..D_VOCAB-1."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.stack([torch.randperm(D_VOCAB - 1, generator=gen)[:REPEAT] + 1
                     for _ in range(BATCH)])  # [batch, repeat]
    return torch.cat([torch.zeros(BATCH, 1, dtype=torch.long), r, r], dim=1)


def _patterns(planted: PlantedModel, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """Head label -> pattern [batch, query, key]."""
    got = capture(planted.model, tokens, [pattern_hook(0), pattern_hook(1)])
    return {
        label: got[pattern_hook(int(label[0]))][:, int(label.split(".")[1])]
        for label in planted.roles
    }


def _ov(planted: PlantedModel, label: str) -> torch.Tensor:
    """Head's full OV circuit W_E W_V W_O W_U: [d_vocab, d_vocab] (row: attended token)."""
    layer, head = (int(x) for x in label.split("."))
    m = planted.model
    with torch.no_grad():
        return (m.W_E @ m.W_V[layer, head] @ m.W_O[layer, head] @ m.W_U).float()


def _zero(labels: list[str]) -> list:
    """Hooks that zero the given heads' z."""
    hooks = []
    for label in labels:
        layer, head = (int(x) for x in label.split("."))

        def hook(z, hook, head=head):
            z = z.clone()
            z[:, :, head] = 0.0
            return z

        hooks.append((z_hook(layer), hook))
    return hooks


@pytest.fixture(scope="module")
def typed() -> PlantedModel:
    planted = build_planted_model(d_vocab=D_VOCAB, roles_layer0=TYPED_LAYER0,
                                  roles_layer1=TYPED_LAYER1)
    watch(planted.model)
    return planted


@pytest.fixture(scope="module")
def suppressed() -> PlantedModel:
    """Default layer 0, layer 1 = an induction head and a copy-suppression head."""
    planted = build_planted_model(d_vocab=D_VOCAB,
                                  roles_layer1=("induction", "copy_suppression"))
    watch(planted.model)
    return planted


def test_typed_layout(typed: PlantedModel) -> None:
    assert {"copy_suppression", "successor", "self_copy"} <= set(PLANTED_ROLES)
    assert typed.heads_with_role("sink_1") == ["0.1"]
    assert typed.heads_with_role("local_3") == ["0.2"]
    assert typed.heads_with_role("copy_suppression") == ["1.1"]
    assert typed.heads_with_role("successor") == ["0.6"]
    assert typed.heads_with_role("self_copy") == ["0.7"]
    assert typed.heads_with_role("uniform") == ["0.3"] + [f"1.{h}" for h in range(3, 8)]
    for bad in ("sink_0", "local_1", "local_x"):
        with pytest.raises(ValueError, match="unknown role"):
            typed.heads_with_role(bad)


def test_sink_head_rests_on_its_key(typed: PlantedModel) -> None:
    pattern = _patterns(typed, _repeated())["0.1"]  # sink_1
    assert pattern[:, 1:, 1].min() >= 0.99  # every query q >= 1 on key 1
    assert pattern[:, 0, 0].min() >= 0.99


def test_local_head_spreads_over_its_window(typed: PlantedModel) -> None:
    pattern = _patterns(typed, _repeated())["0.2"]  # local_3
    seq = pattern.shape[-1]
    for q in range(4, seq):
        window = pattern[:, q, q - 3 : q]  # keys q-3..q-1
        torch.testing.assert_close(window, torch.full_like(window, 1 / 3), atol=1e-3,
                                   rtol=0)
    for q in (2, 3):  # the window would reach BOS: the real keys 1..q-1 share it
        shared = pattern[:, q, 1:q]
        torch.testing.assert_close(shared, torch.full_like(shared, 1 / (q - 1)), atol=1e-3,
                                   rtol=0)
    assert pattern[:, 1, 0].min() >= 0.99  # query 1 has no real key before it


def test_copy_suppression_attends_exactly_where_induction_does(typed: PlantedModel) -> None:
    patterns = _patterns(typed, _repeated())
    torch.testing.assert_close(patterns["1.1"], patterns["1.0"])
    queries = torch.arange(REPEAT + 1, 2 * REPEAT + 1)
    assert patterns["1.1"][:, queries, queries - REPEAT + 1].min() >= 0.99


def test_successor_and_self_copy_attend_to_the_current_token(typed: PlantedModel) -> None:
    patterns = _patterns(typed, _repeated())
    for label in ("0.6", "0.7"):
        assert torch.diagonal(patterns[label], dim1=-2, dim2=-1)[:, 1:].min() >= 0.99


def test_ov_circuits_have_the_planted_sign(typed: PlantedModel) -> None:
    eye = torch.eye(D_VOCAB)
    eye[0, 0] = 0.0  # BOS writes no token
    torch.testing.assert_close(_ov(typed, "1.0"), 10.0 * eye)  # induction: copies
    torch.testing.assert_close(_ov(typed, "1.1"), -5.0 * eye)  # suppresses half
    torch.testing.assert_close(_ov(typed, "0.7"), 10.0 * eye)  # self_copy: copies
    shift = torch.zeros(D_VOCAB, D_VOCAB)
    shift[torch.arange(1, D_VOCAB - 1), torch.arange(2, D_VOCAB)] = 10.0
    torch.testing.assert_close(_ov(typed, "0.6"), shift)  # successor: i -> i + 1


def test_explicit_successor_ids_and_strength() -> None:
    planted = build_planted_model(
        d_vocab=12, n_ctx=16, roles_layer0=("previous_token", "successor"),
        roles_layer1=("induction", "copy_suppression", "copy_suppression"),
        successor_ids=(3, 5, 7, 9), copy_suppression_strength=0.25,
    )
    ov = _ov(planted, "0.1")
    expected = torch.zeros(12, 12)
    expected[[3, 5, 7], [5, 7, 9]] = 10.0
    torch.testing.assert_close(ov, expected)
    eye = torch.eye(12)
    eye[0, 0] = 0.0
    # Two suppression heads share the strength: each writes -0.125 of the copy.
    for label in ("1.1", "1.2"):
        torch.testing.assert_close(_ov(planted, label), -1.25 * eye)


def test_copy_suppression_tempers_the_prediction(suppressed: PlantedModel) -> None:
    tokens = _repeated()
    second = slice(REPEAT + 1, 2 * REPEAT)  # queries predicting the second copy's 2..L
    wanted = tokens[:, REPEAT + 2 :]  # [batch, repeat-1]

    def logits_of(hooks: list) -> torch.Tensor:
        with torch.no_grad(), attached_hooks(suppressed.model, hooks):
            logits = suppressed.model(tokens)[:, second]  # [batch, repeat-1, vocab]
        return logits

    clean = logits_of([])
    assert bool((clean.argmax(-1) == wanted).all())  # the model still predicts the copy
    on_wanted = clean.gather(-1, wanted[..., None])[..., 0]
    torch.testing.assert_close(on_wanted, torch.full_like(on_wanted, 5.0))
    without = logits_of(_zero(["1.1"])).gather(-1, wanted[..., None])[..., 0]
    torch.testing.assert_close(without, torch.full_like(without, 10.0))  # ablating raises
    # Without the induction head the suppression head pushes the token below the rest.
    alone = logits_of(_zero(["1.0"])).gather(-1, wanted[..., None])[..., 0]
    torch.testing.assert_close(alone, torch.full_like(alone, -5.0))

    def loss(logits: torch.Tensor) -> float:
        return F.cross_entropy(logits.flatten(0, 1), wanted.flatten()).item()

    # The head costs loss: ablating it *lowers* the second-copy loss.
    assert loss(logits_of(_zero(["1.1"]))) < loss(clean) - 0.1


@pytest.fixture(scope="module")
def reads_prediction() -> PlantedModel:
    """Three layers: previous-token -> induction -> a layer-2 copy-suppression head whose
    query reads the induction head's prediction, beside a mute look-alike."""
    planted = build_planted_model(
        d_vocab=D_VOCAB, roles_layer0=("previous_token", "back_1"),
        roles_layer1=("induction", "uniform"),
        roles_layer2=("copy_suppression", "mute_copy_suppression"))
    watch(planted.model)
    return planted


def test_layer2_copy_suppression_reads_the_prediction(reads_prediction: PlantedModel) -> None:
    planted = reads_prediction
    assert planted.model.cfg.n_layers == 3
    assert planted.roles["2.0"] == "copy_suppression"
    assert planted.heads_with_role("mute_copy_suppression") == ["2.1"]
    tokens = _repeated()
    got = capture(planted.model, tokens, [pattern_hook(1), pattern_hook(2)])
    induction = got[pattern_hook(1)][:, 0]
    queries = torch.arange(REPEAT + 1, 2 * REPEAT)  # second-copy queries with a prediction
    for head in (0, 1):  # the suppressor and its mute look-alike attend where induction does
        pattern = got[pattern_hook(2)][:, head]
        torch.testing.assert_close(pattern[:, queries], induction[:, queries], atol=2e-3,
                                   rtol=0)
    # Its query reads the prediction, not the token: the weights say so ...
    m = planted.model
    with torch.no_grad():
        qk = (m.W_Q[2, 0] @ m.W_K[2, 0].T).abs()  # [d_model, d_model]
        reads = qk.sum(1)
    output = 2 * D_VOCAB + 64 + 1  # the `output` subspace (d_vocab + n_ctx + 1 + d_vocab)
    token_rows, output_rows = reads[1:D_VOCAB], reads[output + 1 : output + D_VOCAB]
    assert bool((output_rows > 0).all()) and bool((token_rows == 0).all())

    second = slice(REPEAT + 1, 2 * REPEAT)
    wanted = tokens[:, REPEAT + 2 :]  # [batch, repeat-1]

    def on_wanted(hooks: list) -> torch.Tensor:
        with torch.no_grad(), attached_hooks(planted.model, hooks):
            logits = planted.model(tokens)[:, second]  # [batch, repeat-1, vocab]
        return logits.gather(-1, wanted[..., None])[..., 0]

    torch.testing.assert_close(on_wanted([]), torch.full_like(on_wanted([]), 5.0))
    torch.testing.assert_close(on_wanted(_zero(["2.0"])), torch.full(wanted.shape, 10.0))
    torch.testing.assert_close(on_wanted(_zero(["2.1"])), torch.full(wanted.shape, 5.0))
    # ... and so without the induction head it has nothing to suppress (a layer-1
    # suppressor, reading the token itself, would push the token down to -5).
    alone = on_wanted(_zero(["1.0"]))
    assert float(alone.abs().max()) < 1e-3


def test_successor_and_self_copy_predictions() -> None:
    planted = build_planted_model(d_vocab=12, n_ctx=16, roles_layer0=("successor",),
                                  roles_layer1=("uniform",), successor_ids=(2, 4, 6, 8))
    tokens = torch.tensor([[0, 2, 4, 6, 8, 3]])
    with torch.no_grad():
        logits = planted.model(tokens)[0]  # [pos, vocab]
    assert logits[1:4].argmax(-1).tolist() == [4, 6, 8]
    assert logits[4].abs().max() < 1e-6  # the last member and non-members write nothing
    assert logits[5].abs().max() < 1e-6
    copier = build_planted_model(d_vocab=12, n_ctx=16, roles_layer0=("self_copy",),
                                 roles_layer1=("uniform",))
    with torch.no_grad():
        logits = copier.model(tokens)[0]
    assert logits[1:].argmax(-1).tolist() == [2, 4, 6, 8, 3]


def test_new_roles_leave_other_heads_unchanged(typed: PlantedModel) -> None:
    """The default roles keep their weights when new roles join the layout."""
    default = build_planted_model(d_vocab=D_VOCAB)
    for name in ("W_Q", "W_K", "W_V", "W_O"):
        a, b = getattr(default.model, name), getattr(typed.model, name)
        torch.testing.assert_close(a[0, 0], b[0, 0])  # previous_token 0.0 in both
        torch.testing.assert_close(a[1, 0], b[1, 0])  # induction 1.0 in both
    torch.testing.assert_close(default.model.W_U, typed.model.W_U)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"roles_layer0": ("previous_token", "copy_suppression")}, "must be in layer 1"),
        ({"roles_layer1": ("copy_suppression",)}, "no 'induction' head"),
        ({"roles_layer0": ("uniform",), "roles_layer1": ("induction", "copy_suppression")},
         "no 'previous_token' head"),
        ({"roles_layer1": ("induction", "copy_suppression"), "copy_suppression_strength": 1.0},
         "strictly between 0 and 1"),
        ({"roles_layer1": ("induction", "copy_suppression"), "copy_suppression_strength": "x"},
         "must be a number"),
        ({"copy_suppression_strength": 0.5}, "no head has the role 'copy_suppression'"),
        ({"successor_ids": (1, 2)}, "no head has the role 'successor'"),
        ({"roles_layer0": ("previous_token", "successor"), "successor_ids": (0, 1)},
         "BOS, id 0, is no ordinal token"),
        ({"roles_layer0": ("previous_token", "successor"), "successor_ids": (1, 24)},
         "ids must be integers in 1..23"),
        ({"roles_layer0": ("previous_token", "successor"), "successor_ids": (3, 3)},
         "at least two distinct ids"),
        ({"roles_layer0": ("previous_token", "successor"), "successor_ids": "12"},
         "must be a sequence of token ids"),
        ({"roles_layer0": ("previous_token", "sink_64")}, "outside n_ctx=64"),
        ({"roles_layer0": ("previous_token", "local_63")}, "window of 63 keys"),
        ({"roles_layer0": ("previous_token", "local_1")}, "unknown role 'local_1'"),
        ({"roles_layer0": ("previous_token", "sink_0")}, "unknown role 'sink_0'"),
        ({"roles_layer2": ("induction",)}, "belong in layer 1"),
        ({"roles_layer1": ("uniform",), "roles_layer2": ("copy_suppression",)},
         "no 'induction' head whose prediction it could read"),
        ({"roles_layer0": ("previous_token", "mute_copy_suppression")}, "must be in layer 1"),
        ({"roles_layer2": ()}, "roles_layer2 is empty"),
        ({"roles_layer2": ("uniform",), "copy_suppression_strength": 0.5},
         "no head has the role 'copy_suppression'"),
    ],
)
def test_bad_typed_arguments_raise(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_planted_model(d_vocab=D_VOCAB, **kwargs)
