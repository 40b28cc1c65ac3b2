"""Manifests of real corpora: every file found, its split, and whether it is usable.

    <results>/.cache/manifests/<dataset>/manifest.csv   path (relative to the data root), split, group,
                                                        label, status (ok | bad | skipped), error,
                                                        seconds, sample_rate, channels, bytes,
                                                        mtime_ns, sha256
                                         manifest.json  data root, layout, what the protocol left out
                                         train.txt ...  the split lists (usable files, one per line)

Building one reads every file in full (unreadable, empty, all-zero, NaN/inf or wrong-rate audio is
`bad`); a rebuild re-reads only files whose size or modification time changed, so re-running is
fast. `bad` files stop `prepare` and `run` with the list; with `--skip-bad` they are `skipped`
instead, and every later load of the corpus leaves them out until they are fixed and the manifest
is rebuilt. Every file is written atomically: a killed prepare never leaves a half-written manifest.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.files import atomic_write
from bench.data.cards import DatasetCard, dataset_slug
from bench.data.corpus import SPLITS, scan
from bench.data.sources import SourceFile, read_source, resolve_root

COLUMNS = ["path", "split", "group", "label", "status", "error", "seconds", "sample_rate", "channels", "bytes",
           "mtime_ns", "sha256", "read_error"]
PROGRESS_EVERY_S = 10.0


@dataclass
class Manifest:
    card: DatasetCard
    root: Path
    layout: str
    rows: list[dict[str, Any]]
    excluded: dict[str, str] = field(default_factory=dict)
    reread: int = 0  # files read this time (the rest were unchanged since the last manifest)

    @property
    def bad(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] != "ok"]

    def split_rows(self, split: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["split"] == split and r["status"] == "ok"]


def manifest_dir(card: DatasetCard, cache_dir: Path) -> Path:
    return Path(cache_dir) / "manifests" / dataset_slug(card.name)


def read_rows(card: DatasetCard, cache_dir: Path) -> dict[str, dict[str, str]]:
    path = manifest_dir(card, cache_dir) / "manifest.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def skipped_files(card: DatasetCard, cache_dir: Path) -> frozenset[str]:
    """Relative paths `prepare --skip-bad` recorded as skipped for this corpus (left out of every split)."""
    return frozenset(p for p, row in read_rows(card, cache_dir).items() if row.get("status") == "skipped")


def _read(card: DatasetCard, source: SourceFile) -> dict[str, Any]:
    """What reading one file teaches: duration, rate, checksum, or the error that makes it bad."""
    row: dict[str, Any] = {"seconds": "", "sample_rate": "", "channels": "", "sha256": "", "read_error": ""}
    try:
        audio, sr = read_source(card, source)
        import soundfile as sf

        row.update(seconds=f"{len(audio) / sr:.3f}", sample_rate=sr, channels=sf.info(str(source.path)).channels)
        with source.path.open("rb") as fh:
            row["sha256"] = hashlib.file_digest(fh, "sha256").hexdigest()
    except Exception as exc:  # noqa: BLE001 - every problem with one file is that file's error
        row["read_error"] = str(exc)
    return row


def build_manifest(card: DatasetCard, cache_dir: Path, *, skip_bad: bool = False, min_sr: int = 0,
                   quiet: bool = False) -> Manifest:
    """Scan and validate every file of a real corpus, write the manifest and split lists."""
    root = resolve_root(card)
    found = scan(card)
    old = read_rows(card, cache_dir)
    rows, reread, last = [], 0, time.monotonic()
    for i, source in enumerate(found.files):
        st = source.path.stat()
        prev = old.get(source.rel)
        if prev and prev.get("bytes") == str(st.st_size) and prev.get("mtime_ns") == str(st.st_mtime_ns):
            facts = {k: prev.get(k, "") for k in ("seconds", "sample_rate", "channels", "sha256", "read_error")}
        else:
            facts = _read(card, source)
            reread += 1
        error = facts["read_error"]
        if not error and min_sr and int(facts["sample_rate"]) < min_sr:
            error = (f"audio file {source.path} is at {facts['sample_rate']} Hz, below the target rate {min_sr} Hz: "
                     f"remove it, or pick a lower --target-sr")
        rows.append({"path": source.rel, "split": source.split, "group": source.group, "label": source.label or "",
                     "status": ("skipped" if skip_bad else "bad") if error else "ok", "error": error,
                     "bytes": st.st_size, "mtime_ns": st.st_mtime_ns, **facts})
        if not quiet and time.monotonic() - last > PROGRESS_EVERY_S:
            print(f"  {card.name}: checked {i + 1}/{len(found.files)} files", file=sys.stderr)
            last = time.monotonic()
    manifest = Manifest(card, root, found.layout, rows, dict(found.excluded), reread)
    _write(manifest, cache_dir, skip_bad)
    return manifest


def _write(m: Manifest, cache_dir: Path, skip_bad: bool) -> None:
    folder = manifest_dir(m.card, cache_dir)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(m.rows)
    text = buf.getvalue()
    atomic_write(folder / "manifest.csv", lambda tmp: tmp.write_text(text))
    for split in SPLITS:
        listed = "".join(f"{r['path']}\n" for r in m.split_rows(split))
        atomic_write(folder / f"{split}.txt", lambda tmp, listed=listed: tmp.write_text(listed))
    meta = {"dataset": m.card.name, "kind": m.card.kind, "root": str(m.root), "layout": m.layout,
            "skip_bad": skip_bad, "excluded": m.excluded,
            "files": len(m.rows), "bad": len([r for r in m.rows if r["status"] == "bad"]),
            "skipped": len([r for r in m.rows if r["status"] == "skipped"])}
    atomic_write(folder / "manifest.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=2, sort_keys=True)))


def summary(m: Manifest) -> list[str]:
    """Lines for the terminal: files, hours and rates per split, what was left out."""
    segment = m.card.raw.get("segment_seconds")
    lines = [f"{m.card.name}: {m.layout}, root {m.root}"]
    for split in SPLITS:
        rows = m.split_rows(split)
        seconds = sum(float(r["seconds"]) for r in rows)
        groups = len({r["group"] for r in rows})
        rates = sorted({int(r["sample_rate"]) for r in rows})
        extra = ""
        if segment:
            n = sum(int(float(r["seconds"]) // float(segment)) for r in rows)
            extra = f", {n} segments of {float(segment):g} s"
        labels = sorted({r["label"] for r in rows if r["label"]})
        if labels:
            extra += f", classes {''.join(labels)}"
        lines.append(f"  {split:>5}: {len(rows):6d} files, {_duration(seconds)}, {groups} "
                     f"{_group_word(m.card)}{extra}, rates {', '.join(map(str, rates)) or '-'} Hz")
    if m.excluded:
        lines.append(f"  left out by the protocol: {len(m.excluded)} ({_short(m.excluded)})")
    skipped = [r for r in m.rows if r["status"] == "skipped"]
    if skipped:
        lines.append(f"  skipped (--skip-bad): {len(skipped)}: {', '.join(r['path'] for r in skipped[:10])}")
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:7.2f} h" if seconds >= 360 else f"{seconds / 60:7.2f} min"


def _group_word(card: DatasetCard) -> str:
    if card.kind.startswith("vctk"):
        return "utterances" if card.raw.get("split") == "paper" else "speakers"
    return "recordings" if card.kind == "shipsear" else "source files"


def _short(excluded: dict[str, str]) -> str:
    keys = list(excluded)
    return ", ".join(keys[:5]) + (" ..." if len(keys) > 5 else "")


def bad_lines(m: Manifest, cache_dir: Path, limit: int = 20) -> list[str]:
    """One line per bad file (the first `limit`), naming the file and what is wrong with it."""
    bad = [r for r in m.rows if r["status"] == "bad"]
    lines = [f"  {r['error'] if str(m.root) in r['error'] else r['path'] + ': ' + r['error']}" for r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more: see {manifest_dir(m.card, cache_dir) / 'manifest.csv'}")
    return lines
