"""Every page's numbers as JSON beside it (`leaderboard/<page>.json`), for scripts rather than eyes: one
object per leaderboard row (a method in one dataset, profile and protocol), with every metric's mean, 95 %
CI, spread across seeds or passes and significance mark, the seed and file counts, the cost columns and
the keys of the cells behind it. Non-finite numbers are null."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.core.files import atomic_write
from bench.report.board import ALL_METRICS, GROUP, Board, Entry

SCHEMA = 1


def _number(value: Any) -> Any:
    """JSON has no NaN: a missing or non-finite number is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def entry_row(dataset: str, group: tuple, entry: Entry) -> dict[str, Any]:
    """One page row: the entry of `dataset` in `group` (GROUP's fields), with everything the page shows."""
    metrics = {m: {"mean": _number(s.mean), "ci_lo": _number(s.lo), "ci_hi": _number(s.hi), "std": _number(s.std),
                   "mark": entry.marks.get(m)}
               for m in ALL_METRICS for s in [entry.stats[m]] if math.isfinite(s.mean)}
    return {"dataset": dataset, **dict(zip(GROUP, (_number(v) for v in group))), "method": entry.method,
            "external": entry.external is not None, "n_seeds": entry.n_seeds, "n_files": entry.n_files,
            "n_repeats": entry.n_repeats, "metrics": metrics,
            "unavailable": dict(entry.unavailable), "cost": {k: _number(v) for k, v in entry.cost.items()},
            "keys": list(entry.keys)}


def dataset_rows(board: Board, dataset: str) -> list[dict[str, Any]]:
    """Every row of `dataset`'s page, in page order (profile, then protocol group, then method)."""
    ok = board.table[(board.table["status"] == "ok") & (board.table["dataset"] == dataset)]
    groups = [g for g, _ in ok.groupby(GROUP, sort=True)]
    return [entry_row(dataset, tuple(g), e) for g in groups for e in board.entries(tuple(g), dataset)]


def write_json(path: Path, board: Board, rows: list[dict[str, Any]]) -> None:
    doc = {"schema": SCHEMA, "lsd_headline": board.lsd, "rows": rows}
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str)))
