"""leaderboard/<dataset>-downstream.md from downstream records: the seed paper's Table 4 shape
(accuracy per classifier input, with bootstrap CIs) and Table 2 shape (per-class precision, recall,
F1, support, accuracy), plus, under leaderboard/plots/, a chart of accuracy per input between the LR and HR
lines and the confusion matrices of HR, LR and the best method. A section whose smallest class has too few
test items (bench.report.tables.smoke_banner) shows accuracies without CIs, under a banner."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core.files import atomic_write
from bench.data import dataset_slug
from bench.downstream.cells import DownstreamSpec
from bench.report.tables import ci_text, fmt, markdown_table, method_notes, smoke_banner

Row = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # (input name, HR-classifier eval, retrained eval)


def _acc(ev: dict[str, Any] | None, with_ci: bool) -> str:
    if not ev:
        return "—"
    return f"{fmt(ev['accuracy'], 3)} {ci_text(*ev['accuracy_ci'], 3)}" if with_ci else fmt(ev["accuracy"], 3)


def _gap_closed(ev: dict[str, Any] | None, hr: float, lr: float) -> str:
    """Where an input lands between the LR (0 %) and HR (100 %) accuracy of the HR-trained classifier."""
    if not ev or hr - lr <= 0:
        return "—"
    return f"{100 * (ev['accuracy'] - lr) / (hr - lr):.0f} %"


def accuracy_table(rows: list[Row], with_ci: bool = True) -> str:
    """Table 4 shape: one row per classifier input."""
    hr_acc = rows[0][1]["accuracy"] if rows and rows[0][1] else float("nan")
    lr_acc = rows[1][1]["accuracy"] if len(rows) > 1 and rows[1][1] else float("nan")
    body = [[name, _acc(hr_ev, with_ci), _gap_closed(hr_ev, hr_acc, lr_acc), _acc(own, with_ci)]
            for name, hr_ev, own in rows]
    ci = " [95 % CI]" if with_ci else ""
    return markdown_table(["test input", f"classifier trained on HR: accuracy{ci}", "HR–LR gap closed",
                           f"classifier retrained on this input (train split): accuracy{ci}"], body)


def smallest_class(rows: list[Row]) -> int | None:
    """The fewest test items of any class the test set holds, over the finished evaluations of one R;
    None when none finished."""
    supports = [m["support"] for _, hr_ev, own in rows for ev in (hr_ev, own) if ev
                for m in ev["classes"].values() if m["support"] > 0]
    return min(supports) if supports else None


def class_table(ev: dict[str, Any]) -> str:
    """Table 2 shape: per-class precision/recall/F1/support, then accuracy and the averages; a class
    absent from the test set (support 0) has no row (its recall is undefined, not 0)."""
    def row(name: str, m: dict[str, Any]) -> list[str]:
        return [name, *[fmt(m[k], 3) for k in ("precision", "recall", "f1")], str(m["support"])]

    body = [row(c, m) for c, m in ev["classes"].items() if m["support"] > 0]
    body.append(["accuracy", "", "", fmt(ev["accuracy"], 3), str(ev["n_files"])])
    body += [row(avg, ev[avg]) for avg in ("macro avg", "weighted avg")]
    return markdown_table(["class", "precision", "recall", "F1", "support"], body)


def _ok(record: dict[str, Any] | None) -> dict[str, Any] | None:
    return record if record and record["status"] == "ok" else None


def scale_rows(scale_specs: list[DownstreamSpec], records: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows of one R: HR (upper bound), LR spline (lower bound), then each method in plan order."""
    hr = _ok(records.get(scale_specs[0].hr_cell))
    hr_eval = hr["evals"]["matched"] if hr else None
    rows: list[Row] = [("HR (upper bound)", hr_eval, hr_eval)]  # trained and tested on HR: one classifier
    for s in scale_specs:
        rec = _ok(records.get(s.key))
        name = f"LR, {s.upsampler} (lower bound)" if s.train_on == "lr" else s.train_on
        rows.append((name, rec["evals"]["hr_classifier"] if rec else None, rec["evals"]["matched"] if rec else None))
    return rows


def _bar(name: str, ev: dict[str, Any] | None, with_ci: bool) -> tuple[str, float, float, float] | None:
    """One input's bar of the accuracy chart (plots.Bar; NaN CI where the tables show none); None if unfinished."""
    if not ev:
        return None
    lo, hi = ev["accuracy_ci"] if with_ci else (float("nan"), float("nan"))
    return (name, ev["accuracy"], lo, hi)


