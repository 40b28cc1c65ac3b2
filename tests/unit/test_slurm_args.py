"""The SLURM executor without a cluster: flags, sbatch parameters, job shapes and the driver's
bookkeeping, with sbatch/sacct/scancel mocked by submitit's own test helper (MockedSubprocess).
The same paths against a real single-node SLURM are in tests/integration/test_slurm.py."""
import argparse
import io
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from submitit.core import submission
from submitit.core.test_core import MockedSubprocess
from submitit.slurm import slurm as submitit_slurm

from bench.core.spec import SpecError
from bench.core.store import Store
from bench.executors import make_executor
from bench.executors.slurm import driver
from bench.executors.slurm.cluster import _gpus_in
from bench.executors.slurm.driver import SlurmExecutor
from bench.executors.slurm.jobs import CellJob, TrainingCellJob, job_shape, shape_parameters
from bench.executors.slurm.options import MIN_POLL_S, SlurmOptions, add_slurm_arguments, options_from, parse_extra
from bench.executors.slurm.status import cancel_jobs, show_status
from bench.run.plan import plan_cells, triage
from bench.run.progress import Progress


# --- flags -------------------------------------------------------------------------------------------

def parse_flags(*argv: str) -> argparse.Namespace:
    """The --slurm-* flags as `bench run` parses them."""
    parser = argparse.ArgumentParser(prog="bench run")
    add_slurm_arguments(parser)
    return parser.parse_args(list(argv))


def test_slurm_flags_parse_into_options():
    args = parse_flags(
        "--slurm-partition", "gpu", "--slurm-time", "30",
        "--slurm-gpus-per-task", "2", "--slurm-cpus-per-task", "4", "--slurm-mem-gb", "7.5",
        "--slurm-array-parallelism", "3", "--slurm-account", "acct", "--slurm-qos", "high",
        "--slurm-extra", "constraint=a100", "--slurm-extra", "exclusive", "--slurm-poll", "0.1")
    opts = options_from(**vars(args))
    assert (opts.partition, opts.time_min, opts.gpus_per_task, opts.cpus_per_task, opts.mem_gb) == ("gpu", 30, 2, 4, 7.5)
    assert (opts.array_parallelism, opts.account, opts.qos) == (3, "acct", "high")
    assert opts.extra == {"constraint": "a100", "exclusive": True}
    assert opts.poll_s == MIN_POLL_S  # polling is bounded below whatever the flag says


def test_slurm_defaults():
    args = parse_flags()
    assert options_from(**vars(args)) == SlurmOptions()
    # `bench run` hands every option to the executor: it takes the slurm_* ones and --device, ignores the rest
    ex = make_executor("slurm", **vars(args), device="cpu", num_cpus=4, ray_address=None)
    assert isinstance(ex, SlurmExecutor) and ex.options == SlurmOptions() and ex.device == "cpu"


