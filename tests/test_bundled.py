"""The bundled default model really has the behaviors the toolkit looks for."""

import json

import pytest

from interp import DEFAULT_MODEL_DIR, ClassifySettings, classify_heads, copy_losses, repeated_tokens


@pytest.fixture(scope="module")
def census(bundled_model):
    return classify_heads(bundled_model, ClassifySettings(seed=0))


def test_files_and_size():
    names = {p.name for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "heads.json", "MODEL_CARD.md"} <= names
    assert sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()) < 2_000_000


def test_second_copy_is_predicted_far_better_than_the_first(bundled_model):
    stimuli = repeated_tokens(32, 30, vocab_size=bundled_model.cfg.d_vocab, seed=1)
    first, second = copy_losses(bundled_model, stimuli)
    assert second.mean() < 0.5 < 3.0 < first.mean()


def test_has_confirmed_previous_token_and_induction_heads(census):
    assert census.heads_with("previous_token", confirmed=True)
    induction = census.heads_with("induction")
    assert induction
    confirmed_alone = census.heads_with("induction", confirmed=True)
    groups = [g for g in census.groups if g.behavior == "induction" and g.confirmed]
    assert confirmed_alone or groups


def test_classification_agrees_with_the_model_card(census):
    card = json.loads((DEFAULT_MODEL_DIR / "heads.json").read_text())
    for behavior in ("previous_token", "induction", "duplicate_token"):
        assert set(card[behavior]) <= set(census.heads_with(behavior)), behavior
        # the card lists the heads confirmed alone or together with their group (0.1's
        # duplicate-token class stands only together), and the unconfirmed apart
        confirmed = set(census.heads_with(behavior, confirmed=True))
        assert confirmed == set(card[behavior]), behavior
        assert not confirmed & set(card["unconfirmed"][behavior]), behavior
    assert census.head("0.1").status("duplicate_token") == "confirmed together"
