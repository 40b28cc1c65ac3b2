"""SLURM executor: every cell is one task of a submitit job array, one array per resource shape.

    python -m bench run --executor slurm [--slurm-partition P --slurm-time MIN ...]
    python -m bench status      # submitted jobs and their cells' states
    python -m bench cancel      # scancel them; their cells become `cancelled`

- Cells are grouped by (CPUs, GPUs) (`cell_resources` plus the --slurm-* overrides); each group is one
  job array (`slurm_array_parallelism` caps how many of its tasks run at once). A group no partition
  node can ever hold (more CPUs or GPUs than any node has) is recorded `infeasible` up front instead of
  pending forever; a group `sbatch` refuses is recorded `infeasible` with sbatch's message.
- The results folder must be on a filesystem every node sees: the driver checks that it is writable
  before submitting, warns when it is a local filesystem on a multi-node cluster, and a job that cannot
  see it fails saying so. Each run gets a fresh submitit folder, results/.slurm/<run-id>/, with
  jobs.json (job id -> cell) that `bench status` and `bench cancel` read.
- A job runs `run_cell` under the cell's lock (bench/lock.py) and writes the cell's record itself, so
  the driver is optional: it polls SLURM at a bounded rate (one `sacct` per poll for all jobs), re-saves
  each record as it lands and draws the same progress line as the other executors. Ctrl-C leaves the
  jobs running and says how to follow or cancel them; re-running the same command later reuses every
  cell they finished.
- Training cells are submitit `Checkpointable`: at preemption or near the time limit SLURM signals the
  job, submitit requeues it (up to `max_requeues` times for time limits) and the requeued job resumes
  from the Trainer's checkpoint.pt (bench/train.py resumes bit-exactly on CPU). Other cells are short
  and simply re-run when preempted; a non-training cell past its time limit is recorded `timeout`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from bench.executors import cell_resources, infeasible_record
from bench.progress import Progress
from bench.spec import CellSpec, SpecError

if TYPE_CHECKING:
    from bench.store import Store

SLURM_DIR = ".slurm"       # results/.slurm/<run-id>/{jobs.json, submitit/}
MANIFEST = "jobs.json"
MIN_POLL_S = 1.0           # never ask SLURM more often than this
DEFAULT_POLL_S = 10.0
RESULT_GRACE_S = 20.0      # a COMPLETED job's result file may take a moment to show on a network filesystem
UNKNOWN_WARN_S = 120.0     # a job sacct knows nothing about for this long gets a warning
# sbatch flags submitit writes itself; --slurm-extra may not override them.
RESERVED_EXTRA = {"array", "output", "error", "open_mode", "signal", "job_name", "wckey"}
# PREEMPTED is not final by itself (a requeued job passes through it); one that stays so is, after a grace.
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                "DEADLINE", "REVOKED", "SPECIAL_EXIT")
PREEMPTED_GRACE_S = 300.0
LOCAL_FILESYSTEMS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs", "f2fs", "ramfs", "vfat"}


class SlurmError(SpecError):
    """SLURM is missing or refused something as a whole; the message says what to do."""


# --- options -----------------------------------------------------------------------------------------

@dataclass
class SlurmOptions:
    partition: str | None = None
    time_min: int = 60
    gpus_per_task: int | None = None      # GPUs of a cell that uses GPUs (default: what the method asks)
    cpus_per_task: int | None = None      # CPUs of every cell (default: what the method asks)
    mem_gb: float | None = None
    array_parallelism: int | None = None
    account: str | None = None
    qos: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more sbatch flags, as submitit's additional_parameters
    poll_s: float = DEFAULT_POLL_S
    max_requeues: int = 3                 # time-limit requeues of a checkpointable (training) cell


def _int_at_least(low: int) -> Callable[[str], int]:
    """argparse type: an integer >= low, with a message naming the value."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} must be at least {low}")
        return value

    return parse


_positive_int = _int_at_least(1)
_nonnegative_int = _int_at_least(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} must be positive")
    return value


_EXTRA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _extra_item(text: str) -> str:
    """argparse type of --slurm-extra: checked at parse time, so a bad one writes nothing."""
    try:
        parse_extra([text])
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None
    return text


