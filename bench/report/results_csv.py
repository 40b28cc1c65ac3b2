"""results/results.csv: every record of the store flattened into one tidy row per cell.

The pages read this table (bench/report/board.py); users read the CSV. It keeps every cell the store
holds, superseded versions of a cell included.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from bench.core.files import atomic_write
from bench.core.store import Store
from bench.metrics.table import METRIC_NAMES, PERCEPTUAL_NAMES

# The tidy table's leading columns, in this order; metric CI bounds and extras follow.
def with_ci(names: list[str] | tuple[str, ...]) -> list[str]:
    """Each metric followed by its 95 % CI bounds: snr, snr_lo, snr_hi, lsd, ..."""
    return [col for name in names for col in (name, f"{name}_lo", f"{name}_hi")]


CSV_COLUMNS = ["method", "kind", "dataset", "scale", "low_sr", "target_sr", "lowpass", "profile", "seed", "status",
               *with_ci(METRIC_NAMES), "params", "train_s", "train_flops", "train_steps", "train_audio_s", "train_budget_flops",
               "infer_rtf", "device", "command", "error", "key"]


def record_row(record: dict[str, Any]) -> dict[str, Any]:
    """Flatten a record.json into one results.csv row."""
    spec = record["spec"]
    proto = spec["protocol"]
    row: dict[str, Any] = {
        "method": spec["method"], "kind": record.get("kind") or "suite", "dataset": spec["dataset"], "scale": proto["scale"],
        "low_sr": proto["target_sr"] // proto["scale"], "target_sr": proto["target_sr"],
        "lowpass": proto["lowpass"], "train_lowpass": proto.get("train_lowpass") or "",
        "profile": spec["profile"], "seed": spec["seed"],
        "status": record["status"], "key": record["key"],
        "error": record.get("error") or "",
        "device": record.get("provenance", {}).get("device"),
        "command": record.get("command") or "",
    }
    for name, agg in (record.get("metrics") or {}).items():
        row[name], row[f"{name}_lo"], row[f"{name}_hi"] = agg["mean"], agg["lo"], agg["hi"]
    for name in ("params", "train_s", "train_flops", "train_steps", "train_audio_s", "train_budget_flops", "infer_rtf",
                 "n_files", "wall_s", "steps_per_s", "best_valid_lsd", "best_step", "peak_rss_mb", "peak_cuda_mb"):
        if name in record:
            row[name] = record[name]
    return row


def collect(store: Store) -> pd.DataFrame:
    """Every record of `store` as one tidy row, sorted by dataset, R, method, profile and seed; also
    written (atomically) to the store's results.csv."""
    table = pd.DataFrame([record_row(r) for r in store.records()])
    if table.empty:
        table = pd.DataFrame(columns=CSV_COLUMNS)
    optional = with_ci([m for m in PERCEPTUAL_NAMES if m in table.columns])  # only metrics some cell has
    extra = [c for c in table.columns if c not in CSV_COLUMNS + optional]
    table = table.reindex(columns=CSV_COLUMNS[:CSV_COLUMNS.index("params")] + optional
                          + CSV_COLUMNS[CSV_COLUMNS.index("params"):] + sorted(extra))
    table = table.sort_values(["dataset", "scale", "method", "profile", "seed"], kind="stable")
    atomic_write(store.csv_path, lambda tmp: table.to_csv(tmp, index=False))
    return table
