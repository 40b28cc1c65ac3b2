"""Throughput of bench.metrics against the usual per-file librosa + numpy loops.

Run: python -m pytest tests/perf/test_metrics_perf.py -m perf --benchmark-enable -o addopts=""
Each benchmark records ``audio_s_per_s`` (seconds of audio scored per wall-clock second) in
extra_info. Two groups per rate, each ours against a librosa loop doing the same work:
``snr+lsd``: SNR and the nuwave LSD (what training validation needs); ``all``: what a cell stores
per file, SNR and all three LSD conventions (``score(..., bands=True)`` also gives HF/LF, bands and
SI-SDR from the same spectra). The librosa loops are checked against ours before they are timed
(both float64, rtol 1e-5). ``ssr_eval``'s rate-scaled n_fft is prime or 3 x prime at 16/48 kHz
(743, 2229) and its hop is 10 ms, so it costs more than the other two together.
"""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from bench.metrics import lsd, score, snr

BATCH, SECONDS = 16, 3.0
RATES = (16000, 24000, 48000)
ROUNDS = 5
# librosa's "hann" is scipy's periodic (fftbins=True) window; its default pad_mode is "constant",
# while all three conventions' reference code padded by reflection (librosa < 0.10).
STFT = dict(n_fft=2048, hop_length=512, win_length=2048, window="hann", center=True, pad_mode="reflect")


def librosa_snr_lsd(est: np.ndarray, ref: np.ndarray, sr: int, all_conventions: bool = False) -> dict[str, np.ndarray]:
    """SNR and LSD the usual way: one file at a time, librosa STFT, numpy. (B, T) x 2 -> (B,)."""
    out: dict[str, list] = {"snr": [], "lsd": [], "lsd_kuleshov": [], "lsd_ssr_eval": []}
    ssr = dict(n_fft=int(2048 / (44100 / sr)), hop_length=int(sr / 100), center=True, pad_mode="reflect")
    for e, r in zip(est, ref):
        out["snr"].append(20 * np.log10(np.linalg.norm(r) / np.linalg.norm(r - e)))
        p_r, p_e = (np.abs(librosa.stft(x, **STFT)) ** 2 for x in (r, e))  # (freq, frames)
        log_r, log_e = np.log10(np.maximum(p_r, 1e-8)), np.log10(np.maximum(p_e, 1e-8))
        out["lsd"].append(np.mean(np.sqrt(np.mean((log_r - log_e) ** 2, axis=0))))  # freq first
        if all_conventions:
            s1, s2 = np.log(p_r + 1e-8), np.log(p_e + 1e-8)
            out["lsd_kuleshov"].append(np.mean(np.sqrt(np.mean((s1 - s2) ** 2 + 1e-8, axis=1))))  # time first
            t, m = (np.abs(librosa.stft(x, **ssr)) for x in (r, e))
            d = np.log10(t**2 / (m + 1e-12) ** 2 + 1e-12) ** 2  # (freq, frames)
            out["lsd_ssr_eval"].append(np.mean(np.sqrt(np.mean(d, axis=0))))
    return {k: np.array(v) for k, v in out.items() if v}


def ours_snr_lsd(est: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    return {"snr": snr(est, ref), "lsd": lsd(est, ref)}


def _pair(batch: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((batch, n))
    return ref + 0.1 * rng.standard_normal((batch, n)), ref


def _assert_agree(est: np.ndarray, ref: np.ndarray, sr: int) -> None:
    ours = score(est, ref, sr // 4, sr)
    theirs = librosa_snr_lsd(est, ref, sr, all_conventions=True)
    for name in ("snr", "lsd", "lsd_kuleshov", "lsd_ssr_eval"):
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
def test_snr_lsd_throughput(benchmark, sr: int):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    benchmark.group = f"snr+lsd {BATCH} x {SECONDS:g} s @ {sr} Hz"
    out = benchmark.pedantic(ours_snr_lsd, args=(est, ref), rounds=ROUNDS, warmup_rounds=1)
    assert out["lsd"].shape == (BATCH,)
    _record_throughput(benchmark, BATCH * SECONDS)


@pytest.mark.perf
@pytest.mark.parametrize("sr", RATES)
def test_librosa_snr_lsd_throughput(benchmark, sr: int):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    benchmark.group = f"snr+lsd {BATCH} x {SECONDS:g} s @ {sr} Hz"
    benchmark.pedantic(librosa_snr_lsd, args=(est, ref, sr), rounds=ROUNDS, warmup_rounds=1)
    _record_throughput(benchmark, BATCH * SECONDS)


@pytest.mark.perf
@pytest.mark.parametrize("sr", RATES)
def test_score_all_throughput(benchmark, sr: int):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    benchmark.group = f"all {BATCH} x {SECONDS:g} s @ {sr} Hz"
    out = benchmark.pedantic(score, args=(est, ref, sr // 4, sr), kwargs={"bands": True}, rounds=ROUNDS,
                             warmup_rounds=1)
    assert out["lsd_ssr_eval"].shape == (BATCH,)
    _record_throughput(benchmark, BATCH * SECONDS)


@pytest.mark.perf
@pytest.mark.parametrize("sr", RATES)
def test_librosa_all_throughput(benchmark, sr: int):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    _assert_agree(est[:2], ref[:2], sr)
    benchmark.group = f"all {BATCH} x {SECONDS:g} s @ {sr} Hz"
    benchmark.pedantic(librosa_snr_lsd, args=(est, ref, sr, True), rounds=ROUNDS, warmup_rounds=1)
    _record_throughput(benchmark, BATCH * SECONDS)
