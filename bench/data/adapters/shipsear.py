"""ShipsEar: underwater recordings of vessels (Santos-Dominguez et al. 2016) plus their class table.

Layout under the data root (SHIPSEAR_ROOT or --data-root): the recordings as published
(`<id>__<date>_<name>_<action>.wav`, e.g. `6__10_06_13_marDeOnza_Sale.wav`, in any sub-folders) and
a class table, a CSV file named by the card's `class_table` (default `shipsear_classes.csv`, relative
to the root or absolute) with a header row and one row per recording:
    id,type                     the recording id (the number before '__') and its vessel type, or
    file,class                  a file name and a class letter A-E directly.
Vessel types map onto the five classes of the ShipsEar paper through the card's [classes] table
(A: fishing boats, trawlers, mussel boats, tugboats, dredgers; B: motorboats, pilot boats, sailboats;
C: passenger ferries; D: ocean liners, ro-ro vessels; E: natural ambient noise), matched without
case, spaces, punctuation or a plural 's'.

Split by recording, never by slice, stratified by class: within each class a seeded permutation
of the recording ids is cut 70 / 10 / 20 % (card `fractions`), with at least one test recording
per class that has two or more and one valid recording per class that has three or more. Every
recording is then cut into non-overlapping 1 s slices (card `segment_seconds`, the seed paper's) at
its own rate (52 734 Hz in the published files); a shorter tail is dropped. Labels travel with the
items for the downstream recognition task.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from bench.core.spec import SpecError
from bench.data.cards import DatasetCard
from bench.data.sources import (Scan, SourceFile, audio_files, describe_fractions, fractions_of, rel_path, root_hint,
                                seeded_split, stem_of)

DEFAULT_FRACTIONS = {"train": 0.7, "valid": 0.1, "test": 0.2}
_ID = re.compile(r"^(\d+)(?:__|_|-|\s|\.)")


def normalise(name: str) -> str:
    """'Fishing boats' -> 'fishingboat', 'Ro-Ro' -> 'roro'."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return key[:-1] if key.endswith("s") and len(key) > 3 else key


def recording_id(file_name: str) -> str | None:
    m = _ID.match(file_name)
    return str(int(m.group(1))) if m else None


def _type_map(card: DatasetCard) -> dict[str, str]:
    classes = card.raw.get("classes")
    if not classes:
        raise SpecError(f"dataset card {card.name!r} lacks its [classes] table (class letter -> vessel types)")
    return {normalise(t): letter for letter, types in classes.items() for t in types}


def read_class_table(card: DatasetCard, root: Path) -> dict[str, str]:
    """recording id or file name -> class letter, from the card's class table."""
    table = Path(card.raw.get("class_table", "shipsear_classes.csv")).expanduser()
    path = table if table.is_absolute() else root / table
    if not path.is_file():
        raise SpecError(f"ShipsEar class table {path} not found: write a CSV with a header `id,type` (recording id, "
                        f"vessel type) or `file,class` (file name, A-E), one row per recording ({root_hint(card)})")
    types, letters = _type_map(card), set(card.raw["classes"])
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise SpecError(f"ShipsEar class table {path} is empty: add a header `id,type` and one row per recording")
    header = [h.strip().lower() for h in rows[0]]
    key_col = next((header.index(k) for k in ("id", "recording", "file", "filename") if k in header), None)
    cls_col = next((header.index(k) for k in ("class", "type", "vessel_type", "category") if k in header), None)
    if key_col is None or cls_col is None:
        raise SpecError(f"ShipsEar class table {path}: header {rows[0]} needs an id (or file) column and a type "
                        "(or class) column, e.g. `id,type`")
    out: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(key_col, cls_col):
            raise SpecError(f"ShipsEar class table {path}, line {line}: {row} has too few columns")
        key, value = row[key_col].strip(), row[cls_col].strip()
        letter = value.upper() if value.upper() in letters else types.get(normalise(value))
        if letter is None:
            raise SpecError(f"ShipsEar class table {path}, line {line}: unknown vessel type {value!r}; known: "
                            f"{', '.join(sorted({t for ts in card.raw['classes'].values() for t in ts}))}, or a "
                            f"class letter {', '.join(sorted(letters))}")
        rid = recording_id(key) if not key.isdigit() else str(int(key))
        out[rid or key] = letter
    return out


def scan(card: DatasetCard, root: Path) -> Scan:
    labels = read_class_table(card, root)
    files = audio_files(root)
    if not files:
        raise SpecError(f"no recordings under {root}: ShipsEar files look like 6__10_06_13_marDeOnza_Sale.wav "
                        f"({root_hint(card)})")
    by_id: dict[str, Path] = {}
    excluded: dict[str, str] = {}
    for f in files:
        rid = recording_id(f.name) or f.name
        if rid in by_id:
            raise SpecError(f"two files for ShipsEar recording {rid}: {by_id[rid]} and {f}; keep one")
        by_id[rid] = f
    for rid, f in by_id.items():
        if rid not in labels and f.name not in labels:
            excluded[rel_path(f, root)] = "no row in the class table, so no label"
    missing = sorted(k for k in labels if k not in by_id and not any(f.name == k for f in by_id.values()))
    if missing:
        raise SpecError(f"the ShipsEar class table lists {len(missing)} recording(s) with no file under {root}: "
                        f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}. Add the files or drop "
                        "their rows")
    labelled = {rid: labels.get(rid, labels.get(f.name)) for rid, f in by_id.items()
                if rid in labels or f.name in labels}
    fractions = fractions_of(card, DEFAULT_FRACTIONS)
    seed = int(card.raw.get("seed", 0))
    assign: dict[str, str] = {}
    for stratum, letter in enumerate(sorted(card.raw["classes"])):
        ids = [rid for rid, lab in labelled.items() if lab == letter]
        assign.update(seeded_split(ids, fractions, seed, stratum))
    sources = [SourceFile(rel_path(by_id[rid], root), by_id[rid], assign[rid], f"recording {rid}", labelled[rid],
                          stem_of(rel_path(by_id[rid], root)))
               for rid in sorted(labelled, key=lambda r: rel_path(by_id[r], root))]
    rule = (f"{card.name} splits the recordings of each class at random (seed {seed}), "
            f"{describe_fractions(fractions)} (fractions); a class reaches test only with 2 or more recordings "
            "and valid only with 3 or more")
    return Scan(f"ShipsEar: {len(sources)} labelled recordings, split by recording within each class", sources,
                excluded, rule)
