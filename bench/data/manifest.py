"""Manifests of real corpora: every file found, its split, and whether it is usable.

    <results>/.cache/manifests/<dataset>/manifest.csv   path (relative to the data root), split, group,
                                                        label, status (ok | bad | skipped), error,
                                                        seconds, sample_rate, channels, bytes,
                                                        mtime_ns, sha256
                                         manifest.json  data root, layout, what the protocol left out
                                         train.txt ...  the split lists (usable files, one per line)

Building one reads every file in full (unreadable, empty, truncated, all-zero, NaN/inf or wrong-rate
audio is `bad`); a rebuild re-reads only files whose size or modification time changed (all of them
when the code that judges a file changed), so re-running is fast. `bad` files stop `prepare` and `run`
with the list; with `--skip-bad` they are `skipped` instead (and listed), and every later load of the
corpus leaves them out until they are fixed and the manifest is rebuilt. A split left with no usable
item, by the corpus' split rule or by skipped files, stops both commands too (`empty_splits`). Every
file is written atomically: a killed prepare never leaves a half-written manifest.
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
from bench.core.hashing import code_hash
from bench.data.cards import DATASETS_DIR, FOLDER_PREFIX, REPO_DIR, DatasetCard, dataset_slug
from bench.data.corpus import SPLITS, scan
from bench.data.sources import SourceFile, base_name, read_source, resolve_root
from bench.signal.audio import audio_info

COLUMNS = ["path", "split", "group", "label", "status", "error", "seconds", "sample_rate", "channels", "bytes",
           "mtime_ns", "sha256", "read_error"]
PROGRESS_EVERY_S = 10.0
# The module that judges a file (read_source) and its import closure: facts recorded by other code
# are not reused, so a new check (e.g. truncation) reaches files an older manifest called ok.
CHECK_MODULES = ("bench.data.sources",)


@dataclass
class Manifest:
    card: DatasetCard
    root: Path
    layout: str
    rows: list[dict[str, Any]]
    excluded: dict[str, str] = field(default_factory=dict)
    reread: int = 0  # files read this time (the rest were unchanged since the last manifest)
    rule: str = ""   # the corpus' split rule, in words (Scan.rule)

    def with_status(self, status: str) -> list[dict[str, Any]]:
        """The rows of `status`: ok, bad (stops prepare/run) or skipped (left out, --skip-bad)."""
        return [r for r in self.rows if r["status"] == status]

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


def _reusable_rows(card: DatasetCard, cache_dir: Path) -> dict[str, dict[str, str]]:
    """The last manifest's rows, when the code that judged its files is the code running now."""
    meta = manifest_dir(card, cache_dir) / "manifest.json"
    try:
        checks = json.loads(meta.read_text()).get("checks")
    except (OSError, ValueError):
        return {}
    return read_rows(card, cache_dir) if checks == code_hash(CHECK_MODULES) else {}


def skipped_files(card: DatasetCard, cache_dir: Path) -> frozenset[str]:
    """Relative paths `prepare --skip-bad` recorded as skipped for this corpus (left out of every split)."""
    return frozenset(p for p, row in read_rows(card, cache_dir).items() if row.get("status") == "skipped")


