"""Leaderboard pages and plots, built from the results store alone (never from a live run).

    leaderboard/README.md        the seed paper's Table 1 shape: methods grouped by R, datasets x (SNR, LSD)
    leaderboard/<dataset>.md     every metric with 95 % bootstrap CIs and significance marks, LSD under each
                                 named convention, cost columns, reported-vs-reproduced, failed cells
    leaderboard/plots/*.png      LSD / SNR vs R, LSD per frequency band, quality vs inference cost,
                                 spectrogram grid LR | HR | each method

The same results folder always gives byte-identical pages: every bootstrap has a fixed seed, every
table a fixed row order. ``lsd`` picks the headline LSD convention (``bench.metrics.LSD_CONVENTIONS``);
cells store all of them, so switching needs no re-run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from bench.data import dataset_slug
from bench.metrics import LSD_COLUMN, LSD_CONVENTIONS, METRIC_NAMES, PERCEPTUAL_NAMES
from bench.stats import (ALPHA, MIN_PAIRED_FILES, N_BOOT_CI, N_BOOT_TEST, bootstrap_ci, differs, paired_bootstrap,
                         seed_spread)
from bench.store import Store, atomic_write
from methods import get_entry, method_names

GROUP = ["profile", "scale", "low_sr", "target_sr", "lowpass"]
ALL_METRICS = (*METRIC_NAMES, *PERCEPTUAL_NAMES)
HIGHER_IS_BETTER = {"snr": True, "si_sdr": True, "pesq": True, "stoi": True}  # the rest (LSDs): lower
DIGITS = {"snr": 2, "si_sdr": 2, "pesq": 2, "stoi": 3}                       # the rest (LSDs): 3
UNPROCESSED = "spline"  # the row that scores the unprocessed (interpolated) input
TIED = "†"
UNTESTED = "?"

CONVENTION_TEXT = {
    "nuwave": "`nuwave` (NU-Wave / NU-Wave 2 code): STFT n_fft 2048, hop 512, periodic Hann, centred reflect "
              "padding; log10 of power clamped at 1e-8; root-mean-square over frequency per frame, mean over frames",
    "kuleshov": "`kuleshov` (TFiLM / AudioUNet code): the same STFT; natural log of power + 1e-8; mean over time "
                "first, + 1e-8, square root per bin, mean over bins (per file; the original's cap at 10 is not "
                "applied)",
    "ssr_eval": "`ssr_eval` (haoheliu/ssr_eval): at the target rate n_fft = int(2048·sr/44100), hop sr/100, "
                "periodic Hann, centred reflect padding; magnitudes, eps 1e-12 on the estimate; per frame "
                "root-mean-square over frequency of log10(|Y|²/(|Ŷ|+eps)² + eps), mean over frames",
}


def conventions_text(lsd: str) -> str:
    conventions = "\n".join(f"- {CONVENTION_TEXT[c]}{' (**shown**)' if c == lsd else ''}." for c in LSD_CONVENTIONS)
    return f"""\
**Protocol.** HR = corpus audio resampled to the target rate. LR = anti-alias low-pass, then every R-th
sample (`cheby1`: Chebyshev I, order 8, 0.05 dB ripple, cut-off at the low-rate Nyquist, zero-phase; the
filter of each table is in its heading). Each method receives LR at its own rate and returns the
target-rate estimate.

**Metrics**, per test file, then the mean over files. SNR = 20·log10(‖y‖ / ‖y − ŷ‖) dB.
**LSD shown: `{lsd}`.** The named LSD conventions differ by about 2x on the same audio, so compare only
numbers of one convention (dataset pages list all three; `python -m bench leaderboard --lsd NAME` switches
the headline):

{conventions}

LSD-HF / LSD-LF: `nuwave` over the bins above / below int(1025·low_sr/target_sr). SI-SDR: scale-invariant
SDR (dB). PESQ-WB: wide-band PESQ, both signals resampled to 16 kHz; STOI; both are speech measures, computed
only where the optional `perceptual` extra is installed ("not installed" otherwise).
`spline` is the unprocessed input (cubic-spline interpolation); `noisefill` and `sbr` are parameter-free
bandwidth extension: LSD rewards any energy in the empty band, so a learned method shows learning only
where it beats them too.

