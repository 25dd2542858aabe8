"""Hooks never leak, even when the forward pass raises; callers' tensors stay untouched."""

import pytest
import torch

from interp import attached_hooks, leftover_hooks
from interp.model.hooks import pattern_hook, z_hook


def test_hooks_removed_after_normal_exit(random_model):
    seen = []
    with attached_hooks(random_model, [(pattern_hook(0), lambda p, hook: seen.append(p.shape))]):
        assert leftover_hooks(random_model) == [pattern_hook(0)]
        random_model(torch.zeros(1, 5, dtype=torch.long))
    assert seen and leftover_hooks(random_model) == []


def test_hooks_removed_when_forward_raises(random_model):
    def boom(z, hook):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        with attached_hooks(random_model, [(z_hook(1), boom)]):
            random_model(torch.zeros(1, 5, dtype=torch.long))
    assert leftover_hooks(random_model) == []


def test_unknown_hook_name_raises_and_leaves_nothing(random_model):
    with pytest.raises(Exception):
        with attached_hooks(random_model, [(pattern_hook(0), lambda p, hook: None),
                                           ("blocks.9.attn.hook_nothing", lambda p, hook: None)]):
            pass
    assert leftover_hooks(random_model) == []
