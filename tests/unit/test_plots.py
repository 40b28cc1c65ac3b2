"""Figures are redrawn only when their inputs change (bench.report.figure_cache.content_cached), and each one
stays legible with every registered method on it: styles, clipping, label placement, figure splits."""
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from bench.downstream.page import _confusion_panels
from bench.report import plots
from bench.report.figure_cache import png_digest
from bench.report.plot_style import method_styles, parameter_free
from bench.report.plots import (SPECTROGRAM_COLUMNS, accuracy_bars, anytime_figure, band_lsd_figure,
                                cost_quality_figure, metric_vs_scale, robustness_heatmap, spectrogram_figures,
                                split_columns)
from methods import method_names

FREE = ["spline", "sinc", "linear", "noisefill", "sbr"]


def _table(lsd: float) -> pd.DataFrame:
    return pd.DataFrame({"method": ["a", "a"], "scale": [2, 4], "lsd": [lsd, lsd + 1],
                         "lsd_lo": [lsd - 0.1, lsd + 0.9], "lsd_hi": [lsd + 0.1, lsd + 1.1]})


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions would save, kept open instead of written."""
    figures = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: figures.append(fig))
    yield figures
    for fig in figures:
        plt.close(fig)


def _grey(color) -> bool:
    r, g, b = to_rgb(color)
    return r == g == b


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_unchanged_inputs_are_not_redrawn_and_changed_ones_are(tmp_path):
    path = tmp_path / "p.png"
    metric_vs_scale(_table(1.0), "lsd", path, "t")
    first, stamp = png_digest(path), path.stat().st_mtime_ns
    assert first and len(first) == 64
    metric_vs_scale(_table(1.0), "lsd", path, "t")
    assert path.stat().st_mtime_ns == stamp  # same inputs: the file was not touched
    metric_vs_scale(_table(1.5), "lsd", path, "t")
    assert png_digest(path) not in (None, first)
    metric_vs_scale(_table(1.5), "lsd", path, "another title")  # any argument counts
    assert png_digest(path) != first


def test_a_corrupt_or_foreign_png_is_redrawn(tmp_path):
    path = tmp_path / "h.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    values = np.array([[1.0, 2.0], [3.0, np.nan]])
    robustness_heatmap(values, ["m1", "m2"], ["cheby1", "butter"], path, "t")
    assert png_digest(path) is not None


def test_parameter_free_methods_are_grey_and_learned_ones_each_their_own_colour():
    styles = method_styles(method_names())
    free = [m for m in styles if parameter_free(m)]
    learned = [m for m in styles if not parameter_free(m)]
    assert free == FREE and len(learned) >= 12
    assert all(_grey(styles[m].color) for m in free)
    assert len({(styles[m].linestyle, styles[m].marker) for m in free}) == len(free)  # told apart without colour
    assert not any(_grey(styles[m].color) for m in learned)
    assert len({to_rgb(styles[m].color) for m in learned}) == len(learned)
    assert method_styles(["tfdfe"]) == {"tfdfe": styles["tfdfe"]}  # whatever else a figure shows
    external = method_styles(["my-model"])["my-model"]
    assert not _grey(external.color) and method_styles(["my-model"])["my-model"] == external


def test_vs_r_plot_draws_parameter_free_rows_grey_with_the_legend_outside_the_axes(tmp_path, drawn):
    methods = ["spline", "sinc", "audiounet", "tfdfe", "aero"]
    table = pd.DataFrame([{"method": m, "scale": r, "lsd": 1 + i / 10 + r / 10} for i, m in enumerate(methods)
                          for r in (2, 4, 6)])
    metric_vs_scale(table, "lsd", tmp_path / "lsd.png", "t")
    fig = drawn[0]
    legend, = fig.legends
    colours = {t.get_text(): h.get_color() for t, h in zip(legend.get_texts(), legend.legend_handles)}
    assert list(colours) == methods
    assert _grey(colours["spline"]) and _grey(colours["sinc"])
    assert not any(_grey(colours[m]) for m in ("audiounet", "tfdfe", "aero"))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert not _overlap(legend.get_window_extent(renderer), fig.axes[0].get_window_extent(renderer))
    anytime_figure([("R=2", {"tfdfe": [(1e11, 2.0), (1e12, 1.0)]})], tmp_path / "any.png", "t", "LSD")
    assert to_rgb(drawn[1].axes[0].lines[0].get_color()) == to_rgb(colours["tfdfe"])  # one colour per method


def test_bands_axis_is_scaled_to_the_learned_methods_and_names_the_clipped_rows(tmp_path, drawn):
    edges = np.linspace(0, 8000, 9)
    curves = {"spline": [0.1, 0.1, 0.1, 0.1, 2.0, 4.5, 5.8, 5.6], "sbr": [0.1] * 4 + [1.2] * 4,
              "audiounet": [0.2] * 4 + [1.0, 1.1, 1.4, 1.5], "tfdfe": [0.2] * 4 + [0.9, 1.0, 1.2, 1.3]}
    band_lsd_figure([("R=2", edges, curves, 4000)], tmp_path / "bands.png", "t")
    ax = drawn[0].axes[0]
    assert [_grey(step.get_edgecolor()) for step in ax.patches] == [True, True, False, False]  # in curves' order
    bottom, top = ax.get_ylim()
    assert 1.5 <= top < max(curves["spline"])  # the learned curves fill the axes, spline leaves it
    assert "off scale" in ax.get_title() and "spline 5.8" in ax.get_title()
    assert "sbr" not in ax.get_title()  # inside the scale: drawn, not named


def test_cost_plot_labels_do_not_overlap_and_its_ticks_are_readable(tmp_path, drawn):
    rng = np.random.default_rng(0)
    methods = method_names()
    rtf = {m: float(v) for m, v in zip(methods, 10 ** rng.uniform(-4.5, 0, len(methods)))}
    # The learned cluster of a real page: near-equal cost and LSD.
    pts = [(m, rtf[m] if parameter_free(m) else 0.04 * (1 + 0.05 * i), 4.0 - i / 5 if parameter_free(m)
            else 1.0 + 0.02 * i) for i, m in enumerate(methods)]
    cost_quality_figure([("R=2", pts), ("R=4", pts)], tmp_path / "cost.png", "t", "LSD")
    fig = drawn[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        labels = [t for t in ax.texts if t.get_text() in methods]
        assert sorted(t.get_text() for t in labels) == sorted(methods)
        boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text alone, not its leader line
        assert not any(_overlap(a, b) for a, b in itertools.combinations(boxes, 2))
        lo, hi = ax.get_xlim()
        ticks = [t for t, x in zip(ax.get_xticklabels(), ax.get_xticks()) if lo <= x <= hi and t.get_text()]
        assert len(ticks) >= 2
        tick_boxes = [t.get_window_extent(renderer) for t in ticks]
        assert not any(_overlap(a, b) for a, b in itertools.combinations(tick_boxes, 2))


def test_spectrograms_of_nineteen_inputs_split_into_figures_of_at_most_six_columns(tmp_path, drawn):
    methods = method_names()
    panel = lambda name, sr: (name, np.sin(np.arange(sr // 10) * 0.3).astype(np.float32), sr)  # noqa: E731
    rows = [[panel("LR", 4000), panel("HR", 8000), *[panel(m, 8000) for m in methods]] for _ in range(3)]
    parts = split_columns(rows, fixed=2)
    assert all(len(row) <= SPECTROGRAM_COLUMNS for part in parts for row in part)
    assert all([p[0] for p in part[0][:2]] == ["LR", "HR"] for part in parts)  # every figure reads on its own
    assert [p[0] for part in parts for p in part[0][2:]] == methods  # each method once, in order
    paths = spectrogram_figures(rows, 4000, tmp_path / "s-spectrograms.png", "t", row_labels=["R=2", "R=4", "R=6"])
    assert [p.name for p in paths] == [f"s-spectrograms-{i}.png" for i in range(1, len(parts) + 1)]
    for fig in drawn:
        grid = fig.axes[0].get_gridspec()
        assert grid.ncols <= SPECTROGRAM_COLUMNS and grid.nrows == 3
        assert fig.axes[-1].get_ylabel().startswith("level (dB")  # the colour bar
        assert fig.axes[0].get_ylabel() == "R=2\nfrequency (kHz)" and fig.axes[-2].get_xlabel() == "time (s)"


def test_downstream_chart_has_a_bar_per_input_between_the_lr_and_hr_lines(tmp_path, drawn):
    methods = [("spline", 0.41, 0.35, 0.47), ("audiounet", 0.7, 0.62, 0.77), ("tfdfe", 0.8, 0.74, 0.86)]
    accuracy_bars(("HR (upper bound)", 0.93, 0.9, 0.96), ("LR, spline (lower bound)", 0.4, 0.34, 0.46), methods,
                  tmp_path / "acc.png", "t")
    ax = drawn[0].axes[0]
    assert len(ax.patches) == 2 + len(methods)
    assert [t.get_text() for t in ax.get_xticklabels()][2:] == ["spline", "audiounet", "tfdfe"]
    refs = {line.get_label().split(":")[0]: line.get_ydata()[0] for line in ax.lines
            if line.get_label().startswith(("HR", "LR"))}
    assert refs == {"HR (upper bound)": 0.93, "LR, spline (lower bound)": 0.4}


def test_downstream_confusion_matrices_are_hr_lr_and_the_best_method_only():
    ev = lambda acc: {"accuracy": acc, "confusion": [[int(100 * acc)]]}  # noqa: E731
    rows = [("HR (upper bound)", ev(0.9), None), ("LR, spline (lower bound)", ev(0.4), None),
            ("spline", ev(0.41), None), ("tfdfe", ev(0.8), None), ("aero", None, None), ("nuwave", ev(0.8), None)]
    assert [name for name, _ in _confusion_panels(rows)] == ["HR (upper bound)", "LR, spline (lower bound)",
                                                              "best method: tfdfe"]
