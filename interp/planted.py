"""Planted models: two-layer attention-only transformers with hand-set weights whose every
head's role is known exactly. They are the toolkit's test oracles (a perfect planted
previous-token head must score as one; ablating the planted induction head must cost loss)
and a small worked example of how attention circuits are wired.

Construction
------------
The residual stream (``d_model = 5 * d_vocab + n_ctx + 1``) is a direct sum of disjoint,
one-hot subspaces; nothing is random and nothing is superposed:

====================  =========  ===========================================================
subspace              size       written by / read by
====================  =========  ===========================================================
``token``             d_vocab    the token embedding (one-hot; the BOS token writes nothing
                                 here); read by Q/K/V of the heads, never by the unembed
``position``          n_ctx      the positional embedding (one-hot); read by Q/K
``bos``               1          the BOS token's embedding (a flag); read by every K so that
                                 BOS can act as an attention sink
``previous``          d_vocab    previous-token heads' OV (a copy of the attended token);
                                 read by the induction heads' K
``output``            d_vocab    induction heads' OV (a copy of the attended key's token);
                                 read by the unembed (``logits = 10 * output``)
``duplicate``         d_vocab    duplicate-token heads' OV; read by nothing unless
                                 ``duplicate_feeds_output=True`` (then the unembed subtracts
                                 ``10 * duplicate``, suppressing the repeated token)
``junk``              d_vocab    every distractor head's OV; read by nothing
====================  =========  ===========================================================

Each head's QK circuit works in a ``d_head = n_ctx + d_vocab + 2`` space with a position
block, a token block and a sink dimension. Scores (after the bridge's ``1/sqrt(d_head)``,
which the query weights undo) are ``sharpness`` (default 30) on the role's target,
``sharpness / 3`` on BOS (a key bias through the ``bos`` flag and a constant query bias), 0
elsewhere. A query with a target therefore puts ``>= 0.999`` of its attention on it; a query
``q`` without one puts ``1 / (1 + q * exp(-sharpness / 3))`` on BOS (``>= 0.997`` for
``n_ctx=64``); and because BOS writes nothing into ``token``, attending BOS moves nothing (it
is a no-op sink). The roles:

- ``previous_token``: query ``q`` attends key ``q - 1`` (position block).
- ``two_back``: query ``q`` attends key ``q - 2``.
- ``current_token``: query ``q`` attends itself.
- ``bos``: every query attends BOS (score ``sharpness`` on BOS, nothing else).
- ``uniform``: all scores 0, so the pattern is uniform over keys ``0..q``.
- ``back_N`` (e.g. ``back_29``): query ``q`` attends key ``q - N`` by position alone. With
  ``N = L - 1`` on ``[BOS] r r`` it lands on the induction target without reading any
  token: the positional shortcut that a classifier must not call an induction head.
- ``duplicate_token``: query ``q`` attends earlier keys ``k < q`` holding the same token
  (token block), with ``-2 * sharpness`` on ``k = q`` so the query itself is excluded.
- ``induction`` (layer 1 only): the query's ``token`` is matched against the key's
  ``previous`` subspace, so query ``q`` attends keys ``k < q`` whose previous token equals
  the current token (``k <= q``: like a learned one it also matches itself where a token
  directly repeats). Its OV copies the key's token into
  ``output``, so on ``[BOS] r r`` the second copy predicts the next token with logit 10
  against 0 for every other token (loss about 1e-3 for ``d_vocab=24``).

Several heads of one role share the role's signal: each of ``n`` previous-token heads writes
``1/n`` of the copy into ``previous`` and each of ``n`` induction heads writes ``1/n`` into
``output``. ``redundant_induction=True`` asks for two induction heads, so ablating one of them
halves the correct logit (10 -> 5: a small loss increase) and ablating both removes it.
Where the roles of the two layers differ in number, the shorter layer is padded with
``uniform`` heads (``n_heads`` is shared by all layers). The BOS token id is 0.

All weights are set from the arguments alone; ``seed`` only seeds the bridge's throw-away
initialisation, so two calls with the same arguments give identical models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

__all__ = [
    "PLANTED_ROLES",
    "PlantedModel",
    "build_planted_model",
]

PLANTED_ROLES: tuple[str, ...] = (
    "previous_token",
    "duplicate_token",
    "induction",
    "current_token",
    "bos",
    "uniform",
    "two_back",
)
"""Every role a planted head can have (one spelling each)."""

DEFAULT_ROLES_LAYER0: tuple[str, ...] = (
    "previous_token",
    "duplicate_token",
    "current_token",
    "bos",
    "uniform",
    "two_back",
)
DEFAULT_ROLES_LAYER1: tuple[str, ...] = ("induction", "uniform")
REDUNDANT_ROLES_LAYER1: tuple[str, ...] = ("induction", "induction", "uniform")

_PAD_ROLE = "uniform"
_UNEMBED_SCALE = 10.0  # logit given to the copied token (per full copy signal)
_SINK_FRACTION = 1.0 / 3.0  # BOS score as a fraction of ``sharpness``
_SELF_PENALTY = 2.0  # score on k = q for matching heads, in units of -sharpness
_MIN_D_VOCAB = 3  # BOS and at least two ordinary tokens
_MIN_N_CTX = 4  # BOS plus a repeated pair: [BOS] a b a


@dataclass(frozen=True)
class PlantedModel:
    """A native ``TransformerBridge`` with hand-set weights and the true role of every head.

    Attributes:
        model: the bridge (two layers, attention only, no normalisation), in eval mode.
        roles: head label ``"L.H"`` -> role (one of :data:`PLANTED_ROLES`) for every head.
        bos_token_id: the token id that must start every sequence (0).
    """

    model: TransformerBridge
    roles: dict[str, str]
    bos_token_id: int

    def heads_with_role(self, role: str) -> list[str]:
        """Labels of the heads with ``role``, in layer then head order.

        Args:
            role: one of :data:`PLANTED_ROLES`.

        Returns:
            Head labels such as ``["0.0"]``; empty if no head has the role.

        Raises:
            ValueError: ``role`` is not a planted role.

        Example:
            >>> planted = build_planted_model()
            >>> planted.heads_with_role("induction")
            ['1.0']
        """
        if not _is_role(role):
            raise ValueError(
                f"unknown role {role!r}; planted roles are {list(PLANTED_ROLES)} or back_N"
            )
        return [label for label, r in self.roles.items() if r == role]


@dataclass(frozen=True)
class _Layout:
    """Offsets of the residual subspaces and the head dimension."""

    d_vocab: int
    n_ctx: int

    @property
    def token(self) -> int:
        return 0

    @property
    def position(self) -> int:
        return self.d_vocab

    @property
    def bos(self) -> int:
        return self.d_vocab + self.n_ctx

    @property
    def previous(self) -> int:
        return self.bos + 1

    @property
    def output(self) -> int:
        return self.previous + self.d_vocab

    @property
    def duplicate(self) -> int:
        return self.output + self.d_vocab

    @property
    def junk(self) -> int:
        return self.duplicate + self.d_vocab

    @property
    def d_model(self) -> int:
        return self.junk + self.d_vocab

    # Offsets inside one head's d_head-dimensional Q/K space.
    @property
    def qk_position(self) -> int:
        return 0

    @property
    def qk_token(self) -> int:
        return self.n_ctx

    @property
    def qk_sink(self) -> int:
        return self.n_ctx + self.d_vocab

    @property
    def d_head(self) -> int:
        return self.n_ctx + self.d_vocab + 2


def _is_role(role: str) -> bool:
    return role in PLANTED_ROLES or _back_offset(role) is not None


def _back_offset(role: str) -> int | None:
    """N for a ``back_N`` role (N >= 1), else None."""
    if isinstance(role, str) and role.startswith("back_") and role[5:].isdigit():
        n = int(role[5:])
        return n if n >= 1 else None
    return None


def _check_roles(name: str, roles: Sequence[str]) -> list[str]:
    if isinstance(roles, str) or not isinstance(roles, Sequence):
        raise ValueError(f"{name} must be a sequence of role names, got {roles!r}")
    roles = list(roles)
    if not roles:
        raise ValueError(f"{name} is empty; each layer needs at least one head")
    for role in roles:
        if not _is_role(role):
            raise ValueError(
                f"unknown role {role!r} in {name}; planted roles are {list(PLANTED_ROLES)} "
                "or back_N"
            )
    return roles


def _resolve_roles(
    roles_layer0: Sequence[str],
    roles_layer1: Sequence[str] | None,
    *,
    redundant_induction: bool,
    duplicate_feeds_output: bool,
) -> tuple[list[str], list[str]]:
    layer0 = _check_roles("roles_layer0", roles_layer0)
    if roles_layer1 is None:
        roles_layer1 = REDUNDANT_ROLES_LAYER1 if redundant_induction else DEFAULT_ROLES_LAYER1
    layer1 = _check_roles("roles_layer1", roles_layer1)
    if "induction" in layer0:
        raise ValueError(
            "roles_layer0 holds 'induction'; an induction head needs the previous-token "
            "signal written by layer 0, so it must be in layer 1"
        )
    if "induction" in layer1 and "previous_token" not in layer0:
        raise ValueError(
            "roles_layer1 holds 'induction' but roles_layer0 has no 'previous_token' head "
            "for it to read"
        )
    if redundant_induction and layer1.count("induction") < 2:
        raise ValueError(
            "redundant_induction=True needs at least two 'induction' heads in roles_layer1, "
            f"got {layer1!r} (leave roles_layer1 unset for the default redundant layout)"
        )
    if duplicate_feeds_output and "duplicate_token" not in layer0 + layer1:
        raise ValueError(
            "duplicate_feeds_output=True but no head has the role 'duplicate_token'"
        )
    n_heads = max(len(layer0), len(layer1))
    layer0 += [_PAD_ROLE] * (n_heads - len(layer0))
    layer1 += [_PAD_ROLE] * (n_heads - len(layer1))
    return layer0, layer1


def _check_sizes(d_vocab: int, n_ctx: int, sharpness: float) -> None:
    if isinstance(d_vocab, bool) or not isinstance(d_vocab, int) or d_vocab < _MIN_D_VOCAB:
        raise ValueError(
            f"d_vocab must be an integer >= {_MIN_D_VOCAB} (BOS plus two ordinary tokens), "
            f"got {d_vocab!r}"
        )
    if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < _MIN_N_CTX:
        raise ValueError(
            f"n_ctx must be an integer >= {_MIN_N_CTX} (room for [BOS] a b a), got {n_ctx!r}"
        )
    if isinstance(sharpness, bool) or not isinstance(sharpness, (int, float)):
        raise ValueError(f"sharpness must be a positive number, got {sharpness!r}")
    if not math.isfinite(sharpness) or sharpness <= 0:
        raise ValueError(f"sharpness must be positive and finite, got {sharpness!r}")


def _set_head(
    state: dict[str, torch.Tensor],
    layer: int,
    head: int,
    role: str,
    *,
    lay: _Layout,
    sharpness: float,
    copy_weight: float,
) -> None:
    """Write one head's Q, K, V, O slices into ``state`` (all other entries stay zero)."""
    prefix = f"blocks.{layer}.attn"
    w_q, b_q = state[f"{prefix}.q.weight"], state[f"{prefix}.q.bias"]  # [n_heads*d_head, d_model]
    w_k = state[f"{prefix}.k.weight"]  # [n_heads*d_head, d_model]
    w_v = state[f"{prefix}.v.weight"]  # [n_heads*d_head, d_model]
    w_o = state[f"{prefix}.o.weight"]  # [d_model, n_heads*d_head]
    row = head * lay.d_head  # first row of this head in the head-major q/k/v rows
    v, n = lay.d_vocab, lay.n_ctx
    # The bridge divides scores by sqrt(d_head); fold the inverse into the query side.
    unit = math.sqrt(lay.d_head)
    target = sharpness * unit
    sink = sharpness * _SINK_FRACTION * unit

    if role == "uniform":
        pass  # all scores 0
    elif role == "bos":
        b_q[row + lay.qk_sink] = target
    else:
        b_q[row + lay.qk_sink] = sink
    # Every key carries its BOS flag in the sink dimension.
    w_k[row + lay.qk_sink, lay.bos] = 1.0

    positions = torch.arange(n)
    offsets = {"previous_token": 1, "two_back": 2, "current_token": 0}
    if _back_offset(role) is not None:
        offsets[role] = _back_offset(role)
    if role in offsets or role in ("duplicate_token", "induction"):
        # Keys: one-hot position in the position block.
        w_k[row + lay.qk_position + positions, lay.position + positions] = 1.0
    if role in offsets:
        back = offsets[role]
        queries = positions[back:]
        w_q[row + lay.qk_position + queries - back, lay.position + queries] = target
    if role in ("duplicate_token", "induction"):
        tokens = torch.arange(v)
        # Query token t scores `sharpness` on keys with t in their key subspace ...
        w_q[row + lay.qk_token + tokens, lay.token + tokens] = target
        key_source = lay.token if role == "duplicate_token" else lay.previous
        w_k[row + lay.qk_token + tokens, key_source + tokens] = 1.0
    if role == "duplicate_token":
        # ... and -2 * sharpness on itself, through the position block. (An induction head
        # needs no such penalty: it matches itself only when a token directly repeats, and a
        # dense positional term would dwarf its token circuit in composition scores.)
        w_q[row + lay.qk_position + positions, lay.position + positions] = (
            -_SELF_PENALTY * target
        )

    # OV: copy the attended key's token one-hot into the role's output subspace.
    tokens = torch.arange(v)
    w_v[row + tokens, lay.token + tokens] = 1.0
    destination = {
        "previous_token": lay.previous,
        "induction": lay.output,
        "duplicate_token": lay.duplicate,
    }.get(role, lay.junk)
    w_o[destination + tokens, row + tokens] = copy_weight


