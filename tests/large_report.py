"""A report.json document of a large model (30 layers x 9 heads, SmolLM2-135M's shape), made
by hand: no model is run. The report tests use it to check that a census of 270 heads still
reads (a summary that summarizes, legible heatmaps, a filterable table, a page of a few MB).

What it holds mirrors a real census of SmolLM2-135M: a few previous-token heads, a dozen
induction heads ablated as one group of 14, the induction heads also unconfirmed
copy-suppression candidates, 160 attention sinks (most no-op), long-range induction heads,
an example pattern for every classified head (61 positions), a distance profile for every
head, probes at the embedding and after each of the 30 layers, and decoded token text.
Everything is deterministic (one seeded ``random.Random``).
"""

from __future__ import annotations

import random

import interp.catalog  # noqa: F401  (registers the built-in head types)
from interp.engine.measures import measure_info
from interp.results.classification import BehaviorInfo
from interp.spec.behaviors import registered_behaviors
from interp.spec.measures import registered_measures

N_LAYERS, N_HEADS = 30, 9
N_POS = 61  # [BOS] r r with L = 30
REPEAT = 30

PREVIOUS = {"16.0": True, "19.3": True, "22.1": True, "3.4": False, "7.7": False}
INDUCTION = ["18.6", "17.3", "18.7", "17.0", "21.4", "20.2", "19.8", "23.5", "24.1",
             "16.4", "22.6", "25.0", "26.3", "27.8", "14.2", "15.5", "13.1"]
INDUCTION_GROUP = INDUCTION[:14]
INDUCTION_CONFIRMED = set(INDUCTION[:12])
DUPLICATE = {"4.2": False, "5.6": False}
LOCAL = ["0.1", "0.5", "1.2", "1.8", "2.3", "2.6", "3.0", "4.4"]

METRICS = {
    "previous_token": "downstream_induction",
    "duplicate_token": "probe_accuracy:occurred_before@blocks.5.hook_resid_post",
    "induction": "second_copy_loss",
    "copy_suppression": "predicted_logit",
    "local_window": "probe_accuracy:window_identity@blocks.4.hook_resid_post",
}


def _evidence(rng: random.Random, metric: str, confirmed: bool, relative: float | None = None,
              status: str | None = None) -> dict:
    clean = round(rng.uniform(0.5, 6.0), 6)
    relative = relative if relative is not None else (
        rng.uniform(0.15, 0.9) if confirmed else rng.uniform(-0.05, 0.08))
    scale = round(rng.uniform(1.0, 10.0), 6)
    effect = relative * scale
    stderr = abs(effect) / 8 + 0.01 if confirmed else 0.05
    status = status or ("confirmed" if confirmed else "refuted")
    reason = (f"relative effect {relative:.3f} >= 0.1 and effect {effect:.3g} > 2 x stderr "
              f"{stderr:.2g}" if status == "confirmed" else f"relative effect {relative:.3f} < 0.1")
    return {"method": "mean", "metric": metric, "clean": clean, "ablated": clean + effect,
            "effect": effect, "relative": relative, "stderr": stderr, "scale": scale,
            "confirmed": status == "confirmed", "status": status, "reason": reason}


def _pattern(rng: random.Random, label: str, kind: str) -> list[list[float]]:
    rows = []
    for q in range(N_POS):
        weights = [rng.random() * 0.02 for _ in range(q + 1)]
        weights[0] += 0.6  # the sink on BOS
        if kind == "induction" and q > REPEAT:
            weights[q - REPEAT + 1] += 3.0
        elif kind == "previous_token" and q > 0:
            weights[q - 1] += 3.0
        total = sum(weights)
        rows.append([round(w / total, 3) for w in weights])
    return rows


