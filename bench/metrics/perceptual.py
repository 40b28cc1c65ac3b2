"""Perceptual metrics: STOI (``pystoi``, installed with the suite) and PESQ (``pesq``, optional:
``pip install -e '.[perceptual]'``, a source-only package that needs a C compiler).

    PESQ wide-band (ITU-T P.862.2, MOS-LQO 1.04 .. 4.64) after resampling both signals to 16 kHz
    (``scipy.signal.resample_poly``); STOI (Taal et al. 2011, 0 .. 1) by ``pystoi`` at the target
    rate (it resamples to 10 kHz itself). Both are speech measures. A package that is not installed
    gives no column and the record says "not installed"; a file PESQ cannot score (no utterance
    found) is NaN with the reason in the error column.
"""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import torch

from bench.metrics.inputs import ArrayLike

PERCEPTUAL_PACKAGES = {"pesq": "pesq", "stoi": "pystoi"}
NOT_INSTALLED = "not installed (pip install -e '.[perceptual]')"
PESQ_SR = 16000


def perceptual_status() -> dict[str, str | None]:
    """{metric: None if its package imports, else why not} for PERCEPTUAL_NAMES."""
    return {name: None if importlib.util.find_spec(pkg) is not None else NOT_INSTALLED
            for name, pkg in PERCEPTUAL_PACKAGES.items()}


def _mono64(x: ArrayLike, what: str) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = np.asarray(a, dtype=np.float64).squeeze()
    if a.ndim != 1:
        raise ValueError(f"{what} must be one mono signal, got shape {np.shape(x)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or inf")
    return a


def pesq_wb(est: ArrayLike, ref: ArrayLike, sr: int) -> float:
    """Wide-band PESQ (MOS-LQO) of one item, both signals resampled from ``sr`` to 16 kHz first."""
    from pesq import pesq  # optional dependency: the caller checks perceptual_status() first
    from scipy.signal import resample_poly

    est, ref = _mono64(est, "estimate"), _mono64(ref, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"est and ref must have the same shape, got {est.shape} and {ref.shape}")
    if sr < PESQ_SR:
        raise ValueError(f"wide-band PESQ needs audio at >= {PESQ_SR} Hz, got {sr} Hz")
    if sr != PESQ_SR:
        g = math.gcd(PESQ_SR, sr)
        est, ref = (resample_poly(x, PESQ_SR // g, sr // g) for x in (est, ref))
    return float(pesq(PESQ_SR, ref, est, "wb"))


def stoi(est: ArrayLike, ref: ArrayLike, sr: int) -> float:
    """STOI (0..1) of one item at rate ``sr`` (pystoi resamples to 10 kHz itself)."""
    from pystoi import stoi as _stoi  # optional dependency

    est, ref = _mono64(est, "estimate"), _mono64(ref, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"est and ref must have the same shape, got {est.shape} and {ref.shape}")
    return float(_stoi(ref, est, sr, extended=False))


PERCEPTUAL = {"pesq": pesq_wb, "stoi": stoi}
