"""Leaderboard pages and plots, built from the results store alone (never from a live run).

    leaderboard/README.md        the seed paper's Table 1 shape: methods grouped by R, datasets x (SNR, LSD)
    leaderboard/<dataset>.md     every metric with 95 % bootstrap CIs and significance marks, LSD under each
                                 named convention, training budget and cost columns, reported-vs-reproduced,
                                 failed cells
    leaderboard/plots/*.png      LSD / SNR vs R, LSD per frequency band, quality vs inference cost,
                                 spectrogram grid LR | HR | each method, validation LSD vs training FLOPs

The same results folder always gives byte-identical pages: every bootstrap has a fixed seed, every
table a fixed row order. ``lsd`` picks the headline LSD convention (``bench.metrics.table.LSD_CONVENTIONS``);
cells store all of them, so switching needs no re-run.

This module assembles the pages; board.py computes what they show, tables.py and figures.py render it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from bench.core.files import atomic_write, read_json
from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.data import dataset_slug, load_card
from bench.metrics.stats import ALPHA, MIN_PAIRED_FILES, N_BOOT_CI, N_BOOT_TEST
from bench.metrics.table import LSD_CONVENTIONS, METRICS
from bench.report.board import GROUP, MIN_FILES_FOR_STATS, Board, group_label, table_files
from bench.report.figures import dataset_figures, robustness_figure
from bench.report.page_json import dataset_rows, write_json as write_page_json
from bench.report.tables import (TIED, UNTESTED, absent_metrics_note, conventions_table, cost_table, failed_table, headline,
                                 markdown_table, method_notes, quality_table, reported_table, robustness_table, smoke_banner,
                                 tflop_text)
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
SDR (dB). STOI; PESQ-WB: wide-band PESQ, both signals resampled to 16 kHz (the optional `perceptual` extra, which
needs a C compiler); both are speech measures, and a column appears only where a cell has values.
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
the best. A table over fewer than {MIN_FILES_FOR_STATS} test files shows means only: no CIs, marks or bold."""

FLOP_COUNTING = ("FLOPs counted with torch's FlopCounterMode over each method's real training step, forward and "
                 "backward, FFTs included; elementwise operations are not counted")
DEFAULT_RUN = "python -m bench run --methods all --scales 2,4,6"
READING_HEADING = "How to read these pages"
READING_ANCHOR = "how-to-read-these-pages"  # GitHub's anchor for READING_HEADING


def budget_line(rows: pd.DataFrame) -> str:
    """The training budget the learned cells of `rows` were given, as one sentence; the distinct values
    when they differ, "–" for cells whose records do not state one."""
    trainable = {n for n in method_names() if get_entry(n).trainable}
    budget = pd.to_numeric(rows["train_budget_flops"], errors="coerce")
    learned = rows["method"].isin(trainable) | budget.notna()
    if not learned.any():
        return "Training budget: – (no learned cell here)."
    stated = budget[learned].dropna()
    if stated.empty:
        return "Training budget: – (the records of the learned cells state none)."
    values = [f"{tflop_text(v)} TFLOP" for v in sorted(stated.unique())]
    if len(values) == 1 and len(stated) == int(learned.sum()):
        return f"Training budget: {values[0]} per learned cell (the same for every learned method; {FLOP_COUNTING})."
    if len(stated) < int(learned.sum()):
        values.append("– (not stated by some records)")
    return f"Training budget: {', '.join(values)} per learned cell (not the same for every cell; {FLOP_COUNTING})."


def reproduce_lines(cells: pd.DataFrame, lsd: str) -> list[str]:
    """How to remake the cells of a page: the distinct commands their records name (the default run for
    records that name none), then the leaderboard command."""
    named = cells["command"].fillna("").astype(str)
    commands = sorted(set(named[named != ""]))
    rebuild = (f"`python -m bench leaderboard --results results --leaderboard leaderboard --lsd {lsd}` rebuilds the "
               "pages from a results folder alone (cell folders from several machines can be copied into one).")
    if not commands:
        return [f"**How to reproduce this page.** `pip install -e .` then `{DEFAULT_RUN}` (trains and evaluates "
                f"every cell, then writes this folder); {rebuild}", ""]
    unnamed = int((named == "").sum())
    lines = ["**How to reproduce this page.** `pip install -e .`, then the commands that made its cells:", "",
             *[f"- `{c}`" for c in commands]]
    if unnamed:
        lines.append(f"- `{DEFAULT_RUN}` (the default run; the records of {unnamed} cells name no command)")
    return lines + ["", f"Then {rebuild}", ""]


def dataset_page(board: Board, dataset: str, out_dir: Path, reported: list[dict]) -> str:
    """leaderboard/<dataset>.md: per profile and R the quality, conventions, cost and reported tables,
    then figures, filter robustness, the methods shown and the cells that did not finish."""
    rows = board.table[board.table["dataset"] == dataset]
    ok = rows[rows["status"] == "ok"]
    parts = [f"# {dataset}", "", "Generated by `python -m bench leaderboard` from the results store; "
             f"do not edit by hand. [Back to the overview](README.md). **LSD shown: `{board.lsd}`.** How to read "
             f"this page (protocol, the three LSD conventions, CIs and marks): [{READING_HEADING}](README.md#"
             f"{READING_ANCHOR}).", ""]
    parts += reproduce_lines(board.all_cells[board.all_cells["dataset"] == dataset], board.lsd)
    for profile, prof_rows in ok.groupby("profile", sort=True):
        parts += [f"## Profile `{profile}`", "", budget_line(prof_rows), ""]
        groups = [g for g, _ in prof_rows.groupby(GROUP, sort=True)]
        for group in groups:
            entries = board.entries(group, dataset)
            banner = smoke_banner(table_files(entries))
            parts += [f"### {group_label(group)}", "", *([banner, ""] if banner else []),
                      quality_table(board, entries), "",
                      *[line for note in [absent_metrics_note(entries)] if note for line in (note, "")],
                      "LSD under each named convention:", "", conventions_table(board, entries), "",
                      "Cost (training time, FLOPs, audio seen and peak memory of the whole cell, means over seeds; "
                      "RTF = inference seconds per second of audio):", "", cost_table(entries), ""]
            parts += reported_table(board, entries, reported, group, _card_split(dataset))
        parts += dataset_figures(board, dataset, str(profile), groups, out_dir)
        parts += robustness_section(board, dataset, str(profile), out_dir)
    every = board.all_cells[board.all_cells["dataset"] == dataset]
    parts += ["## Methods on this page", "",
              *method_notes(rows["method"].unique(), ok["profile"].unique(), board.externals), ""]
    parts += ["## Failed and infeasible cells", "", failed_table(every[every["status"] != "ok"]), ""]
    return "\n".join(parts)


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


