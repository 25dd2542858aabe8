#!/usr/bin/env python3
"""Head-type evidence (interp.catalog) on the bundled default model: prints every
head's sink, local-window, induction-by-distance, key-position, copy-suppression and
successor numbers. CPU, one thread, a few seconds.

    .venv/bin/python scripts/measure_head_types.py
"""

from __future__ import annotations

if __name__ == "__main__":  # `scripts/measure_head_types.py` from a shell: torch is in .venv
    from _project_python import use_project_python

    use_project_python(__file__)

import torch  # noqa: E402

from interp import load_model
from interp.engine.ablation import measure_ablation
from interp.catalog.copy_suppression import copy_suppression_targets, predicted_logit_effect, predicted_tokens
from interp.catalog.induction_distance import induction_by_distance
from interp.catalog.key_position import key_position_profile
from interp.catalog.local_window import local_profile, window_mass, window_width
from interp.catalog.sink import sink_scores
from interp.catalog.successor import successor_scores
from interp.model.hooks import capture, pattern_hook
from interp.model.loading import special_token_ids
from interp.engine.scoring import score_layer
from interp.stimuli.tokens import repeated_tokens, spaced_copy_tokens, unrepeated_tokens
from interp.model.weights import ov_copying_scores


def patterns(model, stimuli) -> torch.Tensor:
    """[batch, layer * head, query, key]."""
    n_layers = int(model.cfg.n_layers)
    got = capture(model, stimuli.tokens, [pattern_hook(layer) for layer in range(n_layers)])
    return torch.cat([got[pattern_hook(layer)] for layer in range(n_layers)], dim=1)


def main() -> None:
    torch.set_num_threads(1)
    model = load_model("default")
    vocab = int(model.cfg.d_vocab)
    n_heads = int(model.cfg.n_heads)
    exclude = special_token_ids(model)
    labels = [f"{layer}.{head}" for layer in range(int(model.cfg.n_layers))
              for head in range(n_heads)]
    rep = repeated_tokens(32, 30, vocab_size=vocab, seed=0, exclude_ids=exclude)
    rand = unrepeated_tokens(32, 32, vocab_size=vocab, seed=0, exclude_ids=exclude)
    spaced = spaced_copy_tokens(32, 65, vocab_size=vocab, distances=(5, 40), span=5, seed=0,
                                exclude_ids=exclude)
    p_rep, p_rand, p_spaced = patterns(model, rep), patterns(model, rand), patterns(model, spaced)

    print("stimuli: [BOS] r r (32 x 61), random (32 x 65), spaced copies d=5,40 span 5 "
          "(32 x 65); MARK excluded")
    score_rep, key_rep = sink_scores(p_rep)
    score_rand, key_rand = sink_scores(p_rand)
    print("\nsinks (Gu et al. alpha at the best key with >= 16 later queries; sink > 0.3)")
    for i, label in enumerate(labels):
        print(f"  {label}: [BOS] r r {score_rep[:, i].mean():.3f} (key {int(key_rep[i])}), "
              f"random {score_rand[:, i].mean():.3f} (key {int(key_rand[i])})")

    profile = local_profile(p_rand, window=3).nanmean(0)  # [head, 4]
    mass, width = window_mass(profile), window_width(profile)
    print("\nlocal window (random tokens; distance 0..3 profile, mass, width)")
    for i, label in enumerate(labels):
        values = " ".join(f"{v:.3f}" for v in profile[i].tolist())
        print(f"  {label}: [{values}] mass {mass[i]:.3f} width {width[i]:.2f}")

    bands = induction_by_distance(p_spaced, spaced.tokens, edges=(8,))
    print("\ninduction by copy distance (spaced copies; score / null per band)")
    for i, label in enumerate(labels):
        parts = [f"{name} {b.score[:, i].nanmean():.3f}/{b.null[:, i].nanmean():.3f}"
                 for name, b in bands.items()]
        print(f"  {label}: " + ", ".join(parts))
    print("  counted queries per sequence: "
          + ", ".join(f"{n} {b.n_queries.float().mean():.1f}" for n, b in bands.items()))

    positions = key_position_profile(p_rand, n_bins=8).nanmean(0)  # [head, 8]
    print("\nattention by relative key position (random tokens, queries 32..64, 8 bins)")
    for i, label in enumerate(labels):
        print(f"  {label}: " + " ".join(f"{v:.2f}" for v in positions[i].tolist()))

    copying = ov_copying_scores(model).flatten()
    with torch.no_grad():
        predicted = predicted_tokens(model(rep.tokens), min_prob=0.3)
    targets = copy_suppression_targets(rep.tokens, rep.valid, predicted)
    n_pos = rep.n_pos
    earlier = torch.tril(torch.ones(n_pos, n_pos, dtype=torch.bool), -1)
    earlier[:, 0] = False
    on_targets = score_layer(p_rep, targets, earlier.expand_as(targets))
    print("\ncopy suppression ([BOS] r r): attention on the keys holding the confidently "
          "(p >= 0.3) predicted token (score / null), OV copying score, predicted-logit "
          "effect of mean and zero ablation (positive: the head held the prediction down), "
          "second-copy loss effect of mean ablation")
    print(f"  queries with a target per sequence: {on_targets.n_queries.float().mean():.1f}")
    for i, label in enumerate(labels):
        mean = predicted_logit_effect(model, rep, [label])
        zero = predicted_logit_effect(model, rep, [label], method="zero")
        loss = measure_ablation(model, rep, [label])
        print(f"  {label}: targets {on_targets.score[:, i].nanmean():.3f}/"
              f"{on_targets.null[:, i].nanmean():.3f}, OV {copying[i]:+.3f}, predicted "
              f"logit {mean.effect:+.3f} +- {mean.stderr:.3f} (zero {zero.effect:+.3f}; "
              f"clean {mean.clean:.2f}), loss effect {loss.effect:+.3f}")
    with torch.no_grad():
        logits = model(rep.tokens)[:, 31:60]
    mark_share = (logits.argmax(-1) == 1).float().mean()
    print(f"  share of second-copy predictions that are MARK: {mark_share:.3f}")

    ordinal = {"ids_2_to_63": list(range(2, vocab))}
    succ = successor_scores(model, ordinal).flatten()
    print(f"\nsuccessor score on ids 2..63 in order (no tokenizer, no ordinal meaning; "
          f"chance {1 / 61:.3f})")
    print("  " + ", ".join(f"{label} {v:.3f}" for label, v in zip(labels, succ.tolist())))


if __name__ == "__main__":
    main()
