"""Planted models: two- (or three-) layer attention-only transformers with hand-set weights whose every
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

(``output`` is also written, with a sign, by the copy-suppression, successor and self-copy
heads below: the unembed reads whatever lands there.)

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

Head types beyond the three behaviors, each beside a look-alike decoy (issue 11):

- ``bos`` is the attention sink (Gu et al. 2025: the mean attention on BOS from the queries
  after it is about 1), and a *no-op* one: BOS's value is empty, so attending it writes
  nothing (the sink measure's check confirms it). ``sink_N`` (e.g. ``sink_1``): every query
  ``q >= N`` attends key ``N`` (earlier queries rest on BOS): a sink by the attention metric
  on a fixed early position, but key ``N`` holds a random token whose copy the head writes,
  so it *reads* its sink key (the check refutes "no-op"). Further decoys: ``uniform`` (no
  key collects attention) and ``previous_token`` / ``current_token``, whose late keys get all
  the attention of the one or two queries that can see them.
- ``local_W`` (``W >= 2``, e.g. ``local_3``): query ``q`` spreads its attention evenly over
  the ``W`` keys ``q - W .. q - 1`` (BOS never among them: early queries share it among the
  keys ``1..q-1`` they have; query 1 rests on BOS). Decoys: ``previous_token`` (the window
  of one) and ``back_N`` for large ``N`` (long range).
- ``copy_suppression`` (layer 1 or 2; McDougall et al. 2023): the QK circuit of an
  induction head (it attends to the token that followed an earlier copy of the current
  token, which is what the induction heads predict) and the *negative* of its OV circuit:
  it writes ``-copy_suppression_strength`` times the copy into ``output``, so the predicted
  token's logit falls from 10 to ``10 * (1 - strength)`` and ablating the head *raises* it
  (and lowers the second-copy loss). It needs an ``induction`` head in layer 1 whose
  prediction it tempers. Decoy: ``induction`` (same pattern, positive OV). In layer 1 it
  finds that token as an induction head does (query ``token`` against key ``previous``);
  in layer 2 (``roles_layer2``: a three-layer model) it reads the prediction itself: its
  query reads ``output``, where the induction heads wrote the predicted next token, and its
  key reads ``token``, so it attends to the earlier copies of the predicted token (on
  ``[BOS] r r``: the induction target again) and the circuit is previous-token -> induction
  (key) -> copy suppression (query) -> logits, beside induction -> logits.
  ``mute_copy_suppression``: the QK circuit of a ``copy_suppression`` head of the same layer
  whose OV writes into ``junk`` (it attends like one and writes nothing anyone reads).
- ``successor`` (Gould et al. 2023): attends to the current token and, through its OV,
  writes the *next* id of the ordinal list ``successor_ids`` (default: every ordinary id
  ``1..d_vocab-1`` in order) into ``output``: token ``ids[j]`` raises the logit of
  ``ids[j + 1]`` (the last id writes nothing). Decoy: ``self_copy``, the same pattern with a
  copying OV (token ``t`` raises ``t``). ``idle_successor``: the successor OV with the
  ``bos`` pattern, so its weights score as a successor head but in context it reads only
  BOS, whose value is empty, and writes nothing (the look-alike the in-context check
  refutes).

Several heads of one role share the role's signal: each of ``n`` previous-token heads writes
``1/n`` of the copy into ``previous`` and each of ``n`` induction heads writes ``1/n`` into
``output``. ``redundant_induction=True`` asks for two induction heads, so ablating one of them
halves the correct logit (10 -> 5: a small loss increase) and ablating both removes it.
Where the roles of the layers differ in number, the shorter layers are padded with
``uniform`` heads (``n_heads`` is shared by all layers). The BOS token id is 0.

All weights are set from the arguments alone; ``seed`` only seeds the bridge's throw-away
initialisation, so two calls with the same arguments give identical models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformer_lens.model_bridge import TransformerBridge

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

PLANTED_ROLES: tuple[str, ...] = (
    "previous_token",
    "duplicate_token",
    "induction",
    "current_token",
    "bos",
    "uniform",
    "two_back",
    "copy_suppression",
    "successor",
    "self_copy",
    "idle_successor",
    "mute_copy_suppression",
)


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


_NUMBERED_ROLES = {"back_": 1, "sink_": 1, "local_": 2}  # prefix -> smallest number


_COPY_READERS = ("induction", "copy_suppression", "mute_copy_suppression")  # layer-1
# roles that read ``previous``


_SUPPRESSORS = ("copy_suppression", "mute_copy_suppression")  # roles with that QK circuit


@dataclass(frozen=True)
class PlantedModel:
    """A native ``TransformerBridge`` with hand-set weights and the true role of every head.

    Attributes:
        model: the bridge (two layers, three with ``roles_layer2``; attention only, no
            normalisation), in eval mode.
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
                f"unknown role {role!r}; planted roles are {list(PLANTED_ROLES)} or "
                "back_N, sink_N, local_W"
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
    return role in PLANTED_ROLES or any(
        _numbered(role, prefix) is not None for prefix in _NUMBERED_ROLES
    )


