"""Real-corpus adapters: card kind -> the function that lists a corpus's files with their splits.

Adding a corpus kind is one module here (a `scan(card, root) -> Scan`, bench/data/sources.py has the
shared helpers) plus one row below, and a card in datasets/ naming the kind.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from bench.data.adapters import folder, piano, shipsear, vctk
from bench.data.cards import DatasetCard
from bench.data.sources import Scan

SCANNERS: dict[str, Callable[[DatasetCard, Path], Scan]] = {
    "vctk-single": vctk.scan_single,
    "vctk-multi": vctk.scan_multi,
    "piano": piano.scan,
    "shipsear": shipsear.scan,
    "folder": folder.scan,
}
