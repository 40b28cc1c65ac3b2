"""Figures are redrawn only when their inputs change (bench.report.plots.content_cached)."""
import numpy as np
import pandas as pd

from bench.report.plots import _png_digest, metric_vs_scale, robustness_heatmap


def _table(lsd: float) -> pd.DataFrame:
    return pd.DataFrame({"method": ["a", "a"], "scale": [2, 4], "lsd": [lsd, lsd + 1],
                         "lsd_lo": [lsd - 0.1, lsd + 0.9], "lsd_hi": [lsd + 0.1, lsd + 1.1]})


def test_unchanged_inputs_are_not_redrawn_and_changed_ones_are(tmp_path):
    path = tmp_path / "p.png"
    metric_vs_scale(_table(1.0), "lsd", path, "t")
    first, stamp = _png_digest(path), path.stat().st_mtime_ns
    assert first and len(first) == 64
    metric_vs_scale(_table(1.0), "lsd", path, "t")
    assert path.stat().st_mtime_ns == stamp  # same inputs: the file was not touched
    metric_vs_scale(_table(1.5), "lsd", path, "t")
    assert _png_digest(path) not in (None, first)
    metric_vs_scale(_table(1.5), "lsd", path, "another title")  # any argument counts
    assert _png_digest(path) != first


def test_a_corrupt_or_foreign_png_is_redrawn(tmp_path):
    path = tmp_path / "h.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    values = np.array([[1.0, 2.0], [3.0, np.nan]])
    robustness_heatmap(values, ["m1", "m2"], ["cheby1", "butter"], path, "t")
    assert _png_digest(path) is not None