**Statistics.** Dataset pages give each mean with its 95 % percentile-bootstrap CI over test files
({N_BOOT_CI} resamples) in brackets; with several seeds, mean ± standard deviation across seeds, and the CI over
files of the per-file means across seeds. Stochastic methods (diffusion) evaluated with `--eval-repeats K` > 1
(one seed): mean ± standard deviation across the K passes over the test set, each with its own sampling noise
drawn from the cell seed, and the CI over files of the per-file means across passes. **Bold**: the best mean in its column for that R. {TIED}: not
significantly different from the best (paired bootstrap over the test files both scored, {N_BOOT_TEST} resamples,
two-sided p ≥ {ALPHA:g}; fewer than {MIN_PAIRED_FILES} paired files never count as a difference; no correction for
multiple comparisons). {UNTESTED}: no per-file results to test. A value with no mark is significantly worse than
the best."""


def _higher(metric: str) -> bool:
    return HIGHER_IS_BETTER.get(metric, False)


def _digits(metric: str) -> int:
    return DIGITS.get(metric, 3)


def _title(metric: str) -> str:
    arrow = "↑" if _higher(metric) else "↓"
    names = {"snr": "SNR (dB)", "si_sdr": "SI-SDR (dB)", "pesq": "PESQ-WB", "stoi": "STOI",
             "lsd_hf": "LSD-HF (nuwave)", "lsd_lf": "LSD-LF (nuwave)"}
    names.update({col: f"LSD ({conv})" for conv, col in LSD_COLUMN.items()})
    return f"{names.get(metric, metric)} {arrow}"


def _method_order(names) -> list[str]:
    registered = method_names()
    return sorted(names, key=lambda m: (registered.index(m) if m in registered else len(registered), m))


def _finite(value: Any) -> bool:
    try:
        return value is not None and bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def _fmt(value: Any, digits: int) -> str:
    return f"{float(value):.{digits}f}" if _finite(value) else "–"


def _group_label(group: tuple) -> str:
    profile, scale, low_sr, target_sr, lowpass = group
    return f"R={scale} ({low_sr / 1000:g}→{target_sr / 1000:g} kHz, {lowpass})"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- aggregation over seeds and files


@dataclass
class Stat:
    mean: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    std: float = float("nan")


@dataclass
class Entry:
    """One method in one (group, dataset): its seeds aggregated."""
    method: str
    keys: list[str]
    n_seeds: int
    n_files: int
    stats: dict[str, Stat]
    per_file: dict[str, pd.Series]       # metric -> per-file value (mean over seeds), indexed by file
    unavailable: dict[str, str]          # metric -> why it was not computed (e.g. not installed)
    cost: dict[str, Any]
    bands: tuple[list[float], list[float]] | None  # (edges_hz, mean LSD per band), nuwave
    marks: dict[str, str] = field(default_factory=dict)  # metric -> "best" | "tied" | "worse" | "untested"
    n_repeats: int = 1                   # evaluation passes of a single-seed stochastic cell (std across them)


# What names one cell of the grid apart from the code and data versions that its key also covers.
CELL_IDENTITY = ["method", "dataset", *GROUP, "train_lowpass", "seed"]


def _latest_only(store: Store, table: pd.DataFrame) -> pd.DataFrame:
    """Keep the most recently written record of each CELL_IDENTITY. After a method, card or scoring edit
    the store holds the old cell beside the new one (other keys); averaging them as if they were seeds
    would mix code versions, so pages show only the newest (results.csv keeps all of them)."""
    if table.empty:
        return table
    written = pd.Series([(store.cell_dir(k) / "record.json").stat().st_mtime_ns for k in table["key"]],
                        index=table.index)
    oldest_first = table.loc[written.sort_values(kind="stable").index, CELL_IDENTITY].astype(str)
    newest = oldest_first.index[~oldest_first.duplicated(keep="last").to_numpy()]
    return table[table.index.isin(newest)]  # the store's row order


class Board:
    """Everything the pages show, computed once from the store."""

    def __init__(self, store: Store, lsd: str = "nuwave") -> None:
        if lsd not in LSD_CONVENTIONS:
            raise ValueError(f"unknown LSD convention {lsd!r}; choose one of {', '.join(LSD_CONVENTIONS)}")
        self.store, self.lsd, self.lsd_col = store, lsd, LSD_COLUMN[lsd]
        table = _latest_only(store, store.collect())
        # Cells trained on another filter than they are tested on belong to the robustness table only.
        cross = table["train_lowpass"].fillna("").astype(str) != ""
        self.all_cells = table
        self.table, self.cross_filter = table[~cross], table[cross & (table["status"] == "ok")]
        self.records = {r["key"]: r for r in store.records()}
        self._files: dict[str, pd.DataFrame | None] = {}
        self._entries: dict[tuple, list[Entry]] = {}

    def files(self, key: str) -> pd.DataFrame | None:
        """A cell's files.csv indexed by file id (first row of a duplicated id), or None if absent/unreadable."""
        if key not in self._files:
            path = self.store.cell_dir(key) / "files.csv"
            try:
                df = pd.read_csv(path, dtype={"file": str}, keep_default_na=True)
                df = df[~df["file"].duplicated()].set_index("file")
            except (OSError, ValueError, KeyError, pd.errors.ParserError):
                df = None
            self._files[key] = df
        return self._files[key]

    def entries(self, group: tuple, dataset: str) -> list[Entry]:
        """Entries of one (group, dataset), methods in registry order, with significance marks."""
        k = (group, dataset)
        if k not in self._entries:
            ok = self.table[self.table["status"] == "ok"]
            mask = (ok["dataset"] == dataset)
            for col, value in zip(GROUP, group):
                mask &= ok[col] == value
            rows = ok[mask]
            entries = [self._entry(m, rows[rows["method"] == m].sort_values("seed", kind="stable"))
                       for m in _method_order(rows["method"].unique())]
            for metric in ALL_METRICS:
                _mark(entries, metric)
            self._entries[k] = entries
        return self._entries[k]

    def _entry(self, method: str, cells: pd.DataFrame) -> Entry:
        keys = list(cells["key"])
        recs = [self.records[k] for k in keys if k in self.records]
        files = [f for f in (self.files(k) for k in keys) if f is not None]
        repeats = (recs[0].get("repeats") or {}) if len(recs) == 1 else {}
        stats, per_file = {}, {}
        for metric in ALL_METRICS:
            seeds = cells[metric].to_numpy(dtype=float) if metric in cells else np.full(len(cells), np.nan)
            cols = [f[metric] for f in files if metric in f.columns]
            pf = pd.concat(cols, axis=1).astype(float).mean(axis=1) if cols else None
            mean, std, n = seed_spread(seeds)
            if n == 0:
                stats[metric] = Stat()
                continue
            if len(cells) == 1 and f"{metric}_lo" in cells:
                lo, hi = float(cells[f"{metric}_lo"].iloc[0]), float(cells[f"{metric}_hi"].iloc[0])
            elif pf is not None:
                _, lo, hi = bootstrap_ci(pf.to_numpy())
            else:
                lo = hi = float("nan")
            if len(cells) == 1 and repeats.get("n", 1) > 1:
                std = repeats["metrics"].get(metric, {}).get("std", float("nan"))
            stats[metric] = Stat(mean, lo, hi, std if len(cells) > 1 or repeats.get("n", 1) > 1 else float("nan"))
            if pf is not None:
                per_file[metric] = pf
        unavailable = {}
        for r in recs:
            unavailable.update(r.get("unavailable_metrics") or {})
        devices = sorted({str(d) for d in cells["device"] if isinstance(d, str) and d})

        def mean_of(name: str) -> float:
            vals = [r.get(name) for r in recs if _finite(r.get(name))]
            return float(np.mean(vals)) if vals else float("nan")

        def max_of(name: str) -> float:
            vals = [r.get(name) for r in recs if _finite(r.get(name))]
            return float(np.max(vals)) if vals else float("nan")

        cost = {"params": max_of("params"), "train_s": mean_of("train_s"), "infer_rtf": mean_of("infer_rtf"),
                "inference_steps": max_of("inference_steps"),
                "peak_rss_mb": max_of("peak_rss_mb"), "peak_cuda_mb": max_of("peak_cuda_mb"),
                "device": ", ".join(devices) or "–"}
        band_recs = [r["lsd_bands"] for r in recs if isinstance(r.get("lsd_bands"), dict)]
        bands = None
        if band_recs:
            edges = band_recs[0]["edges_hz"]
            means = np.nanmean(np.array([b["mean"] for b in band_recs if b["edges_hz"] == edges], dtype=float), axis=0)
            bands = (list(edges), [float(v) for v in means])
        n_files = int(max_of("n_files")) if _finite(max_of("n_files")) else 0
        return Entry(method, keys, len(cells), n_files, stats, per_file,
                     {k: v for k, v in unavailable.items() if not _finite(stats.get(k, Stat()).mean)},
                     cost, bands, n_repeats=int(repeats.get("n", 1)))


