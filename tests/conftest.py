"""Shared fixtures: tiny deterministic models, and a check that no hook outlives a test."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

torch.set_num_threads(1)

from interp.model.hooks import leftover_hooks  # noqa: E402

_WATCHED: list = []


def watch(model):
    """Register a model whose hooks are checked after every test."""
    _WATCHED.append(model)
    return model


@pytest.fixture(autouse=True)
def no_leaked_hooks():
    yield
    for model in _WATCHED:
        leaked = leftover_hooks(model)
        assert not leaked, f"hooks left on the model after the test: {leaked}"


@pytest.fixture(scope="session")
def random_model():
    """A 2-layer, 4-head attention-only model with random weights (seeded)."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    cfg = TransformerBridgeConfig(
        d_model=64, d_head=16, n_heads=4, n_layers=2, n_ctx=65, d_vocab=64,
        attn_only=True, normalization_type="LN", seed=0, model_name="random-tiny",
    )
    model = TransformerBridge.boot_native(cfg)
    model.eval()
    return watch(model)


@pytest.fixture(scope="session")
def planted():
    """Hand-set weights with known head roles (see interp/planted.py)."""
    from interp.train.planted import build_planted_model

    result = build_planted_model()
    watch(result.model)
    return result


@pytest.fixture(scope="session")
def bundled_model():
    from interp import load_model

    return watch(load_model("default"))


@pytest.fixture
def watch_model():
    """``watch_model(model)``: check this model for leftover hooks after every test."""
    return watch
