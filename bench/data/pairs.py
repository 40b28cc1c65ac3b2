"""Prepared LR/HR pairs: made once per (corpus, split, protocol, item limit) and cached as arrays.

HR = corpus audio resampled to the protocol's target rate, trimmed to a multiple of R;
LR = bench.degrade.degrade(HR) at the low rate. The cache lives under <results>/.cache/pairs and is
keyed by the card, the protocol, the limit and the source of the code that makes the data, so a
changed card, filter or generator never reuses stale data.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.audio import check_audio, resample
from bench.data.cards import DatasetCard
from bench.data.corpus import load_items
from bench.degrade import degrade
from bench.spec import Protocol, SpecError, content_key
from bench.store import atomic_write

_BENCH_DIR = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def _data_code_hash() -> str:
    """Hash of every source file that shapes prepared data (adapters, generators, degradation)."""
    digest = hashlib.sha256()
    for path in sorted((_BENCH_DIR / "data").glob("*.py")) + [_BENCH_DIR / "degrade.py", _BENCH_DIR / "audio.py"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Pairs:
    """Variable-length pairs kept as one flat array per side plus offsets (cheap to cache and slice)."""

    ids: list[str]
    labels: list[str | None]
    hr: list[np.ndarray]  # each (T_i,) float32 at target_sr, T_i divisible by R
    lr: list[np.ndarray]  # each (T_i / R,) float32 at low_sr

    def __len__(self) -> int:
        return len(self.ids)


def check_rates(card: DatasetCard, protocol: Protocol) -> None:
    if card.native_sr < protocol.target_sr:
        raise SpecError(
            f"dataset {card.name!r} is recorded at {card.native_sr} Hz, below the target rate "
            f"{protocol.target_sr} Hz of R={protocol.scale}: pick a lower --target-sr (at most {card.native_sr})"
        )


def _prepare(card: DatasetCard, split: str, protocol: Protocol, max_items: int | None) -> Pairs:
    check_rates(card, protocol)
    ids, labels, hrs, lrs = [], [], [], []
    for item in load_items(card, split, max_items):
        hr = resample(item.audio, card.native_sr, protocol.target_sr)
        hr = hr[: len(hr) - len(hr) % protocol.scale]
        check_audio(hr, f"{card.name} item {item.id}")
        ids.append(item.id)
        labels.append(item.label)
        hrs.append(hr)
        lrs.append(degrade(hr, protocol.scale, protocol.lowpass).astype(np.float32))
    return Pairs(ids, labels, hrs, lrs)


def _save(path: Path, pairs: Pairs) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, ids=np.array(pairs.ids), labels=np.array([l or "" for l in pairs.labels]),
                     hr=np.concatenate(pairs.hr), lr=np.concatenate(pairs.lr),
                     hr_len=np.array([len(x) for x in pairs.hr]), lr_len=np.array([len(x) for x in pairs.lr]))
    atomic_write(path, write)


def _load(path: Path) -> Pairs:
    with np.load(path, allow_pickle=False) as z:
        hr = np.split(z["hr"], np.cumsum(z["hr_len"])[:-1])
        lr = np.split(z["lr"], np.cumsum(z["lr_len"])[:-1])
        return Pairs([str(i) for i in z["ids"]], [str(l) or None for l in z["labels"]], hr, lr)


def load_pairs(card: DatasetCard, split: str, protocol: Protocol, cache_dir: Path,
               max_items: int | None = None) -> Pairs:
    """Pairs of `split` for `protocol`, from the cache when prepared before."""
    key = content_key([_data_code_hash(), card.raw, split, protocol.scale, protocol.target_sr,
                       protocol.lowpass, max_items])
    path = Path(cache_dir) / "pairs" / f"{card.name}-{split}-R{protocol.scale}-{key}.npz"
    if path.is_file():
        return _load(path)
    pairs = _prepare(card, split, protocol, max_items)
    _save(path, pairs)
    return pairs