def parse_extra(items: list[str] | None) -> dict[str, Any]:
    """['constraint=a100', 'exclusive'] -> {'constraint': 'a100', 'exclusive': True} (sbatch --KEY[=VALUE])."""
    extra: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not _EXTRA_KEY.match(key):
            raise SpecError(f"--slurm-extra {item!r}: write KEY=VALUE with an sbatch option name as KEY, "
                            "e.g. --slurm-extra constraint=a100 or --slurm-extra exclusive")
        if key.replace("-", "_") in RESERVED_EXTRA:
            raise SpecError(f"--slurm-extra {key}: submitit sets --{key.replace('_', '-')} itself; leave it out")
        extra[key.replace("-", "_")] = value if sep else True
    return extra


def add_slurm_arguments(parser: argparse.ArgumentParser) -> None:
    """The --slurm-* flags of `bench run` (used with --executor slurm)."""
    g = parser.add_argument_group("SLURM (--executor slurm)")
    g.add_argument("--slurm-partition", default=None, help="partition (default: the cluster's default)")
    g.add_argument("--slurm-time", type=_positive_int, default=60, metavar="MIN",
                   help="time limit per cell job in minutes (default 60); training cells requeue and resume past it")
    g.add_argument("--slurm-gpus-per-task", type=_nonnegative_int, default=None, metavar="N",
                   help="GPUs for each cell that uses GPUs (default: what the method asks for its profile)")
    g.add_argument("--slurm-cpus-per-task", type=_positive_int, default=None, metavar="N",
                   help="CPUs for every cell (default: what the method asks; torch uses that many threads)")
    g.add_argument("--slurm-mem-gb", type=_positive_float, default=None, metavar="GB",
                   help="memory per cell job (default: the cluster's default)")
    g.add_argument("--slurm-array-parallelism", type=_positive_int, default=None, metavar="N",
                   help="at most N tasks of one job array run at once (default: submitit's 256)")
    g.add_argument("--slurm-account", default=None, help="account to charge")
    g.add_argument("--slurm-qos", default=None, help="quality of service")
    g.add_argument("--slurm-extra", action="append", default=[], type=_extra_item, metavar="KEY=VALUE",
                   help="more sbatch options, repeatable (e.g. constraint=a100, exclusive)")
    g.add_argument("--slurm-poll", type=_positive_float, default=DEFAULT_POLL_S, metavar="SEC",
                   help=f"seconds between the driver's job-state polls (default {DEFAULT_POLL_S:g}, at least {MIN_POLL_S:g})")


def options_from(**kw: Any) -> SlurmOptions:
    """SlurmOptions from `bench run`'s slurm_* arguments (argparse names)."""
    return SlurmOptions(partition=kw.get("slurm_partition"), time_min=kw.get("slurm_time") or 60,
                        gpus_per_task=kw.get("slurm_gpus_per_task"), cpus_per_task=kw.get("slurm_cpus_per_task"),
                        mem_gb=kw.get("slurm_mem_gb"), array_parallelism=kw.get("slurm_array_parallelism"),
                        account=kw.get("slurm_account"), qos=kw.get("slurm_qos"),
                        extra=parse_extra(kw.get("slurm_extra")),
                        poll_s=max(MIN_POLL_S, kw.get("slurm_poll") or DEFAULT_POLL_S))


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


# --- what runs inside a job --------------------------------------------------------------------------

class CellJob:
    """The function a SLURM job runs: one cell, under its lock, writing its own record."""

    def __init__(self, spec: dict[str, Any], results_root: str, num_threads: int, device: str) -> None:
        self.spec, self.results_root, self.num_threads, self.device = spec, results_root, num_threads, device

    def __call__(self) -> dict[str, Any]:
        from bench.lock import run_cell_exclusive
        from bench.store import Store

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


try:
    from submitit.helpers import Checkpointable as _Checkpointable
except ImportError:  # pragma: no cover - submitit is a dependency; keep `import bench.executors.slurm` cheap
    _Checkpointable = object  # type: ignore[assignment,misc]


