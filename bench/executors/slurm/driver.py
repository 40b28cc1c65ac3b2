"""The SLURM driver: submits the cells as submitit job arrays (one per job shape), follows the jobs with one
`sacct` per poll, and lands each cell's record as its job ends. Ctrl-C leaves the jobs running."""
from __future__ import annotations

import os
import socket
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import submitit
from submitit.core.utils import pickle_load
from submitit.slurm.slurm import SlurmJob

from bench.core.files import write_json
from bench.core.records import now_utc
from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.executors.base import Landing, infeasible_record
from bench.executors.slurm.cluster import check_shared_folder, is_final, partition_capacity, require_slurm
from bench.executors.slurm.jobs import CellJob, TrainingCellJob, job_shape, shape_parameters
from bench.executors.slurm.options import SlurmOptions, options_from
from bench.executors.slurm.runs import MANIFEST, brief_ids, new_run_id, runs_folder
from bench.run.cell import base_record
from bench.run.progress import Progress
from methods import load_method_class

RESULT_GRACE_S = 20.0      # a COMPLETED job's result file may take a moment to show on a network filesystem
UNKNOWN_WARN_S = 120.0     # a job sacct knows nothing about for this long gets a warning
PREEMPTED_GRACE_S = 300.0  # a job still PREEMPTED after this long was not requeued: it has ended


