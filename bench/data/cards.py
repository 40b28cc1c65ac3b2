"""Dataset cards: one TOML file per corpus in the repository's datasets/ folder.

Besides the cards on disk, two kinds of name resolve to a card:
  - `folder:PATH`: any directory of audio files, split by file with a fixed seed (an ad-hoc card
    named `folder:<absolute path>`, so the same folder always gives the same cells);
  - `NAME@SPLIT`: card NAME with another of the split protocols it lists in `split_protocols`
    (e.g. `vctk-multi@paper`, the seed paper's 88/6/6 random split). The variant is a dataset of
    its own: its cells, cache and leaderboard page never mix with the default split's.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.spec import SpecError

REPO_DIR = Path(__file__).resolve().parents[2]
DATASETS_DIR = REPO_DIR / "datasets"
SPLITS_DIR = DATASETS_DIR / "splits"
FOLDER_PREFIX = "folder:"
REAL_KINDS = ("vctk-single", "vctk-multi", "piano", "shipsear", "folder")
KINDS = ("synthetic", *REAL_KINDS)
_REPORTED_FIELDS = {"method": str, "scale": int, "snr": float, "lsd": float, "source": str}


class UnknownDatasetError(SpecError):
    pass


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
        return self.kind in REAL_KINDS


def _check(raw: dict[str, Any], where: str) -> None:
    missing = [k for k in ("name", "kind", "summary", "native_sr") if k not in raw]
    if missing:
        raise SpecError(f"dataset card {where} lacks {', '.join(missing)}: add them (see datasets/README.md)")
    if raw["kind"] not in KINDS:
        raise SpecError(f"dataset card {where} has kind {raw['kind']!r}; known kinds: {', '.join(KINDS)}")
    for i, row in enumerate(raw.get("reported", [])):
        for key, typ in _REPORTED_FIELDS.items():
            if key not in row or not isinstance(row[key], (int, float) if typ is float else typ):
                raise SpecError(f"dataset card {where}: [[reported]] entry {i + 1} needs {key} "
                                f"({typ.__name__}); see datasets/README.md")


def _parse(path: Path) -> DatasetCard:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    _check(raw, str(path))
    return DatasetCard(raw["name"], raw["kind"], raw["summary"], int(raw["native_sr"]), raw)


@lru_cache(maxsize=1)
def _all_cards() -> dict[str, DatasetCard]:
    cards = [_parse(p) for p in sorted(DATASETS_DIR.glob("*.toml"))]
    return {c.name: c for c in cards}


def dataset_names() -> list[str]:
    return list(_all_cards())


def load_card(name: str) -> DatasetCard:
    if name.startswith(FOLDER_PREFIX):
        return folder_card(name[len(FOLDER_PREFIX):])
    base, _, split = name.partition("@")
    cards = _all_cards()
    if base not in cards:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(cards)}, or folder:PATH for any directory "
            "of audio files (see `python -m bench list datasets`)"
        )
    card = cards[base]
    return with_split(card, split) if split else card


def with_split(card: DatasetCard, split: str) -> DatasetCard:
    """`card` under another of its split protocols (its `split_protocols`), named NAME@SPLIT."""
    offered = card.raw.get("split_protocols", [])
    if split not in offered:
        what = f"offers {', '.join(offered)}" if offered else "has no alternative split protocols"
        raise SpecError(f"dataset {card.name!r} {what}; {split!r} is not one of them (see datasets/README.md)")
    if split == card.raw.get("split", offered[0]):
        return card
    raw = {**card.raw, "name": f"{card.name}@{split}", "split": split}
    return DatasetCard(raw["name"], card.kind, f"{card.summary} [split: {split}]", card.native_sr, raw)


def folder_card(path: str) -> DatasetCard:
    """The ad-hoc card of `folder:PATH`: every audio file under PATH, split 80/10/10 by file (seed 0)."""
    from bench.data.sources import audio_files, info  # sources imports this module

    if not path.strip():
        raise SpecError("folder: needs a path, e.g. --datasets folder:/data/my-recordings")
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise SpecError(f"folder:{path}: {root} is not a directory; pass a folder that holds audio files")
    files = audio_files(root)
    if not files:
        raise SpecError(f"folder:{path}: no audio files under {root} (looked for .wav, .flac, .ogg, .mp3, "
                        ".aiff, ... recursively)")
    rates = sorted({info(f).samplerate for f in files})
    raw = {"name": f"{FOLDER_PREFIX}{root}", "kind": "folder", "root": str(root), "native_sr": rates[0],
           "summary": f"{len(files)} audio files under {root} ({', '.join(map(str, rates))} Hz)",
           "seed": 0, "fractions": {"train": 0.8, "valid": 0.1, "test": 0.1}}
    return DatasetCard(raw["name"], "folder", raw["summary"], rates[0], raw)


def dataset_slug(name: str) -> str:
    """A file-name-safe form of a dataset name, for pages and cache files: 'folder:/data/x y' ->
    'folder-data-x_y-<hash>' (a hash keeps two folders with the same name apart)."""
    if re.fullmatch(r"[A-Za-z0-9._@-]+", name):
        return name
    from bench.spec import content_key

    tail = name[len(FOLDER_PREFIX):] if name.startswith(FOLDER_PREFIX) else name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", tail.strip("/").split("/")[-1] or "root")
    prefix = "folder-" if name.startswith(FOLDER_PREFIX) else ""
    return f"{prefix}{safe}-{content_key(name)[:8]}"


def reported(card: DatasetCard) -> list[dict[str, Any]]:
    """The seed paper's numbers written on the card ([[reported]] rows), for pages to show beside ours."""
    return [dict(row) for row in card.raw.get("reported", [])]
