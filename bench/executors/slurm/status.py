"""`bench status` and `bench cancel`: the SLURM jobs that earlier `bench run --executor slurm` submitted
(results/.slurm/*/jobs.json), their states and their cells' records; and scancel of the unfinished ones.
Both print what they find and return the command's exit code."""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict

from bench.core.spec import CellSpec
from bench.core.store import Store
from bench.executors.slurm.cluster import SlurmError, is_final, sacct_states
from bench.executors.slurm.runs import brief_ids, load_runs, runs_folder
from bench.run.cell import base_record


def _record_status(store: Store, key: str) -> str:
    """The status of a cell's record; '-' while it has none."""
    record = store.read_record(key)
    return record["status"] if record else "-"


def show_status(results: str, run_id: str | None) -> int:
    """Print every SLURM run under `results` (or run `run_id` only): each job's SLURM state and its cell's
    record. 2 when `run_id` names no run, else 0."""
    store = Store(results)
    runs = load_runs(store, run_id)
    if not runs:
        where = f"run {run_id}" if run_id else "SLURM runs"
        print(f"no {where} recorded under {runs_folder(store)} (`python -m bench run --executor slurm` "
              "records its jobs there)")
        return 0 if not run_id else 2
    states = sacct_states([j["job_id"] for run in runs for j in run["jobs"]]) if shutil.which("sacct") else {}
    if not states and shutil.which("sacct") is None:
        print("note: sacct is not on PATH: SLURM states unknown, showing the records only", file=sys.stderr)
    for run in runs:
        counts: dict[str, int] = defaultdict(int)
        rows = []
        for j in run["jobs"]:
            state = states.get(j["job_id"], "?")
            status = _record_status(store, j["key"])
            counts[status] += 1
            rows.append((j["job_id"], state, status, j["label"]))
        summary = ", ".join(f"{n} {s if s != '-' else 'no record yet'}" for s, n in sorted(counts.items()))
        print(f"run {run['run_id']}  submitted {run['created']}  {len(rows)} job(s): {summary}")
        if rows:
            w = [max(len(r[i]) for r in rows + [("job", "slurm state", "record")]) for i in range(3)]
            print(f"  {'job':<{w[0]}}  {'slurm state':<{w[1]}}  {'record':<{w[2]}}  cell")
            for job_id, state, status, label in rows:
                print(f"  {job_id:<{w[0]}}  {state:<{w[1]}}  {status:<{w[2]}}  {label}")
    return 0


def cancel_jobs(results: str, run_id: str | None) -> int:
    """scancel the unfinished jobs of every SLURM run under `results` (or of run `run_id` only) and record
    their cells `cancelled`. 2 when `run_id` names no run, else 0; SlurmError without scancel."""
    if shutil.which("scancel") is None:
        raise SlurmError("scancel is not on PATH: run `python -m bench cancel` on a SLURM login node")
    store = Store(results)
    runs = load_runs(store, run_id)
    if not runs:
        print(f"no SLURM runs recorded under {runs_folder(store)}: nothing to cancel")
        return 0 if not run_id else 2
    jobs = [j for run in runs for j in run["jobs"]]
    states = sacct_states([j["job_id"] for j in jobs])
    # Unknown to sacct counts as active: scancel of a finished job is harmless, a missed live one is not.
    active = [j for j in jobs if not is_final(states.get(j["job_id"], ""))
              and _record_status(store, j["key"]) != "ok"]
    if not active:
        print(f"nothing to cancel: all {len(jobs)} job(s) of {len(runs)} run(s) have finished")
        return 0
    ids = [j["job_id"] for j in active]
    try:
        subprocess.check_output(["scancel", *ids], stderr=subprocess.STDOUT, timeout=120)
    except subprocess.CalledProcessError as exc:  # e.g. some jobs ended meanwhile: the rest are cancelled
        print(f"warning: scancel said: {exc.output.decode(errors='replace').strip()}", file=sys.stderr)
    marked = 0
    for j in active:
        record = store.read_record(j["key"])
        if record is None or record["status"] != "ok":
            spec = CellSpec.from_dict(record["spec"] if record else j["spec"])
            cancelled = base_record(spec, "cancelled", error=f"SLURM job {j['job_id']} cancelled by "
                                                             "`python -m bench cancel`: --retry-failed re-runs it")
            cancelled["slurm"] = {"job_id": j["job_id"], "state": "CANCELLED"}
            store.save_record(cancelled)
            marked += 1
    print(f"cancelled {len(ids)} job(s) ({brief_ids(ids)}); {marked} cell(s) "
          f"recorded as cancelled; `python -m bench run ... --retry-failed` re-runs them")
    return 0