def _card(dataset: str):
    """The dataset's card, or None (a results folder may hold datasets this checkout has no card for,
    e.g. an ad-hoc folder)."""
    try:
        return load_card(dataset)
    except Exception:  # noqa: BLE001 - any failure to find or parse it means: no card to show
        return None


def _card_reported(dataset: str) -> list[dict]:
    """The card's `[[reported]]` entries; none for a dataset without a card."""
    card = _card(dataset)
    return card.reported if card else []


def _card_split(dataset: str) -> str | None:
    """The split rule of the dataset's card (`split`), None without a card or rule."""
    card = _card(dataset)
    return card.raw.get("split") if card else None


def _commit_text(commit: str | None, dirty: bool | None) -> str:
    """A commit as the index names it: its first 7 hex digits, "unknown commit" when records do not say."""
    name = f"commit `{commit[:7]}`" if commit else "unknown commit"
    return f"{name} with uncommitted changes" if dirty else name


def commits_line(board: Board) -> str:
    """Which commit(s) produced the cells the pages show, with the number of cells of each."""
    counts = [f"{_commit_text(c, d)} ({n} cell{'s' if n != 1 else ''})" for c, d, n in board.commits()]
    return f"Produced by {'; '.join(counts)}."


def unreadable_lines(store: Store) -> list[str]:
    """The index's section on records that exist but cannot be read (each also warned about on stderr):
    such a cell is on no page until `bench run` recomputes it."""
    unreadable = store.unreadable_records()
    rows = []
    for key, problem in unreadable.items():
        label = _cell_label(store.cell_dir(key) / "spec.json")
        print(f"warning: cell {label} [{key}]: {problem}; it is left off the pages. `python -m bench run` with the "
              "command that made it recomputes it", file=sys.stderr)
        rows.append([label, f"`{key}`", problem.replace(str(store.root) + "/", "")])
    if not rows:
        return []
    return ["## Unreadable records", "", f"{len(rows)} record(s) in the store cannot be read, so their cells are on no "
            "page: `python -m bench run` with the command that made each recomputes it.", "",
            markdown_table(["cell", "key", "problem"], rows), ""]


def _cell_label(spec_path: Path) -> str:
    """'method dataset R=.. profile seed ..' from a cell's spec.json, or 'unknown cell' when that is unreadable too."""
    try:
        return CellSpec.from_dict(read_json(spec_path)).label
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown cell (spec.json unreadable)"


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
             "Generated by `python -m bench leaderboard` from the results store; do not edit by hand. Every page "
             "is also written as JSON beside it (`<page>.json`: one object per row, every metric with its CI).", "",
             *reproduce_lines(board.all_cells, lsd)]
    for profile, rows in ok.groupby("profile", sort=True):
        parts += [f"## Profile `{profile}`", "", budget_line(rows), "", "*seeds*: how many seeds (independent trainings) each number is "
                  "the mean of; with more than one, mean ± standard deviation across seeds.", "",
                  headline(board, rows, datasets), ""]
    n_bad = int((table["status"] != "ok").sum())
    parts += ["## Datasets", ""] + [f"- [{d}]({dataset_slug(d)}.md)" for d in datasets] + [""]
    if not ok.empty:
        parts += ["## Methods", "", *method_notes(ok["method"].unique(), ok["profile"].unique(), board.externals), ""]
    downstream = sorted(out_dir.glob("*-downstream.md"))  # written by `python -m bench downstream`
    if downstream:
        parts += ["## Downstream recognition", ""] + [f"- [{p.stem}]({p.name})" for p in downstream] + [""]
    parts += [f"{len(table)} cells in the store, {n_bad} failed or infeasible (listed on the dataset pages).", ""]
    parts += unreadable_lines(store)
    if not board.all_cells.empty:
        parts += [commits_line(board), ""]
    parts += [f"## {READING_HEADING}", "", conventions_text(lsd), ""]
    pages = [out_dir / "README.md"]
    atomic_write(pages[0], lambda tmp: tmp.write_text("\n".join(parts)))
    every_row = []
    for dataset in datasets:
        rep = reported.get(dataset, []) if reported is not None else _card_reported(dataset)
        text = dataset_page(board, dataset, out_dir, rep)
        page = out_dir / f"{dataset_slug(dataset)}.md"
        atomic_write(page, lambda tmp, text=text: tmp.write_text(text))
        rows = dataset_rows(board, dataset)
        write_page_json(page.with_suffix(".json"), board, rows)
        every_row += rows
        pages.append(page)
    write_page_json(pages[0].with_suffix(".json"), board, every_row)  # the index summarises every dataset's rows
    return pages
