"""interp: score, ablate and classify every attention head of a small transformer.

Typical use (each step is one call)::

    import interp
    model = interp.load_model("default")
    stimuli = interp.repeated_tokens(32, 30, vocab_size=model.cfg.d_vocab, seed=0)
    scores = interp.score_heads(model, stimuli)
    effect = interp.measure_ablation(model, stimuli, ["1.0"])
    result = interp.classify_heads(model, interp.ClassifySettings(seed=0))
    interp.write_report(result, "report")

What a behavior *is* (its targets, null, controls and confirmation) lives in one registry,
:mod:`interp.behaviors`; :class:`Behavior` and :func:`register_behavior` add a head type.
Per-head statistics that are not attention on target keys (sinks, window width, successor
scores) are :class:`Measure` values in :mod:`interp.measures`.
The top level exports the pipeline and its result types; building blocks (hooks, scoring
maths, probes, weights, planted oracles) stay importable from their modules.
"""

from .ablation import AblationEffect, ablation_hooks, copy_losses, measure_ablation
from .ablation_sweep import AblationSweep, ablation_sweep
from .behaviors import (
    Behavior,
    Confirmation,
    get_behavior,
    register_behavior,
    registered_behaviors,
    unregister_behavior,
)
from .census import score_heads
from .checkpoints import CheckpointSweep, score_checkpoints
from .classify import ClassifySettings, classify_heads
from .evidence import Evidence, GroupEvidence, WeightEvidence
from .heads import HeadId
from .distributed import run_sweep, run_zoo
from .hooks import attached_hooks, leftover_hooks
from .measures import (
    Measure,
    MeasureCheck,
    register_measure,
    registered_measures,
    unregister_measure,
)
from .models import DEFAULT_MODEL_DIR, ModelLoadError, load_model, save_model
from .output_files import MixedOutputError, check_output_set, load_report, load_sweep
from .phase_change import (
    in_context_score,
    prefix_matching_scores,
    prefix_matching_tokens,
    repeated_text_tokens,
)
from .planted import PlantedModel, build_planted_model
from .probing import LayerProbes, probe_layers
from .report import render_html, render_json, render_markdown, write_report
from .results import BehaviorInfo, Classification, HeadClass, MeasureInfo
from .scoring import HeadScores
from .stimuli import Stimuli, occurrence_tokens, repeated_tokens, text_stimuli, unrepeated_tokens

__all__ = [
    "AblationEffect",
    "AblationSweep",
    "Behavior",
    "BehaviorInfo",
    "CheckpointSweep",
    "Classification",
    "ClassifySettings",
    "Confirmation",
    "DEFAULT_MODEL_DIR",
    "Evidence",
    "GroupEvidence",
    "HeadClass",
    "HeadId",
    "HeadScores",
    "LayerProbes",
    "Measure",
    "MeasureCheck",
    "MeasureInfo",
    "MixedOutputError",
    "ModelLoadError",
    "PlantedModel",
    "Stimuli",
    "WeightEvidence",
    "ablation_hooks",
    "ablation_sweep",
    "attached_hooks",
    "build_planted_model",
    "check_output_set",
    "classify_heads",
    "copy_losses",
    "get_behavior",
    "in_context_score",
    "leftover_hooks",
    "load_model",
    "load_report",
    "load_sweep",
    "measure_ablation",
    "occurrence_tokens",
    "prefix_matching_scores",
    "prefix_matching_tokens",
    "probe_layers",
    "register_behavior",
    "register_measure",
    "registered_behaviors",
    "registered_measures",
    "render_html",
    "render_json",
    "render_markdown",
    "repeated_tokens",
    "repeated_text_tokens",
    "run_sweep",
    "run_zoo",
    "save_model",
    "score_checkpoints",
    "score_heads",
    "text_stimuli",
    "unrepeated_tokens",
    "unregister_behavior",
    "unregister_measure",
    "write_report",
]
