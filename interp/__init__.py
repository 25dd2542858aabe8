"""interp: score, ablate and classify every attention head of a small transformer.

Typical use (each step is one call)::

    import interp
    model = interp.load_model("default")
    stimuli = interp.repeated_tokens(32, 30, vocab_size=model.cfg.d_vocab, seed=0)
    scores = interp.score_heads(model, stimuli)
    effect = interp.measure_ablation(model, stimuli, ["1.0"])
    result = interp.classify_heads(model, interp.ClassifySettings(seed=0))
    interp.write_report(result, "report")
"""

from .ablation import (
    ABLATION_METHODS,
    AblationEffect,
    ablation_hooks,
    copy_losses,
    downstream_induction,
    measure_ablation,
    residual_after_layer,
)
from .ablation_sweep import AblationSweep, ablation_sweep, attribution_scores
from .census import score_heads
from .checkpoints import CheckpointSweep, find_checkpoints, score_checkpoints
from .classify import Classification, ClassifySettings, HeadClass, classify_heads
from .heads import BEHAVIORS, CONTROLS, HeadId, all_heads
from .hooks import attached_hooks, leftover_hooks
from .models import DEFAULT_MODEL_DIR, ModelLoadError, load_model, save_model
from .phase_change import (
    in_context_score,
    prefix_matching_scores,
    prefix_matching_tokens,
    repeated_text_tokens,
)
from .planted import PlantedModel, build_planted_model
from .probing import PROBE_TASKS, LayerProbes, probe_layers
from .report import render_html, render_json, render_markdown, write_report
from .scoring import (
    HeadScores,
    distance_profile,
    lift,
    positional_masks,
    score_layer,
    target_masks,
)
from .stimuli import (
    Stimuli,
    occurrence_tokens,
    repeated_tokens,
    text_stimuli,
    unrepeated_tokens,
)
from .weights import CompositionResult, composition_scores, key_feeders, ov_copying_scores

__all__ = [
    "ABLATION_METHODS",
    "AblationEffect",
    "AblationSweep",
    "BEHAVIORS",
    "CONTROLS",
    "CheckpointSweep",
    "Classification",
    "ClassifySettings",
    "CompositionResult",
    "DEFAULT_MODEL_DIR",
    "HeadClass",
    "HeadId",
    "HeadScores",
    "LayerProbes",
    "ModelLoadError",
    "PROBE_TASKS",
    "PlantedModel",
    "Stimuli",
    "ablation_hooks",
    "ablation_sweep",
    "all_heads",
    "attached_hooks",
    "attribution_scores",
    "build_planted_model",
    "classify_heads",
    "composition_scores",
    "copy_losses",
    "distance_profile",
    "downstream_induction",
    "find_checkpoints",
    "in_context_score",
    "key_feeders",
    "leftover_hooks",
    "lift",
    "load_model",
    "measure_ablation",
    "occurrence_tokens",
    "ov_copying_scores",
    "positional_masks",
    "prefix_matching_scores",
    "prefix_matching_tokens",
    "probe_layers",
    "render_html",
    "render_json",
    "render_markdown",
    "repeated_tokens",
    "repeated_text_tokens",
    "residual_after_layer",
    "save_model",
    "score_checkpoints",
    "score_heads",
    "score_layer",
    "target_masks",
    "text_stimuli",
    "unrepeated_tokens",
    "write_report",
]