class TrainingCellJob(CellJob, _Checkpointable):
    """A training cell: at preemption or its time limit, submitit calls `checkpoint` and requeues the job.

    Nothing needs saving here: the Trainer writes checkpoint.pt every `checkpoint_every` steps (atomically)
    and resumes from it, so the requeued job simply runs the same cell again."""

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        from submitit.helpers import DelayedSubmission

        from bench.store import Store

        try:
            cell_dir = Store(self.results_root).cell_dir(CellSpec.from_dict(self.spec).key)
            with (cell_dir / "log.txt").open("a") as fh:
                fh.write(f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} SLURM job "
                         f"{os.environ.get('SLURM_JOB_ID', '?')} preempted or at its time limit: requeued; "
                         "training resumes from checkpoint.pt\n")
        except Exception:  # noqa: BLE001 - a log line must never stop the requeue
            pass
        return DelayedSubmission(self, *args, **kwargs)


# --- cluster facts -----------------------------------------------------------------------------------

def require_slurm() -> None:
    missing = [c for c in ("sbatch", "sacct", "scancel", "srun") if shutil.which(c) is None]
    if missing:
        raise SlurmError(f"--executor slurm needs SLURM's {', '.join(missing)} on PATH: run this on a SLURM "
                         "login node (or start a local test cluster: sudo scripts/slurm-local.sh start)")


def _gpus_in(gres: str) -> int:
    """'gpu:4', 'gpu:a100:8(S:0-1)', '(null)' -> GPUs per node."""
    total = 0
    for part in gres.split(","):
        fields = part.split("(")[0].split(":")
        if fields and fields[0] == "gpu" and fields[-1].isdigit():
            total += int(fields[-1])
    return total


def partition_capacity(partition: str | None) -> dict[str, int] | None:
    """Largest node of the partition (or of the default one): {'cpus', 'gpus', 'nodes'}; None if unknown."""
    try:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%P|%N|%c|%G"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    rows = [line.split("|") for line in out.splitlines() if line.count("|") == 3]
    if partition is None:
        defaults = [r for r in rows if r[0].endswith("*")]
        rows = defaults or rows
    else:
        rows = [r for r in rows if r[0].rstrip("*") == partition]
    if not rows:
        return None
    cpus = max(int(r[2]) for r in rows if r[2].isdigit()) if any(r[2].isdigit() for r in rows) else 0
    return {"cpus": cpus, "gpus": max(_gpus_in(r[3]) for r in rows), "nodes": len({r[1] for r in rows})}


def _filesystem_type(path: Path) -> str | None:
    best, kind = "", None
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3:
                    mount = parts[1].replace("\\040", " ")
                    if (str(path) == mount or str(path).startswith(mount.rstrip("/") + "/")) and len(mount) > len(best):
                        best, kind = mount, parts[2]
    except OSError:
        return None
    return kind


def check_shared_folder(store: Store, nodes: int | None) -> None:
    """The results folder must be writable here and visible on every node: check the first, warn on the second."""
    store.check_writable()
    kind = _filesystem_type(store.root)
    if nodes and nodes > 1 and kind in LOCAL_FILESYSTEMS:
        print(f"warning: the results folder {store.root} is on a local filesystem ({kind}) but the partition has "
              f"{nodes} nodes: jobs on other nodes will not see it. Pass --results DIR on a filesystem every "
              "node shares (NFS, Lustre, GPFS, ...)", file=sys.stderr)


