"""scripts/benchmarks.py's targets table: each verdict follows from the figures it is given."""
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmarks.py"


@pytest.fixture(scope="module")
def page():
    spec = importlib.util.spec_from_file_location("benchmarks_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench(name: str, mean: float, **extra) -> dict:
    return {"name": name, "stats": {"mean": mean}, "extra_info": extra}


def _perf(ours_16k: float, data_max: float, ray_s: float) -> dict:
    rows = [_bench("test_spectra_floor[16000]", 0.01, sr=16000, workload="snr+lsd", impl="spectra_floor",
                   audio_s_per_s=3000.0),
            _bench("test_metrics_throughput[16000-snr+lsd+hf/lf-ours]", 0.02, sr=16000, workload="snr+lsd+hf/lf",
                   impl="ours", audio_s_per_s=ours_16k),
            _bench("test_metrics_throughput[16000-snr+lsd+hf/lf-librosa_per_metric]", 0.08, sr=16000,
                   workload="snr+lsd+hf/lf", impl="librosa_per_metric", audio_s_per_s=600.0),
            _bench("test_training_rate[a]", 0.1, data_fraction=0.01),
            _bench("test_training_rate[b]", 0.1, data_fraction=data_max),
            _bench("test_executor_wall[local]", 3.0, executor="local", cells=10),
            _bench("test_executor_wall[ray]", 3.0 + 10 * ray_s, executor="ray", cells=10)]
    return {"benchmarks": rows}


def _row(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.startswith(f"| {start}"))


def test_targets_met(page):
    lines = page._targets({"wall_s": 1190.0, "cached_wall_s": 4.0}, _perf(1800.0, 0.05, 0.01))
    assert _row(lines, "main command").endswith("| 19.8 min | met |")
    assert _row(lines, "fully cached").endswith("| 4.0 s | met |")
    assert "0.60 x | met" in _row(lines, "metrics (SNR")          # 1800 / 3000
    assert "3.0x @ 16 kHz" in _row(lines, "metrics >= 10")         # 1800 / 600, the retired target
    assert _row(lines, "training loop").endswith("1.0%-5.0% | met |")
    assert _row(lines, "Ray overhead").endswith("| 0.010 s | met |")


def test_targets_not_met(page):
    lines = page._targets({"wall_s": 1300.0, "cached_wall_s": 12.0}, _perf(1200.0, 0.2, 0.7))
    for start in ("main command", "fully cached", "metrics (SNR", "training loop", "Ray overhead"):
        assert _row(lines, start).endswith("NOT met |"), start


def test_targets_without_measurements(page):
    lines = page._targets(None, None)
    assert not any(line.startswith("| main command") or line.startswith("| metrics") for line in lines)


def test_main_section_names_the_machine_speed_and_each_learned_cell(page):
    machine = {"cpu": "AMD EPYC", "cores": 2, "gpu": None, "python": "3.11", "torch": "2.14.1",
               "load_avg_1m": 0.1, "matmul_gflops": 91.4}
    learned = [{"method": "tfdfe", "scale": s, "train_steps": n, "train_flops": 1.02e12, "train_s": t, "wall_s": t + 5}
               for s, n, t in ((2, 62, 27.2), (4, 62, 27.4), (6, 50, 28.5))]
    lines = page._main_section({"machine": machine, "end_load_avg_1m": 1.5, "wall_s": 1030.0, "cached_wall_s": 4.0,
                                "cells": 51, "computed": 51, "command": "python -m bench run", "learned": learned})
    lines = "\n".join(lines).splitlines()
    assert "AMD EPYC (one-thread fp32 matmul 91 GFLOP/s), 2 cores" in lines[2]
    assert "17.2 min wall" in lines[4]
    header = _row(lines, "method")
    assert header == "| method | R=2: steps / TFLOP / train | R=4: steps / TFLOP / train | R=6: steps / TFLOP / train |"
    assert _row(lines, "tfdfe") == "| tfdfe | 62 / 1.02 / 27 s | 62 / 1.02 / 27 s | 50 / 1.02 / 28 s |"


def test_gpu_section_states_the_device_and_each_projection(page):
    report = {"machine": {"cpu": "Xeon", "gpu": "NVIDIA H100"}, "device": "cuda",
              "command": "python scripts/gpu_check.py --steps 5",
              "methods": [{"method": "tfilm", "params": 68_221_186, "batch": 64, "segment_samples": 8192,
                           "step_s": {"train": 0.25}, "samples_per_s": 256.0, "peak_cuda_mb": 10240.0,
                           "published_steps": 5000, "projected_h": 0.25 * 5000 / 3600, "infer_rtf": 0.01,
                           "scale": 2, "target_sr": 16000}]}
    text = "\n".join(page._gpu_section(report))
    assert "Device: NVIDIA H100 (cuda)" in text and "`python scripts/gpu_check.py --steps 5`" in text
    row = next(line for line in text.splitlines() if line.startswith("| tfilm"))
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "tfilm", "68.2 M", "64 x 8192", "train 0.250", "256.0", "10.0", "5,000", "0.3", "0.010"]
