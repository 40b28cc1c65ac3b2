"""Fault tolerance, each fault made real and watched from the outside (the CLI in subprocesses):

- a Ray worker killed mid-cell: Ray retries the cell, with the same result;
- the driver killed mid-run: the re-run reuses finished cells and resumes training from its checkpoint,
  ending exactly where an uninterrupted run ends;
- a cell that raises, a NaN loss, a corrupt input file: failed records, the other cells finish, the
  leaderboard lists them;
- two `bench run` on one results folder: every cell computed once, no record damaged;
- results folder not writable / disk full: a clear error (before work, or when it happens), and
  nothing already recorded is damaged.
(The SLURM faults, a cancelled job and a preempted training job, are in test_slurm.py.)
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fault_plugins import PLUGINS  # noqa: E402

SMOKE = ("--profile", "smoke")


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env["BENCH_EXTRA_METHODS"] = PLUGINS + ",explodes=plugins:ExplodesAtFour"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def bench(where: Path, *args: str, env: dict | None = None, background: bool = False, results: Path | None = None):
    cmd = [sys.executable, "-m", "bench", *args, "--results", str(results or where / "results"),
           "--leaderboard", str(where / "leaderboard")]
    kw = dict(cwd=where, env=env or _env(), text=True, stdin=subprocess.DEVNULL)
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    return subprocess.run(cmd, capture_output=True, timeout=600, **kw)


def _records(results: Path) -> dict[str, dict]:
    """Every record.json, parsed (a half-written one would fail here)."""
    return {p.parent.name: json.loads(p.read_text()) for p in results.glob("*/record.json")}


def _by_method(results: Path) -> dict[tuple, dict]:
    return {(r["spec"]["method"], r["spec"]["dataset"], r["spec"]["protocol"]["scale"]): r
            for r in _records(results).values()}


def _no_temp_files(results: Path) -> list[Path]:
    return [p for p in results.rglob("*.tmp")]


def test_ray_worker_killed_mid_cell_is_retried_with_the_same_result(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    out = bench(tmp_path, "run", "--methods", "spline,dies-once", "--scales", "2", *SMOKE, "--executor", "ray",
                "--num-cpus", "2", env=_env(BENCH_TEST_MARKERS=str(markers)))
    assert out.returncode == 0, out.stderr
    assert (markers / "dies-once-R2").exists()  # the worker really died once (os._exit in the middle of the cell)
    cells = _by_method(tmp_path / "results")
    died, plain = cells[("dies-once", "synth-speech", 2)], cells[("spline", "synth-speech", 2)]
    assert died["status"] == "ok"
    # dies-once is spline: the retried cell computes exactly spline's numbers
    for name in ("snr", "lsd", "lsd_hf", "si_sdr"):
        assert died["metrics"][name]["mean"] == plain["metrics"][name]["mean"]


def test_driver_killed_mid_run_reuses_finished_cells_and_resumes_training(tmp_path):
    args = ("run", "--methods", "spline,slownet", "--scales", "2", *SMOKE, "--executor", "local", "--num-cpus", "1")
    # spline first, alone: a run starts learned cells first, so it would otherwise still be pending at the kill.
    assert bench(tmp_path, *args[:2], "spline", *args[3:]).returncode == 0
    driver = bench(tmp_path, *args, background=True, env=_env(BENCH_TEST_STEP_S="0.3"))
    results = tmp_path / "results"
    try:
        deadline = time.monotonic() + 240
        progress = None
        while time.monotonic() < deadline and driver.poll() is None:
            found = list(results.glob("*/progress.json"))
            if found and any(results.glob(".train/*/checkpoint.pt")):  # the Trainer's folder: results/.train/
                progress = json.loads(found[0].read_text())
                if progress["step"] >= 12:
                    break
            time.sleep(0.2)
        assert driver.poll() is None, "the run ended before it could be killed"
        driver.send_signal(signal.SIGKILL)  # no cleanup, no finally: a lost node or an OOM kill
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    before = _by_method(results)
    assert before[("spline", "synth-speech", 2)]["status"] == "ok"
    assert ("slownet", "synth-speech", 2) not in before  # killed mid-training: no record
    spline_record = results / before[("spline", "synth-speech", 2)]["key"] / "record.json"
    spline_stamp = spline_record.stat().st_mtime_ns

    again = bench(tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert "1 finished before (reused)" in again.stderr and "1 to run" in again.stderr
    after = _by_method(results)
    net = after[("slownet", "synth-speech", 2)]
    assert net["status"] == "ok" and net["resumed_from"] >= 10
    cell_dir = results / net["key"]
    assert f"resuming from checkpoint at step {net['resumed_from']}" in (cell_dir / "log.txt").read_text()
    assert spline_record.stat().st_mtime_ns == spline_stamp  # reused, not recomputed

    reference = tmp_path / "reference"
    reference.mkdir()
    straight = bench(reference, "run", "--methods", "slownet", "--scales", "2", *SMOKE, "--executor", "local",
                     "--num-cpus", "1")
    assert straight.returncode == 0, straight.stderr
    ref = _by_method(reference / "results")[("slownet", "synth-speech", 2)]
    assert ref["resumed_from"] == 0
    assert net["best_valid_lsd"] == ref["best_valid_lsd"] and net["metrics"] == ref["metrics"]


def _noise_wav(path: Path, seed: int, nan: bool = False) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    x = (0.3 * np.sin(2 * np.pi * 300 * (seed + 1) * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    if nan:
        x[1000:1100] = np.nan  # a valid header over corrupt samples: only reading the data finds it
    sf.write(path, x, 16000, subtype="FLOAT")


def test_raising_nan_loss_and_corrupt_input_cells_fail_alone(tmp_path):
    results = tmp_path / "results"
    first = bench(tmp_path, "run", "--methods", "spline", "--scales", "2", *SMOKE, "--executor", "local")
    assert first.returncode == 0, first.stderr
    # corrupt the R=2 test input the cells read (the prepared LR/HR pairs): truncated, as by a crash or a bad disk
    (cached,) = results.glob(".cache/pairs/synth-speech-test-R2-*.npz")
    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])

    out = bench(tmp_path, "run", "--methods", "sbr,explodes,nan-loss", "--scales", "2,4", *SMOKE,
                "--executor", "local")
    assert out.returncode == 1
    cells = _by_method(results)
    assert cells[("sbr", "synth-speech", 4)]["status"] == "ok"   # the others finish
    raised = cells[("explodes", "synth-speech", 4)]
    assert raised["status"] == "failed" and "boom by design" in raised["error"] and "Traceback" in raised["traceback"]
    nan = cells[("nan-loss", "synth-speech", 4)]
    assert nan["status"] == "failed" and "non-finite loss" in nan["error"]
    for method in ("sbr", "explodes", "nan-loss"):   # every cell reading the corrupt file, and only those
        bad = cells[(method, "synth-speech", 2)]
        assert bad["status"] == "failed" and f"prepared pairs file {cached} is corrupt" in bad["error"], bad["error"]
    for needle in ("boom by design", "non-finite loss", "is corrupt"):
        assert needle in out.stderr, needle
    pages = "\n".join(p.read_text() for p in (tmp_path / "leaderboard").rglob("*.md"))
    for needle in ("boom by design", "non-finite loss", "is corrupt"):
        assert needle in pages, needle

    # a corrupt recording in a corpus is caught before any cell runs, naming the file
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(5):
        _noise_wav(corpus / f"take{i}.wav", i, nan=(i == 3))  # a valid header over NaN samples
    n_records = len(_records(results))
    bad_corpus = bench(tmp_path, "run", "--methods", "spline", "--scales", "2", "--datasets", f"folder:{corpus}",
                       *SMOKE, "--executor", "local")
    assert bad_corpus.returncode == 2 and "take3.wav" in bad_corpus.stderr, bad_corpus.stderr
    assert "Traceback" not in bad_corpus.stderr and len(_records(results)) == n_records


def test_two_runs_on_one_results_folder_compute_each_cell_once(tmp_path):
    args = ("run", "--methods", "slow", "--scales", "2,4,6", *SMOKE, "--executor", "local")
    env = _env(BENCH_TEST_SLOW_S="1.5")
    other = tmp_path / "other"   # its own leaderboard folder, the same results folder
    other.mkdir()
    first = bench(tmp_path, *args, background=True, env=env)
    time.sleep(1.0)
    second = bench(other, *args, background=True, env=env, results=tmp_path / "results")
    outs = [p.communicate(timeout=300) for p in (first, second)]
    for proc, (_, err) in zip((first, second), outs):
        assert proc.returncode == 0, err
    results = tmp_path / "results"
    records = _records(results)  # all parse: nothing half-written
    assert len(records) == 3 and {r["status"] for r in records.values()} == {"ok"}
    waited = reused = 0
    for key in records:
        log = (results / key / "log.txt").read_text()
        assert log.count(" start slow/") == 1, log  # computed exactly once
        waited += "being computed by another run" in log
        reused += "reused the ok record another run wrote" in log
    assert reused >= 1 and waited >= 1  # the two runs did meet on a cell, and one waited for the other
    assert "notice: cell slow/" in outs[0][1] + outs[1][1]
    assert not _no_temp_files(results)
    for where in (tmp_path / "results" / "results.csv",):
        assert len(pd.read_csv(where)) == 3


def _make_unwritable(path: Path):
    """Make `path` refuse new files even for root: chmod for users, the immutable flag for root."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        return lambda: path.chmod(0o755)
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"running as root and `chattr +i` is unavailable here ({done.stderr.strip()}): "
                    "cannot make a folder unwritable for root")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


