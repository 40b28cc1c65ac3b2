"""One cell computed by one process at a time: a per-cell lock file held for the cell's whole life.

Two `bench run` commands on the same results folder (or a re-run while SLURM jobs of an earlier run
are still going) may both plan the same cell. Every executor runs a cell through `bench.run.cell.run_cell_exclusive`,
which takes an exclusive `fcntl.flock` on results/<key>/.lock first (bench/core/records.run_exclusive):

- the lock is free: compute the cell (holding the lock until its record is written);
- another process holds it: **wait** for it (a notice goes to stderr and the cell's log.txt), then
  reuse what that process recorded when it is `ok` (or any verdict other than `cancelled` that it
  wrote while we waited: the same code on the same data gives the same verdict); otherwise compute.

So a cell is never computed twice at the same time, and a second run ends with every cell, like the
first. The kernel drops a flock when its process dies (killed driver, Ray worker death, `scancel`,
node failure on NFSv4), so a stale lock never blocks anything. The lock needs a filesystem where
flock works across the machines that share it (local disks, NFSv4, GPFS; Lustre mounted with -o flock).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

LOCK_NAME = ".lock"
POLL_S = 1.0            # how often a waiting process retries the lock
NOTICE_EVERY_S = 300.0  # a waiting process repeats its notice this often


def _holder() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "job": os.environ.get("SLURM_JOB_ID")}


def _describe(text: str) -> str:
    try:
        h = json.loads(text)
        job = f", SLURM job {h['job']}" if h.get("job") else ""
        return f"pid {h['pid']} on {h['host']}{job}, since {h['since']}"
    except (ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def cell_lock(cell_dir: Path, notify: Callable[[str], None] | None = None) -> Iterator[float]:
    """Hold results/<key>/.lock exclusively; yields the seconds spent waiting for it (0.0 if free)."""
    cell_dir.mkdir(parents=True, exist_ok=True)
    path = cell_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        waited, t0, last_notice = 0.0, time.monotonic(), -NOTICE_EVERY_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if notify and time.monotonic() - last_notice >= NOTICE_EVERY_S:
                    notify(_describe(path.read_text(errors="replace")))
                    last_notice = time.monotonic()
                time.sleep(POLL_S)
                waited = time.monotonic() - t0
        # Who holds it, for the notice of anyone who has to wait (never parsed for correctness).
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder()).encode(), 0)
        yield waited
    finally:
        os.close(fd)  # closing drops the flock; the file stays (unlinking it would race with waiters)
