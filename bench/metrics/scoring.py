"""What a cell stores per test file and per cell: every metric of the table for each file (a metric that
fails is NaN with its reason, never 0), then the mean with a 95 % bootstrap CI over files.
"""
from __future__ import annotations

from typing import Any

from bench.metrics.inputs import ArrayLike
from bench.metrics.perceptual import PERCEPTUAL, perceptual_status
from bench.metrics.spectral import band_edges_hz, score
from bench.metrics.stats import bootstrap_ci
from bench.metrics.table import BAND_NAMES, METRIC_NAMES, N_BANDS, PERCEPTUAL_NAMES


def file_columns() -> list[str]:
    """The columns of a cell's files.csv, in order (perceptual ones only where installed)."""
    available = [n for n, why in perceptual_status().items() if why is None]
    return ["file", *METRIC_NAMES, *BAND_NAMES, *available, "error"]


def score_file(est: ArrayLike, ref: ArrayLike, low_sr: int, target_sr: int) -> dict[str, Any]:
    """Every per-file value a cell stores for one test file: METRIC_NAMES, BAND_NAMES, the installed
    perceptual metrics and ``error`` ("" when all scored). A metric that fails is NaN and its reason
    goes into ``error``; it never raises and never drops the others."""
    row: dict[str, Any] = {}
    errors = []
    try:
        scored = score(est, ref, low_sr, target_sr, bands=True)
        row.update({k: float(scored[k][0]) for k in (*METRIC_NAMES, *BAND_NAMES)})  # the table's order
    except Exception as exc:  # noqa: BLE001 - recorded, not raised
        row.update({k: float("nan") for k in (*METRIC_NAMES, *BAND_NAMES)})
        errors.append(f"{type(exc).__name__}: {exc}")
    for name, why in perceptual_status().items():
        if why is not None:
            continue
        try:
            row[name] = PERCEPTUAL[name](est, ref, target_sr)
        except Exception as exc:  # noqa: BLE001 - e.g. PESQ finds no utterance
            row[name] = float("nan")
            errors.append(f"{name}: {type(exc).__name__}: {exc}".splitlines()[0])
    row["error"] = "; ".join(errors)
    return row


def summarise_files(files, target_sr: int, seed: int = 0) -> dict[str, Any]:
    """A cell's record fields from its per-file table (a DataFrame with ``file_columns()``):

    ``metrics``: {name: {mean, lo, hi}} (95 % bootstrap CI over files) for METRIC_NAMES and the
    perceptual metrics present; ``lsd_bands``: the per-band LSD means and CIs with the band edges;
    ``unavailable_metrics``: {name: reason} for the perceptual metrics not installed.
    """
    def agg(name: str) -> dict[str, float]:
        mean, lo, hi = bootstrap_ci(files[name].to_numpy(), seed=seed)
        return {"mean": mean, "lo": lo, "hi": hi}

    status = perceptual_status()
    names = [n for n in (*METRIC_NAMES, *PERCEPTUAL_NAMES) if n in files.columns]
    bands = [agg(n) for n in BAND_NAMES if n in files.columns]
    out: dict[str, Any] = {"metrics": {n: agg(n) for n in names}}
    if len(bands) == N_BANDS:
        out["lsd_bands"] = {"convention": "nuwave", "edges_hz": band_edges_hz(target_sr),
                            **{k: [b[k] for b in bands] for k in ("mean", "lo", "hi")}}
    out["unavailable_metrics"] = {n: why for n, why in status.items() if why is not None and n not in files.columns}
    return out
