"""Markdown tables of the leaderboard pages, and the cell formatting every page of the suite shares.

Titles, direction arrows and decimals of metric columns come from bench/metrics/table.py.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from bench.metrics.table import LSD_COLUMN, LSD_CONVENTIONS, METRICS, PERCEPTUAL_NAMES
from bench.report.board import (GROUP, MIN_FILES_FOR_STATS, Board, Entry, Robustness, _finite, enough_for_stats,
                                group_label, method_order, table_files)
from methods import get_entry, method_names

UNPROCESSED = "spline"  # the row that scores the unprocessed (interpolated) input
TIED = "†"
UNTESTED = "?"


def fmt(value: Any, digits: int) -> str:
    """`value` with `digits` decimals, or "–" when it is missing or not finite."""
    return f"{float(value):.{digits}f}" if _finite(value) else "–"


def ci_text(lo: Any, hi: Any, digits: int) -> str:
    """A confidence interval as printed after its mean: "[lo, hi]"."""
    return f"[{fmt(lo, digits)}, {fmt(hi, digits)}]"


def tflop_text(flops: Any) -> str:
    """FLOPs in TFLOP with 3 significant digits (whole numbers from 100 up), "–" when missing."""
    if not _finite(flops):
        return "–"
    t = float(flops) / 1e12
    return f"{t:,.0f}" if t >= 100 else f"{t:.3g}"


def audio_text(seconds: Any) -> str:
    """A duration of audio in s, min or h, whichever keeps the number short; "–" when missing."""
    if not _finite(seconds):
        return "–"
    s = float(seconds)
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def smoke_banner(n_items: int, unit: str = "test files") -> str | None:
    """The line that opens a table over fewer than MIN_FILES_FOR_STATS items (such a table shows no CIs,
    marks or winners); None when there are enough."""
    if enough_for_stats(n_items):
        return None
    return (f"> **Smoke check, not a comparison**: {n_items} {unit} (< {MIN_FILES_FOR_STATS}); no confidence "
            "intervals, significance marks or winners are shown.")


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table; `|` and line breaks inside cells are escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def value_text(e: Entry, metric: str, with_ci: bool = True) -> str:
    """One entry's metric as a table cell: mean (± spread) [CI], bold when best, then its significance mark."""
    s = e.stats[metric]
    if not _finite(s.mean):
        return e.unavailable.get(metric, "–").split(" (")[0]
    d = METRICS[metric].digits
    text = fmt(s.mean, d)
    if (e.n_seeds > 1 or e.n_repeats > 1) and _finite(s.std):
        text += f" ± {fmt(s.std, d)}"
    if with_ci and _finite(s.lo):
        text += f" {ci_text(s.lo, s.hi, d)}"
    mark = e.marks.get(metric)
    if mark == "best":
        return f"**{text}**"
    if mark == "tied":
        return f"{text} {TIED}"
    if mark == "untested":
        return f"{text} {UNTESTED}"
    return text


def headline(board: Board, profile_rows: pd.DataFrame, datasets: list[str]) -> str:
    """Table 1 shape: rows = methods grouped by R, columns = datasets x (SNR, LSD, seeds behind them)."""
    metrics = ("snr", board.lsd_col)
    headings = [*(METRICS[m].heading for m in metrics), "seeds"]
    header = ["R", "method"] + [f"{d} {h}" for d in datasets for h in headings]
    rows = []
    for group, group_rows in profile_rows.groupby(GROUP, sort=True):
        per_dataset = {d: {e.method: e for e in board.entries(group, d)} for d in datasets}
        for i, method in enumerate(method_order(group_rows["method"].unique())):
            shown = next((per_dataset[d][method].label for d in datasets if method in per_dataset[d]), method)
            cells = [group_label(group) if i == 0 else "", shown]
            for d in datasets:
                e = per_dataset[d].get(method)
                cells += [value_text(e, m, with_ci=False) if e else "" for m in metrics]
                cells.append(str(e.n_seeds) if e else "")
            rows.append(cells)
    return markdown_table(header, rows)