def _tail(path: Path, lines: int = 15) -> str:
    """The last lines of a job's log file; '' if it cannot be read."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class SlurmExecutor:
    """`--executor slurm`: every cell is one task of a SLURM job array, which writes the cell's record itself;
    this driver submits them, waits, and lands the records (bench/executors/slurm/__init__.py)."""

    def __init__(self, options: SlurmOptions | None = None, device: str = "auto") -> None:
        self.options = options or SlurmOptions()
        self.device = device

    @classmethod
    def from_options(cls, device: str = "auto", **kw: Any) -> SlurmExecutor:
        """The executor of `bench run`'s options: its slurm_* ones and --device; other keywords are ignored."""
        return cls(options_from(**kw), device)

    # submission --------------------------------------------------------------------------------------
    def _make_executor(self, folder: Path, cpus: int, gpus: int, run_id: str) -> submitit.AutoExecutor:
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm", slurm_max_num_timeout=self.options.max_requeues)
        ex.update_parameters(**shape_parameters(self.options, cpus, gpus, f"bench-{run_id}"))
        return ex

    def _job(self, spec: CellSpec, store: Store, cpus: int, gpus: int) -> CellJob:
        """What the job of one cell runs; a trainable method's cell is checkpointable (requeued, then resumed)."""
        cls = TrainingCellJob if load_method_class(spec.method).trainable else CellJob
        return cls(spec.to_dict(), str(store.root), cpus, "cuda" if gpus else "cpu")

    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        require_slurm()
        opts = self.options
        store = Store(results_root)
        landing = Landing(store, progress)
        capacity = partition_capacity(opts.partition)
        check_shared_folder(store, capacity["nodes"] if capacity else None)
        run_id = new_run_id()
        run_dir = runs_folder(store) / run_id
        submitit_dir = run_dir / "submitit"   # fresh per run: SLURM job ids restart after a purge
        submitit_dir.mkdir(parents=True, exist_ok=True)
        manifest: dict[str, Any] = {
            "run_id": run_id, "created": now_utc(),
            "results": str(store.root), "submitit_folder": str(submitit_dir), "command": sys.argv,
            "driver": {"host": socket.gethostname(), "pid": os.getpid()}, "options": asdict(opts), "jobs": []}

        groups: dict[tuple[int, int], list[CellSpec]] = defaultdict(list)
        for spec in specs:
            groups[job_shape(spec, self.device, opts)].append(spec)

        pending: dict[str, tuple[Any, CellSpec]] = {}
        for (cpus, gpus), group in groups.items():
            shape = f"{cpus} CPU(s), {gpus} GPU(s)"
            if capacity and (cpus > capacity["cpus"] or gpus > capacity["gpus"]):
                where = f"partition {opts.partition}" if opts.partition else "the default partition"
                for spec in group:
                    landing.land(infeasible_record(
                        spec, f"needs {shape} per job but the largest node of {where} has {capacity['cpus']} CPU(s) "
                              f"and {capacity['gpus']} GPU(s): use --profile quick, --slurm-partition with GPU "
                              "nodes, or fewer CPUs"))
                continue
            cell_jobs = [self._job(spec, store, cpus, gpus) for spec in group]
            try:
                ex = self._make_executor(submitit_dir, cpus, gpus, run_id)
                with ex.batch():
                    jobs = [ex.submit(cell_job) for cell_job in cell_jobs]
            except Exception as exc:  # noqa: BLE001 - sbatch refused this shape: its cells cannot run here
                message = str(exc).strip().splitlines()
                reason = "; ".join(line.replace("sbatch: error: ", "") for line in message[:3]) or type(exc).__name__
                for spec in group:
                    landing.land(infeasible_record(spec, f"SLURM refused a job of {shape}: {reason}"))
                continue
            for job, spec, cell_job in zip(jobs, group, cell_jobs):
                pending[job.job_id] = (job, spec)
                manifest["jobs"].append({"job_id": job.job_id, "key": spec.key, "label": spec.label,
                                         "cpus": cpus, "gpus": gpus,
                                         "checkpointable": isinstance(cell_job, TrainingCellJob),
                                         "spec": spec.to_dict()})
            write_json(run_dir / MANIFEST, manifest)

        if pending:
            arrays = sorted({j.split("_")[0] for j in pending}, key=int)
            print(f"submitted {len(pending)} cell(s) to SLURM as job(s) {', '.join(arrays)}; job ids in "
                  f"{run_dir / MANIFEST}", file=sys.stderr)
        try:
            self._wait(pending, landing, run_id)
        except KeyboardInterrupt:
            self._interrupted(pending, store)
            raise SystemExit(130) from None
        return landing.records

    # waiting -----------------------------------------------------------------------------------------
    def _wait(self, pending: dict[str, tuple[Any, CellSpec]], landing: Landing, run_id: str) -> None:
        """Poll SLURM until every pending job has ended, landing each one's record as it does."""
        watcher = SlurmJob.watcher   # shared by every SlurmJob: one sacct call covers all registered jobs
        since: dict[tuple[str, str], float] = {}   # (job, UNKNOWN or PREEMPTED) -> first seen
        warned = False
        while pending:
            time.sleep(self.options.poll_s)
            watcher.update()         # what job.done(force_check=True) does, once per poll for all jobs
            states = {job_id: watcher.get_state(job_id, mode="cache") for job_id in pending}
            now = time.monotonic()
            for job_id, state in states.items():
                word = state.split()[0] if state else "UNKNOWN"
                for watched in ("UNKNOWN", "PREEMPTED"):  # how long a job has been in this state, continuously
                    if word == watched:
                        since.setdefault((job_id, watched), now)
                    else:
                        since.pop((job_id, watched), None)
                if not warned and now - since.get((job_id, "UNKNOWN"), now) > UNKNOWN_WARN_S:
                    print(f"warning: sacct knows nothing of job {job_id} after {UNKNOWN_WARN_S:.0f} s: is SLURM "
                          "accounting (slurmdbd) set up? Still waiting; Ctrl-C leaves the jobs running",
                          file=sys.stderr)
                    warned = True
            finished = [job_id for job_id, (job, _) in pending.items()
                        if job.paths.result_pickle.exists() or is_final(states[job_id])
                        or now - since.get((job_id, "PREEMPTED"), now) > PREEMPTED_GRACE_S]
            landing.progress.set_running(sum(1 for j, st in states.items()
                                             if j not in finished and st.startswith(("RUNNING", "COMPLETING"))))
            for job_id in finished:
                job, spec = pending.pop(job_id)
                record = self.outcome(job, spec, states[job_id], landing.store)
                record["slurm"] = {"job_id": job_id, "state": states[job_id] or "UNKNOWN", "run_id": run_id}
                landing.land(record)

    def outcome(self, job: Any, spec: CellSpec, state: str, store: Store) -> dict[str, Any]:
        """The record of a finished job: what it returned, else what SLURM says happened."""
        result_file = job.paths.result_pickle
        if state.startswith("COMPLETED") and not result_file.exists():
            deadline = time.monotonic() + RESULT_GRACE_S
            while not result_file.exists() and time.monotonic() < deadline:
                time.sleep(1.0)
        if result_file.exists():
            try:
                kind, value = pickle_load(result_file)
            except Exception as exc:  # noqa: BLE001 - a damaged result file is reported, not raised
                kind, value = "error", f"unreadable result file {result_file}: {exc}"
            if kind == "success" and isinstance(value, dict) and value.get("status"):
                return value
            text = str(value).strip()
            last = text.splitlines()[-1] if text else "no message"
            status = "timeout" if "timed-out" in text else "failed"
            on_disk = store.read_record(spec.key)
            if on_disk and on_disk["status"] == "ok":
                return on_disk
            return base_record(spec, status, error=f"SLURM job {job.job_id}: {last}",
                               traceback="\n".join(text.splitlines()[-25:]))
        on_disk = store.read_record(spec.key)
        if on_disk and on_disk["status"] == "ok":   # finished just before it was cancelled or killed
            return on_disk
        word = state.split()[0].upper() if state else "UNKNOWN"
        if word == "CANCELLED":
            return base_record(spec, "cancelled", error=f"SLURM job {job.job_id} was cancelled ({state}) before the "
                                                        "cell finished: --retry-failed re-runs it")
        if word == "TIMEOUT":
            return base_record(spec, "timeout", error=f"SLURM job {job.job_id} hit its time limit "
                                                      f"({self.options.time_min} min): raise --slurm-time")
        hint = {"OUT_OF_MEMORY": ": raise --slurm-mem-gb", "NODE_FAIL": ": its node failed; --retry-failed re-runs it",
                "BOOT_FAIL": ": its node failed to boot; --retry-failed re-runs it"}.get(word, "")
        return base_record(spec, "failed", error=f"SLURM job {job.job_id} ended {state or 'UNKNOWN'} without a "
                                                 f"result{hint} (log: {job.paths.stderr})",
                           traceback=_tail(job.paths.stderr))

    def _interrupted(self, pending: dict[str, tuple[Any, CellSpec]], store: Store) -> None:
        """Ctrl-C: say that the pending jobs keep going, and how to follow, cancel or collect them."""
        ids = sorted(pending)
        print(f"\ninterrupted: {len(ids)} cell(s) are still queued or running on SLURM and keep going "
              f"(jobs {brief_ids(ids)}); each writes its own record.\n"
              f"  follow them:  python -m bench status --results {store.root}\n"
              f"  cancel them:  python -m bench cancel --results {store.root}\n"
              "  collect them: run the same `python -m bench run ...` again (finished cells are reused)",
              file=sys.stderr)
