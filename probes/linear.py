"""Logistic-regression probes: can a label be read linearly from an activation?

Accuracy is measured on held-out rows (a seeded split), next to *chance*: the accuracy of
always guessing the most common training label. A probe near chance means the information
is not linearly present.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

__all__ = ["ProbeResult", "fit_linear_probe", "occurred_before_labels", "previous_token_labels"]


@dataclass(frozen=True)
class ProbeResult:
    """Held-out accuracy of a linear probe.

    Attributes:
        task: what the labels mean (e.g. ``occurred_before``).
        site: where the activations came from (a hook name).
        accuracy: held-out accuracy, range 0..1.
        chance: majority-label accuracy on the same held-out rows, range 0..1.
        n_train, n_test: rows used.
        seed: seed of the split and the solver.
    """

    task: str
    site: str
    accuracy: float
    chance: float
    n_train: int
    n_test: int
    seed: int

    @property
    def above_chance(self) -> float:
        """``(accuracy - chance) / (1 - chance)``: 0 at chance, 1 when perfect."""
        return (self.accuracy - self.chance) / max(1e-9, 1.0 - self.chance)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ProbeResult":
        return cls(**data)

    def to_table(self) -> list[dict]:
        """One long-format row (task, site, accuracy, chance)."""
        return [{"task": self.task, "site": self.site, "accuracy": self.accuracy,
                 "chance": self.chance}]


def occurred_before_labels(
    tokens: Int[Tensor, "batch pos"], valid: Bool[Tensor, "batch pos"] | None = None
) -> tuple[Bool[Tensor, "batch pos"], Bool[Tensor, "batch pos"]]:
    """Whether each token occurred earlier in its sequence (BOS excluded).

    Returns:
        ``(labels, keep)``: labels, and which positions carry a label (not BOS, not padding).
    """
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, Q, K)
    n_pos = tokens.shape[1]
    earlier = torch.ones(n_pos, n_pos, dtype=torch.bool).tril(-1)  # k < q
    earlier[:, 0] = False  # BOS is never an earlier occurrence
    labels = (same & earlier).any(-1)
    keep = torch.ones_like(tokens, dtype=torch.bool) if valid is None else valid.clone()
    keep[:, 0] = False
    return labels, keep


def previous_token_labels(
    tokens: Int[Tensor, "batch pos"], valid: Bool[Tensor, "batch pos"] | None = None
) -> tuple[Int[Tensor, "batch pos"], Bool[Tensor, "batch pos"]]:
    """The previous token's id at each position (positions 2.. ; BOS's successor excluded)."""
    labels = torch.roll(tokens, 1, dims=1)
    keep = torch.ones_like(tokens, dtype=torch.bool) if valid is None else valid.clone()
    keep[:, :2] = False
    return labels, keep


def fit_linear_probe(
    features: Float[Tensor, "n d"],
    labels: Int[Tensor, " n"] | Bool[Tensor, " n"],
    *,
    task: str,
    site: str,
    seed: int = 0,
    test_fraction: float = 0.3,
) -> ProbeResult:
    """Fit a logistic-regression probe on a seeded split and score it on held-out rows.

    Args:
        features: ``[n, d]`` activations (one row per token position).
        labels: ``[n]`` class labels.
        task, site: recorded in the result.
        seed: seed of the split and solver; the same seed gives the same result.
        test_fraction: share of rows held out.

    Raises:
        ValueError: mismatched sizes, too few rows, or a single label class.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    x = features.detach().float().cpu().numpy()
    y = labels.detach().cpu().numpy().astype(np.int64)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"features must be [n, d] and labels [n]; got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    n = x.shape[0]
    n_test = int(round(n * test_fraction))
    if n_test < 2 or n - n_test < 4:
        raise ValueError(f"too few rows to fit and test a probe: {n}")
    if np.unique(y).size < 2:
        raise ValueError(f"probe labels for {task!r} hold a single class; nothing to learn")
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    probe = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=300, C=1.0, random_state=seed)
    )
    with threadpool_limits(limits=1):  # the machines are shared: one BLAS thread
        probe.fit(x[train], y[train])
        accuracy = float((probe.predict(x[test]) == y[test]).mean())
    values, counts = np.unique(y[train], return_counts=True)
    majority = values[np.argmax(counts)]
    chance = float((y[test] == majority).mean())
    return ProbeResult(
        task=task, site=site, accuracy=accuracy, chance=chance,
        n_train=int(train.size), n_test=int(n_test), seed=int(seed),
    )
