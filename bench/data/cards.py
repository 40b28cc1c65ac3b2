"""Dataset cards: one TOML file per corpus in the repository's datasets/ folder."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.spec import SpecError

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"


class UnknownDatasetError(SpecError):
    pass


@dataclass(frozen=True)
class DatasetCard:
    name: str
    kind: str
    summary: str
    native_sr: int
    raw: dict[str, Any]  # the whole card, part of the prepared-data cache key


def _parse(path: Path) -> DatasetCard:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    missing = [k for k in ("name", "kind", "summary", "native_sr") if k not in raw]
    if missing:
        raise SpecError(f"dataset card {path} lacks {', '.join(missing)}: add them (see datasets/README.md)")
    return DatasetCard(raw["name"], raw["kind"], raw["summary"], int(raw["native_sr"]), raw)


@lru_cache(maxsize=1)
def _all_cards() -> dict[str, DatasetCard]:
    cards = [_parse(p) for p in sorted(DATASETS_DIR.glob("*.toml"))]
    return {c.name: c for c in cards}


def dataset_names() -> list[str]:
    return list(_all_cards())


def load_card(name: str) -> DatasetCard:
    cards = _all_cards()
    if name not in cards:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(cards)} (see `python -m bench list datasets`)"
        )
    return cards[name]
