"""One cell's SLURM job: what it asks SLURM for (its shape and sbatch parameters) and the callable it runs
on a node (CellJob, or TrainingCellJob, which SLURM may requeue and which then resumes its training)."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from submitit.helpers import Checkpointable, DelayedSubmission

from bench.core.records import log_line
from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.executors.base import cell_resources
from bench.executors.slurm.options import SlurmOptions
from bench.run.cell import run_cell_exclusive


def job_shape(spec: CellSpec, device: str, opts: SlurmOptions) -> tuple[int, int]:
    """(CPUs, GPUs) of one cell's job."""
    need = cell_resources(spec, device)
    cpus = opts.cpus_per_task or max(1, int(need["num_cpus"]))
    gpus = int(need["num_gpus"])
    if gpus and opts.gpus_per_task is not None:
        gpus = opts.gpus_per_task
    return cpus, gpus


def shape_parameters(opts: SlurmOptions, cpus: int, gpus: int, name: str) -> dict[str, Any]:
    """AutoExecutor.update_parameters(...) for one job array."""
    params: dict[str, Any] = {"name": name, "timeout_min": opts.time_min, "cpus_per_task": cpus, "nodes": 1,
                              "tasks_per_node": 1,
                              # USR2 this long before the time limit: checkpoint and requeue (a quarter
                              # of short limits, so a 1-minute test job still gets its signal in time)
                              "slurm_signal_delay_s": max(10, min(90, opts.time_min * 60 // 4))}
    if gpus:
        params["slurm_gpus_per_task"] = gpus
    if opts.mem_gb:
        params["mem_gb"] = opts.mem_gb
    for name_, value in (("partition", opts.partition), ("account", opts.account), ("qos", opts.qos),
                         ("array_parallelism", opts.array_parallelism)):
        if value is not None:
            params[f"slurm_{name_}"] = value
    if opts.extra:
        params["slurm_additional_parameters"] = dict(opts.extra)
    return params


class CellJob:
    """The function a SLURM job runs: one cell, under its lock, writing its own record."""

    def __init__(self, spec: dict[str, Any], results_root: str, num_threads: int, device: str) -> None:
        self.spec, self.results_root, self.num_threads, self.device = spec, results_root, num_threads, device

    def __call__(self) -> dict[str, Any]:
        root = Path(self.results_root)
        if not root.is_dir():
            raise RuntimeError(f"the results folder {root} is not visible on node {socket.gethostname()}: "
                               "put --results on a filesystem every node shares")
        spec = CellSpec.from_dict(self.spec)
        record = run_cell_exclusive(spec, root, num_threads=self.num_threads, device=self.device)
        # submitit stops a job at its time limit by raising inside it; run_cell records that as an error
        error = str(record.get("error") or "")
        if record["status"] == "failed" and error.startswith("UncompletedJobError") and "timed-out" in error:
            record = {**record, "status": "timeout",
                      "error": f"hit the SLURM time limit ({error.split(': ', 1)[-1]}): raise --slurm-time"}
            Store(root).save_record(record)
        return record


class TrainingCellJob(CellJob, Checkpointable):
    """A training cell: at preemption or its time limit, submitit calls `checkpoint` and requeues the job.

    Nothing needs saving here: the Trainer writes checkpoint.pt every `checkpoint_every` steps (atomically)
    and resumes from it, so the requeued job simply runs the same cell again."""

    def checkpoint(self, *args: Any, **kwargs: Any) -> DelayedSubmission:
        cell_dir = Store(self.results_root).cell_dir(CellSpec.from_dict(self.spec).key)
        log_line(cell_dir, f"SLURM job {os.environ.get('SLURM_JOB_ID', '?')} preempted or at its time limit: "
                           "requeued; training resumes from checkpoint.pt")
        return DelayedSubmission(self, *args, **kwargs)
