"""Prepared LR/HR pairs: made once per (corpus, split, protocol, item limit) and cached as arrays.

HR = corpus audio resampled to the protocol's target rate, trimmed to a multiple of R;
LR = bench.signal.degrade.degrade(HR) at the low rate. The cache lives under <results>/.cache/pairs and is
keyed by the card, the protocol, the limit and the source of the code that makes the data, and for
real corpora by a fingerprint of the split's files (paths, sizes, modification times) and the files
`prepare --skip-bad` left out, so a changed card, filter, generator or data folder never reuses
stale data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.files import atomic_write
from bench.core.hashing import code_hash, content_key
from bench.core.spec import PAPER_TARGET_SR, Protocol, SpecError
from bench.data.cards import DatasetCard, dataset_slug
from bench.data.corpus import fingerprint, load_items
from bench.signal.audio import AudioError, check_audio, resample
from bench.signal.degrade import degrade

# The module that makes pairs: its import closure (adapters, generators, degradation, audio I/O) is
# the data code every prepared pair depends on (bench/core/hashing.py).
DATA_MODULES = ("bench.data.pairs",)


# Card fields that describe a corpus to people and shape none of its audio: editing them (a summary,
# the published numbers shown beside ours) must not re-key every cell of the corpus.
DISPLAY_FIELDS = ("summary", "url", "reported", "download")


def data_fields(card: DatasetCard) -> dict:
    """The card's fields that shape its audio (everything but DISPLAY_FIELDS)."""
    return {k: v for k, v in card.raw.items() if k not in DISPLAY_FIELDS}


def data_hash(card: DatasetCard) -> str:
    """Names a corpus' data for cell keys: its card (split rules, trimming, ...; `data_fields`) and the
    data code."""
    return content_key([code_hash(DATA_MODULES), data_fields(card)])


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
    """Can `card` serve `protocol`? A real corpus needs its data root (SpecError naming the flag and
    the environment variable otherwise) and a nominal rate of at least the target rate; each file's
    own rate is checked again when it is read."""
    if card.real:
        from bench.data.sources import resolve_root

        resolve_root(card)
    if card.native_sr < protocol.target_sr:
        fitting = [r for r, sr in PAPER_TARGET_SR.items() if sr <= card.native_sr]
        scales = (f", or leave R={protocol.scale} out (`--scales {','.join(map(str, fitting))}`, whose default target "
                  f"rates fit)" if fitting else "")
        highest = card.native_sr // protocol.scale * protocol.scale
        raise SpecError(
            f"dataset {card.name!r} is recorded at {card.native_sr} Hz, below the target rate "
            f"{protocol.target_sr} Hz of R={protocol.scale}: pick a lower --target-sr (at most {highest}, a multiple "
            f"of {protocol.scale}){scales}"
        )


def _prepare(card: DatasetCard, split: str, protocol: Protocol, max_items: int | None,
             exclude: frozenset[str]) -> Pairs:
    check_rates(card, protocol)
    ids, labels, hrs, lrs = [], [], [], []
    for item in load_items(card, split, max_items, exclude):
        sr = item.sr or card.native_sr
        what = f"{card.name} item {item.id}" + (f" (from {item.source})" if item.source else "")
        if sr < protocol.target_sr:
            raise AudioError(f"{what} is at {sr} Hz, below the target rate {protocol.target_sr} Hz of "
                             f"R={protocol.scale}: remove the file, pass --skip-bad to go on without it, or pick a "
                             f"--target-sr of at most {sr}")
        hr = resample(item.audio, sr, protocol.target_sr)
        hr = hr[: len(hr) - len(hr) % protocol.scale]
        if len(hr) < 2 * protocol.scale:
            raise AudioError(f"{what} is {len(item.audio)} samples long, too short to make an LR/HR pair: "
                             "remove it")
        check_audio(hr, what)
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
    try:
        with np.load(path, allow_pickle=False) as z:
            hr = np.split(z["hr"], np.cumsum(z["hr_len"])[:-1])
            lr = np.split(z["lr"], np.cumsum(z["lr_len"])[:-1])
            return Pairs([str(i) for i in z["ids"]], [str(l) or None for l in z["labels"]], hr, lr)
    except Exception as exc:  # noqa: BLE001 - truncated/overwritten cache file: say which, and the fix
        raise AudioError(f"prepared pairs file {path} is corrupt ({type(exc).__name__}: {exc}): it is derived "
                         "data; delete it and run again") from exc


def pairs_path(card: DatasetCard, split: str, protocol: Protocol, cache_dir: Path,
               max_items: int | None = None) -> Path:
    """Where the pairs of (card, split, protocol, limit) are cached: the name carries everything that
    shapes them (see the module docstring)."""
    from bench.data.manifest import skipped_files

    exclude = skipped_files(card, cache_dir) if card.real else frozenset()
    extra = [fingerprint(card, split, exclude), sorted(exclude)] if card.real else []
    key = content_key([code_hash(DATA_MODULES), data_fields(card), split, protocol.scale, protocol.target_sr,
                       protocol.lowpass, max_items, *extra])
    return Path(cache_dir) / "pairs" / f"{dataset_slug(card.name)}-{split}-R{protocol.scale}-{key}.npz"


def load_pairs(card: DatasetCard, split: str, protocol: Protocol, cache_dir: Path,
               max_items: int | None = None) -> Pairs:
    """Pairs of `split` for `protocol`, from the cache when prepared before. Real-corpus files that
    `python -m bench prepare --skip-bad` recorded as skipped (in the manifest) are left out."""
    path = pairs_path(card, split, protocol, cache_dir, max_items)
    if path.is_file():
        return _load(path)
    from bench.data.manifest import skipped_files

    pairs = _prepare(card, split, protocol, max_items, skipped_files(card, cache_dir) if card.real else frozenset())
    _save(path, pairs)
    return pairs

