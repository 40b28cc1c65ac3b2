"""`--dry-run`: what a `run` or `downstream` command line would do, without doing any of it.

It plans and keys the cells exactly as the command would, splits them by what the results folder holds
(reused, to run, failed and kept), names the executor and each cell's resources, and estimates the wall
time from the profile's training budget. Nothing is written and no corpus file is read.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.executors.base import cell_resources
from bench.run.plan import triage
from methods import get_entry

# Share of one thread's fp32 matmul speed a learned cell's training reaches, per CPU it holds: measured on
# the main command (36 learned cells of 1 TFLOP in 17.2 min on a 2-core VM doing 91 GFLOP/s per thread,
# two cells at a time: 17 GFLOP/s each). Convolutions, FFTs, data and validation all hide in it.
TRAINING_SHARE_OF_MATMUL = 0.19
CELL_OVERHEAD_S = 2.0   # a cell's fixed cost: data, scoring, samples, record (parameter-free cells: all of it)
STARTUP_S = 15.0        # imports, data preparation and (embedded Ray) start-up, once per run


def matmul_gflops(size: int = 512, repeats: int = 10) -> float:
    """One-thread fp32 matmul speed of this machine (GFLOP/s), measured in well under a second."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    seconds = (time.perf_counter() - t0) / repeats
    torch.set_num_threads(threads)
    return 2 * size ** 3 / seconds / 1e9


def estimate_s(todo: list[CellSpec], cpus: int, gflops: float) -> float | None:
    """Rough wall seconds for the cells `todo` on `cpus` CPUs; None when a cell has no FLOP budget (paper
    recipes keep their own steps: scripts/gpu_check.py projects those)."""
    if any(get_entry(s.method).trainable and s.train_budget is None for s in todo):
        return None
    flops = sum(s.train_budget or 0.0 for s in todo)
    return STARTUP_S + (flops / (TRAINING_SHARE_OF_MATMUL * gflops * 1e9) + CELL_OVERHEAD_S * len(todo)) / cpus


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min {s:02d} s"


def dry_run(args: argparse.Namespace, specs: list[CellSpec], store: Store) -> int:
    """Print the plan of `specs` against `store` (see the module docstring); exit code 0."""
    plan = triage(specs, store, args.retry_failed)
    print(f"{len(specs)} cells: {len(plan.cached)} finished before (reused), {len(plan.failed)} failed before "
          f"(kept; --retry-failed re-runs them), {len(plan.todo)} to run")
    for spec in plan.todo:
        need = cell_resources(spec, args.device)
        budget = f", budget {spec.train_budget / 1e12:g} TFLOP" if spec.train_budget else ""
        print(f"  to run  {spec.label}  [{spec.key}]  {need['num_cpus']:g} CPU, {need['num_gpus']:g} GPU{budget}")
    for record in plan.failed:
        print(f"  kept    {CellSpec.from_dict(record['spec']).label}  [{record['key']}]  {record['status']}: "
              f"{record.get('error', '')}")
    cpus = args.num_cpus or os.cpu_count() or 1
    where = {"ray": f"Ray at {args.ray_address}" if args.ray_address else f"embedded Ray on {cpus} CPU(s) of this machine",
             "local": f"in this process, one cell at a time on {cpus} CPU(s)",
             "slurm": "SLURM job arrays (see the --slurm-* flags)"}[args.executor]
    print(f"executor: {args.executor} ({where}); device {args.device}; results {store.root}")
    kinds = Counter("learned" if get_entry(s.method).trainable else "parameter-free" for s in plan.todo)
    if not plan.todo:
        print("estimate: nothing to run")
    elif args.executor == "slurm" or args.ray_address:
        print(f"estimate: not made for a cluster ({dict(kinds)} cells to run)")
    else:
        gflops = matmul_gflops()
        seconds = estimate_s(plan.todo, cpus, gflops)
        if seconds is None:
            print("estimate: the paper profile keeps each recipe's own step count; `python scripts/gpu_check.py` "
                  "projects each recipe's time on a GPU")
        else:
            print(f"estimate: about {_clock(seconds)} ({dict(kinds)} cells; this machine does {gflops:.0f} GFLOP/s "
                  f"per thread, learned cells train at about {TRAINING_SHARE_OF_MATMUL:.0%} of that; rough, "
                  "within a factor of 2)")
    print("dry run: nothing was run or written", file=sys.stderr)
    return 0
