"""Hook sites and the one way hooks are attached.

Every TransformerLens hook name the package uses is built here. Hooks are attached only
through :func:`attached_hooks`, which removes them in ``finally`` even when the forward pass
raises, and :func:`leftover_hooks` lets tests assert that a model is clean afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .loading import model_device

HookFn = Callable[..., Any]


def pattern_hook(layer: int) -> str:
    """Post-softmax attention pattern, ``[batch, head, query, key]``."""
    return f"blocks.{layer}.attn.hook_pattern"


def v_hook(layer: int) -> str:
    """Per-head values, ``[batch, pos, kv_head, d_head]`` (fewer heads than the pattern
    under grouped-query attention)."""
    return f"blocks.{layer}.attn.hook_v"


def z_hook(layer: int) -> str:
    """Per-head attention output before ``W_O``, ``[batch, pos, head, d_head]``."""
    return f"blocks.{layer}.attn.hook_z"


def mlp_out_hook(layer: int) -> str:
    """Output of block ``layer``'s MLP, ``[batch, pos, d_model]`` (models with MLPs)."""
    return f"blocks.{layer}.hook_mlp_out"


def resid_pre_hook(layer: int) -> str:
    """Residual stream entering block ``layer``, ``[batch, pos, d_model]``."""
    return f"blocks.{layer}.hook_resid_pre"


def resid_post_hook(layer: int) -> str:
    """Residual stream leaving block ``layer``, ``[batch, pos, d_model]``."""
    return f"blocks.{layer}.hook_resid_post"


@contextmanager
def attached_hooks(model: Any, fwd_hooks: Sequence[tuple[str, HookFn]]) -> Iterator[Any]:
    """Attach forward hooks for the duration of a ``with`` block; always remove them.

    Args:
        model: a ``TransformerBridge``.
        fwd_hooks: ``(hook name, fn(activation, hook) -> activation | None)`` pairs.

    Example:
        >>> with attached_hooks(model, [(pattern_hook(0), fn)]):  # doctest: +SKIP
        ...     model(tokens)
    """
    with model.hooks(fwd_hooks=list(fwd_hooks)):
        yield model


def capture(
    model: Any,
    tokens: Any,
    names: Sequence[str],
    *,
    hooks: Sequence[tuple[str, HookFn]] = (),
    stop_at_layer: int | None = None,
) -> dict[str, Any]:
    """One forward pass (no grad) that keeps a detached copy of each named activation.

    Args:
        model: a ``TransformerBridge``.
        tokens: ``[batch, pos]`` token ids (moved to the model's device).
        names: hook names whose activations to keep.
        hooks: further forward hooks for the pass (e.g. ablations), attached first.
        stop_at_layer: passed to the forward (stop before this block).

    Returns:
        name -> activation, on the model's device.
    """
    import torch

    captured: dict[str, Any] = {}

    def make(name: str) -> HookFn:
        def keep(activation: Any, hook: Any) -> None:
            captured[name] = activation.detach().clone()

        return keep

    device = model_device(model)
    kwargs = {} if stop_at_layer is None else {"stop_at_layer": stop_at_layer}
    with torch.inference_mode(), attached_hooks(
        model, list(hooks) + [(name, make(name)) for name in names]
    ):
        model(tokens.to(device), **kwargs)
    return captured


def leftover_hooks(model: Any) -> list[str]:
    """Names of hook points that still carry hook functions (empty for a clean model)."""
    dirty = []
    for name, point in model.hook_dict.items():
        if point.has_hooks(dir="both", including_permanent=True) or point._forward_hooks:
            dirty.append(name)
    return sorted(set(dirty))
