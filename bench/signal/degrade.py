"""Degradation (HR -> LR) and the LR -> target-rate upsamplers every method and metric row shares.

`degrade(hr, R, kind)` = anti-alias low-pass at the low-rate Nyquist, then keep every R-th sample.
`upsample(lr, R, kind)` = interpolate the LR signal back onto the target-rate grid.

Why scipy: the filters and interpolators here define the benchmark's protocol, so they must be the
well-kept, widely cited implementations the papers used (NU-Wave 2's Chebyshev test protocol,
TFiLM's `scipy.signal.decimate` and `scipy.interpolate` spline), not a re-derivation that could
drift from them. Only the `stft` bin-zeroing low-pass (NU-Wave / ssr_eval style) uses torch.stft.

Alignment convention: LR sample n sits at HR index n*R (the decimators keep indices 0, R, 2R, ...),
and the upsamplers place it back there, so a spline/linear upsample reproduces every LR sample
exactly at HR indices 0, R, 2R, ... and extrapolates the last R-1 HR samples past the final LR one.

Arrays are (..., T): every leading dimension is a batch dimension, time is the last axis.
"""
from __future__ import annotations

from functools import partial
from typing import Callable, TypeVar

import numpy as np
import scipy.interpolate
import scipy.signal
import torch

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)

# NU-Wave 2 test protocol: Chebyshev type I, order 8, 0.05 dB pass-band ripple.
CHEBY1_ORDER = 8
CHEBY1_RIPPLE_DB = 0.05
# Filter-robustness alternatives: order 8, cut at the low-rate Nyquist, zero-phase like cheby1.
# butter: maximally flat, -3 dB at the cut-off per pass (-6 dB after filtfilt). bessel: magnitude-
# normalised (-3 dB at the cut-off), the gentlest: it droops in the pass band (-0.23 dB round trip at a
# quarter of the cut-off) and lets the most through above it, which is why it is in the set.
# ellip: 0.05 dB ripple, 80 dB stop band, the steepest transition.
ALT_ORDER = 8
ELLIP_RIPPLE_DB, ELLIP_STOP_DB = 0.05, 80.0
GENTLE_LOWPASS = ("bessel",)  # not flat to 1 % a quarter-way to the cut-off; the others are
# The bin-zeroing low-pass's STFT (NU-Wave style).
STFT_N_FFT = 2048
STFT_HOP = 512


def cutoff_bin(n_fft: int, scale: int) -> int:
    """Index of the first DFT bin (of an n_fft-point transform at the target rate) at or above the
    low-rate Nyquist: bins k >= cutoff_bin lie in the band the LR signal cannot carry."""
    return -(-n_fft // (2 * scale))


def degrade(hr: np.ndarray, scale: int, kind: str = "cheby1") -> np.ndarray:
    """(..., T) HR at the target rate, T divisible by `scale` -> (..., T // scale) LR.

    Anti-alias low-pass at the low-rate Nyquist, then keep HR samples 0, scale, 2*scale, ...
    The output has the input's floating dtype (float64 for integer input).
    """
    lowpass = _choose(_LOWPASS, kind, "low-pass")
    x = np.asarray(hr)
    if x.shape[-1] % scale:
        raise ValueError(
            f"signal length {x.shape[-1]} is not divisible by scale {scale}: "
            f"trim it to a multiple of {scale} (e.g. {x.shape[-1] - x.shape[-1] % scale} samples) first"
        )
    return lowpass(x.astype(np.float64), scale).astype(_float_dtype(x))


def upsample(lr: ArrayOrTensor, scale: int, kind: str = "spline") -> ArrayOrTensor:
    """(..., T_low) LR -> (..., T_low * scale) at the target rate, LR sample n at HR index n*scale.

    Accepts a numpy array or a torch tensor and returns the same type; a tensor comes back on the
    input's device with its dtype (the work itself runs in float64 numpy on the CPU).
    """
    interpolate = _choose(_UPSAMPLERS, kind, "upsampler")
    if isinstance(lr, torch.Tensor):
        out = interpolate(lr.detach().cpu().double().numpy(), scale)
        return torch.from_numpy(out).to(device=lr.device, dtype=lr.dtype)
    x = np.asarray(lr)
    return interpolate(x.astype(np.float64), scale).astype(_float_dtype(x))


def _choose(table: dict[str, Callable], kind: str, what: str) -> Callable:
    try:
        return table[kind]
    except KeyError:
        raise ValueError(f"unknown {what} {kind!r}; choose one of {', '.join(table)}") from None


def _float_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)


