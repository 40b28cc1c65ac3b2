"""Reading, validating, resampling and writing audio.

soundfile reads/writes (every format libsndfile knows); resampling is scipy's polyphase
`resample_poly` (a Kaiser-windowed sinc FIR), exact for the integer ratios this suite uses.
"""
from __future__ import annotations

import os
import struct
import sys
from math import gcd
from pathlib import Path
from typing import BinaryIO, Iterator, Literal

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bench.core.files import atomic_write
from bench.core.spec import SpecError


class AudioError(SpecError):
    """Unreadable, empty, truncated or invalid audio; the message names the file and the fix."""


# RIFF-family WAV headers: chunk id -> byte order of the size fields.
_RIFF_ORDER = {b"RIFF": "<", b"RIFX": ">", b"RF64": "<", b"BW64": "<"}
_SIZE_IN_DS64 = 0xFFFFFFFF  # RF64/BW64: the real data size is in the ds64 chunk (also a streamed WAV's "unknown")
# A file short of its declared data by less than this is not called truncated: some writers miscount
# the header into the data size by a few bytes, and 10 ms is far too little to matter to any score.
TRUNCATION_TOLERANCE_S = 0.01
TruncatedMode = Literal["warn", "error"]


def audio_info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """soundfile's header facts (rate, channels, frames) of `path`; AudioError naming the file if it
    cannot be opened."""
    path = _existing(path)
    try:
        return sf.info(str(path))
    except Exception as exc:  # libsndfile raises several types for corrupt/unknown files
        raise _unreadable(path, exc) from None


def read_audio(path: str | os.PathLike, *, downmix: bool = True,
               truncated: TruncatedMode = "warn") -> tuple[np.ndarray, int, int]:
    """Read `path` -> (samples float32 (T,) after downmix or (T, C), sample rate, channel count).

    A WAV shorter than its header declares (`truncation`) is read as the shorter length with a
    warning on stderr (`truncated="warn"`), or is an AudioError (`truncated="error"`, for corpora)."""
    path = _existing(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types for corrupt/unknown files
        raise _unreadable(path, exc) from None
    _report_truncation(path, truncated)
    channels = data.shape[1]
    data = data.mean(axis=1) if downmix else data
    check_audio(data, f"audio file {path}")
    return data, int(sr), channels


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file {path} does not exist: check the path")
    return path


def _unreadable(path: Path, exc: Exception) -> AudioError:
    """The error for a file libsndfile cannot open; a 0-byte file says so rather than 'format not recognised'."""
    if path.stat().st_size == 0:
        return AudioError(f"audio file {path} is empty (0 bytes): remove it or replace it with real audio")
    return AudioError(f"cannot read audio file {path}: {str(exc).rstrip('.')}. Is it a valid audio file "
                      "(wav/flac/ogg/...)? Re-export or convert it")


def _report_truncation(path: Path, mode: TruncatedMode) -> None:
    short = truncation(path)
    if short is None:
        return
    declared, present = short
    what = f"audio file {path} is truncated: its header declares {declared:.2f} s, the file holds {present:.2f} s"
    if mode == "error":
        raise AudioError(f"{what}: re-copy or re-export it, or remove it")
    print(f"warning: {what}; processing the {present:.2f} s present (re-copy or re-export it for all of it)",
          file=sys.stderr)


def truncation(path: str | os.PathLike) -> tuple[float, float] | None:
    """(seconds the header declares, seconds the file holds) of a RIFF/RIFX/RF64/BW64 WAV whose data
    chunk is cut short; None when it is complete, not such a WAV, or its length is unknown.

    Parsed by hand because nothing else tells: libsndfile clamps the frame count to the bytes present
    without an error (sf.info and sf.read report the short length), and the stdlib `wave` module reads
    only integer PCM in RIFF, not float, extensible or RF64 files."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in _RIFF_ORDER or head[8:12] != b"WAVE":
            return None
        order = _RIFF_ORDER[head[:4]]
        byte_rate, ds64_size = 0, None
        for cid, size, start in _chunks(fh, order):
            if cid == b"data":
                declared = ds64_size if size == _SIZE_IN_DS64 else size
                return _short(declared, path.stat().st_size - start, byte_rate)
            body = fh.read(16) if cid in (b"ds64", b"fmt ") else b""
            if len(body) == 16 and cid == b"ds64":
                ds64_size = struct.unpack("<Q", body[8:16])[0]  # riff size, then data size
            elif len(body) == 16:
                byte_rate = struct.unpack(f"{order}I", body[8:12])[0]  # format tag, channels, rate, bytes/s
    return None


def _chunks(fh: BinaryIO, order: str) -> Iterator[tuple[bytes, int, int]]:
    """(id, declared size, offset of the body) of every chunk after the RIFF header, in file order."""
    while len(head := fh.read(8)) == 8:
        size = struct.unpack(f"{order}I", head[4:])[0]
        start = fh.tell()
        yield head[:4], size, start
        fh.seek(start + size + size % 2)  # chunks are padded to an even length


def _short(declared: int | None, present: int, byte_rate: int) -> tuple[float, float] | None:
    """(declared s, present s) when `present` data bytes fall short of `declared` by more than the tolerance."""
    if declared is None or byte_rate <= 0:
        return None  # a streamed WAV (size unknown) or a header without a byte rate: nothing to compare
    if declared - present < TRUNCATION_TOLERANCE_S * byte_rate:
        return None
    return declared / byte_rate, max(present, 0) / byte_rate


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
