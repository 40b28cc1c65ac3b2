"""Reading, validating, resampling and writing audio.

soundfile reads/writes (every format libsndfile knows); resampling is scipy's polyphase
`resample_poly` (a Kaiser-windowed sinc FIR), exact for the integer ratios this suite uses.
"""
from __future__ import annotations

import os
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bench.core.files import atomic_write
from bench.core.spec import SpecError


class AudioError(SpecError):
    """Unreadable, empty or invalid audio; the message names the file and the fix."""


def read_audio(path: str | os.PathLike, *, downmix: bool = True) -> tuple[np.ndarray, int, int]:
    """Read `path` -> (samples float32 (T,) after downmix or (T, C), sample rate, channel count)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file {path} does not exist: check the path")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for corrupt/unknown files
        raise AudioError(f"cannot read audio file {path}: {exc}. Is it a valid audio file "
                         "(wav/flac/ogg/...)? Re-export or convert it") from None
    channels = data.shape[1]
    data = data.mean(axis=1) if downmix else data
    check_audio(data, f"audio file {path}")
    return data, int(sr), channels


def check_audio(x: np.ndarray, what: str) -> None:
    """Raise AudioError if `x` is empty or not finite."""
    if x.size == 0:
        raise AudioError(f"{what} is empty (0 samples): remove it or replace it with real audio")
    if not np.isfinite(x).all():
        raise AudioError(f"{what} contains NaN or infinite samples: fix or remove it")


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """(..., T) at sr_in -> (..., ~T*sr_out/sr_in) at sr_out, float32."""
    if sr_in == sr_out:
        return x.astype(np.float32, copy=False)
    g = gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g, axis=-1).astype(np.float32)


def write_audio(path: str | os.PathLike, x: np.ndarray, sr: int) -> None:
    """Write (T,) float audio atomically; the format follows the suffix (.wav is written as 32-bit
    float, so nothing is clipped or quantised)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").upper() or "WAV"
    if fmt not in sf.available_formats():
        raise AudioError(f"cannot write {path}: unknown audio format {fmt!r}; use .wav or .flac")
    atomic_write(path, lambda tmp: sf.write(tmp, np.asarray(x, dtype=np.float32), sr, format=fmt,
                                            subtype="FLOAT" if fmt == "WAV" else None))
