"""Weight evidence (interp.model.weights): composition from rank-dh factors equals the direct
d x d computation, and a planted previous-token head K-composes into the induction head."""

import pytest
import torch

from interp.model.weights import composition_scores, head_params, key_feeders
from interp.train.planted import build_planted_model


def _direct(model, mode):
    """||OV_A X_B|| / (||OV_A|| ||X_B||) with the d x d matrices formed (the definition)."""
    p = head_params(model)
    ov = p["W_V"] @ p["W_O"]  # (L, H, d, d)
    qk = p["W_Q"] @ p["W_K"].transpose(-1, -2)
    right = {"Q": qk, "K": qk.transpose(-1, -2), "V": ov}[mode]
    left = ov[:, :, None, None]  # (La, Ha, 1, 1, d, d)
    num = torch.linalg.matrix_norm(left @ right[None, None])
    den = torch.linalg.matrix_norm(left) * torch.linalg.matrix_norm(right)[None, None]
    return num / den.clamp(min=1e-12)  # a head that writes or reads nothing scores 0


@pytest.mark.parametrize("mode", ["Q", "K", "V"])
def test_factored_composition_equals_the_definition(mode):
    planted = build_planted_model()
    result = composition_scores(planted.model, mode, seed=0)
    direct = _direct(planted.model, mode)
    later = (torch.arange(2)[:, None] < torch.arange(2)[None, :])[:, None, :, None]
    assert torch.allclose(result.scores, torch.where(later, direct, 0.0), atol=1e-5)
    assert (result.baseline[later.expand_as(result.baseline)] > 0).all()


def test_previous_token_head_feeds_the_induction_head_through_the_key():
    planted = build_planted_model()
    (prev,) = planted.heads_with_role("previous_token")
    (induction,) = planted.heads_with_role("induction")
    k = composition_scores(planted.model, "K", seed=0)
    feeders = key_feeders(k, induction, [prev])
    assert feeders and feeders[0][0] == str(prev) and feeders[0][1] > 0.1


def test_bad_input():
    planted = build_planted_model()
    with pytest.raises(ValueError, match="unknown composition mode"):
        composition_scores(planted.model, "X")
    with pytest.raises(ValueError, match="n_random"):
        composition_scores(planted.model, "K", n_random=0)