# --- low-pass + decimate: (..., T) float64 -> (..., T // scale) float64 ------------------------------

def _cheby1(x: np.ndarray, scale: int) -> np.ndarray:
    # Second-order sections: the order-8 transfer function in (b, a) form is ill-conditioned at low cut-offs.
    sos = scipy.signal.cheby1(CHEBY1_ORDER, CHEBY1_RIPPLE_DB, 1.0 / scale, output="sos")
    return scipy.signal.sosfiltfilt(sos, x, axis=-1)[..., ::scale]


def _decimate(x: np.ndarray, scale: int) -> np.ndarray:
    return scipy.signal.decimate(x, scale, zero_phase=True, axis=-1)


def _stft_zeroing(x: np.ndarray, scale: int) -> np.ndarray:
    """Zero every STFT bin at or above the low-rate Nyquist, iSTFT to the same length, decimate."""
    flat = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, x.shape[-1])))
    length = flat.shape[-1]
    window = torch.hann_window(STFT_N_FFT, dtype=flat.dtype)
    # Reflect padding (torch's default) avoids an edge step; it needs T > n_fft / 2.
    pad_mode = "reflect" if length > STFT_N_FFT // 2 else "constant"
    spec = torch.stft(flat, STFT_N_FFT, STFT_HOP, window=window, pad_mode=pad_mode, return_complex=True)
    spec[:, cutoff_bin(STFT_N_FFT, scale):, :] = 0
    low = torch.istft(spec, STFT_N_FFT, STFT_HOP, window=window, length=length)
    return low.numpy().reshape(x.shape)[..., ::scale]


def _sinc_decimate(x: np.ndarray, scale: int) -> np.ndarray:
    return scipy.signal.resample_poly(x, 1, scale, axis=-1)


def _iir_zero_phase(design: Callable[[float], np.ndarray], x: np.ndarray, scale: int) -> np.ndarray:
    return scipy.signal.sosfiltfilt(design(1.0 / scale), x, axis=-1)[..., ::scale]


_butter = partial(_iir_zero_phase, lambda wn: scipy.signal.butter(ALT_ORDER, wn, output="sos"))
_bessel = partial(_iir_zero_phase, lambda wn: scipy.signal.bessel(ALT_ORDER, wn, norm="mag", output="sos"))
_ellip = partial(_iir_zero_phase,
                 lambda wn: scipy.signal.ellip(ALT_ORDER, ELLIP_RIPPLE_DB, ELLIP_STOP_DB, wn, output="sos"))


_LOWPASS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "cheby1": _cheby1,
    "decimate": _decimate,
    "stft": _stft_zeroing,
    "sinc": _sinc_decimate,
    "butter": _butter,
    "bessel": _bessel,
    "ellip": _ellip,
}


# --- upsamplers: (..., T_low) float64 -> (..., T_low * scale) float64 --------------------------------

def _spline(x: np.ndarray, scale: int, degree: int) -> np.ndarray:
    """Interpolating B-spline through (n*scale, x[n]) (not-a-knot ends, as scipy's splrep in the
    TFiLM code), evaluated on every HR index; the tail past the last LR sample is extrapolated."""
    n_low = x.shape[-1]
    spline = scipy.interpolate.make_interp_spline(np.arange(n_low) * scale, x, k=degree, axis=-1)
    return spline(np.arange(n_low * scale), extrapolate=True)


def _sinc_upsample(x: np.ndarray, scale: int) -> np.ndarray:
    return scipy.signal.resample_poly(x, scale, 1, axis=-1)


_UPSAMPLERS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "spline": partial(_spline, degree=3),
    "sinc": _sinc_upsample,
    "linear": partial(_spline, degree=1),
}
