"""Throughput of the protocol's degradation (HR -> LR) and the LR -> target-rate upsamplers.

Run: python -m pytest tests/perf/test_degrade_perf.py -m perf --benchmark-enable -o addopts=""
Records ``audio_s_per_s`` (seconds of HR audio processed per wall-clock second) in extra_info, for a
batch of 16 x 3 s at 16 kHz with R = 4 (the seed paper's 4 -> 16 kHz protocol).
"""
from __future__ import annotations

import numpy as np
import pytest

from bench.core.spec import LOWPASS_KINDS
from bench.signal.degrade import degrade, upsample

BATCH, SECONDS, SR, SCALE = 16, 3.0, 16000, 4
UPSAMPLERS = ("spline", "sinc", "linear")


@pytest.fixture(scope="module")
def hr() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((BATCH, int(SECONDS * SR))).astype(np.float32)


def _record(benchmark, **info) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info.update(audio_s_per_s=BATCH * SECONDS / benchmark.stats.stats.mean, **info)


@pytest.mark.perf
@pytest.mark.parametrize("kind", LOWPASS_KINDS)
def test_degrade_throughput(benchmark, hr, kind: str):
    benchmark.group = f"degrade {BATCH} x {SECONDS:g} s @ {SR} Hz, R={SCALE}"
    lr = benchmark.pedantic(degrade, args=(hr, SCALE, kind), rounds=5, warmup_rounds=1)
    assert lr.shape == (BATCH, hr.shape[1] // SCALE) and np.isfinite(lr).all()
    _record(benchmark, stage="degrade", kind=kind)


@pytest.mark.perf
@pytest.mark.parametrize("kind", UPSAMPLERS)
def test_upsample_throughput(benchmark, hr, kind: str):
    lr = degrade(hr, SCALE)
    benchmark.group = f"upsample {BATCH} x {SECONDS:g} s @ {SR} Hz, R={SCALE}"
    out = benchmark.pedantic(upsample, args=(lr, SCALE, kind), rounds=5, warmup_rounds=1)
    assert out.shape == hr.shape and np.isfinite(out).all()
    _record(benchmark, stage="upsample", kind=kind)
