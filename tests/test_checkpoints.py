"""Checkpoint sweeps: head scores and copy losses across the checkpoints of a training run."""

import json
import re

import plotly.graph_objects as go
import pytest
import torch

import interp
from interp.results.checkpoints import CheckpointSweep, parse_step
from interp.pipeline.checkpoints import find_checkpoints, score_checkpoints
from interp.cli import main
from interp.report.sweep_page import checkpoint_curves, render_sweep_html, write_sweep
from interp.train.default_model import TrainConfig, train_model

N_SEQS, SEQ_LEN = 4, 8
TINY = TrainConfig(
    seed=0, n_layers=2, n_heads=2, d_model=16, d_vocab=24, n_ctx=21, steps=4, batch_size=2,
    min_span=2, max_span=6, log_every=2, warmup_steps=1, model_name="tiny",
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A training run with checkpoints step_00000, step_00002, step_00004."""
    path = tmp_path_factory.mktemp("run")
    train_model(TINY, checkpoint_dir=path, checkpoint_every=2)
    return path


@pytest.fixture(scope="module")
def sweep(run_dir):
    return score_checkpoints(run_dir, n_seqs=N_SEQS, seq_len=SEQ_LEN, seed=3)


def test_parse_step():
    assert parse_step("step_00100") == 100
    assert parse_step("checkpoint-500") == 500
    assert parse_step("step1000") == 1000
    assert parse_step(7) == 7
    assert parse_step("final") is None


def test_find_checkpoints_orders_by_step(run_dir, tmp_path):
    assert [p.name for p in find_checkpoints(run_dir)] == [
        "step_00000", "step_00002", "step_00004"]
    with pytest.raises(ValueError, match="no checkpoint directories"):
        find_checkpoints(tmp_path)


def test_sweep_shapes_and_steps(sweep):
    assert sweep.steps == (0, 2, 4)
    assert sweep.labels == ("step_00000", "step_00002", "step_00004")
    assert sweep.n_checkpoints == 3
    assert {b.name for b in interp.registered_behaviors()} <= set(sweep.behaviors)
    for behavior in sweep.behaviors:
        for table in (sweep.scores, sweep.nulls, sweep.stderrs):
            assert table[behavior].shape == (3, 2, 2)
        assert sweep.lift(behavior).shape == (3, 2, 2)
    assert sweep.first_copy_loss.shape == (3,) and sweep.second_copy_loss.shape == (3,)
    assert torch.isfinite(sweep.first_copy_loss).all()
    assert sweep.stimuli["seed"] == 3 and sweep.stimuli["repeat_len"] == SEQ_LEN


def test_each_checkpoint_matches_its_own_census(sweep, run_dir):
    """Same seeded stimuli for every checkpoint: each row equals a census run alone."""
    model = interp.load_model(run_dir / "step_00002")
    assert interp.model.loading.special_token_ids(model) == (1,)  # MARK, saved with the checkpoint
    stimuli = interp.repeated_tokens(N_SEQS, SEQ_LEN, vocab_size=TINY.d_vocab, seed=3,
                                     exclude_ids=[1])
    alone = interp.score_heads(model, stimuli)
    first, second = interp.copy_losses(model, stimuli)
    for behavior in sweep.behaviors:  # NaN where no query had a target (e.g. no prediction)
        torch.testing.assert_close(sweep.scores[behavior][1], alone.score(behavior),
                                   equal_nan=True)
        torch.testing.assert_close(sweep.nulls[behavior][1], alone.null(behavior),
                                   equal_nan=True)
    torch.testing.assert_close(sweep.first_copy_loss[1], first.mean())
    torch.testing.assert_close(sweep.second_copy_loss[1], second.mean())


def test_given_order_is_sorted_by_step(sweep, run_dir):
    dirs = [run_dir / "step_00004", run_dir / "step_00000", run_dir / "step_00002"]
    again = score_checkpoints(dirs, n_seqs=N_SEQS, seq_len=SEQ_LEN, seed=3)
    assert again.steps == (0, 2, 4)
    assert again.to_dict() == sweep.to_dict()


def test_labels_without_numbers_keep_the_order(run_dir):
    dirs = [run_dir / "step_00004", run_dir / "step_00000"]
    result = score_checkpoints(dirs, labels=["late", "early"], n_seqs=N_SEQS, seq_len=SEQ_LEN)
    assert result.labels == ("late", "early") and result.steps == (0, 1)
    with pytest.raises(ValueError, match="labels"):
        score_checkpoints(dirs, labels=["one"], n_seqs=N_SEQS, seq_len=SEQ_LEN)


def test_bridges_with_labels(random_model, watch_model):
    watch_model(random_model)
    result = score_checkpoints([random_model, random_model], labels=[200, 100],
                               n_seqs=N_SEQS, seq_len=SEQ_LEN)
    assert result.steps == (100, 200) and result.labels == ("100", "200")
    torch.testing.assert_close(result.scores["induction"][0], result.scores["induction"][1])
    assert result.sources == (interp.model.loading.model_name(random_model),) * 2


def test_different_architectures_are_refused(run_dir, random_model):
    with pytest.raises(ValueError, match="one architecture"):
        score_checkpoints([run_dir / "step_00000", random_model], n_seqs=N_SEQS,
                          seq_len=SEQ_LEN)


def test_bad_input():
    with pytest.raises(ValueError, match="no checkpoints"):
        score_checkpoints([])
    with pytest.raises(interp.ModelLoadError, match="does not exist"):
        score_checkpoints(["/no/such/step_00001"])


def test_round_trip_and_tables(sweep):
    data = json.loads(json.dumps(sweep.to_dict(), allow_nan=False))
    again = CheckpointSweep.from_dict(data)
    assert again.to_dict() == sweep.to_dict()
    for behavior in sweep.behaviors:
        assert torch.equal(again.scores[behavior].nan_to_num(-9),
                           sweep.scores[behavior].nan_to_num(-9))
    rows = sweep.to_table()
    assert len(rows) == 3 * 2 * 2 * len(sweep.behaviors)
    assert set(rows[0]) == {"step", "checkpoint", "layer", "head", "label", "behavior",
                            "value", "null", "lift", "stderr"}
    assert rows[0]["label"] == "0.0" and rows[0]["step"] == 0
    losses = sweep.loss_table()
    assert [r["step"] for r in losses] == [0, 2, 4]
    step, head, rise = sweep.largest_rise("induction")
    assert step in (2, 4) and interp.HeadId.parse(head).layer < 2 and rise == rise


def test_checkpoint_curves(sweep):
    fig = checkpoint_curves(sweep, "induction")
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 2 * 2 + 2  # a line per head, then the two losses
    assert list(fig.data[0].x) == [0, 2, 4] and fig.data[0].name == "0.0"
    assert fig.data[-1].name == "second-copy loss"
    assert len(checkpoint_curves(sweep, "previous_token", stat="lift").data) == 6
    with pytest.raises(KeyError):
        checkpoint_curves(sweep, "nonsense")
    with pytest.raises(ValueError):
        checkpoint_curves(sweep, "induction", stat="median")


def test_html_is_self_contained_and_deterministic(sweep, tmp_path):
    from plotly.offline import get_plotlyjs

    page = render_sweep_html(sweep)
    assert page == render_sweep_html(CheckpointSweep.from_dict(sweep.to_dict()))
    assert page.count(get_plotlyjs()[:200]) == 1  # the bundle, inlined exactly once
    assert not re.search(r"<script[^>]*\bsrc=", page)
    outside_bundle = page.replace(get_plotlyjs(), "")
    assert "http://" not in outside_bundle and "https://" not in outside_bundle
    # one figure per behavior and per measure with any value, plus the model-level curves
    # (prefix matching); the others are named, not drawn empty
    drawn = [name for name, values in (*sweep.scores.items(), *sweep.measures.items())
             if torch.isfinite(values).any()]
    assert outside_bundle.count('id="interp-sweep-') == len(drawn) + 1
    paths = write_sweep(sweep, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sweep.html", "sweep.json"]
    assert CheckpointSweep.from_dict(json.loads(paths["json"].read_text())).steps == (0, 2, 4)


def test_cli_sweep(run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--out", str(out), "--n-seqs", str(N_SEQS), "--seq-len", str(SEQ_LEN), "--quiet"]
    assert main(["sweep", "--model", str(run_dir), *args]) == 0
    printed = capsys.readouterr().out
    assert "largest rise of induction" in printed and "2nd-copy" in printed
    first = (out / "sweep.html").read_bytes()
    dirs = [str(run_dir / name) for name in ("step_00004", "step_00000", "step_00002")]
    assert main(["sweep", "--model", *dirs, *args]) == 0
    assert json.loads((out / "sweep.json").read_text())["steps"] == [0, 2, 4]
    assert (out / "sweep.html").read_bytes() == first  # the same run, the same bytes
    assert main(["sweep", "--model", str(tmp_path / "nothing"), *args]) == 2
    assert "error" in capsys.readouterr().err


def test_sweep_over_hugging_face_checkpoints(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPTNeoXConfig(
        num_hidden_layers=1, num_attention_heads=2, hidden_size=32, intermediate_size=64,
        vocab_size=50, max_position_embeddings=64, bos_token_id=0, eos_token_id=0,
    )
    for step in (1000, 0):
        torch.manual_seed(step)
        transformers.GPTNeoXForCausalLM(config).save_pretrained(tmp_path / f"step{step}")
    result = score_checkpoints(tmp_path, n_seqs=N_SEQS, seq_len=SEQ_LEN)
    assert result.steps == (0, 1000) and result.scores["induction"].shape == (2, 1, 2)


def test_sweep_excludes_tokens_and_records_them(run_dir):
    """``exclude_tokens`` (``interp sweep --exclude-tokens``) shapes the shared stimuli."""
    from interp import load_model, repeated_tokens
    from interp.model.loading import bos_token_id, special_token_ids

    first = load_model(find_checkpoints(run_dir)[0])
    excluded = list(range(2, 20))
    result = score_checkpoints(run_dir, n_seqs=N_SEQS, seq_len=SEQ_LEN, seed=3,
                               exclude_tokens=excluded)
    assert result.stimuli["exclude_tokens"] == excluded
    stimuli = repeated_tokens(N_SEQS, SEQ_LEN, vocab_size=24, seed=3,
                              bos_token_id=bos_token_id(first),
                              exclude_ids=sorted(set(excluded) | set(special_token_ids(first))))
    same = score_checkpoints(run_dir, stimuli=stimuli)
    for b in result.behaviors:  # NaN where no query had a target (nothing predicted)
        torch.testing.assert_close(result.scores[b], same.scores[b], rtol=0, atol=0,
                                   equal_nan=True)
    plain = score_checkpoints(run_dir, n_seqs=N_SEQS, seq_len=SEQ_LEN, seed=3)
    assert not torch.equal(plain.scores["induction"], result.scores["induction"])
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        score_checkpoints(run_dir, n_seqs=N_SEQS, seq_len=SEQ_LEN, exclude_tokens=[24])
    with pytest.raises(ValueError, match="seed must be"):
        score_checkpoints(run_dir, n_seqs=N_SEQS, seq_len=SEQ_LEN, seed=-1)


def test_sweep_fits_the_default_seq_len_to_a_short_context(run_dir, tmp_path, capsys):
    """The tiny run's context is 21: the default 30 needs 61 positions, so 10 is used."""
    assert main(["sweep", "--model", str(run_dir), "--out", str(tmp_path / "s"),
                 "--n-seqs", str(N_SEQS), "--quiet"]) == 0
    assert "using --seq-len 10, the longest repeat that fits" in capsys.readouterr().err
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["stimuli"]["seq_len"] == 10
    assert main(["sweep", "--model", str(run_dir), "--out", str(tmp_path / "t"),
                 "--n-seqs", str(N_SEQS), "--seq-len", "30", "--quiet"]) == 2
    assert "--seq-len 30 needs 61 positions" in capsys.readouterr().err


def test_sweep_curves_the_per_head_measures(watch_model):
    """Every per-head measure (sinks, window width, induction by distance, successor ...)
    is recorded at every checkpoint and drawn on the sweep page; a planted sink head sinks
    at every checkpoint, its look-alike neighbours do not."""
    from interp.report.sweep_page import measure_curves, render_sweep_html
    from interp.results.checkpoints import CheckpointSweep
    from interp.train.planted import build_planted_model

    planted = build_planted_model(roles_layer0=("previous_token", "sink_1", "local_3", "uniform"))
    watch_model(planted.model)
    sweep = interp.score_checkpoints([planted.model, planted.model], labels=["s1", "s2"],
                                     n_seqs=8, seq_len=10)
    assert {"sink", "window_width", "induction_short", "induction_long"} <= set(sweep.measures)
    (sink,) = planted.heads_with_role("sink_1")
    layer, head = map(int, sink.split("."))
    sinks = sweep.measures["sink"]  # (C, L, H)
    assert sinks.shape == (2, 2, 4) and bool((sinks[:, layer, head] > 0.9).all())
    assert float(sinks[:, 0, 0].max()) < 0.3  # the previous-token head is no sink
    again = CheckpointSweep.from_dict(json.loads(json.dumps(sweep.to_dict())))
    assert torch.equal(again.measures["sink"].nan_to_num(-1), sinks.nan_to_num(-1))
    assert len(measure_curves(sweep, "sink").data) == 8
    assert 'id="interp-sweep-measure-sink"' in render_sweep_html(sweep)
    with pytest.raises(KeyError, match="unknown measure"):
        measure_curves(sweep, "nope")


# ------------------------------------------------- the sweep page says only what it measured


def _outside_figures(page: str) -> str:
    """The page's text without plotly.js and the figures' data."""
    return re.sub(r"<script.*?</script>", "", page, flags=re.S)


def test_sweep_page_without_held_out_text_says_only_what_was_measured(sweep):
    from interp.report.sweep_page import model_curves

    assert sweep.icl_score is None and not sweep.text_scores  # prefix matching only
    page = render_sweep_html(sweep)
    text = _outside_figures(page)
    prefix = sweep.curves["prefix_matching"]
    length, repeats = prefix["repeat_len"], prefix["n_repeats"]
    assert f"[BOS] + {length} distinct random tokens repeated {repeats} times" in text
    assert "25 distinct" not in text or length == 25
    assert "In-context score" not in text and "Repeated text" not in text
    # the header and "Measured on" in words, not JSON dicts
    lead = text.split('<p class="lead">', 1)[1].split("</p>", 1)[0]
    assert "{" not in lead and "&#34;" not in lead and "random tokens" in lead
    measured = text.split("<p>Measured on:</p>", 1)[1].split("</ul>", 1)[0]
    assert "{" not in measured and "prefix matching: " in measured
    # one panel (prefix matching), its steps on its own axis: no blank panels below it
    fig = model_curves(sweep)
    assert "yaxis2" not in fig.to_dict()["layout"] and fig.layout.xaxis.showticklabels is True
    assert fig.layout.xaxis.title.text == "step"


def test_sweep_page_shows_no_nan_and_draws_no_empty_chart(sweep):
    from interp.report.sweep_page import best_head_text

    assert not torch.isfinite(sweep.scores["copy_suppression"]).any()  # nothing predicted
    page = render_sweep_html(sweep)
    text = _outside_figures(page)
    assert not re.search(r"\bnan\b", text, flags=re.I)
    assert best_head_text(sweep, "copy_suppression", 0) == "n/a"
    assert 'id="interp-sweep-copy_suppression"' not in page
    assert "Not drawn (no head has a score at any checkpoint): copy_suppression" in text
    for name, values in sweep.measures.items():
        if not torch.isfinite(values).any():
            assert f'id="interp-sweep-measure-{name}"' not in page
            assert name in text.split("Not drawn (no value at any checkpoint):", 1)[1]


def test_a_rise_shared_with_an_earlier_behavior_names_no_head_of_its_own():
    from interp.report.sweep_page import rise_lines

    steps, n = (0, 100, 200), 3
    grid = torch.zeros(n, 1, 2)  # (checkpoint, layer, head)
    induction = grid.clone()
    induction[2, 0, 1] = 0.9  # head 0.1 learns induction at step 200 ...
    previous = grid.clone()
    previous[1, 0, 0] = 0.8
    scores = {"previous_token": previous, "induction": induction,
              "copy_suppression": induction.clone()}  # ... and attends where it would
    sweep = CheckpointSweep(
        labels=("a", "b", "c"), steps=steps, sources=("a", "b", "c"), n_layers=1, n_heads=2,
        scores=dict(sorted(scores.items())),  # sweep.json order: by name
        nulls={b: grid.clone() for b in scores}, stderrs={b: grid.clone() for b in scores},
        first_copy_loss=torch.ones(n), second_copy_loss=torch.ones(n), stimuli={})
    rises = rise_lines(sweep)
    assert rises[:2] == ["previous_token: step 100 (head 0.0, lift +0.80)",
                         "induction: step 200 (head 0.1, lift +0.90)"]
    assert rises[2].startswith("copy_suppression: step 200 (head 0.1, lift +0.90); the same "
                               "head as induction's rise")
    assert "names no copy_suppression head" in rises[2]
    page = render_sweep_html(sweep)
    assert "a sweep runs no ablation" in page