def _mark(entries: list[Entry], metric: str) -> None:
    """Mark the best entry (or entries, on an exact tie) and test each other one against it."""
    scored = [e for e in entries if _finite(e.stats[metric].mean)]
    if not scored:
        return
    pick = max if _higher(metric) else min
    best_value = pick(e.stats[metric].mean for e in scored)
    best = [e for e in scored if e.stats[metric].mean == best_value]
    ref = best[0].per_file.get(metric)
    for e in scored:
        if e in best:
            e.marks[metric] = "best"
            continue
        pf = e.per_file.get(metric)
        if pf is None or ref is None:
            e.marks[metric] = "untested"
            continue
        common = pf.index.intersection(ref.index).sort_values()
        test = paired_bootstrap(pf[common].to_numpy(), ref[common].to_numpy())
        e.marks[metric] = "worse" if differs(test) else "tied"


def _value_text(e: Entry, metric: str, with_ci: bool = True) -> str:
    s = e.stats[metric]
    if not _finite(s.mean):
        return e.unavailable.get(metric, "–").split(" (")[0]
    d = _digits(metric)
    text = _fmt(s.mean, d)
    if (e.n_seeds > 1 or e.n_repeats > 1) and _finite(s.std):
        text += f" ± {_fmt(s.std, d)}"
    if with_ci and _finite(s.lo):
        text += f" [{_fmt(s.lo, d)}, {_fmt(s.hi, d)}]"
    mark = e.marks.get(metric)
    if mark == "best":
        return f"**{text}**"
    if mark == "tied":
        return f"{text} {TIED}"
    if mark == "untested":
        return f"{text} {UNTESTED}"
    return text


