"""Figures from results (matplotlib, Agg backend: no display needed), each answering one question for a
reader of a paper.

A method is drawn alike in every figure (bench/report/plot_style.py): the parameter-free rows, the
references, in greys told apart by line style and marker, each learned method in a colour of its own. Line
figures put their legend outside the axes; the metric-vs-R and per-band ones scale their y axis to the
learned methods: a parameter-free curve worse than all of them leaves the axes at an arrow and is named,
with its extreme value, above the panel. Every public figure function is `@content_cached`
(bench/report/figure_cache.py): an unchanged figure is not drawn again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, NullFormatter  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402
from scipy.signal import stft  # noqa: E402

from bench.report.figure_cache import save_png, content_cached  # noqa: E402
from bench.report.label_placement import place_labels  # noqa: E402
from bench.report.plot_style import (Curve, clip_parameter_free, title_and_legend, method_styles,  # noqa: E402
                                     parameter_free)

Panel = tuple[str, np.ndarray, int]  # (title, audio (T,), sample rate)
Bar = tuple[str, float, float, float]  # (test input, accuracy, 95 % CI low, high; NaN: no CI shown)
SPECTROGRAM_COLUMNS = 6  # panels side by side in one spectrogram figure: more is illegible at page width


def _log_spectrogram(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(freqs, times, dB (F, N)) with a window of ~32 ms whatever the rate, so panels line up. The STFT's
    "spectrum" scaling divides by the window's sum, so levels compare across rates."""
    nperseg = 1 << int(np.round(np.log2(0.032 * sr)))
    f, t, z = stft(audio, fs=sr, nperseg=nperseg, noverlap=nperseg * 3 // 4)
    return f, t, 20 * np.log10(np.abs(z) + 1e-6)


_DB_RANGE = 80  # dB below a figure's loudest bin that its colour scale spans


@content_cached
def spectrogram_figure(rows: Sequence[Sequence[Panel | None]], max_hz: float, path: Path, title: str = "",
                       row_labels: Sequence[str] = ()) -> None:
    """What does each method put into the empty upper band? A grid of spectrograms, columns aligned across
    rows (None: no panel there) and titled by their first panel, all on a 0..max_hz axis (a low-rate panel
    shows its empty upper band as blank) and on one colour scale (dB below the figure's loudest bin)."""
    spectra = [[None if p is None else (p[0], *_log_spectrogram(p[1], p[2])) for p in row] for row in rows]
    loudest = max(p[3].max() for row in spectra for p in row if p is not None)
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols + 1.2, 1.6 * n_rows + 0.7), squeeze=False,
                             layout="constrained", sharex=True, sharey=True)
    image = None
    for r, row in enumerate(spectra):
        for c, ax in enumerate(axes[r]):
            panel = row[c] if c < len(row) else None
            if panel is None:
                ax.axis("off")
                continue
            _, f, t, db = panel
            image = ax.pcolormesh(t, f / 1000, db - loudest, shading="auto", cmap="magma", vmin=-_DB_RANGE, vmax=0)
            ax.tick_params(labelsize=8)
        label = row_labels[r] if r < len(row_labels) else ""
        axes[r][0].set_ylabel(f"{label}\nfrequency (kHz)" if label else "frequency (kHz)", fontsize=8)
    for c in range(n_cols):
        name = next((p[0] for row in spectra if c < len(row) and (p := row[c]) is not None), "")
        axes[0][c].set_title(name, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    axes[0][0].set_ylim(0, max_hz / 1000)
    bar = fig.colorbar(image, ax=axes, aspect=12 * n_rows, pad=0.01)
    bar.set_label("level (dB re. loudest bin)", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    save_png(fig, path)


def split_columns(rows: Sequence[Sequence[Panel | None]], fixed: int,
                  max_cols: int = SPECTROGRAM_COLUMNS) -> list[list[list[Panel | None]]]:
    """Rows of aligned columns cut into figures of at most `max_cols` columns: the first `fixed` columns (the
    references) repeat in each, so that every figure reads on its own, and the others are shared out evenly."""
    n_cols = max(len(r) for r in rows)
    others = np.arange(fixed, n_cols)
    n_figures = max(1, -(-len(others) // (max_cols - fixed)))
    return [[[row[c] if c < len(row) else None for c in [*range(fixed), *chunk]] for row in rows]
            for chunk in np.array_split(others, n_figures)]


def spectrogram_figures(rows: Sequence[Sequence[Panel | None]], max_hz: float, path: Path, title: str,
                        row_labels: Sequence[str] = (), fixed: int = 2) -> list[Path]:
    """`spectrogram_figure` over split_columns(rows, fixed): PATH-1.png, PATH-2.png, ...; return their paths."""
    figures = split_columns(rows, fixed)
    paths = [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, len(figures) + 1)]
    for i, (part, out) in enumerate(zip(figures, paths), 1):
        suffix = f" ({i}/{len(figures)})" if len(figures) > 1 else ""
        spectrogram_figure(part, max_hz=max_hz, path=out, title=title + suffix, row_labels=row_labels)
    return paths


def _dodge(methods: Sequence[str], step: float) -> dict[str, float]:
    """A small x shift per method, so that CI bars at one x do not hide each other."""
    width = 0.3 * step
    n = len(methods)
    return {m: width * (i / (n - 1) - 0.5) if n > 1 else 0.0 for i, m in enumerate(methods)}


@content_cached
def metric_vs_scale(table, metric: str, path: Path, title: str, ylabel: str | None = None,
                    higher_is_better: bool = False) -> None:
    """How does each method's `metric` degrade with R? One line per method (mean, with CI bars when present)."""
    fig, ax = plt.subplots(figsize=(6.2, 4.0), layout="constrained")
    methods = list(dict.fromkeys(table["method"]))  # the table's order: the registry's
    styles = method_styles(methods)
    scales = np.sort(table["scale"].unique()).astype(float)
    shift = _dodge(methods, float(np.min(np.diff(scales))) if len(scales) > 1 else 1.0)
    reach: dict[str, Curve] = {}  # what the y axis must show: a learned curve with its CI bars
    for method, rows in table.groupby("method", sort=False):
        rows = rows.sort_values("scale")
        x, y = rows["scale"].to_numpy(dtype=float), rows[metric].to_numpy(dtype=float)
        lo, hi = rows.get(f"{metric}_lo"), rows.get(f"{metric}_hi")
        err = None
        if lo is not None and hi is not None:
            err = np.vstack([y - lo.to_numpy(float), hi.to_numpy(float) - y])
            err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        s = styles[method]
        ax.errorbar(x + shift[method], y, yerr=err, marker=s.marker, markersize=4.5, linestyle=s.linestyle,
                    color=s.color, capsize=2, linewidth=1.4, elinewidth=0.9)
        worse_end = y if err is None or parameter_free(method) else (y - err[0] if higher_is_better else y + err[1])
        reach[method] = (x + shift[method], worse_end)
    ax.set_xlabel("upscaling ratio R")
    ax.set_ylabel(ylabel or metric.upper().replace("_", "-"))
    ax.set_xticks(scales, [f"{v:g}" for v in scales])
    ax.grid(alpha=0.3)
    ax.set_title(clip_parameter_free(ax, reach, higher_is_better), fontsize=8)
    title_and_legend(fig, title, styles)
    save_png(fig, path)


@content_cached
def band_lsd_figure(groups, path: Path, title: str) -> None:
    """Where in frequency does each method err? Per-band LSD, one subplot per group: ``groups`` = [(label,
    edges_hz (n+1), {method: LSD per band (n)}, low-rate Nyquist in Hz)]. Each method is a step curve over
    the bands with a marker at each band's centre; the dashed line marks where the low-rate input ends."""
    styles = method_styles(dict.fromkeys(m for _, _, curves, _ in groups for m in curves))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups) + 1.6, 3.8), squeeze=False,
                             layout="constrained")
    for ax, (label, edges, curves, nyquist) in zip(axes[0], groups):
        edges_khz = np.asarray(edges, dtype=float) / 1000
        centres = (edges_khz[:-1] + edges_khz[1:]) / 2
        for method, values in curves.items():
            v, s = np.asarray(values, dtype=float), styles[method]
            ax.stairs(v, edges_khz, baseline=None, color=s.color, linestyle=s.linestyle, linewidth=1.4)
            ax.plot(centres, v, linestyle="none", marker=s.marker, markersize=3.5, color=s.color)
        ax.axvline(nyquist / 1000, color="0.3", linestyle="--", linewidth=1)
        ax.set_xlim(edges_khz[0], edges_khz[-1])
        ax.set_xlabel("frequency band (kHz)")
        ax.grid(alpha=0.3)
        note = clip_parameter_free(ax, {m: (centres, np.asarray(v, dtype=float)) for m, v in curves.items()})
        ax.set_title(f"{label}\n{note}" if note else label, fontsize=9)
    axes[0][0].set_ylabel("LSD (nuwave) in band")
    title_and_legend(fig, title, styles)
    save_png(fig, path)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated in (cost lower, value lower), ordered by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], np.inf
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def _log_x(ax: plt.Axes, values: Sequence[float]) -> None:
    """A log x axis whose labels cannot overprint: a tick per decade when the values span more than two,
    at 1-2-5 otherwise; plain numbers where they are short, powers of ten elsewhere; minor ticks unlabelled."""
    lo, hi = float(np.min(values)), float(np.max(values))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if hi / lo > 100 else (1.0, 2.0, 5.0)))
    plain = 1e-3 <= lo and hi < 1e4
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}") if plain
                                 else LogFormatterSciNotation(labelOnlyBase=False))
    ax.xaxis.set_minor_formatter(NullFormatter())