def perceptual_shown(entries: list[Entry]) -> list[str]:
    """The optional metrics (PESQ, STOI) some entry has a value of: only those get a column."""
    return [m for m in PERCEPTUAL_NAMES if any(_finite(e.stats[m].mean) for e in entries)]


def absent_metrics_note(entries: list[Entry]) -> str | None:
    """One sentence on the optional metrics no entry has, with the reason the records give (e.g. not
    installed, and how to install it); None when every one has values."""
    shown = perceptual_shown(entries)
    reasons = {m: next((e.unavailable[m] for e in entries if m in e.unavailable), "not computed")
               for m in PERCEPTUAL_NAMES if m not in shown}
    if not reasons:
        return None
    return "Not shown: " + "; ".join(f"{METRICS[m].heading.split(' ')[0]} ({why})" for m, why in reasons.items()) + "."


def quality_table(board: Board, entries: list[Entry]) -> str:
    """Every metric with its CI and mark (CIs only over enough test files), one row per method; the optional
    ones only where some entry has a value."""
    metrics = ["snr", board.lsd_col, "lsd_hf", "lsd_lf", "si_sdr", *perceptual_shown(entries)]
    header = ["method", *[METRICS[m].heading for m in metrics], "files", "seeds"]
    with_ci = enough_for_stats(table_files(entries))
    rows = [[f"{e.method} (unprocessed input)" if e.method == UNPROCESSED else e.label,
             *[value_text(e, m, with_ci) for m in metrics], str(e.n_files), str(e.n_seeds)] for e in entries]
    return markdown_table(header, rows)


def conventions_table(board: Board, entries: list[Entry]) -> str:
    """LSD under each named convention, the headline one marked."""
    cols = [LSD_COLUMN[c] for c in LSD_CONVENTIONS]
    header = ["method", *[METRICS[c].heading + (" (headline)" if c == board.lsd_col else "") for c in cols]]
    with_ci = enough_for_stats(table_files(entries))
    return markdown_table(header, [[e.label, *[value_text(e, c, with_ci) for c in cols]] for e in entries])


def cost_table(entries: list[Entry]) -> str:
    """Parameters, training time, FLOPs and audio, inference speed and peak memory of each method's cells
    (means over seeds)."""
    header = ["method", "params", "train (s)", "train TFLOP", "audio seen", "infer steps", "infer RTF",
              "peak RSS (MB)", "peak GPU alloc (MB)", "device"]
    rows = []
    for e in entries:
        c = e.cost
        rows.append([e.label, f"{int(c['params']):,}" if _finite(c["params"]) else "–", fmt(c["train_s"], 1),
                     tflop_text(c["train_flops"]), audio_text(c["train_audio_s"]),
                     fmt(c["inference_steps"], 0), fmt(c["infer_rtf"], 4), fmt(c["peak_rss_mb"], 0),
                     fmt(c["peak_cuda_mb"], 0), c["device"]])
    return markdown_table(header, rows)


def _norm(name: Any) -> str:
    return str(name).strip().lower()


def comparability(row: dict, profile: str, split: str | None) -> list[str]:
    """Why a card's `[[reported]]` row cannot be read beside our cells of `profile` on a card whose split
    rule is `split` (empty: comparable). A row names the profile its numbers stand for (`profile`,
    default paper: full published trainings) and, optionally, the split rule they were measured on."""
    theirs = row.get("profile", "paper")
    reasons = []
    if theirs != profile:
        reasons.append(f"ours are the `{profile}` profile, theirs `{theirs}`"
                       + (" (full published trainings)" if theirs == "paper" else ""))
    if row.get("split") and row["split"] != (split or "default"):
        reasons.append(f"theirs use the `{row['split']}` split, this page's corpus the `{split or 'default'}` split "
                       f"(run it as `NAME@{row['split']}`)")
    return reasons