# ---------------------------------------------------------------- pages


def headline(board: Board, profile_rows: pd.DataFrame, datasets: list[str]) -> str:
    """Table 1 shape: rows = methods grouped by R, columns = datasets x (SNR, LSD)."""
    metrics = ("snr", board.lsd_col)
    header = ["R", "method"] + [f"{d} {_title(m)}" for d in datasets for m in metrics]
    rows = []
    for group, group_rows in profile_rows.groupby(GROUP, sort=True):
        per_dataset = {d: {e.method: e for e in board.entries(group, d)} for d in datasets}
        for i, method in enumerate(_method_order(group_rows["method"].unique())):
            cells = [_group_label(group) if i == 0 else "", method]
            for d in datasets:
                e = per_dataset[d].get(method)
                cells += [_value_text(e, m, with_ci=False) if e else "" for m in metrics]
            rows.append(cells)
    return _table(header, rows)


def quality_table(board: Board, entries: list[Entry]) -> str:
    metrics = ["snr", board.lsd_col, "lsd_hf", "lsd_lf", "si_sdr", *PERCEPTUAL_NAMES]
    header = ["method", *[_title(m) for m in metrics], "files", "seeds"]
    rows = [[f"{e.method} (unprocessed input)" if e.method == UNPROCESSED else e.method,
             *[_value_text(e, m) for m in metrics], str(e.n_files), str(e.n_seeds)] for e in entries]
    return _table(header, rows)


def conventions_table(board: Board, entries: list[Entry]) -> str:
    cols = [LSD_COLUMN[c] for c in LSD_CONVENTIONS]
    header = ["method", *[_title(c) + (" (headline)" if c == board.lsd_col else "") for c in cols]]
    return _table(header, [[e.method, *[_value_text(e, c) for c in cols]] for e in entries])


