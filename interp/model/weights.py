"""Evidence from the weights alone: OV copying and Q/K/V composition between heads.

**OV copying score** (range -1..1): the eigenvalues ``lambda`` of a head's full OV circuit
``W_E W_V W_O W_U`` (vocab x vocab) give ``sum(lambda) / sum(|lambda|)`` (Elhage et al. 2021).
Near 1, attending to a token raises that token's logit (a copying head, as induction heads
are); near -1, it lowers it; near 0, no consistent effect. The non-zero eigenvalues are
those of the ``d_head x d_head`` matrix ``W_O W_U W_E W_V`` (cyclic permutation), so the
score is cheap even for a 50k vocabulary. LayerNorm and biases are ignored.

**Composition** (range 0..1): for a head A in an earlier layer and a head B in a later one,
``|| W_OV^A W_B ||_F / (||W_OV^A||_F ||W_B||_F)`` where ``W_B`` is B's query-key circuit
``W_QK`` (Q: A's output read by B's queries), its transpose (K: read by B's keys) or B's OV
circuit (V). Random matrices of the
same shapes score well above 0, so each score comes with the mean score of seeded random
Gaussian matrices of the same shapes (the *baseline*), and ``excess = score - baseline``.
A previous-token head feeding an induction head's keys shows a large K-composition excess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor

from .heads import HeadId

COMPOSITION_MODES = ("Q", "K", "V")


def head_params(model: Any) -> dict[str, Tensor]:
    """The weights as float32 CPU tensors, key/value heads expanded to one per query head
    for grouped-query attention (query head h reads kv head h // group, as HF's repeat_kv)."""
    with torch.no_grad():
        p = {
            name: getattr(model, name).detach().float().cpu()
            for name in ("W_Q", "W_K", "W_V", "W_O", "W_E", "W_U")
        }
    n_heads = int(model.cfg.n_heads)
    for name in ("W_K", "W_V"):
        n_kv = p[name].shape[1]
        if n_kv != n_heads:
            p[name] = p[name].repeat_interleave(n_heads // n_kv, dim=1)
    return p


def ov_copying_scores(model: Any) -> Float[Tensor, "layer head"]:
    """Copying score of every head's full OV circuit (see module docstring), -1..1.

    Example:
        >>> ov_copying_scores(model)[1, 0]  # doctest: +SKIP
        tensor(0.99)
    """
    p = head_params(model)
    w_v, w_o = p["W_V"], p["W_O"]  # (L, H, d, dh), (L, H, dh, d)
    middle = p["W_U"] @ p["W_E"]  # (d, V) @ (V, d) -> (d, d)
    small = w_o @ middle @ w_v  # (L, H, dh, dh): W_O W_U W_E W_V
    eig = torch.linalg.eigvals(small.double())  # (L, H, dh)
    total = eig.abs().sum(-1)
    return (eig.sum(-1).real / total.clamp(min=1e-12)).float()


@dataclass(frozen=True)
class CompositionResult:
    """Composition scores of every earlier head into every later head.

    Attributes:
        mode: ``Q``, ``K`` or ``V``.
        scores: ``[layer_a, head_a, layer_b, head_b]``, zero unless ``layer_a < layer_b``.
        baseline: ``[layer_a, head_a, layer_b, head_b]`` mean score of random matrices of the
            same shapes (seeded).
        seed: seed of the random baseline.
    """

    mode: str
    scores: Float[Tensor, "la ha lb hb"]
    baseline: Float[Tensor, "la ha lb hb"]
    seed: int

    @property
    def excess(self) -> Float[Tensor, "la ha lb hb"]:
        """``scores - baseline`` (zero where ``layer_a >= layer_b``)."""
        n_layers = self.scores.shape[0]
        later = torch.arange(n_layers)[:, None] < torch.arange(n_layers)[None, :]  # (La, Lb)
        return torch.where(later[:, None, :, None], self.scores - self.baseline,
                           torch.zeros_like(self.scores))

    def to_dict(self) -> dict:
        return {"mode": self.mode, "scores": self.scores.tolist(),
                "baseline": self.baseline.tolist(), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict) -> "CompositionResult":
        return cls(mode=data["mode"], scores=torch.tensor(data["scores"]),
                   baseline=torch.tensor(data["baseline"]), seed=int(data["seed"]))

    def to_table(self) -> list[dict]:
        """Long rows (source, target, mode, value, baseline, excess) for later-layer pairs."""
        rows = []
        la, ha, lb, hb = self.scores.shape
        excess = self.excess
        for a in range(la):
            for b in range(a + 1, lb):
                for i in range(ha):
                    for j in range(hb):
                        rows.append({
                            "source": f"{a}.{i}", "target": f"{b}.{j}", "mode": self.mode,
                            "value": float(self.scores[a, i, b, j]),
                            "baseline": float(self.baseline[a, i, b, j]),
                            "excess": float(excess[a, i, b, j]),
                        })
        return rows


def _composition(left: Tensor, right: Tensor) -> Tensor:
    """``||left @ right|| / (||left|| ||right||)`` for (d, d) matrices, broadcast."""
    num = torch.linalg.matrix_norm(left @ right)
    den = torch.linalg.matrix_norm(left) * torch.linalg.matrix_norm(right)
    return num / den.clamp(min=1e-12)


def composition_scores(
    model: Any, mode: str = "K", *, seed: int = 0, n_random: int = 8
) -> CompositionResult:
    """Q-, K- or V-composition of every earlier head into every later head, with a random
    baseline of the same shapes (see module docstring).

    Raises:
        ValueError: unknown mode or ``n_random < 1``.
    """
    if mode not in COMPOSITION_MODES:
        raise ValueError(f"unknown composition mode {mode!r}; choose from {COMPOSITION_MODES}")
    if n_random < 1:
        raise ValueError(f"n_random must be at least 1, got {n_random}")
    p = head_params(model)
    w_q, w_k, w_v, w_o = p["W_Q"], p["W_K"], p["W_V"], p["W_O"]  # (L, H, d, dh), W_O (L, H, dh, d)
    # Row-vector convention: A writes y @ OV_A (OV = W_V W_O); B's score is x_q W_QK x_k^T
    # (W_QK = W_Q W_K^T). The d x d products are never formed: each is a rank-dh product
    # ``left_B @ right_B^T`` and ||OV_A X||_F^2 = tr(M^T G_A M H_B) with M = W_O^A left_B,
    # G_A = W_V^A^T W_V^A and H_B = right_B^T right_B, all dh x dh.
    if mode == "Q":
        left, right = w_q, w_k  # x_q = y OV_A  ->  y OV_A W_Q W_K^T
    elif mode == "K":
        left, right = w_k, w_q  # x_k = y OV_A  ->  norm of OV_A W_K W_Q^T
    else:
        left, right = w_v, w_o.transpose(-1, -2)  # y OV_A W_V W_O
    n_layers, n_heads = w_v.shape[:2]
    gram_a = w_v.transpose(-1, -2) @ w_v  # (L, H, dh, dh)
    gram_b = right.transpose(-1, -2) @ right  # (L, H, dh, dh)
    # ||W_V W_O||_F^2 = tr(G_A W_O W_O^T); ||left right^T||_F^2 = tr(left^T left H_B)
    norm_a = torch.einsum("lhij,lhji->lh", gram_a, w_o @ w_o.transpose(-1, -2))
    norm_b = torch.einsum("lhij,lhji->lh", left.transpose(-1, -2) @ left, gram_b)
    norm_a, norm_b = norm_a.clamp(min=0).sqrt(), norm_b.clamp(min=0).sqrt()  # (L, H)
    scores = torch.empty(n_layers, n_heads, n_layers, n_heads)
    for layer in range(n_layers):  # one source layer at a time: (Ha, Lb, Hb, dh, dh)
        m = w_o[layer][:, None, None] @ left[None]  # (Ha, Lb, Hb, dh, dh)
        g_m = gram_a[layer][:, None, None] @ m  # G_A M
        m_h = m @ gram_b[None]  # M H_B
        squared = (g_m * m_h).sum((-1, -2)).clamp(min=0)  # tr(M^T G_A M H_B)
        den = (norm_a[layer][:, None, None] * norm_b[None]).clamp(min=1e-12)
        scores[layer] = squared.sqrt() / den  # (Ha, Lb, Hb)

    generator = torch.Generator().manual_seed(int(seed))
    samples = []
    d_model, d_head = w_v.shape[-2:]
    for _ in range(n_random):
        def rand(*shape: int) -> Tensor:
            return torch.randn(*shape, generator=generator)

        r_left = rand(d_model, d_head) @ rand(d_head, d_model)
        r_right = rand(d_model, d_head) @ rand(d_head, d_model)
        samples.append(_composition(r_left, r_right))
    baseline_value = torch.stack(samples).mean()
    later = torch.arange(n_layers)[:, None] < torch.arange(n_layers)[None, :]
    mask = later[:, None, :, None].expand_as(scores)
    scores = torch.where(mask, scores, torch.zeros_like(scores))
    baseline = torch.where(mask, baseline_value.expand_as(scores), torch.zeros_like(scores))
    return CompositionResult(mode=mode, scores=scores, baseline=baseline, seed=int(seed))


def key_feeders(
    composition: CompositionResult, target: HeadId | str, candidates: list[HeadId | str]
) -> list[tuple[str, float]]:
    """``candidates`` in earlier layers ranked by composition excess into ``target``
    (positive excess only), strongest first."""
    t = HeadId.parse(target)
    ranked = []
    for c in candidates:
        h = HeadId.parse(c)
        if h.layer < t.layer:
            value = float(composition.excess[h.layer, h.head, t.layer, t.head])
            if value > 0:
                ranked.append((str(h), value))
    return sorted(ranked, key=lambda item: -item[1])
