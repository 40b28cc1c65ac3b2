"""Corpus items per split, by adapter kind.

`synthetic` corpora are generated (bench/data/synthetic/). Real corpora (vctk-single, vctk-multi,
piano, shipsear, folder) are scanned under a local data root (bench/data/sources.py), every file
assigned to a split by its protocol, then read lazily: `load_items(card, split, max_items)` reads only
as many files as the first `max_items` items need.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from bench.core.hashing import content_key
from bench.core.spec import SpecError
from bench.data import synthetic
from bench.data.adapters import SCANNERS
from bench.data.cards import DatasetCard
from bench.data.sources import Scan, read_source, resolve_root

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Item:
    id: str
    audio: np.ndarray  # (T,) float32 at `sr` (or the card's native rate when sr is 0)
    label: str | None = None
    sr: int = 0        # real corpora: the file's own rate
    source: str = ""   # real corpora: the file it came from (for error messages and manifests)


def _synthetic_items(card: DatasetCard, split: str, max_items: int | None) -> list[Item]:
    spec = card.raw["splits"][split]
    n = spec["items"] if max_items is None else min(max_items, spec["items"])
    kind = card.raw["generator"]
    items = []
    for i in range(n):
        # Item seeds differ by split and index, so train/valid/test never share audio.
        # (the low 31 bits of the whole key: the generated corpora and every number measured on them depend on it)
        seed = int(content_key([card.raw["seed"], split, i]), 16) & 0x7FFFFFFF
        label = synthetic.SHIP_CLASSES[i % len(synthetic.SHIP_CLASSES)] if kind == "ship" else None
        audio = synthetic.generate(kind, seed, float(spec["seconds"]), card.native_sr, label=label)
        items.append(Item(f"{split}-{i:04d}", audio, label))
    return items


def scan(card: DatasetCard) -> Scan:
    """The files of a real corpus with their splits (a directory walk: about 0.2 s for all of VCTK)."""
    if card.kind not in SCANNERS:
        raise SpecError(f"dataset {card.name!r} has kind {card.kind!r}, which is not a real corpus kind")
    return SCANNERS[card.kind](card, resolve_root(card))


def split_files(card: DatasetCard, split: str, exclude: frozenset[str] = frozenset()):
    """The source files of `split` (sorted by relative path), less those in `exclude`."""
    return [f for f in scan(card).split(split) if f.rel not in exclude]


def _real_items(card: DatasetCard, split: str, max_items: int | None, exclude: frozenset[str]) -> list[Item]:
    seconds = card.raw.get("segment_seconds")
    items: list[Item] = []
    for source in split_files(card, split, exclude):
        if max_items is not None and len(items) >= max_items:
            break
        audio, sr = read_source(card, source)
        if seconds:
            n = int(round(float(seconds) * sr))
            items += [Item(f"{source.stem}-{k:04d}", audio[k * n:(k + 1) * n], source.label, sr, source.rel)
                      for k in range(len(audio) // n)]
        else:
            items.append(Item(source.stem, audio, source.label, sr, source.rel))
    return items if max_items is None else items[:max_items]


def fingerprint(card: DatasetCard, split: str, exclude: frozenset[str] = frozenset()) -> str | None:
    """A hash of what a real corpus' split is made of (relative paths, sizes, modification times,
    layout), so prepared pairs are remade when the files change; None for synthetic corpora."""
    if card.kind == "synthetic":
        return None
    found = scan(card)
    digest = hashlib.sha256(found.layout.encode())
    for f in found.split(split):
        if f.rel not in exclude:
            st = f.path.stat()
            digest.update(f"{f.rel}\0{st.st_size}\0{st.st_mtime_ns}\0{f.label}\n".encode())
    return digest.hexdigest()[:16]


def load_items(card: DatasetCard, split: str, max_items: int | None = None,
               exclude: frozenset[str] = frozenset()) -> list[Item]:
    """The first `max_items` items (all when None) of `split`, in a fixed order. `exclude`: relative
    paths of real-corpus files to leave out (the bad files `prepare --skip-bad` recorded)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if card.kind == "synthetic":
        return _synthetic_items(card, split, max_items)
    if card.kind in SCANNERS:
        return _real_items(card, split, max_items, exclude)
    raise SpecError(f"dataset {card.name!r} has kind {card.kind!r}, which has no adapter; "
                    f"known kinds: synthetic, {', '.join(SCANNERS)}")