def cost_table(entries: list[Entry]) -> str:
    header = ["method", "params", "train (s)", "infer steps", "infer RTF", "peak RSS (MB)", "peak GPU alloc (MB)",
              "device"]
    rows = []
    for e in entries:
        c = e.cost
        rows.append([e.method, f"{int(c['params']):,}" if _finite(c["params"]) else "–", _fmt(c["train_s"], 1),
                     _fmt(c["inference_steps"], 0), _fmt(c["infer_rtf"], 4), _fmt(c["peak_rss_mb"], 0), _fmt(c["peak_cuda_mb"], 0), c["device"]])
    return _table(header, rows)


def _norm(name: Any) -> str:
    return str(name).strip().lower()


def reported_table(board: Board, entries: list[Entry], reported: list[dict], group: tuple) -> str | None:
    """Reported numbers (dataset card `[[reported]]`) for this R beside ours; None when the card has none."""
    _, scale, _, target_sr, _ = group
    hits = [r for r in reported if isinstance(r, dict) and "method" in r and r.get("scale") == scale
            and r.get("target_sr", target_sr) == target_sr]
    if not hits:
        return None
    ours = {_norm(e.method): e for e in entries}
    rows = []
    for r in hits:
        conv = r.get("lsd_convention") if r.get("lsd_convention") in LSD_CONVENTIONS else board.lsd
        e = ours.get(_norm(r["method"]))
        our_snr = _fmt(e.stats["snr"].mean, 2) if e else "not run"
        our_lsd = _fmt(e.stats[LSD_COLUMN[conv]].mean, 3) if e else "not run"
        rows.append([str(r["method"]), _fmt(r.get("snr"), 2), our_snr, _fmt(r.get("lsd"), 3), our_lsd, conv,
                     str(r.get("source", "–"))])
    header = ["method", "SNR reported", "SNR ours", "LSD reported", "LSD ours", "our LSD convention", "source"]
    return _table(header, rows)


def _failed_section(bad: pd.DataFrame) -> str:
    if bad.empty:
        return "No failed or infeasible cells."
    rows = []
    for _, r in bad.sort_values(["scale", "method", "profile", "seed"], kind="stable").iterrows():
        error = str(r["error"]).splitlines()[0] if str(r["error"]) else "–"
        rows.append([r["method"], str(r["scale"]), r["profile"], str(r["seed"]), r["status"], error, f"`{r['key']}`"])
    return _table(["method", "R", "profile", "seed", "status", "error", "key"], rows)


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
            key = cells[cells["method"] == method].sort_values("seed", kind="stable")["key"].iloc[0]
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


