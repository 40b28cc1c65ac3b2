"""What the SLURM cluster says: whether its commands are here, how large a partition's nodes are, whether
every node can see the results folder, and the states of jobs (one `sacct` call for many)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.spec import SpecError

if TYPE_CHECKING:
    from bench.core.store import Store

# States a job never leaves. PREEMPTED is not one: a requeued job passes through it.
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                "DEADLINE", "REVOKED", "SPECIAL_EXIT")
LOCAL_FILESYSTEMS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs", "f2fs", "ramfs", "vfat"}


class SlurmError(SpecError):
    """SLURM is missing or refused something as a whole; the message says what to do."""


def require_slurm() -> None:
    """SlurmError unless SLURM's commands are on PATH (checked before anything is written)."""
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
    """The type of the filesystem `path` is on (the longest matching mount in /proc/mounts); None if unknown."""
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
    """Whether a job in this sacct state ('CANCELLED by 0', 'RUNNING', '') has ended for good."""
    return state.split()[0].upper() in FINAL_STATES if state else False