def _read(card: DatasetCard, source: SourceFile) -> dict[str, Any]:
    """What reading one file teaches: duration, rate, checksum, or the error that makes it bad."""
    row: dict[str, Any] = {"seconds": "", "sample_rate": "", "channels": "", "sha256": "", "read_error": ""}
    try:
        audio, sr = read_source(card, source)
        row.update(seconds=f"{len(audio) / sr:.3f}", sample_rate=sr, channels=audio_info(source.path).channels)
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
    old = _reusable_rows(card, cache_dir)
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
                     f"remove it, pick a lower --target-sr, or leave the R that needs it out of --scales")
        rows.append({"path": source.rel, "split": source.split, "group": source.group, "label": source.label or "",
                     "status": ("skipped" if skip_bad else "bad") if error else "ok", "error": error,
                     "bytes": st.st_size, "mtime_ns": st.st_mtime_ns, **facts})
        if not quiet and time.monotonic() - last > PROGRESS_EVERY_S:
            print(f"  {card.name}: checked {i + 1}/{len(found.files)} files", file=sys.stderr)
            last = time.monotonic()
    manifest = Manifest(card, root, found.layout, rows, dict(found.excluded), reread, found.rule)
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
            "skip_bad": skip_bad, "excluded": m.excluded, "rule": m.rule, "checks": code_hash(CHECK_MODULES),
            "files": len(m.rows), "bad": len(m.with_status("bad")),
            "skipped": len(m.with_status("skipped"))}
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
        extra = f", {item_count(m, split)} segments of {float(segment):g} s" if segment else ""
        labels = sorted({r["label"] for r in rows if r["label"]})
        if labels:
            extra += f", classes {''.join(labels)}"
        lines.append(f"  {split:>5}: {len(rows):6d} files, {_duration(seconds)}, {groups} "
                     f"{_group_word(m.card)}{extra}, rates {', '.join(map(str, rates)) or '-'} Hz")
    if m.excluded:
        lines.append(f"  left out by the protocol: {len(m.excluded)} ({_short(m.excluded)})")
    skipped = m.with_status("skipped")
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


def item_count(m: Manifest, split: str) -> int:
    """Items the usable files of `split` make: one per file, or its whole segments when the card cuts them."""
    rows = m.split_rows(split)
    segment = m.card.raw.get("segment_seconds")
    if not segment:
        return len(rows)
    return sum(int(float(r["seconds"]) // float(segment)) for r in rows)


def unusable_lines(m: Manifest, cache_dir: Path, status: str = "bad", limit: int = 20) -> list[str]:
    """One line per file of `status` (bad or skipped; the first `limit`), naming the file and what is
    wrong with it, then how many more there are and where they are all listed."""
    rows = m.with_status(status)
    lines = [f"  {r['error'] if str(m.root) in r['error'] else r['path'] + ': ' + r['error']}" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more: see {manifest_dir(m.card, cache_dir) / 'manifest.csv'}")
    return lines


def empty_splits(m: Manifest) -> list[str]:
    """One sentence per split of `m` that has no usable item: which split, what emptied it, the fix."""
    counts = ", ".join(f"{s} {len(m.split_rows(s))}" for s in SPLITS)
    return [f"the {split} split of {m.card.name} is empty (usable files: {counts}): {_why_empty(m, split)}"
            for split in SPLITS if item_count(m, split) == 0]


def _why_empty(m: Manifest, split: str) -> str:
    listed = [r for r in m.rows if r["split"] == split]
    usable = m.split_rows(split)
    if not listed:
        return f"{m.rule}. Add files to the corpus{_setting_hint(m.card)}"
    if not usable:
        which = "its only file was" if len(listed) == 1 else f"all {len(listed)} of its files were"
        return f"{which} skipped as unusable (--skip-bad, listed above). Fix or replace them, or add files"
    segment = float(m.card.raw["segment_seconds"])
    return (f"its {len(usable)} usable file(s) are all shorter than the {segment:g} s segments the card cuts "
            "(segment_seconds). Add longer recordings")


def _setting_hint(card: DatasetCard) -> str:
    """', edit ... or pick ...': what a user can change besides the files (nothing for folder:PATH, which
    has no card file)."""
    if card.name.startswith(FOLDER_PREFIX):
        return ""
    path = DATASETS_DIR / f"{base_name(card.name)}.toml"
    where = path.relative_to(REPO_DIR) if path.is_file() else "its card"
    current = card.raw.get("split", "")
    others = [s for s in card.raw.get("split_protocols", []) if s != current]
    alternative = f", or pick another split protocol with --split {' or '.join(others)}" if others else ""
    return f", edit the settings in parentheses in {where}{alternative}"