def _numbered(role: str, prefix: str) -> int | None:
    """N for a role ``{prefix}N`` with N at least the prefix's minimum, else None."""
    if isinstance(role, str) and role.startswith(prefix) and role[len(prefix):].isdigit():
        n = int(role[len(prefix):])
        return n if n >= _NUMBERED_ROLES[prefix] else None
    return None


def _back_offset(role: str) -> int | None:
    """N for a ``back_N`` role (N >= 1), else None."""
    return _numbered(role, "back_")


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
                "or back_N, sink_N, local_W (local_W needs W >= 2)"
            )
    return roles


def _resolve_roles(
    roles_layer0: Sequence[str],
    roles_layer1: Sequence[str] | None,
    roles_layer2: Sequence[str] | None = None,
    *,
    redundant_induction: bool,
    duplicate_feeds_output: bool,
) -> list[list[str]]:
    """The roles of each layer (two, or three with ``roles_layer2``), checked and padded."""
    layer0 = _check_roles("roles_layer0", roles_layer0)
    if roles_layer1 is None:
        roles_layer1 = REDUNDANT_ROLES_LAYER1 if redundant_induction else DEFAULT_ROLES_LAYER1
    layer1 = _check_roles("roles_layer1", roles_layer1)
    if "induction" in layer0:
        raise ValueError(
            "roles_layer0 holds 'induction'; an induction head needs the previous-token "
            "signal written by layer 0, so it must be in layer 1"
        )
    for reader in _COPY_READERS:
        if reader in layer1 and "previous_token" not in layer0:
            raise ValueError(
                f"roles_layer1 holds {reader!r} but roles_layer0 has no 'previous_token' "
                "head for it to read"
            )
    if redundant_induction and layer1.count("induction") < 2:
        raise ValueError(
            "redundant_induction=True needs at least two 'induction' heads in roles_layer1, "
            f"got {layer1!r} (leave roles_layer1 unset for the default redundant layout)"
        )
    for role in _SUPPRESSORS:
        if role in layer0:
            raise ValueError(
                f"roles_layer0 holds {role!r}; it reads the previous-token signal "
                "written by layer 0, so it must be in layer 1 (or 2)"
            )
    if "copy_suppression" in layer1 and "induction" not in layer1:
        raise ValueError(
            "roles_layer1 holds 'copy_suppression' but no 'induction' head whose prediction "
            "it could suppress"
        )
    layers = [layer0, layer1]
    if roles_layer2 is not None:
        layer2 = _check_roles("roles_layer2", roles_layer2)
        if "induction" in layer2:
            raise ValueError(
                "roles_layer2 holds 'induction'; the induction heads belong in layer 1, "
                "whose prediction a layer-2 copy-suppression head reads"
            )
        if any(role in layer2 for role in _SUPPRESSORS) and "induction" not in layer1:
            raise ValueError(
                "roles_layer2 holds a copy-suppression head but roles_layer1 has no "
                "'induction' head whose prediction it could read"
            )
        layers.append(layer2)
    if duplicate_feeds_output and "duplicate_token" not in sum(layers, []):
        raise ValueError(
            "duplicate_feeds_output=True but no head has the role 'duplicate_token'"
        )
    n_heads = max(len(layer) for layer in layers)
    return [layer + [_PAD_ROLE] * (n_heads - len(layer)) for layer in layers]


def _check_fits(roles: Sequence[str], n_ctx: int) -> None:
    """Every ``sink_N`` key and ``local_W`` window lies inside the context."""
    for role in roles:
        sink_key, window = _numbered(role, "sink_"), _numbered(role, "local_")
        if sink_key is not None and sink_key > n_ctx - 1:
            raise ValueError(f"role {role!r} sinks on key {sink_key}, outside n_ctx={n_ctx}")
        if window is not None and window > n_ctx - 2:
            raise ValueError(
                f"role {role!r} has a window of {window} keys; n_ctx={n_ctx} leaves at most "
                f"{n_ctx - 2} non-BOS keys before the last query"
            )