def large_document(n_layers: int = N_LAYERS, n_heads: int = N_HEADS, seed: int = 0) -> dict:
    """The document (as ``Classification.to_dict()`` writes it) of a census of a model with
    ``n_layers x n_heads`` heads (30 x 9 unless told otherwise: the named heads assume it)."""
    rng = random.Random(seed)
    behaviors = [BehaviorInfo.of(b) for b in registered_behaviors()]
    names = [b.name for b in behaviors]
    measures = [measure_info(m, baseline=0.0732 if m.above_uniform else None)
                for m in registered_measures()]
    classes: dict[str, list[str]] = {}
    for label in PREVIOUS:
        classes.setdefault(label, []).append("previous_token")
    for label in INDUCTION:
        classes.setdefault(label, []).extend(["induction", "copy_suppression"])
    for label in DUPLICATE:
        classes.setdefault(label, []).append("duplicate_token")
    for label in LOCAL:
        classes.setdefault(label, []).append("local_window")
    heads = []
    n_sinks = 0
    for layer in range(n_layers):
        for index in range(n_heads):
            label = f"{layer}.{index}"
            mine = classes.get(label, [])
            scores, nulls, lifts, stderr = {}, {}, {}, {}
            for b in names:
                null = round(rng.uniform(0.02, 0.2), 6)
                score = rng.uniform(0.8, 0.98) if b in mine else rng.uniform(0.0, 0.25)
                scores[b], nulls[b] = score, null
                lifts[b] = (score - null) / (1 - null)
                stderr[b] = rng.uniform(0.001, 0.01)
            ablation = {}
            for b in mine:
                if b == "previous_token":
                    ev = _evidence(rng, METRICS[b], PREVIOUS[label])
                    ev["receivers"] = INDUCTION[:3]
                elif b == "induction":
                    together = label in INDUCTION_CONFIRMED and label not in INDUCTION[:3]
                    ev = _evidence(rng, METRICS[b], label in INDUCTION[:3])
                    if label in INDUCTION_GROUP:
                        ev["group"] = {"heads": INDUCTION_GROUP, "relative": 2.021,
                                       "confirmed": True, "adds": together
                                       or label in INDUCTION[:3]}
                elif b == "copy_suppression":
                    ev = _evidence(rng, METRICS[b], False, relative=rng.uniform(-0.4, -0.05))
                    ev["relative_note"] = ("below 0: the model did better on this metric "
                                           "without the heads")
                elif b == "duplicate_token":
                    ev = _evidence(rng, METRICS[b], False, relative=0.0, status="undecidable")
                    ev["reason"] = "cannot confirm on these stimuli: the probe is at chance"
                    ev["relative"] = None
                else:
                    ev = _evidence(rng, METRICS[b], label in LOCAL[:4])
                ablation[b] = ev
            sink = rng.uniform(0.3, 0.99) if (layer * n_heads + index) % 27 < 16 \
                else rng.uniform(0.0, 0.28)
            measured = {}
            for m in measures:
                if m.bins is not None:
                    raw = [rng.random() for _ in m.bins]
                    measured[m.name] = [round(v / sum(raw), 4) for v in raw]
                elif m.name == "sink":
                    measured[m.name] = round(sink, 6)
                elif m.name == "sink_key":
                    measured[m.name] = 0.0 if sink > 0.3 else float(rng.choice((0, 12, 239)))
                elif m.threshold is not None and m.threshold >= 0.5:
                    measured[m.name] = None  # a measure that needs stimuli the model lacks
                elif m.name == "window_width":
                    measured[m.name] = round(rng.uniform(1.0, 5.0), 6)
                else:
                    measured[m.name] = round(rng.uniform(0.0, 0.6 if label in INDUCTION
                                                         else 0.25), 6)
            checks = {}
            if sink > 0.3:
                n_sinks += 1
                ok = n_sinks % 8 != 0
                floor = round(rng.uniform(0.25, 0.7), 3)
                relative = rng.uniform(floor + 0.05, 0.95) if ok else rng.uniform(-11, floor)
                checks["sink"] = {
                    "method": "value norm", "metric": "sink_value_norm", "clean": 2.45,
                    "ablated": 2.45 * (1 - relative), "effect": 2.45 * relative,
                    "relative": relative, "stderr": 0.02, "scale": 2.45, "confirmed": ok,
                    "status": "confirmed" if ok else "refuted",
                    "reason": (f"BOS writes {2.45 * (1 - relative):.3g} per unit of attention; "
                               f"relative effect {relative:.3f} "
                               f"{'>=' if ok else '<'} {floor}"),
                }
            heads.append({
                "head": label, "layer": layer, "index": index,
                "scores": scores, "nulls": nulls, "lifts": lifts, "stderr": stderr,
                "classes": mine, "ablation": ablation,
                "loss_effect": rng.gauss(0.0, 0.05) + (0.8 if label in INDUCTION[:3] else 0.0),
                "weights": ({"error": "OV copying is not defined for this architecture "
                                      "(gated MLPs and RMSNorm: not computed as if GPT-2)"}),
                "distance": [round(rng.random() / (d + 1), 4) for d in range(N_POS - 1)],
                "no_repeat": {b: rng.uniform(0.0, 0.05) for b in names[1:3]},
                "measures": measured,
                "checks": checks,
            })
    group_together = _evidence(rng, "second_copy_loss", True, relative=2.021)
    group_together["relative_note"] = (
        "above 1: with the heads ablated the second copy became harder than the first, so "
        "the ablation removed more than the copying (the heads, or the replacement, also "
        "affect the first copy's level)")
    groups = [
        {**group_together, "behavior": "induction", "heads": INDUCTION_GROUP,
         "group_status": "confirmed", "confirmed": True,
         "reason": "together the heads do clearly more than 18.6 alone",
         "alone": {h: rng.uniform(0.0, 0.5) for h in INDUCTION_GROUP},
         "adds": {h: h in INDUCTION_CONFIRMED for h in INDUCTION_GROUP},
         "strongest": "18.6", "gain": 1.6},
        {**_evidence(rng, "predicted_logit", False, relative=-0.97),
         "behavior": "copy_suppression", "heads": INDUCTION, "group_status": "refuted",
         "confirmed": False, "reason": "together the heads do no more than 18.6 alone",
         "alone": {h: rng.uniform(-0.4, 0.0) for h in INDUCTION},
         "adds": {h: False for h in INDUCTION}, "strongest": "18.6", "gain": -0.5},
    ]
    tokens = [0] + [rng.randrange(2, 49152) for _ in range(REPEAT)]
    tokens += tokens[1:]
    patterns = {}
    for h in heads:
        if h["classes"]:
            kind = "induction" if "induction" in h["classes"] else h["classes"][0]
            patterns[h["head"]] = _pattern(rng, h["head"], kind)
    probes = []
    for task in ("previous_token_identity", "occurred_before"):
        results = []
        for site in range(n_layers + 1):
            name = "blocks.0.hook_resid_pre" if site == 0 else f"blocks.{site - 1}.hook_resid_post"
            results.append({"task": task, "site": name, "accuracy": rng.uniform(0.1, 0.9),
                            "chance": 0.02, "n_train": 1322, "n_test": 566, "seed": 0})
        probes.append({"task": task, "results": results, "ablated": [], "method": "mean"})
    return {
        "schema_version": 4,
        "model": {"name": "SmolLM2-135M-Instruct (synthetic)", "n_layers": n_layers,
                  "n_heads": n_heads, "d_model": 576, "d_vocab": 49152},
        "settings": {
            "seed": 0, "n_seqs": 32, "seq_len": REPEAT, "method": "mean", "min_lift": 0.3,
            "z": 3.0, "min_effect": 0.1, "z_effect": 2.0, "sweep": True, "probes": True,
            "behaviors": names, "measures": [m.name for m in measures],
            "stimuli": {"kind": "repeated_random_tokens", "seed": 0, "seq_len": REPEAT,
                        "n_seqs": 32, "n_pos": N_POS, "repeat_len": REPEAT,
                        "bos_token_id": 0},
            "loss_sweep": "attribution screen, then exact for 77 heads",
            "excluded_ids": list(range(17)),
        },
        "baseline": {"first_copy_loss": 14.8, "second_copy_loss": 5.2},
        "behaviors": [b.to_dict() for b in behaviors],
        "heads": heads,
        "groups": groups,
        "example": {"tokens": tokens, "patterns": patterns,
                    "token_text": ["<|im_start|>"] + [f" w{t % 997}" for t in tokens[1:]]},
        "probes": probes,
        "text_scores": {},
        "measures": [m.to_dict() for m in measures],
    }
