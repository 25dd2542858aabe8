"""interp: score, ablate and classify every attention head of a small transformer.

Typical use (each step is one call)::

    import interp
    model = interp.load_model("default")
    stimuli = interp.repeated_tokens(32, 30, vocab_size=model.cfg.d_vocab, seed=0)
    scores = interp.score_heads(model, stimuli)
    effect = interp.measure_ablation(model, stimuli, ["1.0"])
    result = interp.classify_heads(model, interp.ClassifySettings(seed=0))
    interp.write_report(result, "report")
    circuit = interp.find_circuit(model, interp.CircuitSettings(seed=0))
    interp.write_circuit(circuit, "circuit")

What a behavior *is* (its targets, null, controls and confirmation) lives in one registry,
:mod:`interp.spec.behaviors`; :class:`Behavior` and :func:`register_behavior` add a head type.
Per-head statistics that are not attention on target keys (sinks, window width, successor
scores) are :class:`Measure` values in :mod:`interp.spec.measures`.
The top level exports the pipeline and its result types; building blocks (hooks, scoring
maths, probes, weights, planted oracles) stay importable from their modules.
"""

from . import catalog  # noqa: F401  (registers the built-in head types)
from .engine.ablation import ablation_hooks, copy_losses, measure_ablation
from .engine.ablation_sweep import AblationSweep, ablation_sweep
from .engine.census import score_heads
from .engine.probing import probe_layers
from .io.output_files import MixedOutputError, check_output_set
from .model.heads import HeadId
from .model.hooks import attached_hooks, leftover_hooks
from .model.loading import DEFAULT_MODEL_DIR, ModelLoadError, load_model, save_model
from .pipeline.checkpoints import score_checkpoints
from .pipeline.circuit import CircuitSettings, find_circuit
from .pipeline.classify import ClassifySettings, classify_heads
from .pipeline.phase_change import in_context_score, prefix_matching_scores
from .report.circuit_page import write_circuit
from .report.head_report import render_html, render_json, render_markdown, write_report
from .report.loaders import load_report, load_sweep
from .results.checkpoints import CheckpointSweep
from .results.circuit import Circuit, CircuitEdge, CircuitGroup
from .results.classification import (
    BehaviorInfo,
    Classification,
    HeadClass,
    LayerProbes,
    MeasureInfo,
)
from .results.evidence import AblationEffect, Evidence, GroupEvidence, WeightEvidence
from .results.scores import HeadScores
from .runs.pipelines import run_sweep, run_zoo
from .spec.behaviors import (
    Behavior,
    Confirmation,
    get_behavior,
    register_behavior,
    registered_behaviors,
    unregister_behavior,
)
from .spec.measures import (
    Measure,
    MeasureCheck,
    register_measure,
    registered_measures,
    unregister_measure,
)
from .stimuli.text import repeated_text_tokens, text_stimuli
from .stimuli.tokens import (
    Stimuli,
    occurrence_tokens,
    prefix_matching_tokens,
    repeated_tokens,
    unrepeated_tokens,
)
from .train.planted import PlantedModel, build_planted_model

__all__ = [
    "AblationEffect",
    "AblationSweep",
    "Behavior",
    "BehaviorInfo",
    "CheckpointSweep",
    "Circuit",
    "CircuitEdge",
    "CircuitGroup",
    "CircuitSettings",
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
    "find_circuit",
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
    "write_circuit",
    "write_report",
]