def _plots(board: Board, dataset: str, profile: str, groups: list[tuple], out_dir: Path) -> list[str]:
    """Draw the profile's figures; return the markdown lines that show them."""
    from bench.plots import band_lsd_figure, cost_quality_figure, metric_vs_scale

    stem = f"{dataset_slug(dataset)}-{profile}"  # folder:PATH names are not file names
    lines = []
    points = []  # (method, scale, metric stats) for the vs-R plots
    for group in groups:
        for e in board.entries(group, dataset):
            points.append({"method": e.method, "scale": group[1],
                           **{f"{m}{s}": getattr(e.stats[m], a) for m in ("snr", board.lsd_col)
                              for s, a in (("", "mean"), ("_lo", "lo"), ("_hi", "hi"))}})
    table = pd.DataFrame(points)
    for metric, name in ((board.lsd_col, "lsd"), ("snr", "snr")):
        label = "SNR (dB)" if metric == "snr" else f"LSD ({board.lsd})"
        metric_vs_scale(table, metric, out_dir / "plots" / f"{stem}-{name}.png",
                        f"{dataset} ({profile}): {label} vs R (95 % CI over files)", ylabel=label)
        lines += [f"![{label} vs R](plots/{stem}-{name}.png)", ""]
    band_groups, cost_groups = [], []
    for group in groups:
        entries = board.entries(group, dataset)
        curves = {e.method: e.bands[1] for e in entries if e.bands}
        edges = next((e.bands[0] for e in entries if e.bands), None)
        if curves and edges:
            band_groups.append((_group_label(group), edges, curves, group[2] / 2))
        pts = [(e.method, e.cost["infer_rtf"], e.stats[board.lsd_col].mean) for e in entries
               if _finite(e.cost["infer_rtf"]) and e.cost["infer_rtf"] > 0 and _finite(e.stats[board.lsd_col].mean)]
        if pts:
            cost_groups.append((_group_label(group), pts))
    if band_groups:
        band_lsd_figure(band_groups, out_dir / "plots" / f"{stem}-bands.png",
                        f"{dataset} ({profile}): LSD (nuwave) per frequency band")
        lines += ["LSD per frequency band (8 equal bands up to the target Nyquist; dashed: the low-rate Nyquist, "
                  "above which the input is empty):", "", f"![LSD per band](plots/{stem}-bands.png)", ""]
    if cost_groups:
        cost_quality_figure(cost_groups, out_dir / "plots" / f"{stem}-cost.png",
                            f"{dataset} ({profile}): quality vs inference cost", ylabel=f"LSD ({board.lsd})")
        lines += ["Quality vs inference cost (real-time factor on each cell's own device, log scale; the line "
                  "joins the Pareto-optimal methods):", "", f"![quality vs cost](plots/{stem}-cost.png)", ""]
    grid = out_dir / "plots" / f"{stem}-spectrograms.png"
    ok = board.table[(board.table["status"] == "ok") & (board.table["dataset"] == dataset)
                     & (board.table["profile"] == profile)]
    if _spectrogram_grid(board.store, ok, grid, f"{dataset} ({profile}): first test file"):
        lines += [f"![spectrograms](plots/{stem}-spectrograms.png)", ""]
    return lines


def dataset_page(board: Board, dataset: str, out_dir: Path, reported: list[dict]) -> str:
    rows = board.table[board.table["dataset"] == dataset]
    ok = rows[rows["status"] == "ok"]
    parts = [f"# {dataset}", "", "Generated by `python -m bench leaderboard` from the results store; "
             "do not edit by hand. [Back to the overview](README.md).", "", conventions_text(board.lsd), ""]
    for profile, prof_rows in ok.groupby("profile", sort=True):
        parts += [f"## Profile `{profile}`", ""]
        groups = [g for g, _ in prof_rows.groupby(GROUP, sort=True)]
        for group in groups:
            entries = board.entries(group, dataset)
            parts += [f"### {_group_label(group)}", "", quality_table(board, entries), "",
                      "LSD under each named convention:", "", conventions_table(board, entries), "",
                      "Cost (training time and peak memory of the whole cell; RTF = inference seconds per second "
                      "of audio):", "", cost_table(entries), ""]
            rep = reported_table(board, entries, reported, group)
            if rep:
                parts += ["Reported (as published; their protocol may differ in details) beside ours:", "", rep, ""]
        parts += _plots(board, dataset, str(profile), groups, out_dir)
        parts += robustness_section(board, dataset, str(profile), out_dir)
    every = board.all_cells[board.all_cells["dataset"] == dataset]
    parts += ["## Methods on this page", "", *_method_notes(rows["method"].unique()), ""]
    parts += ["## Failed and infeasible cells", "", _failed_section(every[every["status"] != "ok"]), ""]
    return "\n".join(parts)


def _method_notes(names) -> list[str]:
    """One line per method: the registry's summary (caveats of a profile included), or why there is none."""
    registry = {n: e.summary for n in method_names() for e in [get_entry(n)]}
    return [f"- `{m}`: {registry.get(m, 'not registered in this checkout')}" for m in _method_order(names)]