@content_cached
def cost_quality_figure(groups, path: Path, title: str, ylabel: str) -> None:
    """What quality does each inference cost buy? Quality vs inference cost, one subplot per group:
    ``groups`` = [(label, [(method, rtf, value)])], lower value is better. Log-x scatter, each point
    labelled where no label overlaps another, the Pareto front joined."""
    styles = method_styles(dict.fromkeys(m for _, pts in groups for m, _, _ in pts))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.0 * len(groups), 4.4), squeeze=False, layout="constrained")
    points = [[(float(x), float(y)) for _, x, y in pts] for _, pts in groups]
    for ax, (label, pts), xy in zip(axes[0], groups, points):
        for (method, _, _), (x, y) in zip(pts, xy):
            s = styles[method]
            ax.scatter([x], [y], color=s.color, marker=s.marker, s=30, zorder=3, edgecolors="0.2", linewidths=0.4)
        front = pareto_front(xy)
        ax.plot([xy[i][0] for i in front], [xy[i][1] for i in front], color="0.4", linewidth=1, zorder=2)
        _log_x(ax, [x for x, _ in xy])
        ax.margins(x=0.15, y=0.1)
        ax.set_xlabel("inference real-time factor (log)")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, which="major")
    axes[0][0].set_ylabel(ylabel)
    fig.suptitle(title, fontsize=10)
    fig.canvas.draw()  # the final layout, then frozen: labels are placed in display pixels
    fig.set_layout_engine("none")
    for ax, (_, pts), xy in zip(axes[0], groups, points):
        place_labels(ax, xy, [m for m, _, _ in pts], avoid=ax.lines)
    save_png(fig, path)


