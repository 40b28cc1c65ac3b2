"""What every record holds, how a cell folder's log is written, and the one cell lifecycle.

SR cells (bench/run/cell.py) and downstream cells (bench/downstream/cells.py) both live through
`run_recorded` (spec.json, time, the work, a record whatever happens, log lines) under `run_exclusive`
(one process per cell at a time; a record another process wrote meanwhile is reused).
"""
from __future__ import annotations

import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from bench.core.files import write_json
from bench.core.lock import cell_lock
from bench.core.provenance import provenance

TRACEBACK_LINES = 25


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def log_line(cell_dir: Path, message: str) -> None:
    """Append a time-stamped line to the cell folder's log.txt; a log line never fails a cell."""
    try:
        with (Path(cell_dir) / "log.txt").open("a") as fh:
            fh.write(f"{now_utc()} {message}\n")
    except OSError:
        pass


def error_fields(exc: BaseException) -> dict[str, str]:
    """A failed record's `error` (one line) and `traceback` (its header and last TRACEBACK_LINES lines)."""
    tb = "".join(traceback.format_exception(exc)).strip().splitlines()
    if len(tb) > TRACEBACK_LINES + 1:
        tb = [tb[0], "  ...", *tb[-TRACEBACK_LINES:]]
    return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0], "traceback": "\n".join(tb)}


def record_fields(key: str, spec: dict[str, Any], status: str, seed: int, rng_seed: int, device: str = "cpu",
                  **fields: Any) -> dict[str, Any]:
    """The fields every record has, whatever its kind and status: key, spec, status, seeds, provenance."""
    return {"key": key, "spec": spec, "status": status, "seed": seed, "rng_seed": rng_seed,
            "provenance": provenance(device), **fields}


def run_recorded(cell_dir: Path, spec: dict[str, Any], base: Callable[[str], dict[str, Any]],
                 work: Callable[[], dict[str, Any]], save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The life of one cell: write spec.json, run `work()` (-> the record's own fields), and save a record
    (`base(status)` plus those fields, or the error and traceback tail when `work` raised) with its start
    time and wall time. An exception is a `failed` record, never a crash of the run: the others go on."""
    cell_dir.mkdir(parents=True, exist_ok=True)
    write_json(cell_dir / "spec.json", spec)
    started, t0 = now_utc(), time.perf_counter()
    try:
        record = {**base("ok"), **work()}
    except Exception as exc:  # noqa: BLE001 - a failing cell is a record, never a crash of the run
        log_line(cell_dir, f"failed: {type(exc).__name__}: {exc}")
        record = {**base("failed"), **error_fields(exc)}
    record.update(started=started, wall_s=time.perf_counter() - t0)
    save(record)
    log_line(cell_dir, f"done: {record['status']} in {record['wall_s']:.2f} s")
    return record


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def run_exclusive(cell_dir: Path, label: str, read_record: Callable[[], dict[str, Any] | None],
                  compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`compute()` under the cell's lock (bench/core/lock.py), unless a record makes it unnecessary.

    Another process holding the lock is waited for (a notice goes to stderr and the cell's log.txt);
    then its record is reused when it is `ok`, or when it wrote any verdict other than `cancelled`
    while we waited (the same code on the same data gives the same verdict). Otherwise: compute."""
    record_path = cell_dir / "record.json"
    before = _mtime(record_path)

    def notify(holder: str) -> None:
        message = f"cell {label} is being computed by another run ({holder}): waiting for it"
        print(f"notice: {message}", file=sys.stderr, flush=True)
        log_line(cell_dir, message)

    with cell_lock(cell_dir, notify) as waited:
        record = read_record()
        if record is not None:
            written_meanwhile = _mtime(record_path) != before
            if record["status"] == "ok" or (waited and written_meanwhile and record["status"] != "cancelled"):
                log_line(cell_dir, f"reused the {record['status']} record another run wrote"
                                   f"{f' while this one waited {waited:.0f} s' if waited else ''}")
                return record
        return compute()
