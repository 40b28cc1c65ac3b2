"""Constants and signal helpers shared by the synthetic generators (speech, piano, ship).

Band levels are defined over a fixed reference band, 0 .. max(24 kHz, Nyquist), so that at a lower
rate whatever lies above Nyquist is dropped rather than folded in or renormalised.
"""
from __future__ import annotations

import numpy as np

PEAK = 0.9  # every item is peak-normalised to max|x| = PEAK
NYQUIST_FRACTION = 0.95  # partials / lines above this fraction of Nyquist are dropped
REF_BAND_HZ = 24000.0  # component levels are defined over 0 .. max(this, Nyquist)
FLOOR_REL = 10 ** (-70 / 20)  # white floor under speech and piano, relative to the item's RMS


def peak_normalise(x: np.ndarray) -> np.ndarray:
    """(T,) -> (T,) float32 scaled so that max|x| = PEAK (all-zero input stays zero)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    scale = PEAK / peak if peak > 0 else 0.0
    return (x * scale).astype(np.float32)


def with_floor(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """(T,) -> (T,) plus white noise 70 dB below x's RMS: no exact digital silence, whose
    spectrum would make log-spectral metrics (LSD) degenerate."""
    return x + FLOOR_REL * np.sqrt(np.mean(x ** 2)) * rng.standard_normal(x.size)


def log_gauss(f: np.ndarray, centre: np.ndarray | float,
              width_oct: np.ndarray | float) -> np.ndarray:
    """Gaussian bump on a log2 frequency axis (peak 1 at ``centre``); f must be > 0.

    Shapes broadcast: the result has the broadcast shape of f, centre and width_oct."""
    return np.exp(-0.5 * (np.log2(f / centre) / width_oct) ** 2)


def ref_grid(df: float, sr: int) -> np.ndarray:
    """(K,) frequencies 0, df, 2 df, ... up to max(24 kHz, Nyquist): the band levels are defined
    on, so that at a lower rate the content above Nyquist is dropped rather than renormalised."""
    return np.arange(0.0, max(REF_BAND_HZ, sr / 2) + df / 2, df)


def highpass_mag(f: np.ndarray, fc: np.ndarray | float, order: int = 4) -> np.ndarray:
    """Butterworth-like high-pass magnitude (f/fc)^k / sqrt(1 + (f/fc)^2k), k = ``order``.

    Shapes broadcast: the result has the broadcast shape of f and fc."""
    r = (f / fc) ** order
    return r / np.sqrt(1.0 + r * r)