def test_unwritable_results_folder_is_a_clear_error_before_work(tmp_path):
    first = bench(tmp_path, "run", "--methods", "spline", "--scales", "2", *SMOKE, "--executor", "local")
    assert first.returncode == 0, first.stderr
    results = tmp_path / "results"
    snapshot = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    restore = _make_unwritable(results)
    try:
        out = bench(tmp_path, "run", "--methods", "spline,sbr", "--scales", "2,4", *SMOKE, "--executor", "local")
    finally:
        restore()
    assert out.returncode == 2, out.stderr
    assert "cannot write to the results folder" in out.stderr and "Traceback" not in out.stderr
    assert "to run" not in out.stderr  # refused before planning what to run, let alone running it
    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == snapshot


@pytest.fixture
def small_filesystem(tmp_path):
    """A 96 MiB tmpfs (root with CAP_SYS_ADMIN only): a disk that can really fill up."""
    mount = tmp_path / "small-fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_disk_filling_up_mid_run_is_a_clear_error_and_damages_nothing(tmp_path, small_filesystem):
    results = small_filesystem / "results"
    first = bench(tmp_path, "run", "--methods", "spline", "--scales", "2", *SMOKE, "--executor", "local",
                  results=results)
    assert first.returncode == 0, first.stderr
    snapshot = {p: p.read_bytes() for p in results.rglob("*") if p.is_file() and ".cache" not in p.parts}
    filler = small_filesystem / "filler"
    out = bench(tmp_path, "run", "--methods", "spline,fills-disk,sbr", "--scales", "2", *SMOKE, "--executor", "local",
                results=results, env=_env(BENCH_TEST_FILL=str(filler), BENCH_MIN_FREE_MB="1"))
    assert filler.exists()  # the disk did fill up, in the middle of the fills-disk cell
    assert out.returncode == 2, out.stderr
    assert "cannot write to the results folder" in out.stderr and "disk is full" in out.stderr
    assert "Traceback" not in out.stderr
    for path, data in snapshot.items():  # what was recorded before is intact
        assert path.read_bytes() == data, path
    records = _records(results)  # every record parses; none half-written
    assert [r["spec"]["method"] for r in records.values() if r["status"] == "ok"] == ["spline"]
    assert not _no_temp_files(results)
    # room again: the run finishes, reusing what it had
    filler.unlink()
    Path(str(filler) + ".tail").unlink(missing_ok=True)
    again = bench(tmp_path, "run", "--methods", "spline,sbr", "--scales", "2", *SMOKE, "--executor", "local",
                  results=results)
    assert again.returncode == 0 and "1 finished before (reused)" in again.stderr, again.stderr
