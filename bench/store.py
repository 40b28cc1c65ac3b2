"""The results store: one folder per cell under the results root, atomic writes, collection.

    results/<key>/spec.json     resolved spec (method config and code hash included)
                  record.json   status, metrics, timings, provenance (written last: it marks done)
                  files.csv     per-file metrics
                  samples/      LR / SR / HR wavs of the first test files + a spectrogram PNG
                  log.txt
    results/results.csv         one row per cell (`collect`)
    results/.cache/             prepared corpora and LR/HR pairs (derived data, safe to delete)

Nothing is ever written outside the root; every write goes to a temp file renamed into place,
so a killed driver or worker never leaves a half-written file that looks finished.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from bench.metrics import METRIC_NAMES

STATUSES = ("ok", "failed", "infeasible", "timeout")
_KEY_RE = re.compile(r"^[0-9a-f]{16}$")

# The tidy table's leading columns, in this order; metric CI bounds and extras follow.
CSV_COLUMNS = ["method", "dataset", "scale", "low_sr", "target_sr", "lowpass", "profile", "seed", "status",
               *METRIC_NAMES, "params", "train_s", "infer_rtf", "device", "error", "key"]


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` then rename tmp over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str)))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


class Store:
    """The results root. Cell folders are named by their 16-hex-digit key and nothing else."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    @property
    def csv_path(self) -> Path:
        return self.root / "results.csv"

    def cell_dir(self, key: str) -> Path:
        if not _KEY_RE.match(key):  # keys come from sha256; anything else could escape the root
            raise ValueError(f"invalid cell key {key!r}: expected 16 lowercase hex digits")
        return self.root / key

    def read_record(self, key: str) -> dict[str, Any] | None:
        path = self.cell_dir(key) / "record.json"
        if not path.is_file():
            return None
        try:
            return read_json(path)
        except json.JSONDecodeError:
            return None  # cannot happen with atomic writes, but a hand-edited file must not crash a run

    def save_record(self, record: dict[str, Any]) -> None:
        if record["status"] not in STATUSES:
            raise ValueError(f"unknown status {record['status']!r}")
        write_json(self.cell_dir(record["key"]) / "record.json", record)

    def records(self) -> list[dict[str, Any]]:
        out = []
        if self.root.is_dir():
            for path in sorted(self.root.glob("*/record.json")):
                if _KEY_RE.match(path.parent.name):
                    rec = self.read_record(path.parent.name)
                    if rec is not None:
                        out.append(rec)
        return out

    def collect(self) -> pd.DataFrame:
        """Every record as one tidy row; also written to results/results.csv."""
        rows = [record_row(r) for r in self.records()]
        table = pd.DataFrame(rows)
        if table.empty:
            table = pd.DataFrame(columns=CSV_COLUMNS)
        extra = [c for c in table.columns if c not in CSV_COLUMNS]
        table = table.reindex(columns=CSV_COLUMNS + sorted(extra))
        table = table.sort_values(["dataset", "scale", "method", "profile", "seed"], kind="stable")
        atomic_write(self.csv_path, lambda tmp: table.to_csv(tmp, index=False))
        return table


def record_row(record: dict[str, Any]) -> dict[str, Any]:
    """Flatten a record.json into one results.csv row."""
    spec = record["spec"]
    proto = spec["protocol"]
    row: dict[str, Any] = {
        "method": spec["method"], "dataset": spec["dataset"], "scale": proto["scale"],
        "low_sr": proto["target_sr"] // proto["scale"], "target_sr": proto["target_sr"],
        "lowpass": proto["lowpass"], "profile": spec["profile"], "seed": spec["seed"],
        "status": record["status"], "key": record["key"],
        "error": record.get("error") or "",
        "device": record.get("provenance", {}).get("device"),
    }
    for name, agg in (record.get("metrics") or {}).items():
        row[name], row[f"{name}_lo"], row[f"{name}_hi"] = agg["mean"], agg["lo"], agg["hi"]
    for name in ("params", "train_s", "infer_rtf", "n_files", "wall_s", "steps_per_s", "best_valid_lsd", "best_step"):
        if name in record:
            row[name] = record[name]
    return row
