"""Figures from results (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from scipy.signal import stft  # noqa: E402

from bench.store import atomic_write  # noqa: E402

Panel = tuple[str, np.ndarray, int]  # (title, audio (T,), sample rate)


def _log_spectrogram(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freqs, times, dB (F, N)) with a window of ~32 ms whatever the rate, so panels line up."""
    nperseg = 1 << int(np.round(np.log2(0.032 * sr)))
    f, t, z = stft(audio, fs=sr, nperseg=nperseg, noverlap=nperseg * 3 // 4)
    return f, t, 20 * np.log10(np.abs(z) + 1e-6)


def _save(fig: plt.Figure, path: Path) -> None:
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight"))
    plt.close(fig)


def spectrogram_figure(rows: Sequence[Sequence[Panel]], max_hz: float, path: Path, title: str = "") -> None:
    """A grid of spectrograms, one row per sequence of panels, all on a 0..max_hz axis
    (a low-rate panel shows its empty upper band as blank)."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 2.6 * n_rows), squeeze=False, layout="constrained",
                             sharey=True)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            if c >= len(row):
                ax.axis("off")
                continue
            name, audio, sr = row[c]
            f, t, db = _log_spectrogram(audio, sr)
            ax.pcolormesh(t, f / 1000, db, shading="auto", cmap="magma", vmin=db.max() - 90, vmax=db.max())
            ax.set_ylim(0, max_hz / 1000)
            ax.set_title(name, fontsize=9)
            if c == 0:
                ax.set_ylabel("kHz")
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def metric_vs_scale(table, metric: str, path: Path, title: str) -> None:
    """One line per method: `metric` (mean, with CI bars when present) against R."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for method, rows in table.groupby("method", sort=True):
        rows = rows.sort_values("scale")
        y = rows[metric].to_numpy(dtype=float)
        lo, hi = rows.get(f"{metric}_lo"), rows.get(f"{metric}_hi")
        err = None if lo is None else np.vstack([y - lo.to_numpy(float), hi.to_numpy(float) - y])
        ax.errorbar(rows["scale"], y, yerr=err, marker="o", capsize=3, label=method)
    ax.set_xlabel("upscaling ratio R")
    ax.set_ylabel(metric.upper().replace("_", "-"))
    ax.set_xticks(sorted(table["scale"].unique()))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    _save(fig, path)
