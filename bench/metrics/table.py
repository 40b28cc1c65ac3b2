"""The metrics table: one row per metric a cell scores, read by scoring, pages, plots and results.csv.

Adding a metric is its function (spectral.py or perceptual.py, or a module of its own) plus one row
here; `tests/contract/test_registries.py` fails when a scored metric has no row. This module imports
nothing heavy, so the command line can list conventions without importing torch.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """How a metric is named, ranked and printed everywhere."""

    name: str                      # the column in files.csv, records and results.csv
    title: str                     # page and plot label, without the direction arrow
    higher_is_better: bool
    digits: int                    # decimals on pages
    kind: str = "tensor"           # tensor: always scored (spectral.py); perceptual: only where installed
    lsd_convention: str | None = None  # the named LSD convention an LSD column measures

    @property
    def heading(self) -> str:
        return f"{self.title} {'↑' if self.higher_is_better else '↓'}"


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("snr", "SNR (dB)", True, 2),
    Metric("lsd", "LSD (nuwave)", False, 3, lsd_convention="nuwave"),
    Metric("lsd_hf", "LSD-HF (nuwave)", False, 3),
    Metric("lsd_lf", "LSD-LF (nuwave)", False, 3),
    Metric("si_sdr", "SI-SDR (dB)", True, 2),
    Metric("lsd_kuleshov", "LSD (kuleshov)", False, 3, lsd_convention="kuleshov"),
    Metric("lsd_ssr_eval", "LSD (ssr_eval)", False, 3, lsd_convention="ssr_eval"),
    Metric("pesq", "PESQ-WB", True, 2, kind="perceptual"),
    Metric("stoi", "STOI", True, 3, kind="perceptual"),
]}

METRIC_NAMES = tuple(n for n, m in METRICS.items() if m.kind == "tensor")
PERCEPTUAL_NAMES = tuple(n for n, m in METRICS.items() if m.kind == "perceptual")
LSD_COLUMN = {m.lsd_convention: n for n, m in METRICS.items() if m.lsd_convention}
LSD_CONVENTIONS = tuple(LSD_COLUMN)
LSD_CONVENTION = "nuwave"  # the default headline
# Per-band LSD detail columns of files.csv (not ranked on their own: the band plot draws them).
N_BANDS = 8
BAND_NAMES = tuple(f"lsd_band{i}" for i in range(N_BANDS))