def build_planted_model(
    *,
    d_vocab: int = 24,
    n_ctx: int = 64,
    sharpness: float = 30.0,
    roles_layer0: Sequence[str] = DEFAULT_ROLES_LAYER0,
    roles_layer1: Sequence[str] | None = None,
    redundant_induction: bool = False,
    duplicate_feeds_output: bool = False,
    seed: int = 0,
) -> PlantedModel:
    """Build a two-layer attention-only bridge whose heads have exactly the given roles.

    Args:
        d_vocab: vocabulary size, BOS (id 0) included; at least 3.
        n_ctx: context length; at least 4.
        sharpness: attention score on a head's target (after the ``1/sqrt(d_head)``
            scaling); BOS gets ``sharpness / 3``, other keys 0. 30 puts ``>= 0.999`` of the
            attention on the target for the default sizes; smaller values blur patterns.
        roles_layer0: role of each layer-0 head (see :data:`PLANTED_ROLES`; no
            ``induction``).
        roles_layer1: role of each layer-1 head; default ``("induction", "uniform")``, or
            ``("induction", "induction", "uniform")`` with ``redundant_induction``. Any
            ``induction`` head needs a ``previous_token`` head in layer 0.
        redundant_induction: plant two induction heads that each write half of the copy
            signal (ablating one costs little, both a lot).
        duplicate_feeds_output: let the unembed read the duplicate-token heads' output
            (suppressing the logit of the current token where it is a repeat); otherwise
            nothing reads it and ablating those heads changes no logit.
        seed: seeds the bridge's initialisation, which is then overwritten; the weights
            depend on the other arguments only.

    Returns:
        A :class:`PlantedModel` with the bridge in eval mode and the role of every head;
        the shorter layer is padded with ``uniform`` heads.

    Raises:
        ValueError: a size below its minimum, a non-positive ``sharpness``, an unknown
            role, ``induction`` in layer 0 or without a previous-token head, or a flag that
            needs a head the layout lacks.

    Example:
        >>> import torch
        >>> planted = build_planted_model()
        >>> planted.roles["0.0"], planted.roles["1.0"]
        ('previous_token', 'induction')
        >>> r = torch.randperm(23, generator=torch.Generator().manual_seed(0))[:10] + 1
        >>> tokens = torch.cat([torch.zeros(1, dtype=torch.long), r, r])[None]
        >>> logits = planted.model(tokens)
        >>> bool((logits[0, 11:-1].argmax(-1) == r[1:]).all())
        True
    """
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    _check_sizes(d_vocab, n_ctx, sharpness)
    layer0, layer1 = _resolve_roles(
        roles_layer0,
        roles_layer1,
        redundant_induction=redundant_induction,
        duplicate_feeds_output=duplicate_feeds_output,
    )
    n_heads = len(layer0)
    lay = _Layout(d_vocab=d_vocab, n_ctx=n_ctx)
    cfg = TransformerBridgeConfig(
        d_model=lay.d_model,
        d_head=lay.d_head,
        n_heads=n_heads,
        n_layers=2,
        n_ctx=n_ctx,
        d_vocab=d_vocab,
        attn_only=True,
        normalization_type=None,
        positional_embedding_type="standard",
        seed=seed,
        model_name="planted",
    )
    model = TransformerBridge.boot_native(cfg, model_name="planted")

    state = {name: torch.zeros_like(t) for name, t in model.state_dict().items()}
    tokens = torch.arange(1, d_vocab)
    state["embed.weight"][tokens, lay.token + tokens] = 1.0  # [d_vocab, d_model]
    state["embed.weight"][0, lay.bos] = 1.0  # BOS: only the flag, no token one-hot
    positions = torch.arange(n_ctx)
    state["pos_embed.weight"][positions, lay.position + positions] = 1.0  # [n_ctx, d_model]

    # Heads whose output a later component reads split that signal equally: the
    # previous-token heads of layer 0 (read by layer 1), the induction heads and the
    # duplicate-token heads of both layers (read by the unembed).
    sharers = {
        "previous_token": layer0.count("previous_token"),
        "induction": layer1.count("induction"),
        "duplicate_token": (layer0 + layer1).count("duplicate_token"),
    }
    for layer, roles in enumerate((layer0, layer1)):
        for head, role in enumerate(roles):
            split = role in sharers and not (role == "previous_token" and layer == 1)
            copy_weight = 1.0 / sharers[role] if split else 1.0
            _set_head(
                state,
                layer,
                head,
                role,
                lay=lay,
                sharpness=float(sharpness),
                copy_weight=copy_weight,
            )

    vocab = torch.arange(d_vocab)
    state["unembed.weight"][vocab, lay.output + vocab] = _UNEMBED_SCALE  # [d_vocab, d_model]
    if duplicate_feeds_output:
        state["unembed.weight"][vocab, lay.duplicate + vocab] = -_UNEMBED_SCALE
    model.load_state_dict(state, strict=True)
    model.eval()

    roles = {
        f"{layer}.{head}": role
        for layer, layer_roles in enumerate((layer0, layer1))
        for head, role in enumerate(layer_roles)
    }
    return PlantedModel(model=model, roles=roles, bos_token_id=0)
