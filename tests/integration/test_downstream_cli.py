"""`python -m bench downstream` end to end: it reuses finished SR cells (never retrains them) and a
second invocation is fully cached."""
from __future__ import annotations

import json


def _store_args(tmp_path) -> list[str]:
    return ["--results", str(tmp_path / "results"), "--leaderboard", str(tmp_path / "leaderboard")]


def _training_state(results):
    """{checkpoint path: mtime_ns} of every SR training, and the cells' logs (training writes to them)."""
    ckpts = {str(p): p.stat().st_mtime_ns for p in (results / ".train").glob("*/checkpoint.pt")}
    logs = {str(p): p.read_text() for p in results.glob("*/log.txt")}
    return ckpts, logs


def test_downstream_reuses_sr_cells_and_caches_its_own(bench_cli, tmp_path):
    common = ["--scales", "2", "--profile", "smoke", "--executor", "local", "--num-cpus", "1"]
    sr = bench_cli("run", "--methods", "audiounet", "--datasets", "synth-ship", *common)
    assert sr.returncode == 0, sr.stderr
    results = tmp_path / "results"
    before = _training_state(results)
    assert len(before[0]) == 1  # one learned SR cell, one training

    down_cmd = ["downstream", "--dataset", "synth-ship", "--methods", "audiounet", *common, *_store_args(tmp_path)]
    first = bench_cli(*down_cmd)
    assert first.returncode == 0, first.stderr
    assert "1 cells: 1 finished before (reused)" in first.stderr and "0 to run" in first.stderr
    assert _training_state(results) == before  # the SR checkpoint and logs untouched: nothing retrained

    records = [json.loads(p.read_text()) for p in (results / ".downstream").glob("*/record.json")]
    assert sorted(r["spec"]["train_on"] for r in records) == ["audiounet", "hr", "lr"]
    assert all(r["status"] == "ok" for r in records)
    sr_cell = next(r for r in records if r["spec"]["train_on"] == "audiounet")["spec"]["sr_cell"]
    assert (results / sr_cell / "record.json").is_file()  # the method came from the SR cell run above
    page = (tmp_path / "leaderboard" / "synth-ship-downstream.md").read_text()
    assert "HR (upper bound)" in page and "LR, spline (lower bound)" in page and "| audiounet |" in page
    assert "precision" in page and (tmp_path / "leaderboard" / "plots" / "synth-ship-downstream-R2-smoke.png").is_file()
    assert "synth-ship-downstream.md" in (tmp_path / "leaderboard" / "README.md").read_text()

    mtimes = {str(p): p.stat().st_mtime_ns for p in (results / ".downstream").glob("*/record.json")}
    second = bench_cli(*down_cmd)
    assert second.returncode == 0, second.stderr
    assert "0 to run" in second.stderr
    assert "3 downstream cells: 3 finished before (reused), 0 to run" in second.stderr  # every classifier cell
    assert "1 cells: 1 finished before (reused)" in second.stderr  # and the SR cell
    assert {str(p): p.stat().st_mtime_ns for p in (results / ".downstream").glob("*/record.json")} == mtimes
    assert _training_state(results) == before


def test_downstream_refuses_an_unlabelled_corpus(bench_cli, tmp_path):
    out = bench_cli("downstream", "--dataset", "synth-speech", "--methods", "spline", "--scales", "2",
                    "--profile", "smoke", "--executor", "local", *_store_args(tmp_path))
    assert out.returncode == 2 and "labelled corpus" in out.stderr
    assert not (tmp_path / "results" / ".downstream").exists()
