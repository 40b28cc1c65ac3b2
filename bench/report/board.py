"""What the leaderboard pages show, computed from the results store: each method's metrics aggregated
over seeds and test files, significance marks against the best (none over too few test files), training
cost and validation LSD at fractions of the training budget, cross-filter robustness, and the commits
that produced the cells.

Direction, digits and titles of every metric come from bench/metrics/table.py; a record that carries
a metric the table has no row for stops the build (KeyError) instead of being ranked by a guess.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from bench.core.store import Store
from bench.metrics.stats import MIN_PAIRED_FILES, bootstrap_ci, differs, paired_bootstrap, seed_spread
from bench.metrics.table import LSD_COLUMN, LSD_CONVENTIONS, METRIC_NAMES, METRICS, PERCEPTUAL_NAMES
from bench.report.results_csv import collect
from methods import method_names

GROUP = ["profile", "scale", "low_sr", "target_sr", "lowpass"]
ALL_METRICS = (*METRIC_NAMES, *PERCEPTUAL_NAMES)
# What names one cell of the grid apart from the code and data versions that its key also covers.
CELL_IDENTITY = ["method", "dataset", *GROUP, "train_lowpass", "seed"]
# Below this many test files (or test items of a class) a page shows no CIs, significance marks or
# winners: a bootstrap over a handful of files is over-confident, and the paired test claims no
# difference below MIN_PAIRED_FILES anyway, so a bold "winner" there would be noise.
MIN_FILES_FOR_STATS = MIN_PAIRED_FILES


def _finite(value: Any) -> bool:
    try:
        return value is not None and bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def method_order(names: Iterable[str]) -> list[str]:
    """Registry order; methods this checkout does not register last, by name."""
    registered = method_names()
    return sorted(names, key=lambda m: (registered.index(m) if m in registered else len(registered), m))


def enough_for_stats(n_items: int) -> bool:
    """Whether a table over `n_items` test files (or items of its smallest class) shows CIs and marks."""
    return n_items >= MIN_FILES_FOR_STATS


def table_files(entries: list[Entry]) -> int:
    """The fewest test files any entry of one table scored; 0 when no record says."""
    known = [e.n_files for e in entries if e.n_files > 0]
    return min(known) if known else 0


def group_label(group: tuple) -> str:
    profile, scale, low_sr, target_sr, lowpass = group
    return f"R={scale} ({low_sr / 1000:g}→{target_sr / 1000:g} kHz, {lowpass})"


@dataclass
class Stat:
    """A metric's mean with its 95 % CI over files and its standard deviation over seeds or passes."""
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
    # budget fraction -> (training FLOPs, validation LSD), each the mean over seeds; empty when not learned
    anytime: dict[float, tuple[float, float]] = field(default_factory=dict)
    # A model scored from outside the suite (`bench score`): its record's kind, url and notes; None otherwise.
    external: dict[str, str] | None = None

    @property
    def label(self) -> str:
        """The row's name on a page: external models are marked as such."""
        return f"{self.method} (external)" if self.external else self.method


@dataclass
class Robustness:
    """Headline LSD (mean over files and seeds) of models trained with one anti-alias filter, per
    method and test filter."""
    scale: int
    target_sr: int
    train: str
    methods: list[str]                   # registry order
    filters: list[str]                   # the trained-on filter first
    values: np.ndarray                   # (methods, filters); NaN where a method was not tested so


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


def external_info(record: dict[str, Any]) -> dict[str, str] | None:
    """What a page says about an external model (`bench score`): how it was scored, url, notes; None for
    the suite's own methods."""
    if record.get("kind") != "external":
        return None
    source = (record.get("spec", {}).get("external") or {})
    how = (f"callable `{source.get('target')}`" if source.get("kind") == "callable"
           else "its output files (SHA-256 of each in the record)")
    return {"how": how, "url": record.get("url") or "", "notes": record.get("notes") or ""}