def sacct_states(job_ids: list[str]) -> dict[str, str]:
    """{'12_3': 'COMPLETED', '13': 'RUNNING', ...} for the given ids, in one sacct call ({} if it fails)."""
    from submitit.slurm.slurm import SlurmInfoWatcher

    mains = sorted({j.split("_")[0] for j in job_ids})
    if not mains:
        return {}
    command = ["sacct", "-o", "JobID,State,NodeList", "--parsable2"]
    for main in mains:
        command += ["-j", main]
    try:
        out = subprocess.check_output(command, stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return {}
    info = SlurmInfoWatcher().read_info(out)
    return {j: info[j].get("State", "UNKNOWN") for j in job_ids if j in info}


def is_final(state: str) -> bool:
    return state.split()[0].upper() in FINAL_STATES if state else False


# --- the driver --------------------------------------------------------------------------------------

def new_run_id() -> str:
    return f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class SlurmExecutor:
    def __init__(self, options: SlurmOptions | None = None, device: str = "auto") -> None:
        self.options = options or SlurmOptions()
        self.device = device

    # submission --------------------------------------------------------------------------------------
    def _make_executor(self, folder: Path, cpus: int, gpus: int, run_id: str):
        import submitit

        ex = submitit.AutoExecutor(folder=folder, cluster="slurm", slurm_max_num_timeout=self.options.max_requeues)
        ex.update_parameters(**shape_parameters(self.options, cpus, gpus, f"bench-{run_id}"))
        return ex

    def run(self, specs: list[CellSpec], results_root: str, progress: Progress) -> list[dict[str, Any]]:
        require_slurm()
        from bench.store import Store, write_json
        from methods import load_method_class

        opts = self.options
        store = Store(results_root)
        capacity = partition_capacity(opts.partition)
        check_shared_folder(store, capacity["nodes"] if capacity else None)
        run_id = new_run_id()
        run_dir = store.root / SLURM_DIR / run_id
        submitit_dir = run_dir / "submitit"   # fresh per run: SLURM job ids restart after a purge
        submitit_dir.mkdir(parents=True, exist_ok=True)
        manifest: dict[str, Any] = {
            "run_id": run_id, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "results": str(store.root), "submitit_folder": str(submitit_dir), "command": sys.argv,
            "driver": {"host": socket.gethostname(), "pid": os.getpid()}, "options": asdict(opts), "jobs": []}

        groups: dict[tuple[int, int], list[CellSpec]] = defaultdict(list)
        for spec in specs:
            groups[job_shape(spec, self.device, opts)].append(spec)

        records: list[dict[str, Any]] = []
        pending: dict[str, tuple[Any, CellSpec]] = {}

        def land(record: dict[str, Any]) -> None:
            store.save_record(record)
            progress.finished(record)
            records.append(record)

        for (cpus, gpus), group in groups.items():
            shape = f"{cpus} CPU(s), {gpus} GPU(s)"
            if capacity and (cpus > capacity["cpus"] or gpus > capacity["gpus"]):
                where = f"partition {opts.partition}" if opts.partition else "the default partition"
                for spec in group:
                    land(infeasible_record(spec, f"needs {shape} per job but the largest node of {where} has "
                                                 f"{capacity['cpus']} CPU(s) and {capacity['gpus']} GPU(s): use "
                                                 "--profile quick, --slurm-partition with GPU nodes, or fewer CPUs"))
                continue
            try:
                ex = self._make_executor(submitit_dir, cpus, gpus, run_id)
                with ex.batch():
                    jobs = [ex.submit(self._job(spec, store, cpus, gpus, load_method_class(spec.method).trainable))
                            for spec in group]
            except Exception as exc:  # noqa: BLE001 - sbatch refused this shape: its cells cannot run here
                message = str(exc).strip().splitlines()
                reason = "; ".join(line.replace("sbatch: error: ", "") for line in message[:3]) or type(exc).__name__
                for spec in group:
                    land(infeasible_record(spec, f"SLURM refused a job of {shape}: {reason}"))
                continue
            for job, spec in zip(jobs, group):
                pending[job.job_id] = (job, spec)
                manifest["jobs"].append({"job_id": job.job_id, "key": spec.key, "label": spec.label,
                                         "cpus": cpus, "gpus": gpus,
                                         "checkpointable": load_method_class(spec.method).trainable,
                                         "spec": spec.to_dict()})
            write_json(run_dir / MANIFEST, manifest)

        if pending:
            arrays = sorted({j.split("_")[0] for j in pending}, key=int)
            print(f"submitted {len(pending)} cell(s) to SLURM as job(s) {', '.join(arrays)}; job ids in "
                  f"{run_dir / MANIFEST}", file=sys.stderr)
        try:
            self._wait(pending, store, land, progress, run_id)
        except KeyboardInterrupt:
            self._interrupted(pending, store)
            raise SystemExit(130) from None
        return records

    def _job(self, spec: CellSpec, store: Store, cpus: int, gpus: int, trainable: bool) -> CellJob:
        cls = TrainingCellJob if trainable else CellJob
        return cls(spec.to_dict(), str(store.root), cpus, "cuda" if gpus else "cpu")

    # waiting -----------------------------------------------------------------------------------------
    def _wait(self, pending: dict[str, tuple[Any, CellSpec]], store: Store, land, progress: Progress,
              run_id: str) -> None:
        from submitit.slurm.slurm import SlurmJob

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
            progress.set_running(sum(1 for j, st in states.items()
                                     if j not in finished and st.startswith(("RUNNING", "COMPLETING"))))
            for job_id in finished:
                job, spec = pending.pop(job_id)
                record = self.outcome(job, spec, states[job_id], store)
                record["slurm"] = {"job_id": job_id, "state": states[job_id] or "UNKNOWN", "run_id": run_id}
                land(record)

    def outcome(self, job: Any, spec: CellSpec, state: str, store: Store) -> dict[str, Any]:
        """The record of a finished job: what it returned, else what SLURM says happened."""
        from bench.cell import base_record
        from submitit.core.utils import pickle_load

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
        ids = sorted(pending)
        print(f"\ninterrupted: {len(ids)} cell(s) are still queued or running on SLURM and keep going "
              f"(jobs {', '.join(ids[:8])}{' ...' if len(ids) > 8 else ''}); each writes its own record.\n"
              f"  follow them:  python -m bench status --results {store.root}\n"
              f"  cancel them:  python -m bench cancel --results {store.root}\n"
              "  collect them: run the same `python -m bench run ...` again (finished cells are reused)",
              file=sys.stderr)


# --- status and cancel -------------------------------------------------------------------------------

def load_runs(store: Store, run_id: str | None = None) -> list[dict[str, Any]]:
    """The manifests of the SLURM runs under results/.slurm/, oldest first."""
    from bench.store import read_json

    base = store.root / SLURM_DIR
    paths = sorted(base.glob(f"{run_id or '*'}/{MANIFEST}"))
    runs = []
    for path in paths:
        try:
            runs.append(read_json(path))
        except (OSError, json.JSONDecodeError):
            print(f"warning: skipping unreadable {path}", file=sys.stderr)
    return runs


def _record_status(store: Store, key: str) -> str:
    record = store.read_record(key)
    return record["status"] if record else "-"


def cmd_status(args: argparse.Namespace) -> int:
    from bench.store import Store

    store = Store(args.results)
    runs = load_runs(store, args.run)
    if not runs:
        where = f"run {args.run}" if args.run else "SLURM runs"
        print(f"no {where} recorded under {store.root / SLURM_DIR} (`python -m bench run --executor slurm` "
              "records its jobs there)")
        return 0 if not args.run else 2
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


def cmd_cancel(args: argparse.Namespace) -> int:
    from bench.cell import base_record
    from bench.store import Store

    if shutil.which("scancel") is None:
        raise SlurmError("scancel is not on PATH: run `python -m bench cancel` on a SLURM login node")
    store = Store(args.results)
    runs = load_runs(store, args.run)
    if not runs:
        print(f"no SLURM runs recorded under {store.root / SLURM_DIR}: nothing to cancel")
        return 0 if not args.run else 2
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
    print(f"cancelled {len(ids)} job(s) ({', '.join(ids[:8])}{' ...' if len(ids) > 8 else ''}); {marked} cell(s) "
          f"recorded as cancelled; `python -m bench run ... --retry-failed` re-runs them")
    return 0


def add_status_cancel_parsers(sub: Any) -> None:
    """`bench status` and `bench cancel` sub-commands."""
    for name, text in (("status", "list the SLURM jobs of earlier `run --executor slurm` and their cells' states"),
                       ("cancel", "scancel the SLURM jobs of earlier runs; their unfinished cells become `cancelled`")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--results", default="results", help="results folder (default: results/)")
        p.add_argument("--run", default=None, help="one run id (a folder under results/.slurm/); default: every run")