def reported_table(board: Board, entries: list[Entry], reported: list[dict], group: tuple,
                   split: str | None = None) -> list[str]:
    """Page lines for the card's `[[reported]]` rows at this R and target rate: published numbers beside
    ours where the protocol matches (see `comparability`), alone with the reasons where it does not;
    [] when the card has none for this group."""
    profile, scale, _, target_sr, _ = group
    hits = [r for r in reported if isinstance(r, dict) and "method" in r and r.get("scale") == scale
            and r.get("target_sr", target_sr) == target_sr]
    if not hits:
        return []
    ours = {_norm(e.method): e for e in entries}
    snr_digits = METRICS["snr"].digits
    reasons = list(dict.fromkeys(reason for r in hits for reason in comparability(r, profile, split)))
    rows = []
    for r in hits:
        conv = r.get("lsd_convention") if r.get("lsd_convention") in LSD_CONVENTIONS else board.lsd
        lsd_col = LSD_COLUMN[conv]
        lsd_digits = METRICS[lsd_col].digits
        e = ours.get(_norm(r["method"]))
        if reasons:
            our_snr = our_lsd = "not comparable"
        else:
            our_snr = fmt(e.stats["snr"].mean, snr_digits) if e else "not run"
            our_lsd = fmt(e.stats[lsd_col].mean, lsd_digits) if e else "not run"
        rows.append([str(r.get("label", r["method"])), str(r["method"]), fmt(r.get("snr"), snr_digits), our_snr,
                     fmt(r.get("lsd"), lsd_digits), our_lsd, r.get("lsd_convention", conv), str(r.get("source", "–"))])
    header = ["published row", "method", "SNR reported", "SNR ours", "LSD reported", "LSD ours",
              "their LSD convention", "source"]
    lead = ("Reported (as published) beside ours:" if not reasons else
            "Reported (as published); **not comparable** with our rows here: " + "; ".join(reasons) + ".")
    unstated = [r for r in hits if r.get("lsd_convention") == "unstated"]
    notes = ([f"Where the convention is `unstated` the publication does not give its LSD's STFT or log, nor its "
              f"SNR formula; our LSD column shows the page's headline convention `{board.lsd}`."] if unstated else [])
    return [lead, "", markdown_table(header, rows), "", *([notes[0], ""] if notes else [])]


def robustness_table(rob: Robustness, lsd_col: str) -> str:
    """Methods x test filters of one trained-on filter, the matched filter first."""
    digits = METRICS[lsd_col].digits
    rows = [[m, *[fmt(v, digits) for v in values]] for m, values in zip(rob.methods, rob.values)]
    return markdown_table(["method", *[f"test `{f}`" for f in rob.filters]], rows)


def failed_table(bad: pd.DataFrame) -> str:
    """The failed and infeasible cells with the first line of their error, or a sentence when there are none."""
    if bad.empty:
        return "No failed or infeasible cells."
    rows = []
    for _, r in bad.sort_values(["scale", "method", "profile", "seed"], kind="stable").iterrows():
        error = str(r["error"]).splitlines()[0] if str(r["error"]) else "–"
        rows.append([r["method"], str(r["scale"]), r["profile"], str(r["seed"]), r["status"], error, f"`{r['key']}`"])
    return markdown_table(["method", "R", "profile", "seed", "status", "error", "key"], rows)


def method_notes(names: Any, profiles: Any, external: dict[str, dict[str, str]] | None = None) -> list[str]:
    """One line per method: where its rows of each profile come from (methods.PUBLISHED, ...) and the
    registry's summary; for an external model (`external`: name -> Board.external_info) how it was
    scored and where it comes from; or why there is none."""
    known = set(method_names())
    lines = []
    for name in method_order(names):
        if external and name in external:
            info = external[name]
            where = "".join(f"; {k}: {info[k]}" for k in ("url", "notes") if info[k])
            lines.append(f"- `{name}` (*external model*, not trained or run by this suite): scored from {info['how']}"
                         f"{where}")
            continue
        if name not in known:
            lines.append(f"- `{name}`: not registered in this checkout")
            continue
        entry = get_entry(name)
        labels = "; ".join(f"{p}: *{entry.provenance_for(p)}*" for p in sorted(profiles))
        lines.append(f"- `{name}` ({labels}): {entry.summary}")
    return lines
