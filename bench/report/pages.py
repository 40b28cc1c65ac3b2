"""Leaderboard pages and plots, built from the results store alone (never from a live run).

    leaderboard/README.md        the seed paper's Table 1 shape: methods grouped by R, datasets x (SNR, LSD)
    leaderboard/<dataset>.md     every metric with 95 % bootstrap CIs and significance marks, LSD under each
                                 named convention, cost columns, reported-vs-reproduced, failed cells
    leaderboard/plots/*.png      LSD / SNR vs R, LSD per frequency band, quality vs inference cost,
                                 spectrogram grid LR | HR | each method

The same results folder always gives byte-identical pages: every bootstrap has a fixed seed, every
table a fixed row order. ``lsd`` picks the headline LSD convention (``bench.metrics.table.LSD_CONVENTIONS``);
cells store all of them, so switching needs no re-run.

This module assembles the pages; board.py computes what they show, tables.py and figures.py render it.
"""
from __future__ import annotations

from pathlib import Path

from bench.core.files import atomic_write
from bench.core.store import Store
from bench.data import dataset_slug, load_card
from bench.metrics.stats import ALPHA, MIN_PAIRED_FILES, N_BOOT_CI, N_BOOT_TEST
from bench.metrics.table import LSD_CONVENTIONS, METRICS
from bench.report.board import GROUP, Board, group_label, method_order
from bench.report.figures import dataset_figures, robustness_figure
from bench.report.tables import (TIED, UNTESTED, conventions_table, cost_table, failed_table, headline, quality_table,
                                 reported_table, robustness_table)
from methods import get_entry, method_names

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
    """The protocol, metric and statistics text that heads every page, `lsd` as the headline convention."""
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


def dataset_page(board: Board, dataset: str, out_dir: Path, reported: list[dict]) -> str:
    """leaderboard/<dataset>.md: per profile and R the quality, conventions, cost and reported tables,
    then figures, filter robustness, the methods shown and the cells that did not finish."""
    rows = board.table[board.table["dataset"] == dataset]
    ok = rows[rows["status"] == "ok"]
    parts = [f"# {dataset}", "", "Generated by `python -m bench leaderboard` from the results store; "
             "do not edit by hand. [Back to the overview](README.md).", "", conventions_text(board.lsd), ""]
    for profile, prof_rows in ok.groupby("profile", sort=True):
        parts += [f"## Profile `{profile}`", ""]
        groups = [g for g, _ in prof_rows.groupby(GROUP, sort=True)]
        for group in groups:
            entries = board.entries(group, dataset)
            parts += [f"### {group_label(group)}", "", quality_table(board, entries), "",
                      "LSD under each named convention:", "", conventions_table(board, entries), "",
                      "Cost (training time and peak memory of the whole cell; RTF = inference seconds per second "
                      "of audio):", "", cost_table(entries), ""]
            rep = reported_table(board, entries, reported, group)
            if rep:
                parts += ["Reported (as published; their protocol may differ in details) beside ours:", "", rep, ""]
        parts += dataset_figures(board, dataset, str(profile), groups, out_dir)
        parts += robustness_section(board, dataset, str(profile), out_dir)
    every = board.all_cells[board.all_cells["dataset"] == dataset]
    parts += ["## Methods on this page", "", *_method_notes(rows["method"].unique()), ""]
    parts += ["## Failed and infeasible cells", "", failed_table(every[every["status"] != "ok"]), ""]
    return "\n".join(parts)


def _method_notes(names) -> list[str]:
    """One line per method: the registry's summary (caveats of a profile included), or why there is none."""
    registry = {n: e.summary for n in method_names() for e in [get_entry(n)]}
    return [f"- `{m}`: {registry.get(m, 'not registered in this checkout')}" for m in method_order(names)]


def robustness_section(board: Board, dataset: str, profile: str, out_dir: Path) -> list[str]:
    """Filter robustness: models trained with one anti-alias filter, tested with each other one
    (`bench run --train-lowpass F --lowpass a,b,...`). Rows: methods; columns: test filters."""
    found = board.robustness(dataset, profile)
    if not found:
        return []
    lines = ["### Filter robustness", "", f"{METRICS[board.lsd_col].title} of models trained with one anti-alias "
             "filter and tested with each filter (mean over files and seeds; the trained-on filter's column is "
             "the matched case):", ""]
    for rob in found:
        lines += [f"R={rob.scale}, {rob.target_sr / 1000:g} kHz, trained on `{rob.train}`:", "",
                  robustness_table(rob, board.lsd_col), ""]
        lines += robustness_figure(rob, dataset, profile, out_dir)
    return lines


def _card_reported(dataset: str) -> list[dict]:
    """The card's `[[reported]]` entries; none for a dataset without a card (e.g. an ad-hoc folder)."""
    try:
        return load_card(dataset).reported
    except Exception:  # noqa: BLE001 - a results folder may hold datasets this checkout has no card for
        return []


def _commit_text(commit: str | None, dirty: bool | None) -> str:
    """A commit as the index names it: its first 7 hex digits, "unknown commit" when records do not say."""
    name = f"commit `{commit[:7]}`" if commit else "unknown commit"
    return f"{name} with uncommitted changes" if dirty else name


def commits_line(board: Board) -> str:
    """Which commit(s) produced the cells the pages show, with the number of cells of each."""
    counts = [f"{_commit_text(c, d)} ({n} cell{'s' if n != 1 else ''})" for c, d, n in board.commits()]
    return f"Produced by {'; '.join(counts)}."


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
    if not board.all_cells.empty:
        parts += [commits_line(board), ""]
    pages = [out_dir / "README.md"]
    atomic_write(pages[0], lambda tmp: tmp.write_text("\n".join(parts)))
    for dataset in datasets:
        rep = reported.get(dataset, []) if reported is not None else _card_reported(dataset)
        text = dataset_page(board, dataset, out_dir, rep)
        page = out_dir / f"{dataset_slug(dataset)}.md"
        atomic_write(page, lambda tmp, text=text: tmp.write_text(text))
        pages.append(page)
    return pages
