"""Leaderboard pages and plots, built from the results store alone (never from a live run).

    leaderboard/README.md        the seed paper's Table 1 shape: methods grouped by R, datasets x (SNR, LSD)
    leaderboard/<dataset>.md     every metric with 95 % bootstrap CIs, cost columns, failed cells
    leaderboard/plots/*.png      LSD / SNR vs R per method, spectrogram grid LR | HR | each method
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from bench.store import Store, atomic_write
from methods import method_names

GROUP = ["profile", "scale", "low_sr", "target_sr", "lowpass"]
HIGHER_IS_BETTER = {"snr": True, "si_sdr": True, "lsd": False, "lsd_hf": False, "lsd_lf": False}
TITLES = {"snr": "SNR (dB) ↑", "lsd": "LSD ↓", "lsd_hf": "LSD-HF ↓", "lsd_lf": "LSD-LF ↓", "si_sdr": "SI-SDR (dB) ↑"}
DIGITS = {"snr": 2, "si_sdr": 2, "lsd": 3, "lsd_hf": 3, "lsd_lf": 3}
UNPROCESSED = "spline"  # the row that scores the unprocessed (interpolated) input

CONVENTIONS = """\
**Protocol.** HR = corpus audio resampled to the target rate. LR = anti-alias low-pass, then every R-th
sample (`cheby1`: Chebyshev I, order 8, 0.05 dB ripple, cut-off at the low-rate Nyquist, zero-phase).
Each method receives LR at its own rate and returns the target-rate estimate.

**Metrics**, per test file, then the mean over files (95 % percentile-bootstrap CI on dataset pages):
SNR = 20·log10(‖y‖ / ‖y − ŷ‖) dB. LSD in the NU-Wave convention: STFT n_fft 2048, hop 512, periodic Hann,
centered reflect padding; log10 of power clamped at 1e-8; root-mean-square over frequency, mean over frames.
LSD-HF / LSD-LF: the same over bins above / below int(1025·low_sr/target_sr). SI-SDR: scale-invariant SDR.
`spline` is the unprocessed input (cubic-spline interpolation); `noisefill` and `sbr` are parameter-free
bandwidth extension: LSD rewards any energy in the empty band, so a learned method shows learning only
where it beats them too. Best value per column and R in **bold**."""


def _method_order(names) -> list[str]:
    registered = method_names()
    return sorted(names, key=lambda m: (registered.index(m) if m in registered else len(registered), m))


def _fmt(value: float, digits: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _group_label(group: tuple) -> str:
    profile, scale, low_sr, target_sr, lowpass = group
    return f"R={scale} ({low_sr / 1000:g}→{target_sr / 1000:g} kHz, {lowpass})"


def aggregate(ok: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (group, dataset, method); `n_seeds` counts them."""
    keys = GROUP + ["dataset", "method"]
    numeric = [c for c in ok.columns if c not in keys and pd.api.types.is_numeric_dtype(ok[c])]
    agg = ok.groupby(keys, as_index=False)[numeric].mean()
    agg["n_seeds"] = ok.groupby(keys).size().to_numpy()
    agg["device"] = ok.groupby(keys)["device"].first().to_numpy()
    return agg


def _best(values: pd.Series, metric: str) -> float:
    return values.max() if HIGHER_IS_BETTER[metric] else values.min()


def _cell_text(rows: pd.DataFrame, row: pd.Series, metric: str, with_ci: bool) -> str:
    text = _fmt(row[metric], DIGITS[metric])
    if with_ci and f"{metric}_lo" in row and not np.isnan(row[f"{metric}_lo"]):
        d = DIGITS[metric]
        text += f" [{_fmt(row[f'{metric}_lo'], d)}, {_fmt(row[f'{metric}_hi'], d)}]"
    finite = rows[metric].replace([np.inf, -np.inf], np.nan).dropna()
    if not finite.empty and row[metric] == _best(finite, metric):
        text = f"**{text}**"
    return text