@content_cached
def robustness_heatmap(values: np.ndarray, methods: Sequence[str], filters: Sequence[str], path: Path,
                       title: str) -> None:
    """Does a model trained with one anti-alias filter hold up under the others? Heat map of LSD (methods x
    test filters, NaN = missing), numbers printed in every cell, each method keyed by its marker."""
    fig, ax = plt.subplots(figsize=(1.3 * len(filters) + 2.8, 0.45 * len(methods) + 1.6), layout="constrained")
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis_r", aspect="auto")
    ax.set_xticks(range(len(filters)), [f"test {f}" for f in filters], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(methods)), list(methods), fontsize=8)
    ax.tick_params(axis="y", length=0, pad=14)  # room for the markers between the names and the cells
    beside = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-7, units="points")  # 7 pt left of the cells
    for i, s in enumerate(method_styles(methods).values()):
        ax.plot([0], [i], transform=beside, marker=s.marker, color=s.color, markersize=6, clip_on=False)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            light = image.norm(v) < 0.5  # viridis_r is light at the low end: dark text there
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="black" if light else "white")
    fig.colorbar(image, ax=ax, label="LSD (lower is better)")
    ax.set_title(title, fontsize=9)
    save_png(fig, path)


@content_cached
def anytime_figure(groups, path: Path, title: str, ylabel: str) -> None:
    """How fast does each learned method get good? Validation LSD against training FLOPs (log x, in TFLOP),
    one subplot per group: ``groups`` = [(label, {method: [(flops, valid LSD)] in budget order})]; one line
    per method, a marker per snapshot."""
    styles = method_styles(dict.fromkeys(m for _, curves in groups for m in curves))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups) + 1.6, 3.8), squeeze=False,
                             layout="constrained")
    for ax, (label, curves) in zip(axes[0], groups):
        tflop = []
        for method, points in curves.items():
            x, y = np.asarray(points, dtype=float).T
            s = styles[method]
            ax.plot(x / 1e12, y, marker=s.marker, markersize=4, color=s.color, linestyle=s.linestyle, linewidth=1.4)
            tflop += list(x / 1e12)
        _log_x(ax, tflop)
        ax.set_xlabel("training TFLOP (log)")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel(ylabel)
    title_and_legend(fig, title, styles)
    save_png(fig, path)


