"""Finding a dataset card by name: the cards on disk, and two kinds of name that resolve to a card:

  - `folder:PATH`: any directory of audio files, split by file with a fixed seed (an ad-hoc card
    named `folder:<absolute path>`, so the same folder always gives the same cells);
  - `NAME@SPLIT`: card NAME with another of the split protocols it lists in `split_protocols`
    (e.g. `vctk-multi@paper`, the seed paper's 88/6/6 random split). The variant is a dataset of
    its own: its cells, cache and leaderboard page never mix with the default split's.

A card's `kind` is `synthetic` or one of the real-corpus adapters (bench/data/adapters/SCANNERS).
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.core.spec import SpecError
from bench.data.adapters import SCANNERS
from bench.data.cards import DATASETS_DIR, FOLDER_PREFIX, DatasetCard
from bench.data.sources import audio_files
from bench.signal.audio import AudioError, audio_info

KINDS = ("synthetic", *SCANNERS)
_REPORTED_FIELDS = {"method": str, "scale": int, "snr": float, "lsd": float, "source": str}


class UnknownDatasetError(SpecError):
    pass


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
    """The ad-hoc card of `folder:PATH`: every audio file under PATH, split 80/10/10 by file (seed 0).
    Its nominal rate is the highest rate among the files that open; files that do not open, or are
    below a protocol's target rate, are the manifest's to judge (`bad`, or `skipped` with --skip-bad)."""
    if not path.strip():
        raise SpecError("folder: needs a path, e.g. --datasets folder:/data/my-recordings")
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise SpecError(f"folder:{path}: {root} is not a directory; pass a folder that holds audio files")
    files = audio_files(root)
    if not files:
        raise SpecError(f"folder:{path}: no audio files under {root} (looked for .wav, .flac, .ogg, .mp3, "
                        ".aiff, ... recursively)")
    rates = _header_rates(files)
    if not rates:
        raise SpecError(f"folder:{path}: none of the {len(files)} audio files under {root} can be opened "
                        f"(e.g. {files[0]}): re-export or convert them")
    raw = {"name": f"{FOLDER_PREFIX}{root}", "kind": "folder", "root": str(root), "native_sr": rates[-1],
           "summary": f"{len(files)} audio files under {root} ({', '.join(map(str, rates))} Hz)",
           "seed": 0, "fractions": {"train": 0.8, "valid": 0.1, "test": 0.1}}
    return DatasetCard(raw["name"], "folder", raw["summary"], rates[-1], raw)


def _header_rates(files: list[Path]) -> list[int]:
    """The sorted distinct sample rates of the files whose header opens (only the header is read)."""
    rates = set()
    for f in files:
        try:
            rates.add(audio_info(f).samplerate)
        except AudioError:
            continue  # an unreadable file is listed by the manifest check, with every other bad file
    return sorted(rates)