@pytest.mark.parametrize("argv, message", [
    (["--slurm-time", "0"], "must be at least 1"),
    (["--slurm-cpus-per-task", "two"], "not an integer"),
    (["--slurm-mem-gb", "-1"], "must be positive"),
    (["--slurm-extra", "no spaces=1"], "KEY=VALUE"),
    (["--slurm-extra", "array=0-3"], "submitit sets --array itself"),
    (["--slurm-extra", "job-name=x"], "submitit sets --job-name itself"),
])
def test_bad_slurm_flags_exit_2_at_parse_time(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_flags(*argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_parse_extra():
    assert parse_extra(["mail-type=END", "--exclusive", "gres=gpu:a100:1"]) == {
        "mail_type": "END", "exclusive": True, "gres": "gpu:a100:1"}
    with pytest.raises(SpecError, match="submitit sets --output"):
        parse_extra(["output=/tmp/x"])


# --- sbatch parameters and shapes ---------------------------------------------------------------------

def mocked(*extra_cmds):
    return MockedSubprocess(known_cmds=["srun", "sbatch", "sacct", "scancel", *extra_cmds])


def test_sbatch_file_carries_every_flag(tmp_path):
    opts = SlurmOptions(partition="gpu", time_min=30, mem_gb=8, array_parallelism=2, account="acct",
                        qos="high", extra={"constraint": "a100", "exclusive": True})
    ex = SlurmExecutor(opts)
    with mocked().context():
        try:
            sub = ex._make_executor(tmp_path, cpus=4, gpus=1, run_id="r1")
            with sub.batch():
                jobs = [sub.submit(print, i) for i in range(3)]
        finally:
            submitit_slurm.SlurmJob.watcher.clear()
    sbatch = jobs[0].paths.submission_file.read_text()
    for flag in ("--partition=gpu", "--time=30", "--cpus-per-task=4", "--gpus-per-task=1", "--mem=8GB",
                 "--array=0-2%2", "--account=acct", "--qos=high", "--constraint=a100", "#SBATCH --exclusive",
                 "--job-name=bench-r1", "--nodes=1", "--ntasks-per-node=1", "--signal=USR2@90"):
        assert flag in sbatch, flag
    assert len({j.job_id.split("_")[0] for j in jobs}) == 1  # one array


def test_short_time_limits_get_their_signal_in_time():
    assert shape_parameters(SlurmOptions(time_min=1), 1, 0, "x")["slurm_signal_delay_s"] == 15
    assert shape_parameters(SlurmOptions(time_min=600), 1, 0, "x")["slurm_signal_delay_s"] == 90
    assert "slurm_gpus_per_task" not in shape_parameters(SlurmOptions(), 1, 0, "x")


def test_job_shapes_follow_the_method_and_the_flags():
    spline = plan_cells("spline", "synth-speech", "2", "smoke")[0]
    net_paper = plan_cells("audiounet", "synth-speech", "2", "paper")[0]
    net_smoke = plan_cells("audiounet", "synth-speech", "2", "smoke")[0]
    opts = SlurmOptions()
    assert job_shape(spline, "auto", opts) == (1, 0)
    assert job_shape(net_paper, "auto", opts) == (1, 1)   # the paper profile asks for a GPU
    assert job_shape(net_paper, "cpu", opts) == (1, 0)    # --device cpu: never a GPU
    assert job_shape(net_smoke, "cuda", opts) == (1, 1)   # --device cuda: a GPU per learned cell
    assert job_shape(spline, "cuda", opts) == (1, 0)
    wide = SlurmOptions(cpus_per_task=8, gpus_per_task=2)
    assert job_shape(net_paper, "auto", wide) == (8, 2)
    assert job_shape(spline, "auto", wide) == (8, 0)      # GPUs only for cells that use one


def test_gres_parsing():
    assert _gpus_in("(null)") == 0
    assert _gpus_in("gpu:4") == 4
    assert _gpus_in("gpu:a100:8(S:0-1)") == 8
    assert _gpus_in("gpu:a100:2,gpu:v100:2") == 4


# --- the driver, mocked --------------------------------------------------------------------------------

@pytest.fixture
def cluster(monkeypatch):
    """MockedSubprocess as sbatch/sacct/scancel, a 2-CPU no-GPU partition, and a `sleep` that lets a test
    play the cluster's part (run or end jobs) whenever the driver waits."""
    mock = mocked()
    monkeypatch.setattr(driver, "partition_capacity", lambda partition: {"cpus": 2, "gpus": 0, "nodes": 1})
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGCONT, signal.SIGUSR2)}
    with mock.context():
        try:
            yield mock
        finally:
            submitit_slurm.SlurmJob.watcher.clear()
            for sig, handler in handlers.items():  # process_job installs submitit's handlers
                signal.signal(sig, handler)


