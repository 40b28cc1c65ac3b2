"""Dataset cards: what one corpus is (one TOML file per corpus in the repository's datasets/ folder).

Finding a card by name (`folder:PATH`, `NAME@SPLIT` included) is bench/data/catalog.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.hashing import content_key

REPO_DIR = Path(__file__).resolve().parents[2]
DATASETS_DIR = REPO_DIR / "datasets"
SPLITS_DIR = DATASETS_DIR / "splits"
FOLDER_PREFIX = "folder:"


@dataclass(frozen=True)
class DatasetCard:
    name: str
    kind: str
    summary: str
    native_sr: int          # real corpora: the nominal rate; every file's own rate is read and checked
    raw: dict[str, Any]     # the whole card, part of the prepared-data cache key

    @property
    def real(self) -> bool:
        """True for corpora read from a local data root (not generated)."""
        return self.kind != "synthetic"

    @property
    def reported(self) -> list[dict[str, Any]]:
        """The published numbers written on the card (`[[reported]]` rows), for pages to show beside ours."""
        rows = self.raw.get("reported", [])
        return [dict(r) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def dataset_slug(name: str) -> str:
    """A file-name-safe form of a dataset name, for pages and cache files: 'folder:/data/x y' ->
    'folder-data-x_y-<hash>' (a hash keeps two folders with the same name apart)."""
    if re.fullmatch(r"[A-Za-z0-9._@-]+", name):
        return name
    tail = name[len(FOLDER_PREFIX):] if name.startswith(FOLDER_PREFIX) else name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", tail.strip("/").split("/")[-1] or "root")
    prefix = "folder-" if name.startswith(FOLDER_PREFIX) else ""
    return f"{prefix}{safe}-{content_key(name)[:8]}"