def headline(agg: pd.DataFrame, datasets: list[str]) -> str:
    """Table 1 shape: rows = methods grouped by R, columns = datasets x (SNR, LSD)."""
    header = ["R", "method"] + [f"{d} {TITLES[m]}" for d in datasets for m in ("snr", "lsd")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group, rows in agg.groupby(GROUP, sort=True):
        for i, method in enumerate(_method_order(rows["method"].unique())):
            cells = [_group_label(group) if i == 0 else "", method]
            for d in datasets:
                col = rows[rows["dataset"] == d]
                hit = col[col["method"] == method]
                for m in ("snr", "lsd"):
                    cells.append(_cell_text(col, hit.iloc[0], m, with_ci=False) if len(hit) else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dataset_table(rows: pd.DataFrame) -> str:
    metrics = list(TITLES)
    header = ["method", *[TITLES[m] for m in metrics], "params", "train (s)", "infer RTF", "files", "seeds", "device"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in _method_order(rows["method"].unique()):
        row = rows[rows["method"] == method].iloc[0]
        name = f"{method} (unprocessed input)" if method == UNPROCESSED else method
        cells = [name, *[_cell_text(rows, row, m, with_ci=True) for m in metrics],
                 f"{int(row['params']):,}", _fmt(row["train_s"], 1), _fmt(row["infer_rtf"], 4),
                 f"{int(row['n_files'])}", f"{int(row['n_seeds'])}", str(row["device"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _failed_section(bad: pd.DataFrame) -> str:
    if bad.empty:
        return "No failed or infeasible cells."
    lines = ["| method | R | profile | status | error | key |", "|---|---|---|---|---|---|"]
    for _, r in bad.sort_values(["scale", "method"]).iterrows():
        error = str(r["error"]).replace("|", "\\|")
        lines.append(f"| {r['method']} | {r['scale']} | {r['profile']} | {r['status']} | {error} | `{r['key']}` |")
    return "\n".join(lines)


def _first_sample(store: Store, key: str) -> tuple[str, Path] | None:
    samples = sorted((store.cell_dir(key) / "samples").glob("*_lr.wav"))
    return (samples[0].name[: -len("_lr.wav")], samples[0].parent) if samples else None


def _spectrogram_grid(store: Store, ok: pd.DataFrame, path: Path, title: str) -> bool:
    from bench.plots import spectrogram_figure

    rows, max_hz = [], 0.0
    for group, cells in ok.groupby(GROUP, sort=True):
        first = None
        panels = []
        for method in _method_order(cells["method"].unique()):
            key = cells[cells["method"] == method]["key"].iloc[0]
            sample = _first_sample(store, key)
            if sample is None:
                continue
            item, folder = sample
            if first is None:
                first = (item, folder)
                lr, low_sr = sf.read(folder / f"{item}_lr.wav", dtype="float32")
                hr, target_sr = sf.read(folder / f"{item}_hr.wav", dtype="float32")
                panels += [(f"LR, {_group_label(group)}", lr, low_sr), ("HR", hr, target_sr)]
                max_hz = max(max_hz, target_sr / 2)
            est_path = folder / f"{first[0]}_sr.wav"
            if est_path.is_file():
                est, sr = sf.read(est_path, dtype="float32")
                panels.append((method, est, sr))
        if panels:
            rows.append(panels)
    if rows:
        spectrogram_figure(rows, max_hz=max_hz, path=path, title=title)
    return bool(rows)


def dataset_page(store: Store, table: pd.DataFrame, dataset: str, out_dir: Path) -> str:
    from bench.plots import metric_vs_scale

    rows = table[table["dataset"] == dataset]
    ok = rows[rows["status"] == "ok"]
    agg = aggregate(ok) if not ok.empty else ok
    parts = [f"# {dataset}", "", "Generated by `python -m bench leaderboard` from the results store; "
             "do not edit by hand. [Back to the overview](README.md).", "", CONVENTIONS, ""]
    for profile, prof_rows in agg.groupby("profile", sort=True):
        parts += [f"## Profile `{profile}`", ""]
        for group, group_rows in prof_rows.groupby(GROUP, sort=True):
            parts += [f"### {_group_label(group)}", "", dataset_table(group_rows), ""]
        stem = f"{dataset}-{profile}"
        for metric in ("lsd", "snr"):
            metric_vs_scale(prof_rows, metric, out_dir / "plots" / f"{stem}-{metric}.png",
                            f"{dataset} ({profile}): {metric.upper()} vs R")
            parts += [f"![{metric} vs R](plots/{stem}-{metric}.png)", ""]
        grid = out_dir / "plots" / f"{stem}-spectrograms.png"
        prof_ok = ok[ok["profile"] == profile]
        if _spectrogram_grid(store, prof_ok, grid, f"{dataset} ({profile}): first test file"):
            parts += [f"![spectrograms](plots/{stem}-spectrograms.png)", ""]
    parts += ["## Failed and infeasible cells", "", _failed_section(rows[rows["status"] != "ok"]), ""]
    return "\n".join(parts)


def build_leaderboard(store: Store, out_dir: str | Path) -> list[Path]:
    """(Re)write every page and plot from `store`; return the pages written."""
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    table = store.collect()
    datasets = sorted(table["dataset"].unique())
    ok = table[table["status"] == "ok"]
    parts = ["# audio-sr-bench leaderboard", "",
             "Generated by `python -m bench leaderboard` from the results store; do not edit by hand.", "",
             CONVENTIONS, ""]
    if not ok.empty:
        agg = aggregate(ok)
        for profile, rows in agg.groupby("profile", sort=True):
            parts += [f"## Profile `{profile}`", "", headline(rows, datasets), ""]
    n_bad = int((table["status"] != "ok").sum())
    parts += ["## Datasets", ""] + [f"- [{d}]({d}.md)" for d in datasets] + [""]
    parts += [f"{len(table)} cells in the store, {n_bad} failed or infeasible (listed on the dataset pages).", ""]
    pages = [out_dir / "README.md"]
    atomic_write(pages[0], lambda tmp: tmp.write_text("\n".join(parts)))
    for dataset in datasets:
        text = dataset_page(store, table, dataset, out_dir)
        page = out_dir / f"{dataset}.md"
        atomic_write(page, lambda tmp, text=text: tmp.write_text(text))
        pages.append(page)
    return pages