def run_driver(monkeypatch, mock, specs, results, on_poll, options=None):
    """SlurmExecutor.run with `on_poll(jobs)` called instead of the first sleep."""
    ex = SlurmExecutor(options or SlurmOptions(poll_s=1.0), device="auto")
    calls = []
    real_sleep = time.sleep

    def fake_sleep(seconds):
        calls.append(seconds)
        if len(calls) == 1:
            manifest = json.loads(next(Path(results).glob(".slurm/*/jobs.json")).read_text())
            on_poll(manifest["jobs"], Path(manifest["submitit_folder"]))
        else:
            real_sleep(0)

    monkeypatch.setattr(time, "sleep", fake_sleep)
    progress = Progress(len(specs), [], stream=io.StringIO())
    try:
        return ex.run(specs, str(results), progress), calls
    finally:
        progress.close()


def _interrupt(jobs, folder):
    raise KeyboardInterrupt  # Ctrl-C while the driver waits


def _finish(mock, job_id, folder):
    """Run a submitted job in this process, as SLURM would on a node, and mark it COMPLETED."""
    with mock.job_context(job_id):
        submission.process_job(folder)
    mock.job_sacct[job_id] = mock._sacct("COMPLETED", job_id, 0)


def test_driver_collects_records_and_marks_cancelled_jobs(cluster, monkeypatch, tmp_path):
    specs = plan_cells("spline,sbr", "synth-speech", "2", "smoke")
    results = tmp_path / "results"

    def play(jobs, folder):
        assert [j["cpus"] for j in jobs] == [1, 1] and jobs[0]["job_id"].endswith("_0")
        _finish(cluster, jobs[0]["job_id"], folder)
        cluster.job_sacct[jobs[1]["job_id"]] = cluster._sacct("CANCELLED by 0", jobs[1]["job_id"], 0)

    records, polls = run_driver(monkeypatch, cluster, specs, results, play)
    by_method = {r["spec"]["method"]: r for r in records}
    assert by_method["spline"]["status"] == "ok" and by_method["spline"]["metrics"]["snr"]["mean"] > 0
    assert by_method["sbr"]["status"] == "cancelled" and "--retry-failed" in by_method["sbr"]["error"]
    assert polls[0] == 1.0
    store = Store(results)
    assert store.read_record(specs[1].key)["status"] == "cancelled"
    assert store.read_record(specs[0].key)["slurm"]["job_id"].endswith("_0")
    # cancelled is kept like failed, and re-run by --retry-failed
    assert [s.key for s in triage(specs, store, retry_failed=False).todo] == []
    assert [s.key for s in triage(specs, store, retry_failed=True).todo] == [specs[1].key]


@pytest.mark.parametrize("state, status, words", [
    ("TIMEOUT", "timeout", "--slurm-time"),
    ("OUT_OF_MEMORY", "failed", "--slurm-mem-gb"),
    ("NODE_FAIL", "failed", "node failed"),
])
def test_job_states_without_a_result_become_records(cluster, monkeypatch, tmp_path, state, status, words):
    specs = plan_cells("spline", "synth-speech", "2", "smoke")

    def play(jobs, folder):
        cluster.job_sacct[jobs[0]["job_id"]] = cluster._sacct(state, jobs[0]["job_id"], 0)

    records, _ = run_driver(monkeypatch, cluster, specs, tmp_path / "results", play)
    assert records[0]["status"] == status and words in records[0]["error"]


def test_cells_no_node_can_hold_are_infeasible_up_front(cluster, monkeypatch, tmp_path):
    specs = plan_cells("audiounet,spline", "synth-speech", "2", "paper")  # audiounet/paper asks for a GPU

    def play(jobs, folder):
        assert [j["label"].split("/")[0] for j in jobs] == ["spline"]  # only spline was submitted
        _finish(cluster, jobs[0]["job_id"], folder)

    records, _ = run_driver(monkeypatch, cluster, plan_cells("spline", "synth-speech", "2", "smoke") + specs[:1],
                            tmp_path / "results", play)
    statuses = {r["spec"]["method"]: r["status"] for r in records}
    assert statuses == {"audiounet": "infeasible", "spline": "ok"}
    assert "GPU" in next(r for r in records if r["status"] == "infeasible")["error"]


