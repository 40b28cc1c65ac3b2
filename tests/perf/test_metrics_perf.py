"""Throughput of bench.metrics against per-file librosa + numpy loops computing the same formulas.

Run: python -m pytest tests/perf/test_metrics_perf.py -m perf --benchmark-enable -o addopts=""
(or `python scripts/benchmarks.py`, which also writes BENCHMARKS.md).

One benchmark, parametrised over rate x workload x implementation; each records ``audio_s_per_s``
(seconds of audio scored per wall-clock second, from the fastest of its rounds: the slower rounds
measure the machine's other jobs, and ours, using both cores, is the most exposed) in extra_info. Workloads:
``snr+lsd`` (what training validation needs), ``snr+lsd+hf/lf`` (the headline columns) and ``all``
(SNR and all three LSD conventions, with HF/LF). Implementations:

- ``ours``: one call of bench.metrics.score on the whole batch (torch, float64, spectra shared).
- ``librosa_per_metric``: the usual evaluation script: a loop over files calling one function per
  metric, each making the STFTs it needs (as metric functions in ssr_eval-style code do).
- ``librosa_shared``: a careful loop over files that makes each file's 2048-point spectra once and
  derives every nuwave-family value from them (the strictest per-file baseline).

Values of all three are checked to agree to 1e-5 relative before anything is timed (all float64).
``ssr_eval``'s rate-scaled n_fft is prime or 3 x prime at 16/48 kHz (743, 2229) and its hop is 10 ms,
so it costs more than the other conventions together.
"""
from __future__ import annotations

from typing import Callable

import librosa
import numpy as np
import pytest
import torch

from bench.metrics import spectral
from bench.metrics import score

BATCH, SECONDS = 16, 3.0
RATES = (16000, 24000, 48000)
ROUNDS = 5
WORKLOADS = ("snr+lsd", "snr+lsd+hf/lf", "all")
IMPLEMENTATIONS = ("ours", "librosa_per_metric", "librosa_shared")
# librosa's "hann" is scipy's periodic (fftbins=True) window; its default pad_mode is "constant",
# while all three conventions' reference code padded by reflection (librosa < 0.10).
STFT = dict(n_fft=2048, hop_length=512, win_length=2048, window="hann", center=True, pad_mode="reflect")
N_BINS = 1025


def _names(workload: str) -> tuple[str, ...]:
    return {"snr+lsd": ("snr", "lsd"), "snr+lsd+hf/lf": ("snr", "lsd", "lsd_hf", "lsd_lf"),
            "all": ("snr", "lsd", "lsd_hf", "lsd_lf", "lsd_kuleshov", "lsd_ssr_eval")}[workload]


# --- per-file reference formulas (numpy on librosa spectra; (freq, frames) arrays) -----------------
def _power(x: np.ndarray) -> np.ndarray:
    return np.abs(librosa.stft(x, **STFT)) ** 2


def _snr(e: np.ndarray, r: np.ndarray) -> float:
    return 20 * np.log10(np.linalg.norm(r) / np.linalg.norm(r - e))


def _nuwave_from_power(p_e: np.ndarray, p_r: np.ndarray, lo: int, hi: int) -> float:
    d = np.log10(np.maximum(p_r[lo:hi], 1e-8)) - np.log10(np.maximum(p_e[lo:hi], 1e-8))
    return float(np.mean(np.sqrt(np.mean(d ** 2, axis=0))))  # frequency first, then frames


def _kuleshov_from_power(p_e: np.ndarray, p_r: np.ndarray) -> float:
    d = np.log(p_r + 1e-8) - np.log(p_e + 1e-8)
    return float(np.mean(np.sqrt(np.mean(d ** 2 + 1e-8, axis=1))))  # time first, then bins


def _ssr_eval(e: np.ndarray, r: np.ndarray, sr: int) -> float:
    stft = dict(n_fft=int(2048 / (44100 / sr)), hop_length=int(sr / 100), center=True, pad_mode="reflect")
    t, m = (np.abs(librosa.stft(x, **stft)) for x in (r, e))
    d = np.log10(t ** 2 / (m + 1e-12) ** 2 + 1e-12) ** 2
    return float(np.mean(np.sqrt(np.mean(d, axis=0))))