def _check_strength(strength: float | None, roles: Sequence[str]) -> float:
    """The copy-suppression strength (default 0.5), checked."""
    if strength is None:
        return 0.5
    if "copy_suppression" not in roles:
        raise ValueError(
            "copy_suppression_strength is set but no head has the role 'copy_suppression'"
        )
    if isinstance(strength, bool) or not isinstance(strength, (int, float)):
        raise ValueError(f"copy_suppression_strength must be a number, got {strength!r}")
    if not 0.0 < strength < 1.0:
        raise ValueError(
            "copy_suppression_strength must lie strictly between 0 and 1 (the induction "
            f"heads must still predict the token), got {strength!r}"
        )
    return float(strength)


def _check_successor_ids(
    ids: Sequence[int] | None, roles: Sequence[str], d_vocab: int
) -> tuple[int, ...]:
    """The successor heads' ordinal list (default ``1..d_vocab-1``), checked."""
    if ids is None:
        return tuple(range(1, d_vocab))
    if "successor" not in roles:
        raise ValueError("successor_ids is set but no head has the role 'successor'")
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise ValueError(f"successor_ids must be a sequence of token ids, got {ids!r}")
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i < d_vocab:
            raise ValueError(
                f"successor_ids holds {i!r}; ids must be integers in 1..{d_vocab - 1} "
                "(BOS, id 0, is no ordinal token)"
            )
        out.append(int(i))
    if len(out) < 2 or len(set(out)) != len(out):
        raise ValueError(f"successor_ids must hold at least two distinct ids, got {ids!r}")
    return tuple(out)


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
    successor_ids: Sequence[int] = (),
) -> None:
    """Write one head's Q, K, V, O slices into ``state`` (all other entries stay zero).

    ``copy_weight`` scales what the OV writes (negative for copy suppression);
    ``successor_ids`` is the ordinal list a ``successor`` head steps through. A
    copy-suppression head of layer 2 matches the prediction in ``output`` (query) against
    the key's ``token``; in layer 1, the query's ``token`` against the key's ``previous``."""
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
    elif role in ("bos", "idle_successor"):
        b_q[row + lay.qk_sink] = target
    else:
        b_q[row + lay.qk_sink] = sink
    # Every key carries its BOS flag in the sink dimension.
    w_k[row + lay.qk_sink, lay.bos] = 1.0

    positions = torch.arange(n)
    offsets = {"previous_token": 1, "two_back": 2, "current_token": 0, "successor": 0,
               "self_copy": 0}
    if _back_offset(role) is not None:
        offsets[role] = _back_offset(role)
    sink_key = _numbered(role, "sink_")
    window = _numbered(role, "local_")
    token_matching = ("duplicate_token", "induction", *_SUPPRESSORS)
    positional = role in offsets or sink_key is not None or window is not None
    if positional or role in token_matching:
        # Keys: one-hot position in the position block.
        w_k[row + lay.qk_position + positions, lay.position + positions] = 1.0
    if role in offsets:
        back = offsets[role]
        queries = positions[back:]
        w_q[row + lay.qk_position + queries - back, lay.position + queries] = target
    if sink_key is not None:
        # Every query q >= N scores `sharpness` on key N.
        queries = positions[sink_key:]
        w_q[row + lay.qk_position + sink_key, lay.position + queries] = target
    if window is not None:
        # Query q scores `sharpness` on each key q - W .. q - 1 except BOS.
        for back in range(1, window + 1):
            queries = positions[back + 1 :]  # key q - back >= 1
            w_q[row + lay.qk_position + queries - back, lay.position + queries] = target
    if role in token_matching:
        tokens = torch.arange(v)
        # Query token t scores `sharpness` on keys with t in their key subspace ...
        reads_prediction = role in _SUPPRESSORS and layer == 2
        query_source = lay.output if reads_prediction else lay.token
        w_q[row + lay.qk_token + tokens, query_source + tokens] = target
        key_source = lay.token if role == "duplicate_token" or reads_prediction \
            else lay.previous
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
        "copy_suppression": lay.output,
        "self_copy": lay.output,
        "successor": lay.output,
        "idle_successor": lay.output,
        "duplicate_token": lay.duplicate,
    }.get(role, lay.junk)
    if role in ("successor", "idle_successor"):
        # Token ids[j] raises the logit of ids[j + 1]; the last id writes nothing.
        ids = torch.tensor(list(successor_ids), dtype=torch.long)
        w_o[destination + ids[1:], row + ids[:-1]] = copy_weight
    else:
        w_o[destination + tokens, row + tokens] = copy_weight


