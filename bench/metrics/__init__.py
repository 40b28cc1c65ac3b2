"""Objective metrics for audio super-resolution, as a library and as the suite's scoring.

    table.py       METRICS: name -> title, direction, digits, LSD convention (what every page reads)
    inputs.py      what every metric accepts: (T,), (B, T) or (B, 1, T), numpy or torch, checked
    spectral.py    snr, lsd (three named conventions), lsd_hf, lsd_lf, lsd_bands, si_sdr, score
    perceptual.py  pesq_wb, stoi (optional packages)
    scoring.py     score_file, summarise_files, file_columns: what a cell stores
    stats.py       bootstrap CIs, the paired bootstrap test, spread over seeds

`bench.metrics.snr(est, ref)` and the other functions are importable from here; the functions load
torch on first use, so reading the table (the command line does) stays cheap.
"""
from __future__ import annotations

from typing import Any

from bench.metrics.table import (BAND_NAMES, LSD_COLUMN, LSD_CONVENTION, LSD_CONVENTIONS, METRIC_NAMES, METRICS,
                                 N_BANDS, PERCEPTUAL_NAMES, Metric)

_SPECTRAL = ("snr", "lsd", "lsd_hf", "lsd_lf", "lsd_bands", "si_sdr", "score", "band_bins", "band_edges_hz",
             "ssr_eval_stft")
_PERCEPTUAL = ("pesq_wb", "stoi", "perceptual_status", "NOT_INSTALLED")
_SCORING = ("score_file", "summarise_files", "file_columns")
_STATS = ("bootstrap_ci", "paired_bootstrap")

__all__ = ["BAND_NAMES", "LSD_COLUMN", "LSD_CONVENTION", "LSD_CONVENTIONS", "METRIC_NAMES", "METRICS", "N_BANDS",
           "PERCEPTUAL_NAMES", "Metric", *_SPECTRAL, *_PERCEPTUAL, *_SCORING, *_STATS]


def __getattr__(name: str) -> Any:
    """Load the module that defines `name` on first access (PEP 562)."""
    if name in _SPECTRAL:
        from bench.metrics import spectral as module
    elif name in _PERCEPTUAL:
        from bench.metrics import perceptual as module
    elif name in _SCORING:
        from bench.metrics import scoring as module
    elif name in _STATS:
        from bench.metrics import stats as module
    else:
        raise AttributeError(f"module 'bench.metrics' has no attribute {name!r}")
    return getattr(module, name)
