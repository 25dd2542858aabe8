"""Linear probes on cached activations (scikit-learn).

Probes see activations and labels only, never a model: cache the activations with
``interp`` first, then fit.
"""

from .linear import ProbeResult, fit_linear_probe, occurred_before_labels, previous_token_labels

__all__ = ["ProbeResult", "fit_linear_probe", "occurred_before_labels", "previous_token_labels"]
