"""NU-Wave 2's training condition (maum-ai/nuwave2, dataloader.py): each HR crop through a zero-phase
Chebyshev-I low-pass at a random cut-off and, optionally, resample_poly down to twice the cut-off and back
up, as the official loader makes it. Shapes in each docstring."""
from __future__ import annotations

import functools
import math

import numpy as np
import scipy.signal
import torch


@functools.lru_cache(maxsize=None)
def _resampling_filter(max_rate: int) -> np.ndarray:
    """The FIR scipy's resample_poly designs by default for a reduced ratio up / down with
    max(up, down) = max_rate (Kaiser window, beta 5, 10 * max_rate taps either side), made once per
    ratio: the design, not the filtering, is what a 48 kHz round trip spends its time on, and a target
    rate has only as many ratios as divisors."""
    fir = scipy.signal.firwin(20 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    fir.setflags(write=False)  # shared by every call: resample_poly scales its own copy
    return fir


def resample_round_trip(x: np.ndarray, low_sr: int, sample_rate: int) -> np.ndarray:
    """(..., T) at sample_rate -> (..., T): resample_poly down to low_sr and back up, cut to T samples
    (the round trip is never shorter), with resample_poly's own default filter."""
    g = math.gcd(low_sr, sample_rate)
    low, high = low_sr // g, sample_rate // g                   # the reduced ratio, low <= high
    fir = _resampling_filter(high)
    down = scipy.signal.resample_poly(x, low, high, axis=-1, window=fir)
    return scipy.signal.resample_poly(down, high, low, axis=-1, window=fir)[..., :x.shape[-1]]


def band_limited(hr: torch.Tensor, highcut_hz: torch.Tensor, order: torch.Tensor, ripple: torch.Tensor,
                 sample_rate: int, resample: bool) -> torch.Tensor:
    """(B, 1, T) HR at sample_rate, (B,) cut-offs in whole Hz, orders, ripples (dB) -> (B, 1, T): each
    item through a zero-phase Chebyshev-I low-pass at its cut-off and, with `resample`, down to twice
    the cut-off and back up (NU-Wave 2's training condition); an item cut at Nyquist stays as it is."""
    x = hr.detach().cpu().double().numpy()
    out = x.copy()
    nyquist = sample_rate / 2
    for i, hz in enumerate(highcut_hz.tolist()):
        if hz < nyquist:
            sos = scipy.signal.cheby1(int(order[i]), float(ripple[i]), hz / nyquist, output="sos")
            out[i] = scipy.signal.sosfiltfilt(sos, x[i], axis=-1)
            if resample:
                out[i] = resample_round_trip(out[i], 2 * hz, sample_rate)
    return torch.from_numpy(np.ascontiguousarray(out)).to(hr)
