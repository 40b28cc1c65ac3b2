"""Evaluation repeats of a stochastic method: per-pass noise fixed by the cell seed, mean ± std recorded."""
import json

import pandas as pd
import pytest

from bench.run.cell import run_cell
from bench.run.evaluate import mean_over_repeats, repeat_seed
from bench.run.plan import plan_cells


def test_repeat_seeds_are_distinct_and_fixed():
    seeds = [repeat_seed(12345, k) for k in range(5)]
    assert len(set(seeds)) == 5 and seeds == [repeat_seed(12345, k) for k in range(5)]
    assert all(0 <= s < 2**31 for s in seeds)


def test_mean_over_repeats_averages_each_file_and_joins_errors():
    a = pd.DataFrame({"file": ["x", "y"], "snr": [1.0, 3.0], "error": ["", "bad"]})
    b = pd.DataFrame({"file": ["x", "y"], "snr": [2.0, 5.0], "error": ["", ""]})
    out = mean_over_repeats([a, b])
    assert out["snr"].tolist() == [1.5, 4.0] and out["error"].tolist() == ["", "bad"]
    assert list(out.columns) == list(a.columns)


def test_a_stochastic_cell_repeats_its_test_set_and_reruns_bit_identically(tmp_path):
    spec = plan_cells("nuwave", "synth-speech", "2", "smoke", eval_repeats=2)[0]
    first = run_cell(spec, tmp_path / "a")
    again = run_cell(spec, tmp_path / "b")
    assert first["status"] == again["status"] == "ok", first.get("traceback")
    assert first["repeats"]["n"] == 2 and first["inference_steps"] == 8  # smoke: the published 8-step sampler
    lsd = first["repeats"]["metrics"]["lsd"]
    assert lsd["values"][0] != lsd["values"][1]  # each pass draws its own noise
    assert lsd["mean"] == pytest.approx(first["metrics"]["lsd"]["mean"])
    assert json.dumps(first["repeats"]) == json.dumps(again["repeats"])  # the cell seed fixes every sample
    for name in ("a", "b"):
        assert len(pd.read_csv(tmp_path / name / spec.key / "files.csv")) == first["n_files"]