def test_cells_sbatch_refuses_are_infeasible_with_its_message(cluster, monkeypatch, tmp_path):
    from submitit.core.utils import FailedJobError

    def refuse(args):
        raise FailedJobError("sbatch: error: invalid partition specified: nope")

    monkeypatch.setattr(cluster, "sbatch", refuse)
    specs = plan_cells("spline", "synth-speech", "2", "smoke")
    records, polls = run_driver(monkeypatch, cluster, specs, tmp_path / "results", lambda jobs, folder: None,
                                options=SlurmOptions(partition="nope"))
    assert records[0]["status"] == "infeasible" and "invalid partition specified: nope" in records[0]["error"]
    assert polls == []  # nothing submitted, nothing to wait for


def test_ctrl_c_leaves_jobs_running_and_says_how_to_cancel(cluster, monkeypatch, tmp_path, capsys):
    specs = plan_cells("spline", "synth-speech", "2", "smoke")

    with pytest.raises(SystemExit) as exit_info:
        run_driver(monkeypatch, cluster, specs, tmp_path / "results", _interrupt)
    assert exit_info.value.code == 130
    err = capsys.readouterr().err
    assert "keep going" in err and "python -m bench cancel --results" in err and "bench status" in err


def test_status_and_cancel_read_the_saved_job_ids(cluster, monkeypatch, tmp_path, capsys):
    specs = plan_cells("spline,sbr", "synth-speech", "2", "smoke")
    results = tmp_path / "results"
    with pytest.raises(SystemExit):
        run_driver(monkeypatch, cluster, specs, results, _interrupt)
    capsys.readouterr()
    scancelled = []
    real_call = cluster.__call__

    def spy(command, **kwargs):
        if command[0] == "scancel":
            scancelled.append(list(command[1:]))
        return real_call(command, **kwargs)

    monkeypatch.setattr(subprocess, "check_output", spy)
    assert show_status(str(results), None) == 0
    out = capsys.readouterr().out
    assert "RUNNING" in out and "spline/synth-speech/R=2/smoke/seed=0" in out and "2 no record yet" in out
    assert cancel_jobs(str(results), None) == 0
    assert len(scancelled) == 1 and len(scancelled[0]) == 2
    store = Store(results)
    assert {store.read_record(s.key)["status"] for s in specs} == {"cancelled"}
    assert "2 cell(s) recorded as cancelled" in capsys.readouterr().out


def test_training_cells_are_checkpointable_and_requeue_themselves():
    from submitit.helpers import Checkpointable, DelayedSubmission

    spec = plan_cells("audiounet", "synth-speech", "2", "smoke")[0]
    job = TrainingCellJob(spec.to_dict(), "/nonexistent", 1, "cpu")
    assert isinstance(job, Checkpointable)
    again = job.checkpoint()
    assert isinstance(again, DelayedSubmission) and again.function is job
    assert not isinstance(CellJob(spec.to_dict(), "/x", 1, "cpu"), Checkpointable)


def test_a_requeue_is_noted_in_the_cell_log(tmp_path, monkeypatch):
    spec = plan_cells("audiounet", "synth-speech", "2", "smoke")[0]
    cell_dir = Store(tmp_path).cell_dir(spec.key)
    cell_dir.mkdir(parents=True)
    monkeypatch.setenv("SLURM_JOB_ID", "42_1")
    TrainingCellJob(spec.to_dict(), str(tmp_path), 1, "cpu").checkpoint()
    assert "SLURM job 42_1 preempted or at its time limit: requeued" in (cell_dir / "log.txt").read_text()