def build_planted_model(
    *,
    d_vocab: int = 24,
    n_ctx: int = 64,
    sharpness: float = 30.0,
    roles_layer0: Sequence[str] = DEFAULT_ROLES_LAYER0,
    roles_layer1: Sequence[str] | None = None,
    roles_layer2: Sequence[str] | None = None,
    redundant_induction: bool = False,
    duplicate_feeds_output: bool = False,
    copy_suppression_strength: float | None = None,
    successor_ids: Sequence[int] | None = None,
    seed: int = 0,
) -> PlantedModel:
    """Build a two-layer (three with ``roles_layer2``) attention-only bridge whose heads
    have exactly the given roles.

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
        roles_layer2: role of each layer-2 head (None: no layer 2). A ``copy_suppression``
            head there reads the prediction layer 1's ``induction`` heads wrote
            (module docstring); no ``induction`` in layer 2.
        redundant_induction: plant two induction heads that each write half of the copy
            signal (ablating one costs little, both a lot).
        duplicate_feeds_output: let the unembed read the duplicate-token heads' output
            (suppressing the logit of the current token where it is a repeat); otherwise
            nothing reads it and ablating those heads changes no logit.
        copy_suppression_strength: share of the full copy signal that the
            ``copy_suppression`` heads subtract from ``output`` together (strictly between 0
            and 1, default 0.5: the predicted token's logit 10 becomes 5); only with such a
            head.
        successor_ids: the ordinal list of token ids (distinct, ``1..d_vocab-1``, at least
            two) that ``successor`` heads step through; default every ordinary id in
            order; only with such a head.
        seed: seeds the bridge's initialisation, which is then overwritten; the weights
            depend on the other arguments only.

    Returns:
        A :class:`PlantedModel` with the bridge in eval mode and the role of every head;
        the shorter layer is padded with ``uniform`` heads.

    Raises:
        ValueError: a size below its minimum, a non-positive ``sharpness``, an unknown
            role, ``induction`` or ``copy_suppression`` in layer 0 or without a
            previous-token head, ``induction`` in layer 2, ``copy_suppression`` without
            an induction head in layer 1, a
            ``sink_N`` or ``local_W`` that does not fit in ``n_ctx``, a bad
            ``copy_suppression_strength`` or ``successor_ids``, or a flag or argument that
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
    layers = _resolve_roles(
        roles_layer0,
        roles_layer1,
        roles_layer2,
        redundant_induction=redundant_induction,
        duplicate_feeds_output=duplicate_feeds_output,
    )
    layer0, layer1 = layers[0], layers[1]
    every = sum(layers, [])
    _check_fits(every, n_ctx)
    strength = _check_strength(copy_suppression_strength, sum(layers[1:], []))
    ordinal = _check_successor_ids(successor_ids, every, d_vocab)
    n_heads = len(layer0)
    lay = _Layout(d_vocab=d_vocab, n_ctx=n_ctx)
    cfg = TransformerBridgeConfig(
        d_model=lay.d_model,
        d_head=lay.d_head,
        n_heads=n_heads,
        n_layers=len(layers),
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
    # duplicate-token heads of both layers (read by the unembed). The copy-suppression
    # heads (of layers 1 and 2) share the negative signal ``-strength``.
    sharers = {
        "previous_token": layer0.count("previous_token"),
        "induction": layer1.count("induction"),
        "duplicate_token": every.count("duplicate_token"),
        "copy_suppression": sum(layers[1:], []).count("copy_suppression"),
    }
    for layer, roles in enumerate(layers):
        for head, role in enumerate(roles):
            split = role in sharers and not (role == "previous_token" and layer >= 1)
            copy_weight = 1.0 / sharers[role] if split else 1.0
            if role == "copy_suppression":
                copy_weight *= -strength
            _set_head(
                state,
                layer,
                head,
                role,
                lay=lay,
                sharpness=float(sharpness),
                copy_weight=copy_weight,
                successor_ids=ordinal,
            )

    vocab = torch.arange(d_vocab)
    state["unembed.weight"][vocab, lay.output + vocab] = _UNEMBED_SCALE  # [d_vocab, d_model]
    if duplicate_feeds_output:
        state["unembed.weight"][vocab, lay.duplicate + vocab] = -_UNEMBED_SCALE
    model.load_state_dict(state, strict=True)
    model.eval()

    roles = {
        f"{layer}.{head}": role
        for layer, layer_roles in enumerate(layers)
        for head, role in enumerate(layer_roles)
    }
    return PlantedModel(model=model, roles=roles, bos_token_id=0)
