"""scripts/gpu_check.py: what a profile's recipes cost on a device (run on the CPU here)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gpu_check.py"


def _check(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--steps", "1",
                           "--methods", "audiounet,tfilm", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def _assert_measured(report: dict, profile: str) -> None:
    assert [r["method"] for r in report["methods"]] == ["audiounet", "tfilm"]
    assert report["device"] == "cpu" and report["machine"]["cores"] >= 1
    for r in report["methods"]:
        assert r["profile"] == profile and r["params"] > 0 and r["segment_samples"] % r["scale"] == 0
        assert set(r["step_s"]) == {"train"} and r["mean_step_s"] > 0 and r["infer_rtf"] > 0
        assert r["samples_per_s"] == pytest.approx(r["batch"] / r["mean_step_s"])
        assert r["peak_cuda_mb"] is None  # no CUDA memory on a CPU


def test_the_script_times_each_method_of_a_profile(tmp_path):
    report = _check(tmp_path, "--profile", "smoke")
    _assert_measured(report, "smoke")
    assert all(r["published_steps"] is None and r["projected_h"] is None for r in report["methods"])


@pytest.mark.slow
def test_the_paper_recipes_on_the_cpu(tmp_path):
    """The published configs themselves (68-71 M parameters, batch 64): minutes on a CPU."""
    report = _check(tmp_path)
    _assert_measured(report, "paper")
    tfilm = report["methods"][1]
    assert tfilm["params"] == 68_221_186 and tfilm["batch"] == 64 and tfilm["published_steps"] > 0
    assert tfilm["projected_h"] == pytest.approx(tfilm["mean_step_s"] * tfilm["published_steps"] / 3600)
