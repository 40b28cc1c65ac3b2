"""What a `paper` run costs on this accelerator: `python scripts/gpu_check.py [--methods ...] [--steps N]
[--device cuda] [--profile paper]`.

For each learned method's `paper` config: N timed training steps of every training phase (the GAN steps
after the reconstruction-only ones, TFDFE's fusion stage after its module stage) at the recipe's own
batch and training segment, through the Trainer's own optimiser wrapper and bf16 autocast (CUDA only,
as the Trainer does); the peak CUDA memory; the wall time the recipe's step count would take at that
speed; and the inference real-time factor on a 10-second file. The data are noise: speed and memory do
not depend on what the audio says. Writes benchmarks/gpu.json (or --out) and re-renders BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.core.spec import Protocol  # noqa: E402 - after the path set-up: the script runs from anywhere
from bench.run.inference import super_resolve  # noqa: E402
from bench.run.batches import crop_length  # noqa: E402
from bench.run.train import OptimizerSet  # noqa: E402
from methods import get_entry, load_method_class, method_names  # noqa: E402
from methods.api import Batch, phase_start  # noqa: E402

INFER_SECONDS = 10.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def noise_batch(batch_size: int, crop: int, scale: int, device: torch.device, seed: int = 0) -> Batch:
    """(B, 1, crop) HR noise and its every-R-th-sample LR: the shapes a recipe trains on."""
    gen = torch.Generator().manual_seed(seed)
    hr = 0.1 * torch.randn(batch_size, 1, crop, generator=gen)
    return Batch(lr=hr[..., ::scale].contiguous().to(device), hr=hr.to(device))


def phase_spans(phases: dict[str, float], steps: int) -> dict[str, int]:
    """Steps each phase lasts in a run of `steps` (phases start at their share of the steps)."""
    starts = [phase_start(share, steps) for share in phases.values()] + [steps]
    return {name: starts[i + 1] - starts[i] for i, name in enumerate(phases)}


def time_steps(method: Any, batch: Batch, opt: OptimizerSet, first_step: int, n: int, device: torch.device) -> float:
    """Median seconds of `n` training steps from `first_step` (after one untimed warm-up step when n > 1)."""
    times = []
    for i in range(n + (n > 1)):
        opt.step_index = first_step + i
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            method.training_step(batch, opt)
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:] if n > 1 else times)


def check_method(name: str, steps: int, device: torch.device, scale: int, target_sr: int | None,
                 batch_size: int | None = None, profile: str = "paper") -> dict[str, Any]:
    """Training speed, peak memory, projected wall time and inference RTF of `name`'s config of `profile`
    (at its own batch unless `batch_size` overrides it, for a quick check on a CPU)."""
    cls = load_method_class(name)
    config = cls.config_for(profile)
    proto = Protocol.for_scale(scale, target_sr)
    torch.manual_seed(0)
    method = cls(config, proto).to(device)
    train = config.train
    crop = crop_length(train.crop_seconds, proto.target_sr, scale)
    batch_size = batch_size or train.batch_size
    batch = noise_batch(batch_size, crop, scale, device)
    opt = OptimizerSet(method.configure_optimizers(), train.grad_clip)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    phases = method.training_phases()
    spans = phase_spans(phases, train.steps) if train.steps else {}
    method.train_mode(True)
    step_s = {phase: time_steps(method, batch, opt, phase_start(share, train.steps or steps), steps, device)
              for phase, share in phases.items()}
    peak_mb = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None

    method.train_mode(False)
    lr = np.asarray(0.1 * np.random.default_rng(0).standard_normal(int(INFER_SECONDS * proto.low_sr)), np.float32)
    super_resolve(method, lr[: proto.low_sr], proto, str(device))  # warm-up: kernels, allocator
    _sync(device)
    t0 = time.perf_counter()
    super_resolve(method, lr, proto, str(device))
    _sync(device)
    infer_s = time.perf_counter() - t0
    mean_step = sum(step_s[p] * spans[p] for p in spans) / train.steps if spans else statistics.mean(step_s.values())
    return {"method": name, "profile": profile, "provenance": get_entry(name).provenance, "params": method.num_parameters(),
            "scale": scale, "target_sr": proto.target_sr, "batch": batch_size, "recipe_batch": train.batch_size,
            "segment_samples": crop,
            "timed_steps_per_phase": steps, "step_s": step_s, "mean_step_s": mean_step,
            "samples_per_s": batch_size / mean_step,
            "audio_s_per_s": batch_size * crop / proto.target_sr / mean_step,
            "peak_cuda_mb": peak_mb, "published_steps": train.steps,
            "projected_h": mean_step * train.steps / 3600 if train.steps else None,
            "infer_rtf": infer_s / INFER_SECONDS, "inference_steps": method.inference_steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    learned = [n for n in method_names() if get_entry(n).trainable]
    parser.add_argument("--methods", default=",".join(learned), help="comma list of learned methods (default: all)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per training phase (default 10)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--scale", type=int, default=2, help="R (default 2)")
    parser.add_argument("--profile", default="paper", choices=("paper", "quick", "smoke"),
                        help="whose configs to time (default paper; smoke: a seconds-long check of the script)")
    parser.add_argument("--batch", type=int, default=None,
                        help="override every recipe's batch (a CPU smoke check; the projection then is not the recipe's)")
    parser.add_argument("--target-sr", type=int, default=None, help="HR rate (default: the suite's for R, 16 kHz at R=2)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "gpu.json",
                        help="JSON to write (default benchmarks/gpu.json; BENCHMARKS.md is re-rendered only then)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.methods.split(",") if n.strip()]
    unknown = [n for n in names if n not in learned]
    if unknown or args.steps < 1 or (args.batch is not None and args.batch < 1):
        parser.error(f"unknown or parameter-free methods {unknown}: choose from {', '.join(learned)}"
                     if unknown else "--steps and --batch must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch.cuda.is_available() is False here: run it where a GPU is, "
                     "or pass --device cpu")
    device = torch.device(args.device)
    import benchmarks  # scripts/benchmarks.py, beside this file: one machine description and one page renderer

    results = []
    for name in names:
        t0 = time.perf_counter()
        results.append(check_method(name, args.steps, device, args.scale, args.target_sr, args.batch,
                                    args.profile))
        r = results[-1]
        peak = f"peak {r['peak_cuda_mb']:.0f} MB, " if r["peak_cuda_mb"] is not None else ""
        projected = f"projected {r['projected_h']:.1f} h, " if r["projected_h"] is not None else ""
        print(f"{name}: {r['mean_step_s']:.3f} s/step, {r['samples_per_s']:.1f} samples/s, {peak}{projected}"
              f"RTF {r['infer_rtf']:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    report = {"machine": benchmarks.machine(), "device": args.device,
              "command": " ".join(["python", "scripts/gpu_check.py", *(argv if argv is not None else sys.argv[1:])]),
              "methods": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")
    if args.out.resolve() == (REPO / "benchmarks" / "gpu.json").resolve():
        (REPO / "BENCHMARKS.md").write_text(benchmarks.render())
        print(f"wrote {REPO / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
