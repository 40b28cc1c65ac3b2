"""Any directory of audio files (`folder:PATH`, or a card with kind = "folder").

Every audio file under the folder (recursively; any format soundfile reads), split by file: a seeded
permutation (card `seed`, default 0) of the sorted relative paths, cut 80 / 10 / 10 % (card
`fractions`), with at least one file in each split, so at least 3 files are needed. Whole files are
items unless the card sets `segment_seconds` (non-overlapping segments; a shorter tail is dropped).
Each file's own rate is read; it must be at least the protocol's target rate.
"""
from __future__ import annotations

from pathlib import Path

from bench.data.cards import DatasetCard
from bench.data.sources import Scan, scan_by_file

DEFAULT_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}


def scan(card: DatasetCard, root: Path) -> Scan:
    return scan_by_file(card, root, DEFAULT_FRACTIONS, "split by file")