def _confusion_panels(rows: list[Row]) -> list[tuple[str, Any]]:
    """Confusion matrices of the HR-trained classifier on HR, on LR and on the best method's output (highest
    accuracy, first in plan order on a tie): the two bounds and the best SR, not one per method."""
    shown = [(name, ev) for name, ev, _ in rows[:2] if ev]
    methods = [(name, ev) for name, ev, _ in rows[2:] if ev]
    if methods:
        name, ev = max(methods, key=lambda m: m[1]["accuracy"])  # max keeps the first of a tie
        shown.append((f"best method: {name}", ev))
    return [(name, ev["confusion"]) for name, ev in shown]


def write_page(dataset: str, specs: list[DownstreamSpec], records: dict[str, dict[str, Any]], out_dir: Path,
               command: str) -> Path:
    """Write the page and its figures; return the page's path."""
    from bench.report.plots import accuracy_bars, confusion_grid  # matplotlib only here

    out_dir = Path(out_dir)
    slug = f"{dataset_slug(dataset)}-downstream"
    conditions = [s for s in specs if s.train_on != "hr"]
    scales = sorted({(s.scale, s.target_sr, s.lowpass, s.profile) for s in conditions})
    config = specs[0].config if specs else {}
    parts = [f"# {dataset}: downstream recognition", "",
             f"Generated by `{command}`; do not edit by hand. A ResNet-18-style CNN on log-mel spectrograms "
             "(bench/downstream/classifier.py) is trained on the HR training split and tested on the test split given "
             "as HR audio (upper bound), as the LR input upsampled by the protocol's upsampler (lower bound) "
             "and as each method's output from its finished SR cell (no SR model is retrained). The last "
             "column is the deployment-shaped protocol: a classifier retrained on the same kind of input "
             "made from the training split. CIs: 95 % percentile bootstrap over test files. *HR–LR gap "
             "closed* = (acc − acc_LR) / (acc_HR − acc_LR) for the HR-trained classifier. The LR row and the "
             "`spline` method see the same audio: their difference in the last column is only the retrained "
             "classifier's seed (each cell draws its own), a floor on that column's noise.", "",
             f"Classifier config ({specs[0].profile if specs else ''}): `{config}`", ""]
    for scale, target_sr, lowpass, profile in scales:
        scale_specs = [s for s in conditions if (s.scale, s.target_sr, s.lowpass, s.profile)
                       == (scale, target_sr, lowpass, profile)]
        rows = scale_rows(scale_specs, records)
        tag = f"R{scale}-{profile}"
        n_smallest = smallest_class(rows)
        banner = None if n_smallest is None else smoke_banner(n_smallest, "test items in the smallest class")
        parts += [f"## R={scale} ({target_sr // scale / 1000:g} → {target_sr / 1000:g} kHz, {lowpass}), "
                  f"profile `{profile}`", "", *([banner, ""] if banner else []),
                  accuracy_table(rows, with_ci=banner is None), ""]
        done = [(name, ev) for name, ev, _ in rows if ev]
        if done:
            classes = list(done[0][1]["classes"])
            bars_png = out_dir / "plots" / f"{slug}-{tag}-accuracy.png"
            hr_bar, lr_bar, *method_bars = [_bar(name, ev, banner is None) for name, ev, _ in rows]
            accuracy_bars(hr_bar, lr_bar, [b for b in method_bars if b], bars_png,
                          f"{dataset}, R={scale}: does SR help the classifier trained on HR?")
            png = out_dir / "plots" / f"{slug}-{tag}.png"
            confusion_grid(_confusion_panels(rows), classes, png,
                           f"{dataset}, R={scale}: classifier trained on HR")
            parts += [f"![accuracy per test input, R={scale}](plots/{bars_png.name})", "",
                      f"![confusion matrices of HR, LR and the best method, R={scale}](plots/{png.name})", "",
                      "<details><summary>Per-class report of the HR-trained classifier, per test input</summary>", ""]
            for name, ev in done:
                parts += [f"**{name}**", "", class_table(ev), ""]
            parts += ["</details>", ""]
    methods = list(dict.fromkeys(s.train_on for s in conditions if s.sr_cell))
    if methods:
        parts += ["## Methods", "", *method_notes(methods, sorted({s.profile for s in conditions})), ""]
    failed = [(s, records[s.key]) for s in specs if s.key in records and records[s.key]["status"] != "ok"]
    if failed:
        parts += ["## Cells that did not finish", "",
                  markdown_table(["cell", "status", "error"], [[s.label, r["status"], r.get("error", "")] for s, r in failed]),
                  ""]
    page = out_dir / f"{slug}.md"
    atomic_write(page, lambda tmp: tmp.write_text("\n".join(parts)))
    return page
