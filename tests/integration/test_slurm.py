"""`--executor slurm` against a real single-node SLURM on this machine (scripts/slurm-local.sh).

CI starts the cluster before pytest (.ci/run). Run by hand, these tests start it themselves when they
can (root, SLURM installed; stopped again at the end) and skip with the reason otherwise.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from waiting import wait_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCRIPT = REPO / "scripts" / "slurm-local.sh"
sys.path.insert(0, str(HERE))
from fault_plugins import PLUGINS  # noqa: E402

SMOKE = ("--profile", "smoke", "--executor", "slurm", "--slurm-poll", "1", "--slurm-time", "10")


def _healthy() -> bool:
    if shutil.which("sinfo") is None or shutil.which("sacct") is None:
        return False
    try:
        state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
        acct = subprocess.run(["sacct", "-n", "-X", "-S", "now-1minutes"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return acct.returncode == 0 and any(s.startswith(("idle", "mix", "alloc")) for s in state.split())


@pytest.fixture(scope="session")
def slurm():
    """A usable SLURM with accounting: the running one, or the local one started here (and stopped after)."""
    started = False
    if not _healthy():
        if os.geteuid() != 0:
            pytest.skip("no usable SLURM (sinfo/sacct) and not root, so scripts/slurm-local.sh cannot start one")
        if shutil.which("slurmctld") is None:
            pytest.skip("SLURM is not installed: run `sudo scripts/slurm-local.sh start` (it installs it with apt; "
                        ".ci/run does this before the tests)")
        out = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=300)
        if out.returncode != 0 or not _healthy():
            pytest.skip(f"scripts/slurm-local.sh start failed: {out.stderr.strip()[-800:]}")
        started = True
    yield
    if started:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120)


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env["BENCH_EXTRA_METHODS"] = PLUGINS
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def bench(tmp_path: Path, *args: str, env: dict | None = None, background: bool = False, timeout: int = 300):
    cmd = [sys.executable, "-m", "bench", *args]
    if args[0] == "run":
        cmd += ["--leaderboard", str(tmp_path / "leaderboard")]
    if args[0] in ("run", "status", "cancel"):
        cmd += ["--results", str(tmp_path / "results")]
    kw = dict(cwd=tmp_path, env=env or _env(), text=True, stdin=subprocess.DEVNULL)
    if background:
        # The driver gets Ctrl-C as in a terminal even where the test runner was started with SIGINT
        # ignored (a shell's `cmd &` without job control does that, and children inherit it).
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint, **kw)
    return subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _jobs(tmp_path: Path) -> list[dict]:
    return [j for path in sorted((tmp_path / "results" / ".slurm").glob("*/jobs.json"))
            for j in json.loads(path.read_text())["jobs"]]


def _sacct_state(job_id: str) -> str:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", job_id.split("_")[0]],
                         capture_output=True, text=True, timeout=30).stdout
    states = dict(line.split("|", 1) for line in out.splitlines() if "|" in line)
    return states.get(job_id, "")


def _wait_for(what: str, predicate, timeout: float = 120.0, every: float = 0.5):
    return wait_for(what, predicate, timeout, every)


def test_slurm_run_to_leaderboard_then_status_and_reuse(slurm, tmp_path):
    out = bench(tmp_path, "run", "--methods", "spline,tfilm", "--scales", "2,4", *SMOKE)
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "results" / "results.csv")
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert set(table["method"]) == {"spline", "tfilm"}
    readme = (tmp_path / "leaderboard" / "README.md").read_text()
    assert "tfilm" in readme and "spline" in readme
    jobs = _jobs(tmp_path)
    assert len(jobs) == 4 and len({j["job_id"].split("_")[0] for j in jobs}) == 1  # one array: one shape
    assert {j["checkpointable"] for j in jobs if j["label"].startswith("tfilm")} == {True}
    records = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*/record.json")]
    assert {r["slurm"]["job_id"] for r in records} == {j["job_id"] for j in jobs}

    status = bench(tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.count("COMPLETED") == 4 and "4 ok" in status.stdout

    again = bench(tmp_path, "run", "--methods", "tfilm,spline", "--scales", "4,2", *SMOKE)
    assert again.returncode == 0 and "4 finished before (reused)" in again.stderr and "submitted" not in again.stderr
    assert len(_jobs(tmp_path)) == 4

    # a learned cell asking for a GPU on a cluster without one: infeasible at once, never left pending
    gpu = bench(tmp_path, "run", "--methods", "tfilm", "--scales", "6", "--device", "cuda", *SMOKE)
    assert gpu.returncode == 1 and "infeasible" in gpu.stderr and "GPU" in gpu.stderr
    assert len(_jobs(tmp_path)) == 4  # nothing submitted


def test_ctrl_c_leaves_jobs_running_then_cancel_records_cancelled_and_retry_reruns(slurm, tmp_path):
    driver = bench(tmp_path, "run", "--methods", "slow", "--scales", "2", *SMOKE, background=True,
                   env=_env(BENCH_TEST_SLOW_S="60"))
    try:
        job = _wait_for("the job to start", lambda: next((j for j in _jobs(tmp_path)
                                                          if _sacct_state(j["job_id"]) == "RUNNING"), None))
        driver.send_signal(signal.SIGINT)   # Ctrl-C
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, err
    assert "keep going" in err and "python -m bench cancel --results" in err and "Traceback" not in err
    assert _sacct_state(job["job_id"]) == "RUNNING"   # the job outlives its driver
    status = bench(tmp_path, "status")
    assert "RUNNING" in status.stdout and "no record yet" in status.stdout

    cancel = bench(tmp_path, "cancel")
    assert cancel.returncode == 0 and "cancelled 1 job(s)" in cancel.stdout, cancel.stderr
    _wait_for("the cancellation", lambda: _sacct_state(job["job_id"]).startswith("CANCELLED"), timeout=60)
    record = json.loads((tmp_path / "results" / job["key"] / "record.json").read_text())
    assert record["status"] == "cancelled" and "--retry-failed" in record["error"]
    status = bench(tmp_path, "status")
    assert "CANCELLED" in status.stdout and "cancelled" in status.stdout

    kept = bench(tmp_path, "run", "--methods", "slow", "--scales", "2", *SMOKE)
    assert kept.returncode == 1 and "1 failed before (kept" in kept.stderr and "submitted" not in kept.stderr
    assert "cancelled" in (tmp_path / "leaderboard" / "synth-speech.md").read_text()
    retry = bench(tmp_path, "run", "--methods", "slow", "--scales", "2", "--retry-failed", *SMOKE,
                  env=_env(BENCH_TEST_SLOW_S="0"))
    assert retry.returncode == 0, retry.stderr
    assert json.loads((tmp_path / "results" / job["key"] / "record.json").read_text())["status"] == "ok"


@pytest.mark.slow
def test_driver_records_a_job_cancelled_under_it(slurm, tmp_path):
    """scancel by hand while the driver waits (the mocked unit test covers the same path in a second)."""
    driver = bench(tmp_path, "run", "--methods", "slow,spline", "--scales", "2", *SMOKE, background=True,
                   env=_env(BENCH_TEST_SLOW_S="60"))
    try:
        job = _wait_for("the slow job to start", lambda: next((j for j in _jobs(tmp_path) if j["label"].startswith(
            "slow") and _sacct_state(j["job_id"]) == "RUNNING"), None))
        subprocess.run(["scancel", job["job_id"]], check=True, timeout=30)   # by hand, not through bench
        _, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 1, err
    assert "cancelled slow/synth-speech/R=2" in err and "--retry-failed" in err
    table = pd.read_csv(tmp_path / "results" / "results.csv").set_index("method")
    assert table.loc["slow", "status"] == "cancelled" and table.loc["spline", "status"] == "ok"


@pytest.mark.slow
def test_preempted_training_cell_requeues_and_resumes_from_its_checkpoint(slurm, tmp_path):
    """SLURM's preemption signal (what `scancel --signal=USR2` sends, like a preempting scheduler): submitit
    checkpoints and requeues the training cell, which resumes from checkpoint.pt and ends exactly where an
    uninterrupted run ends."""
    driver = bench(tmp_path, "run", "--methods", "slownet", "--scales", "2", *SMOKE, background=True,
                   env=_env(BENCH_TEST_STEP_S="0.4"))
    try:
        job = _wait_for("jobs.json", lambda: next(iter(_jobs(tmp_path)), None))
        cell = tmp_path / "results" / job["key"]
        # the Trainer checkpoints into results/.train/<training key>/ (shared by cells that share a training)
        _wait_for("a training checkpoint", lambda: any((tmp_path / "results").glob(".train/*/checkpoint.pt")),
                  timeout=180)
        subprocess.run(["scancel", "--signal=USR2", job["job_id"]], check=True, timeout=30)
        _wait_for("the requeue", lambda: _sacct_state(job["job_id"]) in ("PENDING", "REQUEUED"), timeout=60)
        # SLURM holds a requeued job back two minutes (its BeginTime); let it go at once
        _wait_for("the job to pend", lambda: _sacct_state(job["job_id"]) == "PENDING", timeout=60)
        subprocess.run(["scontrol", "update", f"JobId={job['job_id']}", "StartTime=now"], timeout=30)
        _, err = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, err
    log = (cell / "log.txt").read_text()
    assert "requeued; training resumes from checkpoint.pt" in log
    assert "resuming from checkpoint at step" in log
    resumed = json.loads((cell / "record.json").read_text())
    assert resumed["status"] == "ok" and resumed["resumed_from"] > 0

    reference = tmp_path / "reference"
    reference.mkdir()
    out = bench(reference, "run", "--methods", "slownet", "--scales", "2", "--profile", "smoke",
                "--executor", "local", "--num-cpus", "1")
    assert out.returncode == 0, out.stderr
    straight = json.loads((reference / "results" / job["key"] / "record.json").read_text())
    assert straight["resumed_from"] == 0
    assert resumed["best_valid_lsd"] == straight["best_valid_lsd"]
    assert resumed["metrics"] == straight["metrics"]