def _ranges(sr: int) -> dict[str, tuple[int, int]]:
    split = int(N_BINS * (sr // 4) / sr)
    return {"lsd": (0, N_BINS), "lsd_hf": (split, N_BINS), "lsd_lf": (0, split)}


def librosa_per_metric(est: np.ndarray, ref: np.ndarray, sr: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One function call per file and metric, each computing its own spectra. (B, T) x 2 -> {name: (B,)}."""
    ranges = _ranges(sr)
    metric: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "snr": _snr,
        **{n: (lambda e, r, lo=lo, hi=hi: _nuwave_from_power(_power(e), _power(r), lo, hi))
           for n, (lo, hi) in ranges.items()},
        "lsd_kuleshov": lambda e, r: _kuleshov_from_power(_power(e), _power(r)),
        "lsd_ssr_eval": lambda e, r: _ssr_eval(e, r, sr),
    }
    return {n: np.array([metric[n](e, r) for e, r in zip(est, ref)]) for n in names}


def librosa_shared(est: np.ndarray, ref: np.ndarray, sr: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One pair of 2048-point spectra per file, shared by every nuwave-family value. (B, T) x 2 -> {name: (B,)}."""
    ranges = _ranges(sr)
    out: dict[str, list[float]] = {n: [] for n in names}
    for e, r in zip(est, ref):
        p_e, p_r = _power(e), _power(r)
        for n in names:
            if n in ranges:
                out[n].append(_nuwave_from_power(p_e, p_r, *ranges[n]))
        out["snr"].append(_snr(e, r))
        if "lsd_kuleshov" in out:
            out["lsd_kuleshov"].append(_kuleshov_from_power(p_e, p_r))
            out["lsd_ssr_eval"].append(_ssr_eval(e, r, sr))
    return {n: np.array(v) for n, v in out.items()}


def ours(est: np.ndarray, ref: np.ndarray, sr: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One call of bench.metrics.score: the library's way to get several metrics (one validation, shared
    spectra). For snr+lsd it also returns HF/LF, which cost nothing extra; calling snr() and lsd()
    separately validates and converts the inputs twice."""
    return score(est, ref, sr // 4, sr, headline_only="lsd_kuleshov" not in names)


IMPL = {"ours": ours, "librosa_per_metric": librosa_per_metric, "librosa_shared": librosa_shared}


def _pair(batch: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((batch, n))
    return ref + 0.1 * rng.standard_normal((batch, n)), ref


def _assert_agree(est: np.ndarray, ref: np.ndarray, sr: int, workload: str) -> None:
    names = _names(workload)
    expected = librosa_per_metric(est, ref, sr, names)
    for impl in ("ours", "librosa_shared"):
        got = IMPL[impl](est, ref, sr, names)
        for name in names:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, err_msg=f"{impl} {name} @ {sr}")


def test_all_implementations_agree_on_a_small_batch():
    """Not a benchmark: the cross-check, run with the default test selection."""
    for sr in RATES:
        _assert_agree(*_pair(2, sr), sr, "all")


@pytest.mark.perf
@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("sr", RATES)
def test_metrics_throughput(benchmark, sr: int, workload: str, impl: str):
    est, ref = _pair(BATCH, int(SECONDS * sr))
    _assert_agree(est[:2], ref[:2], sr, workload)
    benchmark.group = f"metrics {workload} {BATCH} x {SECONDS:g} s @ {sr} Hz"
    out = benchmark.pedantic(IMPL[impl], args=(est, ref, sr, _names(workload)), rounds=ROUNDS, warmup_rounds=1)
    assert all(out[n].shape == (BATCH,) for n in _names(workload))
    if benchmark.stats is not None:  # None under --benchmark-disable (one plain run)
        benchmark.extra_info.update(audio_s_per_s=BATCH * SECONDS / benchmark.stats.stats.min, sr=sr,
                                    workload=workload, impl=impl)


def _spectra_only(est: np.ndarray, ref: np.ndarray) -> float:
    """The floor of any float64 nuwave LSD: the 2048-point power spectra of both signals, made the way
    bench.metrics makes them (same framing and blocks), and nothing else."""
    window = torch.hann_window(2048, periodic=True, dtype=torch.float64)
    frames = [spectral._frames(torch.from_numpy(x), 2048, 512) for x in (est, ref)]
    total = 0.0
    for block in spectral._blocks(frames[0].shape[1], len(est)):
        total += sum(float(spectral._power(f[:, block], window).sum()) for f in frames)
    return total


@pytest.mark.perf
@pytest.mark.parametrize("sr", RATES)
def test_spectra_floor(benchmark, sr: int):
    """How much of the nuwave LSD is the FFT itself: ``ours`` cannot beat this by more than the rest."""
    est, ref = _pair(BATCH, int(SECONDS * sr))
    benchmark.group = f"metrics snr+lsd {BATCH} x {SECONDS:g} s @ {sr} Hz"
    benchmark.pedantic(_spectra_only, args=(est, ref), rounds=ROUNDS, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info.update(audio_s_per_s=BATCH * SECONDS / benchmark.stats.stats.min, sr=sr,
                                    workload="snr+lsd", impl="spectra_floor")