def robustness_section(board: Board, dataset: str, profile: str, out_dir: Path) -> list[str]:
    """Filter robustness: models trained with one anti-alias filter, tested with each other one
    (`bench run --train-lowpass F --lowpass a,b,...`). Rows: methods; columns: test filters."""
    cross = board.cross_filter
    cross = cross[(cross["dataset"] == dataset) & (cross["profile"] == profile)]
    if cross.empty:
        return []
    same = board.table[(board.table["dataset"] == dataset) & (board.table["profile"] == profile)
                       & (board.table["status"] == "ok")]
    col = board.lsd_col
    lines = ["### Filter robustness", "", f"LSD ({board.lsd}) of models trained with one anti-alias filter and "
             "tested with each filter (mean over files and seeds; the trained-on filter's column is the "
             "matched case):", ""]
    for (scale, target_sr, train), cells in cross.groupby(["scale", "target_sr", "train_lowpass"], sort=True):
        matched = same[(same["scale"] == scale) & (same["target_sr"] == target_sr) & (same["lowpass"] == train)]
        cells = pd.concat([cells, matched])
        filters = sorted(cells["lowpass"].unique(), key=lambda f: (f != train, f))
        table = cells.groupby(["method", "lowpass"])[col].mean()
        rows = [[m, *[_fmt(table.get((m, f)), _digits("lsd")) for f in filters]]
                for m in _method_order(cells["method"].unique())]
        lines += [f"R={scale}, {target_sr / 1000:g} kHz, trained on `{train}`:", "",
                  _table(["method", *[f"test `{f}`" for f in filters]], rows), ""]
        from bench.plots import robustness_heatmap

        methods = _method_order(cells["method"].unique())
        stem = f"{dataset_slug(dataset)}-{profile}-robustness-R{scale}-{target_sr}-{train}"
        values = np.array([[table.get((m, f), np.nan) for f in filters] for m in methods], dtype=float)
        robustness_heatmap(values, methods, filters, out_dir / "plots" / f"{stem}.png",
                           f"{dataset}: trained on {train}, R={scale}")
        lines += [f"![filter robustness](plots/{stem}.png)", ""]
    return lines


def _card_reported(dataset: str) -> list[dict]:
    """The card's `[[reported]]` entries; none for a dataset without a card (e.g. an ad-hoc folder)."""
    try:
        from bench.data import load_card

        reported = load_card(dataset).raw.get("reported", [])
    except Exception:  # noqa: BLE001 - a results folder may hold datasets this checkout has no card for
        return []
    return [r for r in reported if isinstance(r, dict)] if isinstance(reported, list) else []


def build_leaderboard(store: Store, out_dir: str | Path, lsd: str = "nuwave",
                      reported: dict[str, list[dict]] | None = None) -> list[Path]:
    """(Re)write every page and plot from `store`; return the pages written.

    ``lsd`` is the headline LSD convention; ``reported`` maps a dataset to its reported numbers
    (default: the dataset cards' ``[[reported]]`` tables).
    """
    board = Board(store, lsd)
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    table = board.table
    datasets = sorted(table["dataset"].unique())
    ok = table[table["status"] == "ok"]
    parts = ["# audio-sr-bench leaderboard", "",
             "Generated by `python -m bench leaderboard` from the results store; do not edit by hand.", "",
             conventions_text(lsd), "",
             "**How to reproduce this page.** `pip install -e .` then "
             "`python -m bench run --methods all --scales 2,4,6` (trains and evaluates every cell, then writes "
             "this folder); `python -m bench leaderboard --results results --leaderboard leaderboard "
             f"--lsd {lsd}` rebuilds the pages from a results folder alone (cell folders from several machines "
             "can be copied into one).", ""]
    for profile, rows in ok.groupby("profile", sort=True):
        parts += [f"## Profile `{profile}`", "", headline(board, rows, datasets), ""]
    n_bad = int((table["status"] != "ok").sum())
    parts += ["## Datasets", ""] + [f"- [{d}]({dataset_slug(d)}.md)" for d in datasets] + [""]
    downstream = sorted(out_dir.glob("*-downstream.md"))  # written by `python -m bench downstream`
    if downstream:
        parts += ["## Downstream recognition", ""] + [f"- [{p.stem}]({p.name})" for p in downstream] + [""]
    parts += [f"{len(table)} cells in the store, {n_bad} failed or infeasible (listed on the dataset pages).", ""]
    pages = [out_dir / "README.md"]
    atomic_write(pages[0], lambda tmp: tmp.write_text("\n".join(parts)))
    for dataset in datasets:
        rep = reported.get(dataset, []) if reported is not None else _card_reported(dataset)
        text = dataset_page(board, dataset, out_dir, rep)
        page = out_dir / f"{dataset_slug(dataset)}.md"
        atomic_write(page, lambda tmp, text=text: tmp.write_text(text))
        pages.append(page)
    return pages
