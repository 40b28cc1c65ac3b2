"""Evaluating a fitted method on a test set: super-resolve every file, check it, score it.

Everything here shapes the numbers a record holds, so the scoring key of a cell covers this module's
import closure (bench/run/plan.py): editing it re-scores, never re-trains.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from bench.core.spec import CellSpec
from bench.data import Pairs
from bench.metrics import scoring
from bench.metrics.table import METRIC_NAMES
from bench.run.inference import super_resolve
from methods.api import Method


def score_files(pairs: Pairs, estimates: list[np.ndarray], low_sr: int, target_sr: int) -> pd.DataFrame:
    """One row per test file: every LSD convention, per-band LSD, PESQ/STOI where installed; a metric
    that fails is NaN with the reason in `error`, never 0 (scoring.score_file)."""
    rows = [{"file": item_id, **scoring.score_file(est, hr, low_sr, target_sr)}
            for item_id, hr, est in zip(pairs.ids, pairs.hr, estimates)]
    return pd.DataFrame(rows, columns=scoring.file_columns())


def repeat_seed(cell_seed: int, repeat: int) -> int:
    """The 31-bit sampling seed of evaluation pass `repeat` of a cell: distinct per pass, fixed by the cell."""
    return int(np.random.SeedSequence([cell_seed, repeat]).generate_state(1)[0]) & 0x7FFFFFFF


def mean_over_repeats(passes: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-file table of the mean over evaluation passes (the only pass when there is one); errors joined."""
    if len(passes) == 1:
        return passes[0]
    stacked = pd.concat(passes)
    numeric = [c for c in passes[0].columns if c not in ("file", "error")]
    files = stacked.groupby("file", sort=False)[numeric].mean().reset_index()
    errors = stacked.groupby("file", sort=False)["error"].agg(lambda e: "; ".join(sorted(set(e) - {""})))
    files["error"] = errors.to_numpy()  # same first-appearance file order as `files`
    return files[passes[0].columns]


def repeat_spread(passes: list[pd.DataFrame]) -> dict[str, Any]:
    """{n, metrics: {name: {mean, std, values}}}: each pass's mean over files, their mean and spread."""
    spread = {}
    for name in METRIC_NAMES:
        values = [float(p[name].mean()) for p in passes]
        spread[name] = {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1
                        else float("nan"), "values": values}
    return {"n": len(passes), "metrics": spread}


def evaluate(method: Method, test: Pairs, spec: CellSpec,
             device: str) -> tuple[list[pd.DataFrame], list[np.ndarray], float]:
    """Super-resolve and score the test set `spec.eval_repeats` times -> (per-file table per pass, the first
    pass's estimates, seconds spent super-resolving). A stochastic method samples each pass with its own
    noise (`Method.reseed`), fixed by the cell seed."""
    proto = spec.protocol
    infer_s, passes, first = 0.0, [], []
    for repeat in range(spec.eval_repeats):
        method.reseed(repeat_seed(spec.rng_seed, repeat))
        t0 = time.perf_counter()
        estimates = [super_resolve(method, lr, proto, device) for lr in test.lr]
        infer_s += time.perf_counter() - t0
        for item_id, hr, est in zip(test.ids, test.hr, estimates):
            if est.shape != hr.shape or not np.isfinite(est).all():
                raise ValueError(f"{spec.method} returned {est.shape} samples for {item_id} (expected {hr.shape}) "
                                 "or non-finite values: the method's enhance() is broken")
        passes.append(score_files(test, estimates, proto.low_sr, proto.target_sr))
        first = first or estimates
    return passes, first, infer_s