@content_cached
def accuracy_bars(hr: Bar | None, lr: Bar | None, methods: Sequence[Bar], path: Path, title: str) -> None:
    """Does SR help the classifier? Its accuracy per test input (a bar each, 95 % CI whiskers) between its
    accuracy on LR (lower bound) and on HR (upper bound) input, drawn as horizontal reference lines."""
    refs = [(b, color, hatch, line) for b, color, hatch, line in ((hr, "black", "//", "--"), (lr, "0.45", "..", ":"))
            if b is not None]
    bars = [b for b, *_ in refs] + list(methods)
    styles = method_styles(name for name, *_ in methods)
    fig, ax = plt.subplots(figsize=(0.42 * len(bars) + 3.0, 4.0), layout="constrained")
    x = np.arange(len(bars))
    acc = np.array([b[1] for b in bars], dtype=float)
    ci = np.array([b[2:] for b in bars], dtype=float).T
    ax.bar(x, acc, width=0.7, yerr=np.where(np.isfinite(ci), np.abs(ci - acc), 0), capsize=2,
           color=["white"] * len(refs) + [styles[b[0]].color for b in methods],
           edgecolor=[color for _, color, _, _ in refs] + ["0.2"] * len(methods),
           hatch=[hatch for _, _, hatch, _ in refs] + [None] * len(methods), linewidth=0.8,
           error_kw=dict(elinewidth=0.9, ecolor="0.2"))
    for b, color, _, line in refs:
        ax.axhline(b[1], color=color, linestyle=line, linewidth=1.2, label=f"{b[0]}: {b[1]:.3f}", zorder=3)
    ax.set_xticks(x, [b[0] for b in bars], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy (95 % CI)")
    ax.grid(alpha=0.3, axis="y")
    if refs:
        fig.legend(loc="outside right upper", fontsize=8, frameon=False, title="reference lines", title_fontsize=8)
    ax.set_title(title, fontsize=10)
    save_png(fig, path)


@content_cached
def confusion_grid(panels: Sequence[tuple[str, np.ndarray]], classes: Sequence[str], path: Path, title: str) -> None:
    """Which classes does each input confuse? Confusion matrices side by side: ``panels`` = [(title, counts
    (C, C), rows true, columns predicted)], each shown as row-normalised recall (colour) with the counts printed."""
    n = len(panels)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows + 0.4), squeeze=False, layout="constrained")
    ticks = range(len(classes))
    for ax, (name, cm) in zip(axes.flat, panels):
        cm = np.asarray(cm)
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.5 else "black")
        ax.set_xticks(ticks, classes, fontsize=7)
        ax.set_yticks(ticks, classes, fontsize=7)
        acc = np.trace(cm) / max(cm.sum(), 1)
        ax.set_title(f"{name}\nacc {acc:.3f}", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("true", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("predicted", fontsize=8)
    fig.suptitle(title, fontsize=10, y=1.04)  # above the two-line panel titles
    save_png(fig, path)
