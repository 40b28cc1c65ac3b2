"""Corpus items per split, by adapter kind. Real-corpus adapters add a kind here."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.data.cards import DatasetCard
from bench.data import synthetic
from bench.spec import SpecError, content_key

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Item:
    id: str
    audio: np.ndarray  # (T,) float32 at the card's native rate
    label: str | None = None


def _synthetic_items(card: DatasetCard, split: str, max_items: int | None) -> list[Item]:
    spec = card.raw["splits"][split]
    n = spec["items"] if max_items is None else min(max_items, spec["items"])
    kind = card.raw["generator"]
    items = []
    for i in range(n):
        # Item seeds differ by split and index, so train/valid/test never share audio.
        seed = int(content_key([card.raw["seed"], split, i]), 16) & 0x7FFFFFFF
        label = synthetic.SHIP_CLASSES[i % len(synthetic.SHIP_CLASSES)] if kind == "ship" else None
        audio = synthetic.generate(kind, seed, float(spec["seconds"]), card.native_sr, label=label)
        items.append(Item(f"{split}-{i:04d}", audio, label))
    return items


_ADAPTERS = {"synthetic": _synthetic_items}


def load_items(card: DatasetCard, split: str, max_items: int | None = None) -> list[Item]:
    """The first `max_items` items (all when None) of `split`, in a fixed order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if card.kind not in _ADAPTERS:
        raise SpecError(f"dataset {card.name!r} has kind {card.kind!r}, which has no adapter yet; "
                         f"known kinds: {', '.join(_ADAPTERS)}")
    return _ADAPTERS[card.kind](card, split, max_items)
