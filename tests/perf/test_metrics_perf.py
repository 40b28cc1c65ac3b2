"""Throughput of bench.metrics.score against the usual per-file librosa + numpy SNR/LSD loop.

Run: python -m pytest tests/perf/test_metrics_perf.py -m perf --benchmark-enable -o addopts=""
Each benchmark records ``audio_s_per_s`` (seconds of audio scored per wall-clock second) in
extra_info; the two benchmarks of one rate share a group, so the table shows their ratio.
The librosa loop is checked against ``score`` before it is timed (both float64, rtol 1e-5).
"""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from bench.metrics import score

BATCH, SECONDS = 16, 3.0
RATES = (16000, 24000, 48000)
ROUNDS = 5
# librosa's "hann" is scipy's periodic (fftbins=True) window; its default pad_mode is "constant",
# while NU-Wave pads by reflection.
STFT = dict(n_fft=2048, hop_length=512, win_length=2048, window="hann", center=True, pad_mode="reflect")


def librosa_snr_lsd(est: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    """SNR and NU-Wave LSD the usual way: one file at a time, librosa STFT, numpy. (B, T) x 2 -> (B,)."""
    snrs, lsds = [], []
    for e, r in zip(est, ref):
        snrs.append(20 * np.log10(np.linalg.norm(r) / np.linalg.norm(r - e)))
        log_r = np.log10(np.maximum(np.abs(librosa.stft(r, **STFT)) ** 2, 1e-8))
        log_e = np.log10(np.maximum(np.abs(librosa.stft(e, **STFT)) ** 2, 1e-8))
        lsds.append(np.mean(np.sqrt(np.mean((log_r - log_e) ** 2, axis=0))))  # (freq, frames): freq first
    return {"snr": np.array(snrs), "lsd": np.array(lsds)}


def _pair(batch: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((batch, n))
    return ref + 0.1 * rng.standard_normal((batch, n)), ref


def _assert_agree(est: np.ndarray, ref: np.ndarray, sr: int) -> None:
    ours = score(est, ref, sr // 4, sr)
    theirs = librosa_snr_lsd(est, ref)
    for name in ("snr", "lsd"):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, err_msg=name)


def _record_throughput(benchmark, audio_seconds: float) -> None:
    # With --benchmark-disable the fixture runs once and keeps no stats.
    if benchmark.stats is not None:
        benchmark.extra_info["audio_s_per_s"] = audio_seconds / benchmark.stats.stats.mean


def test_librosa_reference_agrees_on_a_small_batch():
    """Not a benchmark: a quick cross-check that runs with the default test selection."""
    for sr in RATES:
        _assert_agree(*_pair(2, sr), sr)


@pytest.mark.perf
@pytest.mark.parametrize("sr", RATES)
def test_score_throughput(benchmark, sr: int):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    benchmark.group = f"metrics {BATCH} x {SECONDS:g} s @ {sr} Hz"
    out = benchmark.pedantic(score, args=(est, ref, sr // 4, sr), rounds=ROUNDS, warmup_rounds=1)
    assert out["lsd"].shape == (BATCH,)
    _record_throughput(benchmark, BATCH * SECONDS)


@pytest.mark.perf
@pytest.mark.parametrize("sr", RATES)
def test_librosa_per_file_throughput(benchmark, sr: int):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    _assert_agree(est, ref, sr)
    benchmark.group = f"metrics {BATCH} x {SECONDS:g} s @ {sr} Hz"
    benchmark.pedantic(librosa_snr_lsd, args=(est, ref), rounds=ROUNDS, warmup_rounds=1)
    _record_throughput(benchmark, BATCH * SECONDS)
