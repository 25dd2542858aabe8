"""**Successor heads** (Gould et al. 2023, "Successor heads: recurring, interpretable
attention heads in the wild"): weights only. Through a head's OV circuit ``W_E W_V W_O W_U``
restricted to an ordinal set of tokens (digits, letters, weekdays, months), the successor
of each member (``1 -> 2``, ``a -> b``) should get the top logit among the set; the score
(0..1) is the fraction of consecutive pairs where it does, strictly (a tie is a miss). A
copying head maps each token to itself and scores 0; random weights score about
``1 / len(set)``. Gould et al. read the embeddings after MLP0; pass such effective
embeddings as ``embeddings`` (attention-only models have none to apply). In context
(:func:`successor_logit_effect` on :func:`ordinal_stimuli`), ablating a successor head must
lower each ordinal token's successor's logit.

Registered here: the ``successor`` weights measure (marks heads above
:data:`SUCCESSOR_THRESHOLD`; its check ablates the head on sequences of ordinal tokens).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor

from ..engine.ablation import (
    ablation_hooks,
    stimuli_logits,
    summarise_effect,
)
from ..model.heads import HeadId, check_heads
from ..model.weights import head_params
from ..results.evidence import AblationEffect, Evidence
from ..spec.measures import Measure, MeasureCheck, register_measure
from ..stimuli.seeds import derive_seed
from ..stimuli.tokens import Stimuli

#: Ordinal sequences whose members a tokenizer may hold as single tokens (Gould et al.).
ORDINAL_SEQUENCES: dict[str, tuple[str, ...]] = {
    "digits": tuple("0123456789"),
    "letters": tuple("abcdefghijklmnopqrstuvwxyz"),
    "capitals": tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                 "Sunday"),
    "months": ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"),
}


def ordinal_token_sets(tokenizer: Any) -> dict[str, tuple[int, ...]]:
    """The ordinal sequences of :data:`ORDINAL_SEQUENCES` that ``tokenizer`` holds as
    single, distinct tokens, as token ids in order.

    Each sequence is tried as written (``"digits"``) and with a leading space, as GPT-2
    style tokenizers spell words inside text (``"space_digits"``); every variant whose
    members are all single tokens is kept.

    Args:
        tokenizer: anything with ``encode(text, add_special_tokens=False) -> list[int]``.

    Returns:
        name -> ids; empty when the tokenizer has none (or there is no tokenizer: pass
        explicit id sets to :func:`successor_scores` instead).

    Raises:
        ValueError: ``tokenizer`` is None.
    """
    if tokenizer is None:
        raise ValueError("ordinal_token_sets needs a tokenizer; this model has none "
                         "(pass explicit id sets to successor_scores)")
    found: dict[str, tuple[int, ...]] = {}
    for name, words in ORDINAL_SEQUENCES.items():
        for prefix, label in (("", name), (" ", f"space_{name}")):
            ids = []
            for word in words:
                encoded = tokenizer.encode(prefix + word, add_special_tokens=False)
                if len(encoded) != 1:
                    break
                ids.append(int(encoded[0]))
            if len(ids) == len(words) and len(set(ids)) == len(ids):
                found[label] = tuple(ids)
    return found


def _id_sets(
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]], d_vocab: int
) -> list[list[int]]:
    sets = list(ordinal_sets.values()) if isinstance(ordinal_sets, Mapping) else list(
        ordinal_sets
    )
    if not sets:
        raise ValueError("no ordinal sets given (a tokenizer without digits or letters?)")
    out = []
    for ids in sets:
        ids = [int(i) for i in ids]
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ValueError(f"an ordinal set needs at least two distinct ids, got {ids}")
        bad = [i for i in ids if not 0 <= i < d_vocab]
        if bad:
            raise ValueError(f"ordinal ids {bad} are outside the vocabulary 0..{d_vocab - 1}")
        out.append(ids)
    return out


def ov_circuit_among(
    model: Any,
    ids: Sequence[int],
    *,
    embeddings: Float[Tensor, "n d_model"] | None = None,
) -> Float[Tensor, "layer head n n"]:
    """Every head's OV circuit restricted to ``ids``: entry ``[l, h, i, j]`` is the logit
    of ``ids[j]`` that head ``l.h`` writes when it attends to ``ids[i]``
    (``W_E[ids] W_V W_O W_U[:, ids]``; LayerNorm and biases ignored, as in
    :func:`interp.model.weights.ov_copying_scores`).

    Args:
        model: a ``TransformerBridge`` (weights read only).
        ids: token ids.
        embeddings: ``[len(ids), d_model]`` effective embeddings to use instead of
            ``W_E[ids]`` (e.g. after MLP0, as Gould et al.).
    """
    p = head_params(model)
    index = torch.tensor([int(i) for i in ids], dtype=torch.long)
    rows = p["W_E"][index] if embeddings is None else embeddings.detach().float().cpu()
    if rows.shape != (len(index), p["W_E"].shape[1]):
        raise ValueError(f"embeddings must be [{len(index)}, {p['W_E'].shape[1]}], "
                         f"got {tuple(rows.shape)}")
    cols = p["W_U"][:, index]  # (d, n)
    # (n, d) @ (L, H, d, dh) @ (L, H, dh, d) @ (d, n) -> (L, H, n, n)
    return rows @ p["W_V"] @ p["W_O"] @ cols


def mlp0_embeddings(model: Any, ids: Sequence[int]) -> Float[Tensor, "n d_model"]:
    """Effective token embeddings after the first MLP (Gould et al.): ``W_E[ids] +
    MLP0(LN2(W_E[ids]))``, the residual a token would carry past block 0 if layer-0
    attention added nothing.

    Raises:
        ValueError: the model has no MLPs (``attn_only``).
    """
    if bool(getattr(model.cfg, "attn_only", False)):
        raise ValueError("the model is attention-only: there is no MLP0 to apply "
                         "(use the raw embeddings)")
    block = model.blocks[0]
    index = torch.tensor([int(i) for i in ids], dtype=torch.long)
    with torch.no_grad():
        embed = model.W_E[index.to(model.W_E.device)]  # (n, d)
        out = embed + block.mlp(block.ln2(embed[None]))[0]  # (n, d)
    return out.detach().float().cpu()


def successor_fraction(circuit: Float[Tensor, "... n n"]) -> Float[Tensor, "..."]:
    """Fraction of the pairs ``i -> i + 1`` where column ``i + 1`` holds the strictly
    largest value of row ``i`` (range 0..1; a tie is a miss)."""
    n = circuit.shape[-1]
    if circuit.shape[-2] != n or n < 2:
        raise ValueError(f"circuit must be [..., n, n] with n >= 2, got {tuple(circuit.shape)}")
    rows = circuit[..., :-1, :]  # (..., n-1, n): sources 0..n-2
    succ = torch.arange(1, n)
    target = rows[..., torch.arange(n - 1), succ]  # (..., n-1)
    others = rows.clone()
    others[..., torch.arange(n - 1), succ] = -torch.inf
    hit = target > others.max(-1).values  # (..., n-1)
    return hit.float().mean(-1)


def ordinal_stimuli(
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]],
    n_seqs: int,
    seq_len: int,
    *,
    vocab_size: int,
    bos_token_id: int,
    seed: int,
) -> Stimuli:
    """``[BOS]`` then ``seq_len`` members of the ordinal sets drawn uniformly at random
    (``torch.Generator`` seeded with ``seed``): contexts where a successor head has
    something to do at every position.

    Raises:
        ValueError: bad sets (as :func:`successor_scores`), or ``n_seqs``/``seq_len`` < 1.
    """
    if n_seqs < 1 or seq_len < 1:
        raise ValueError(f"need n_seqs >= 1 and seq_len >= 1, got {n_seqs} and {seq_len}")
    members = torch.tensor(sorted({i for ids in _id_sets(ordinal_sets, vocab_size)
                                   for i in ids}))
    generator = torch.Generator().manual_seed(int(seed))
    drawn = members[torch.randint(len(members), (n_seqs, seq_len), generator=generator)]
    tokens = torch.cat([torch.full((n_seqs, 1), int(bos_token_id)), drawn], dim=1)
    return Stimuli(tokens=tokens, valid=torch.ones_like(tokens, dtype=torch.bool),
                   bos_token_id=int(bos_token_id),
                   description={"kind": "ordinal", "n_seqs": n_seqs, "seq_len": seq_len,
                                "seed": int(seed)})


def successor_logit_effect(
    model: Any,
    stimuli: Stimuli,
    heads: Sequence[Any],
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]],
    *,
    method: str = "mean",
    seed: int = 0,
) -> AblationEffect:
    """How much ``heads`` raise the successor of the current token in context (the
    successor measure's check): at every position holding a member of an ordinal set that
    has a successor (``1 -> 2``), the centred logit (minus the mean over the vocabulary)
    of that successor, clean vs with ``heads`` ablated.

    Returns:
        An :class:`interp.AblationEffect` with metric ``successor_logit``: ``effect`` =
        clean - ablated (positive: the heads raised the successor), ``scale`` the clean
        value (how strongly the model raises successors at all), ``relative`` the heads'
        share of it (NaN where ``scale`` is below :data:`interp.results.evidence.MIN_SCALE`).

    Raises:
        ValueError: bad sets or heads, or no position of the stimuli holds a member with a
            successor.
    """
    parsed = check_heads(list(heads), int(model.cfg.n_layers), int(model.cfg.n_heads))
    successor = torch.full((int(model.cfg.d_vocab),), -1, dtype=torch.long)
    for ids in _id_sets(ordinal_sets, int(model.cfg.d_vocab)):
        successor[torch.tensor(ids[:-1])] = torch.tensor(ids[1:])
    target = successor[stimuli.tokens.cpu()]  # (B, S): -1 where no successor
    scored = (target >= 0) & stimuli.valid.cpu()
    if not bool(scored.any()):
        raise ValueError("no position of the stimuli holds an ordinal token with a successor")
    hooks = ablation_hooks(model, stimuli, parsed, method=method, seed=seed)
    clean_logits = stimuli_logits(model, stimuli).float().cpu()
    ablated_logits = stimuli_logits(model, stimuli, hooks).float().cpu()

    def successor_logit(logits: Tensor) -> Tensor:  # (B,) mean over scored positions
        centred = logits - logits.mean(-1, keepdim=True)
        picked = centred.gather(-1, target.clamp(min=0)[..., None])[..., 0]  # (B, S)
        return (picked * scored).sum(1) / scored.sum(1).clamp(min=1)

    keep = scored.any(1)
    clean = successor_logit(clean_logits)[keep]
    ablated = successor_logit(ablated_logits)[keep]
    return summarise_effect(parsed, method, "successor_logit", clean, ablated,
                            clean - ablated, float(clean.mean()), seed)


def successor_scores(
    model: Any,
    ordinal_sets: Mapping[str, Sequence[int]] | Sequence[Sequence[int]],
    *,
    embeddings: Mapping[str, Tensor] | Sequence[Tensor] | None = None,
    through_mlp0: bool = False,
) -> Float[Tensor, "layer head"]:
    """Gould et al.'s successor score of every head, pooled over the ordinal sets.

    Args:
        model: a ``TransformerBridge`` (weights read only).
        ordinal_sets: ordered token-id lists (from :func:`ordinal_token_sets`, or explicit
            ids for a model without a tokenizer).
        embeddings: per set, ``[len(set), d_model]`` effective embeddings; default the raw
            ``W_E`` rows.
        through_mlp0: use :func:`mlp0_embeddings` (models with MLPs only).

    Returns:
        ``[layer, head]``: successful pairs / all pairs, 0..1.

    Raises:
        ValueError: no sets, a set with fewer than two distinct ids, ids outside the
            vocabulary, both ``embeddings`` and ``through_mlp0``, or ``through_mlp0`` on an
            attention-only model.
    """
    sets = _id_sets(ordinal_sets, int(model.cfg.d_vocab))
    if through_mlp0:
        if embeddings is not None:
            raise ValueError("pass either embeddings or through_mlp0, not both")
        embeddings = [mlp0_embeddings(model, ids) for ids in sets]
    if embeddings is not None:
        embeddings = (list(embeddings.values()) if isinstance(embeddings, Mapping)
                      else list(embeddings))
        if len(embeddings) != len(sets):
            raise ValueError(f"{len(embeddings)} embedding tables for {len(sets)} sets")
    hits = None
    pairs = 0
    for i, ids in enumerate(sets):
        rows = None if embeddings is None else embeddings[i]
        circuit = ov_circuit_among(model, ids, embeddings=rows)  # (L, H, n, n)
        part = successor_fraction(circuit) * (len(ids) - 1)
        hits = part if hits is None else hits + part
        pairs += len(ids) - 1
    return hits / pairs


#: A head marks as a successor head when the successor wins most ordinal pairs.
SUCCESSOR_THRESHOLD = 0.5


#: Sequences of the in-context successor check.
SUCCESSOR_SEQS = 16


def successor_measure(
    ordinal_sets: Any = None, *, name: str = "successor",
) -> Measure:
    """Gould et al.'s successor score as a weights measure.

    Args:
        ordinal_sets: ordered token-id lists to score on; None: the ordinal sets the
            model's tokenizer holds (:func:`interp.head_types.ordinal_token_sets`: digits,
            letters, weekdays, months); a model without a tokenizer, or whose tokenizer
            holds none, gets no values and a note.
        name: the measure's name.
    """
    def sets_of(model: Any) -> Any:
        if ordinal_sets is not None:
            return ordinal_sets
        sets = ordinal_token_sets(getattr(model, "tokenizer", None))
        if not sets:
            raise ValueError("the tokenizer holds no ordinal token set (digits, "
                             "letters, weekdays, months) as single tokens")
        return sets

    def successor(model: Any) -> Tensor:
        sets = sets_of(model)
        if bool(getattr(model.cfg, "attn_only", False)):
            return successor_scores(model, sets)
        try:
            return successor_scores(model, sets, through_mlp0=True)
        except (AttributeError, RuntimeError, TypeError) as err:
            raise ValueError(f"cannot apply MLP0 to the embeddings: {err}") from err

    def in_context(
        model: Any, stimuli: Stimuli, heads: list[HeadId], *, min_effect: float, z: float,
        method: str = "mean", seed: int = 0,
    ) -> Evidence:
        sets = sets_of(model)
        context = ordinal_stimuli(sets, SUCCESSOR_SEQS, min(int(model.cfg.n_ctx) - 1, 32),
                                  vocab_size=int(model.cfg.d_vocab),
                                  bos_token_id=stimuli.bos_token_id,
                                  seed=derive_seed(seed, "successor_context"))
        effect = successor_logit_effect(model, context, heads, sets, method=method, seed=seed)
        return Evidence.from_effect(effect, min_effect, z)

    return Measure(
        name=name,
        description="successor score (0..1; Gould et al. 2023), from the weights: through "
        "the head's OV circuit (after MLP0 where the model has MLPs), the fraction of "
        "ordinal pairs (1 -> 2, a -> b, Monday -> Tuesday) where the successor gets the "
        "top logit among its set; a copying head scores 0, random weights about 1/set size. "
        f"A head marks above {SUCCESSOR_THRESHOLD:g}: the successor wins most pairs.",
        fn=successor, kind="weights", threshold=SUCCESSOR_THRESHOLD,
        label=f"{name} (measure)",
        check=MeasureCheck(
            claim="successor in context",
            description=f"on {SUCCESSOR_SEQS} sequences of random members of the ordinal "
            "sets, ablating the head alone must lower the centred logit of each token's "
            "successor (interp.head_types.successor_logit_effect), by at least the "
            "ablations' minimum share of what the model gives it. Refuted for a head whose "
            "weights map tokens to their successors but which does not do it in context "
            "(it attends elsewhere, or its output is cancelled); undecided where the model "
            "does not raise successors at all.",
            fn=in_context, groups=True,
        ),
    )


register_measure(successor_measure())
