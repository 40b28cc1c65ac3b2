"""What a cell stores per file and per cell (bench/metrics/scoring.py), and the optional perceptual
metrics (bench/metrics/perceptual.py)."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from bench import metrics
from bench.metrics import METRIC_NAMES, scoring


def _noise(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_score_file_has_every_column_and_never_raises(monkeypatch):
    absent = {"pesq": metrics.NOT_INSTALLED, "stoi": metrics.NOT_INSTALLED}
    monkeypatch.setattr(scoring, "perceptual_status", lambda: absent)
    ref = _noise(8000, seed=34)
    row = metrics.score_file(ref + 0.1 * _noise(8000, seed=35), ref, 4000, 16000)
    assert list(row) == [*METRIC_NAMES, *metrics.BAND_NAMES, "error"]
    assert row["error"] == "" and all(np.isfinite(row[k]) for k in METRIC_NAMES)
    assert metrics.file_columns() == ["file", *METRIC_NAMES, *metrics.BAND_NAMES, "error"]
    bad = metrics.score_file(np.zeros(100), np.zeros(100), 4000, 16000)  # too short for any LSD
    assert all(math.isnan(bad[k]) for k in (*METRIC_NAMES, *metrics.BAND_NAMES))
    assert "ValueError" in bad["error"] and "at least" in bad["error"]


def test_perceptual_metric_failure_is_nan_with_reason(monkeypatch):
    monkeypatch.setattr(scoring, "perceptual_status", lambda: {"pesq": None, "stoi": metrics.NOT_INSTALLED})

    def no_utterance(est, ref, sr):
        raise RuntimeError("No utterances detected\nsecond line")

    monkeypatch.setitem(scoring.PERCEPTUAL, "pesq", no_utterance)
    ref = _noise(8000, seed=36)
    row = metrics.score_file(ref, ref, 4000, 16000)
    assert math.isnan(row["pesq"]) and "stoi" not in row
    assert row["error"] == "pesq: RuntimeError: No utterances detected"
    assert row["lsd"] == 0.0  # the other metrics still scored


def test_summarise_files_gives_cis_bands_and_says_what_is_not_installed(monkeypatch):
    import pandas as pd

    monkeypatch.setattr(scoring, "perceptual_status", lambda: {"pesq": metrics.NOT_INSTALLED, "stoi": None})
    ref = _noise(4, 8000, seed=37)
    rows = [{"file": f"f{i}", **metrics.score_file(ref[i] + 0.1 * i * _noise(8000, seed=i), ref[i], 8000, 16000)}
            for i in range(1, 4)]
    files = pd.DataFrame(rows, columns=[c for c in metrics.file_columns() if c != "stoi"])
    out = metrics.summarise_files(files, 16000, seed=3)
    assert list(out["metrics"]) == list(METRIC_NAMES)
    assert out["metrics"]["lsd"]["mean"] == pytest.approx(files["lsd"].mean())
    assert out["metrics"]["lsd"]["lo"] <= out["metrics"]["lsd"]["mean"] <= out["metrics"]["lsd"]["hi"]
    bands = out["lsd_bands"]
    assert bands["convention"] == "nuwave" and bands["edges_hz"] == metrics.band_edges_hz(16000)
    assert len(bands["mean"]) == len(bands["lo"]) == len(bands["hi"]) == 8
    assert bands["mean"][7] == pytest.approx(files["lsd_band7"].mean())
    # stoi says installed but its column is missing here; pesq is not installed.
    assert out["unavailable_metrics"] == {"pesq": metrics.NOT_INSTALLED}


def _has(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


@pytest.mark.skipif(not _has("pesq"), reason="optional: pip install -e '.[perceptual]' (pesq not installed)")
def test_pesq_wideband_on_speech_like_signal():
    sr = 24000
    t = np.arange(int(3.0 * sr)) / sr
    # Voiced, syllable-modulated harmonics: enough for PESQ's voice activity detection.
    ref = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * 0.1
    clean = metrics.pesq_wb(ref, ref, sr)
    noisy = metrics.pesq_wb(ref + 0.05 * _noise(len(ref), seed=38), ref, sr)
    assert 4.0 < clean <= 4.65 and 1.0 <= noisy < clean
    with pytest.raises(ValueError, match=">= 16000 Hz"):
        metrics.pesq_wb(ref[:8000], ref[:8000], 8000)


@pytest.mark.skipif(not _has("pystoi"), reason="optional: pip install -e '.[perceptual]' (pystoi not installed)")
def test_stoi_identical_is_one_and_noise_lowers_it():
    sr = 16000
    ref = _noise(3 * sr, seed=39) * np.repeat(np.random.default_rng(40).uniform(0.1, 1, 3 * sr // 400), 400)
    assert metrics.stoi(ref, ref, sr) == pytest.approx(1.0, abs=1e-6)
    assert metrics.stoi(ref + 2.0 * _noise(3 * sr, seed=41), ref, sr) < 0.9
