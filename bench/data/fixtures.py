"""Tiny corpora in the real layouts, made of generated audio: for tests and for trying the adapters
without the real data (`python -c "from bench.data.fixtures import vctk_tree; vctk_tree('/tmp/vctk')"`).

Every file is seeded noise plus a tone (wide-band, so every split has energy above 12 kHz at 48 kHz)
and differs from every other file. Nothing here is real data; sizes are kept small on purpose.
"""
from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

from bench.data.cards import SPLITS_DIR
from bench.data.sources import read_split_list


def tone_noise(key: str, seconds: float, sr: int) -> np.ndarray:
    """Seeded (by `key`) noise + a tone, peak 0.5, float32."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    n = max(1, int(round(seconds * sr)))
    t = np.arange(n) / sr
    x = 0.3 * rng.standard_normal(n) + np.sin(2 * np.pi * rng.uniform(100, 1000) * t)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def write(path: Path, audio: np.ndarray, sr: int, subtype: str = "PCM_16") -> Path:
    """Encode in memory, then write the bytes: many times faster than libsndfile's file I/O."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    sf.write(buf, audio, sr, subtype=subtype, format=path.suffix.lstrip(".").upper())
    path.write_bytes(buf.getvalue())
    return path


def truncated_wav(path: Path, seconds: float = 5.0, keep: float = 0.12, sr: int = 16000, subtype: str = "PCM_16",
                  fmt: str = "WAV") -> Path:
    """A `seconds`-long WAV (or WAVEX/RF64) cut after `keep` seconds of data, as an interrupted copy
    leaves one: its header still declares `seconds`."""
    buf = io.BytesIO()
    sf.write(buf, tone_noise(path.name, seconds, sr), sr, subtype=subtype, format=fmt)
    data = buf.getvalue()
    start = data.index(b"data") + 8  # libsndfile writes the data chunk last
    frame = (len(data) - start) // int(round(seconds * sr))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: start + int(round(keep * sr)) * frame])
    return path


def vctk_speakers(version: str = "0.92") -> list[str]:
    """110 speakers on 0.92 (109 p-speakers incl. p280 and p315, plus s5), 109 on 0.80 (no s5).
    Not VCTK's real ids beyond p225/p280/p315/s5: the protocol only depends on their sorted order."""
    ids = [f"p{n}" for n in range(225, 334)]
    return ids + ["s5"] if version == "0.92" else ids


def vctk_tree(root: str | Path, version: str = "0.92", speakers: Iterable[str] | None = None, utterances: int = 3,
              seconds: float = 0.05, p225_full: bool = False, sr: int = 48000) -> Path:
    """VCTK 0.92 (wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac, plus a mic2 file per speaker that
    must be ignored) or 0.80 (wav48/<spk>/<spk>_<nnn>.wav). `p225_full`: p225 gets every utterance of
    the vctk-single protocol lists (231 files)."""
    root = Path(root)
    for spk in (vctk_speakers(version) if speakers is None else list(speakers)):
        utts = [f"{spk}_{i:03d}" for i in range(1, utterances + 1)]
        if spk == "p225" and p225_full:
            utts = sorted({u for s in ("train", "valid", "test")
                           for u in read_split_list(SPLITS_DIR / f"vctk-single-{s}.txt")})
        for utt in utts:
            audio = tone_noise(utt, seconds, sr)
            if version == "0.92":
                write(root / "wav48_silence_trimmed" / spk / f"{utt}_mic1.flac", audio, sr)
            else:
                write(root / "wav48" / spk / f"{utt}.wav", audio, sr)
        if version == "0.92":
            write(root / "wav48_silence_trimmed" / spk / f"{utts[0]}_mic2.flac", tone_noise("mic2" + spk, seconds, sr), sr)
    return root


def piano_tree(root: str | Path, seconds: Iterable[float] = (25.0, 12.5, 30.0, 13.0), sr: int = 16000,
               suffixes: Iterable[str] = (".wav", ".flac")) -> Path:
    """A folder of 'sonata' recordings of the given lengths, alternating formats."""
    root = Path(root)
    suffixes = list(suffixes)
    for i, s in enumerate(seconds):
        write(root / f"sonata{i + 1:02d}{suffixes[i % len(suffixes)]}", tone_noise(f"sonata{i}", s, sr), sr)
    return root


SHIPSEAR_TYPES = {"A": "Fish boat", "B": "Motorboat", "C": "Passengers", "D": "Ocean liner", "E": "Natural ambient noise"}


def shipsear_tree(root: str | Path, per_class: int = 3, seconds: float = 1.5, sr: int = 52734,
                  table: str = "shipsear_classes.csv") -> Path:
    """`per_class` recordings of every class A-E named like the published files, and the class table
    (id,type with ShipsEar's vessel type names)."""
    root = Path(root)
    rows, rid = ["id,type"], 1
    for letter, vessel in SHIPSEAR_TYPES.items():
        for k in range(per_class):
            write(root / "audio" / f"{rid}__10_07_13_{letter.lower()}{k}_Pasa.wav", tone_noise(f"rec{rid}", seconds, sr), sr)
            rows.append(f"{rid},{vessel}")
            rid += 1
    (root / table).write_text("\n".join(rows) + "\n")
    return root


def folder_tree(root: str | Path, n: int = 10, seconds: float = 0.5, sr: int = 16000) -> Path:
    """`n` files in two sub-folders, wav and flac."""
    root = Path(root)
    for i in range(n):
        sub = "a" if i % 2 else "b"
        write(root / sub / f"take{i:02d}{'.wav' if i % 3 else '.flac'}", tone_noise(f"take{i}", seconds, sr), sr)
    return root