class Board:
    """Everything the pages show, computed once from the store."""

    def __init__(self, store: Store, lsd: str = "nuwave") -> None:
        if lsd not in LSD_CONVENTIONS:
            raise ValueError(f"unknown LSD convention {lsd!r}; choose one of {', '.join(LSD_CONVENTIONS)}")
        self.store, self.lsd, self.lsd_col = store, lsd, LSD_COLUMN[lsd]
        table = _latest_only(store, collect(store))
        # Cells trained on another filter than they are tested on belong to the robustness table only.
        cross = table.get("train_lowpass", pd.Series("", index=table.index)).fillna("").astype(str) != ""
        self.all_cells = table
        self.table, self.cross_filter = table[~cross], table[cross & (table["status"] == "ok")]
        self.records = {r["key"]: r for r in store.records()}
        # name -> how an external model (`bench score`) was scored; the newest record of each name speaks for it
        self.externals = {r["spec"]["method"]: external_info(r) for r in self.records.values()
                          if r.get("kind") == "external"}
        unknown = sorted({name for key in table["key"] for name in self.records.get(key, {}).get("metrics") or {}
                          if name not in METRICS})
        if unknown:
            raise KeyError(f"records carry metrics with no row in bench.metrics.table.METRICS: {', '.join(unknown)}; "
                           "add their rows (title, direction, digits) before building pages that rank them")
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
                       for m in method_order(rows["method"].unique())]
            if enough_for_stats(table_files(entries)):
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

        cost = {"params": max_of("params"), "train_s": mean_of("train_s"), "train_flops": mean_of("train_flops"),
                "train_audio_s": mean_of("train_audio_s"), "infer_rtf": mean_of("infer_rtf"),
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
                     cost, bands, n_repeats=int(repeats.get("n", 1)), anytime=_anytime(recs),
                     external=external_info(recs[0]) if recs else None)

    def robustness(self, dataset: str, profile: str) -> list[Robustness]:
        """Cross-filter results of one dataset and profile, each beside the matched cells (trained and
        tested on the same filter), per (R, target rate, trained-on filter)."""
        cross = self.cross_filter
        cross = cross[(cross["dataset"] == dataset) & (cross["profile"] == profile)]
        same = self.table[(self.table["dataset"] == dataset) & (self.table["profile"] == profile)
                          & (self.table["status"] == "ok")]
        out = []
        for (scale, target_sr, train), cells in cross.groupby(["scale", "target_sr", "train_lowpass"], sort=True):
            matched = same[(same["scale"] == scale) & (same["target_sr"] == target_sr) & (same["lowpass"] == train)]
            cells = pd.concat([cells, matched])
            filters = sorted(cells["lowpass"].unique(), key=lambda f: (f != train, f))
            means = cells.groupby(["method", "lowpass"])[self.lsd_col].mean()
            methods = method_order(cells["method"].unique())
            values = np.array([[means.get((m, f), np.nan) for f in filters] for m in methods], dtype=float)
            out.append(Robustness(scale, target_sr, train, methods, filters, values))
        return out

    def commits(self) -> list[tuple[str | None, bool | None, int]]:
        """(git commit, dirty, number of cells) of the cells the pages show, most cells first; commit
        and dirty are None where a record does not say (e.g. run outside a git checkout)."""
        counts: Counter[tuple[str | None, bool | None]] = Counter()
        for key in self.all_cells["key"]:
            prov = self.records.get(key, {}).get("provenance") or {}
            counts[(prov.get("git_commit"), prov.get("git_dirty"))] += 1
        return sorted(((c, d, n) for (c, d), n in counts.items()), key=lambda x: (-x[2], str(x[0]), str(x[1])))


def _anytime(recs: list[dict]) -> dict[float, tuple[float, float]]:
    """Budget fraction -> (mean training FLOPs, mean validation LSD) over the seeds that logged it."""
    points: dict[float, list[tuple[float, float]]] = {}
    for r in recs:
        for p in r.get("anytime") or []:
            if _finite(p.get("flops")) and _finite(p.get("valid_lsd")):
                points.setdefault(float(p["fraction"]), []).append((float(p["flops"]), float(p["valid_lsd"])))
    return {f: (float(np.mean([x for x, _ in v])), float(np.mean([y for _, y in v])))
            for f, v in sorted(points.items())}


def anytime_leaders(entries: list[Entry]) -> list[tuple[float, list[str]]]:
    """(budget fraction, the methods with the lowest mean validation LSD there) for every fraction any
    entry logged; several methods only on an exact tie, in registry order."""
    fractions = sorted({f for e in entries for f in e.anytime})
    out = []
    for f in fractions:
        scored = {e.method: e.anytime[f][1] for e in entries if f in e.anytime}
        best = min(scored.values())
        out.append((f, [m for m, v in scored.items() if v == best]))
    return out


def _mark(entries: list[Entry], metric: str) -> None:
    """Mark the best entry (or entries, on an exact tie) and test each other one against it."""
    scored = [e for e in entries if _finite(e.stats[metric].mean)]
    if not scored:
        return
    pick = max if METRICS[metric].higher_is_better else min
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
