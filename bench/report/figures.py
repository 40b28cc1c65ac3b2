"""The figures of a dataset page: what each one shows, drawn by bench/report/plots.py into
leaderboard/plots/, and the markdown lines that embed them."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pandas as pd
import soundfile as sf

from bench.core.store import Store
from bench.data import dataset_slug
from bench.metrics.table import METRICS
from bench.report.board import (GROUP, Board, Robustness, _finite, anytime_leaders, enough_for_stats, group_label,
                                method_order, table_files)
from bench.report.plots import (Panel, anytime_figure, band_lsd_figure, cost_quality_figure, metric_vs_scale,
                                robustness_heatmap, spectrogram_figures)


def _stem(dataset: str, profile: str) -> str:
    """The file-name prefix of a page's figures (folder:PATH dataset names are not file names)."""
    return f"{dataset_slug(dataset)}-{profile}"


def _first_sample(store: Store, key: str) -> tuple[str, Path] | None:
    samples = sorted((store.cell_dir(key) / "samples").glob("*_lr.wav"))
    return (samples[0].name[: -len("_lr.wav")], samples[0].parent) if samples else None


def _spectrogram_grid(store: Store, ok: pd.DataFrame, path: Path, title: str) -> list[Path]:
    """One row per group: LR, HR and each method's estimate of the first test file, a method's column the
    same in every row, cut into figures of a few columns each (plots.spectrogram_figures, PATH-1.png, ...);
    return the figures drawn, none when no cell kept samples."""
    methods = method_order(ok["method"].unique())
    rows, labels, max_hz = [], [], 0.0
    for group, cells in ok.groupby(GROUP, sort=True):
        first = None
        estimates: dict[str, Panel] = {}
        for method in method_order(cells["method"].unique()):
            key = cells[cells["method"] == method].sort_values("seed", kind="stable")["key"].iloc[0]
            sample = _first_sample(store, key)
            if sample is None:
                continue
            item, folder = sample
            if first is None:
                first = (item, folder)
            est_path = folder / f"{first[0]}_sr.wav"
            if est_path.is_file():
                est, sr = sf.read(est_path, dtype="float32")
                estimates[method] = (method, est, sr)
        if first is None:
            continue
        item, folder = first
        lr, low_sr = sf.read(folder / f"{item}_lr.wav", dtype="float32")
        hr, target_sr = sf.read(folder / f"{item}_hr.wav", dtype="float32")
        max_hz = max(max_hz, target_sr / 2)
        rows.append([("LR", lr, low_sr), ("HR", hr, target_sr), *[estimates.get(m) for m in methods]])
        labels.append(group_label(group))
    shown = [c for c in range(len(rows[0])) if any(row[c] is not None for row in rows)] if rows else []
    rows = [[row[c] for c in shown] for row in rows]  # no column for a method with no sample anywhere
    return spectrogram_figures(rows, max_hz, path, title, row_labels=labels) if rows else []


def dataset_figures(board: Board, dataset: str, profile: str, groups: list[tuple], out_dir: Path) -> list[str]:
    """Draw the profile's figures; return the markdown lines that show them."""
    stem = _stem(dataset, profile)
    lines = []
    points = []  # (method, scale, metric stats) for the vs-R plots
    for group in groups:
        entries = board.entries(group, dataset)
        # Too few test files: no CI bars either, as in the tables.
        shown = ("mean", "lo", "hi") if enough_for_stats(table_files(entries)) else ("mean",)
        for e in entries:
            points.append({"method": e.method, "scale": group[1],
                           **{f"{m}{s}": getattr(e.stats[m], a) if a in shown else float("nan")
                              for m in ("snr", board.lsd_col)
                              for s, a in (("", "mean"), ("_lo", "lo"), ("_hi", "hi"))}})
    table = pd.DataFrame(points)
    for metric, name in ((board.lsd_col, "lsd"), ("snr", "snr")):
        label = METRICS[metric].title
        metric_vs_scale(table, metric, out_dir / "plots" / f"{stem}-{name}.png",
                        f"{dataset} ({profile}): {label} vs R (95 % CI over files)", ylabel=label,
                        higher_is_better=METRICS[metric].higher_is_better)
        lines += [f"![{label} vs R](plots/{stem}-{name}.png)", ""]
    band_groups, cost_groups = [], []
    for group in groups:
        entries = board.entries(group, dataset)
        curves = {e.method: e.bands[1] for e in entries if e.bands}
        edges = next((e.bands[0] for e in entries if e.bands), None)
        if curves and edges:
            band_groups.append((group_label(group), edges, curves, group[2] / 2))
        pts = [(e.method, e.cost["infer_rtf"], e.stats[board.lsd_col].mean) for e in entries
               if _finite(e.cost["infer_rtf"]) and e.cost["infer_rtf"] > 0 and _finite(e.stats[board.lsd_col].mean)]
        if pts:
            cost_groups.append((group_label(group), pts))
    if band_groups:
        band_lsd_figure(band_groups, out_dir / "plots" / f"{stem}-bands.png",
                        f"{dataset} ({profile}): {METRICS['lsd'].title} per frequency band")
        lines += ["LSD per frequency band (8 equal bands up to the target Nyquist; dashed: the low-rate Nyquist, "
                  "above which the input is empty):", "", f"![LSD per band](plots/{stem}-bands.png)", ""]
    if cost_groups:
        cost_quality_figure(cost_groups, out_dir / "plots" / f"{stem}-cost.png",
                            f"{dataset} ({profile}): quality vs inference cost", ylabel=METRICS[board.lsd_col].title)
        lines += ["Quality vs inference cost (real-time factor on each cell's own device, log scale; the line "
                  "joins the Pareto-optimal methods):", "", f"![quality vs cost](plots/{stem}-cost.png)", ""]
    grid = out_dir / "plots" / f"{stem}-spectrograms.png"
    ok = board.table[(board.table["status"] == "ok") & (board.table["dataset"] == dataset)
                     & (board.table["profile"] == profile)]
    drawn = _spectrogram_grid(board.store, ok, grid, f"{dataset} ({profile}): first test file")
    for stale in set(grid.parent.glob(f"{grid.stem}*.png")) - set(drawn):  # parts of an earlier, wider grid
        stale.unlink()
    if drawn:
        lines += ["Spectrograms of the first test file (LR and HR repeated in each figure):", ""]
        lines += [line for i, p in enumerate(drawn, 1) for line in (f"![spectrograms {i}](plots/{p.name})", "")]
    return lines + anytime_lines(board, dataset, profile, groups, out_dir)


def _fraction(f: float) -> str:
    return str(Fraction(f).limit_denominator(64))


def anytime_lines(board: Board, dataset: str, profile: str, groups: list[tuple], out_dir: Path) -> list[str]:
    """Validation LSD at fractions of the training budget: draw the figure, return it and, per group, the
    method(s) with the lowest value at each fraction; nothing when no record logged such snapshots."""
    panels, leaders = [], []
    for group in groups:
        entries = [e for e in board.entries(group, dataset) if e.anytime]
        curves = {e.method: [p for _, p in sorted(e.anytime.items()) if p[0] > 0] for e in entries}
        curves = {m: pts for m, pts in curves.items() if pts}  # log x: a snapshot at 0 FLOPs cannot be drawn
        if curves:
            panels.append((group_label(group), curves))
        if entries:
            leaders.append(f"- {group_label(group)}: "
                           + ", ".join(f"{_fraction(f)} {' = '.join(ms)}" for f, ms in anytime_leaders(entries)))
    if not leaders:
        return []
    path = out_dir / "plots" / f"{_stem(dataset, profile)}-anytime.png"
    lines = ["Validation LSD (`nuwave`, on the valid split: not the test score) against the training FLOPs spent, "
             "mean over seeds. The points are snapshots of one training whose learning-rate schedule spans the "
             "whole budget, taken at 1/8, 1/4, 1/2 and all of it (not separate shorter trainings).", ""]
    if panels:
        anytime_figure(panels, path, f"{dataset} ({profile}): validation LSD vs training FLOPs",
                       ylabel="validation LSD (nuwave)")
        lines += [f"![validation LSD vs training FLOPs](plots/{path.name})", ""]
    return lines + ["Lowest validation LSD at each fraction of the training budget:", "", *leaders, ""]


def robustness_figure(rob: Robustness, dataset: str, profile: str, out_dir: Path) -> list[str]:
    """Draw one trained-on filter's heat map; return the markdown lines that show it."""
    stem = f"{_stem(dataset, profile)}-robustness-R{rob.scale}-{rob.target_sr}-{rob.train}"
    robustness_heatmap(rob.values, rob.methods, rob.filters, out_dir / "plots" / f"{stem}.png",
                       f"{dataset}: trained on {rob.train}, R={rob.scale}")
    return [f"![filter robustness](plots/{stem}.png)", ""]
